"""Helpers shared with the framework tests, under a name of their own."""
import importlib.util
from pathlib import Path


from cli_helpers import assert_user_error, read_csv, run_deffe, write  # noqa: F401


from simulator.data import DATA as REFERENCE  # noqa: E402  the bundled paleo-nets/, exprimo-device-graphs/
