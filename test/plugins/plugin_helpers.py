"""Helpers shared with the framework tests, under a name of their own."""
import importlib.util
from pathlib import Path


_spec = importlib.util.spec_from_file_location(
    "_framework_conftest_plugins", Path(__file__).resolve().parents[1] / "framework" / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
run_deffe, read_csv, write, assert_user_error = _mod.run_deffe, _mod.read_csv, _mod.write, _mod.assert_user_error


_sim_spec = importlib.util.spec_from_file_location(
    "_simulator_conftest_plugins", Path(__file__).resolve().parents[1] / "simulator" / "conftest.py")
_sim = importlib.util.module_from_spec(_sim_spec)
_sim_spec.loader.exec_module(_sim)
REFERENCE = _sim.REFERENCE
