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

from framework.launch import main  # noqa: E402  (handles a Ctrl-C during the imports: framework/launch.py)

if __name__ == "__main__":
    sys.exit(main())
