# Tests import the checkout's packages (framework, plugins, simulator) directly.
import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)
os.environ.setdefault("DEFFE_DIR", ROOT)
