"""The framework tests' helpers, under a name of their own (each test folder has its conftest)."""
import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "_framework_conftest", Path(__file__).resolve().parents[1] / "framework" / "conftest.py")
_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_mod)
run_deffe, read_csv, write = _mod.run_deffe, _mod.read_csv, _mod.write
