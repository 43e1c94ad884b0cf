#!/usr/bin/env python3
"""Deffe's driver: ``python3 framework/run_deffe.py -config config.json``.

Works from a plain checkout: the checkout is put on the import path here, and
``$DEFFE_DIR`` defaults to it (``source setup.source`` only adds conveniences);
``pip install .`` gives the same command as ``run_deffe``.
"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from framework.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
