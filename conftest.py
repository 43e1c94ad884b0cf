# Tests import the checkout's packages (framework, plugins, simulator) and the shared test helpers
# (test/cli_helpers.py) directly.
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
for _p in (ROOT, os.path.join(ROOT, "test")):
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ.setdefault("DEFFE_DIR", ROOT)


def pytest_configure(config):
    # the test process keeps to one thread, as a run with -jobs 1 does: tests in parallel (pytest -n) or
    # a busy machine never oversubscribe the cores, and runs forked from it start with no thread pool
    from framework.threads import limit
    limit(1)
