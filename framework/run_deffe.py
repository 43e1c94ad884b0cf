#!/usr/bin/env python3
"""Deffe's driver: ``python3 framework/run_deffe.py -config config.json``.

Works from a plain checkout: the checkout is put on the import path here, and
``$DEFFE_DIR`` defaults to it (``source setup.source`` only adds conveniences);
``pip install .`` gives the same command as ``run_deffe``.
"""
import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
_ROOT = os.path.dirname(_HERE)
# Python puts this script's folder (framework/) first on the path: there, `import plugins` would find
# framework/plugins.py instead of the plugins package. The checkout goes first instead (also when
# PYTHONPATH already names it, as on Dask workers and in SLURM jobs).
sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != _HERE]
if _ROOT in sys.path:
    sys.path.remove(_ROOT)
sys.path.insert(0, _ROOT)

try:   # a second of imports (numpy, torch) before main() handles Ctrl-C: no traceback for a Ctrl-C in it
    from framework.cli import main  # noqa: E402
except KeyboardInterrupt:
    print("interrupted while starting: nothing was run", file=sys.stderr)
    sys.exit(130)

if __name__ == "__main__":
    sys.exit(main())
