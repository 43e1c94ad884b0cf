"""A plugins/ folder of the user's own (docs/plugins.md "Writing a plugin": ``plugins.my_eval``, with or without
__init__.py) whose plugin imports a helper module beside it: every spelling failed ("attempted relative import
with no known parent package", "No module named 'helper'"), while the same folder named otherwise worked."""
from __future__ import annotations

import json

import pytest

from cli_helpers import assert_user_error, read_csv, run_deffe, write

EVALUATE = ("{imports}\nclass E:\n    def __init__(self, fw): pass\n    def Initialize(self): pass\n"
            "    def Run(self, sample): return {{'t': helper.t(sample.values['a'], sample.values['b'])}}\n"
            "def GetObject(fw): return E(fw)\n")


def project(tmp_path, imports, package):
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-6"}, {"name": "b", "values": [1, 2]}],
        "costs": ["t"], "evaluate": {"plugin": "plugins.my_eval"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 4}}))
    write(tmp_path / "plugins" / "my_eval.py", EVALUATE.format(imports=imports))
    write(tmp_path / "plugins" / "helper.py", "def t(a, b):\n    return a * 10 + b\n")
    if package:
        write(tmp_path / "plugins" / "__init__.py", "")
    return run_deffe("-config", "config.json", "-jobs", "1", cwd=tmp_path)


@pytest.mark.parametrize("package", [True, False])
@pytest.mark.parametrize("imports", ["from . import helper", "import helper"])
def test_a_plugin_in_a_users_plugins_folder_imports_the_helper_beside_it(tmp_path, imports, package):
    r = project(tmp_path, imports, package)
    assert r.rc == 0 and "Traceback" not in r.err, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")   # the built-in sampler (the project's
    assert len(rows) == 4 and all(int(x["t"]) == int(x["a"]) * 10 + int(x["b"]) for x in rows)   # plugins)


def test_importing_the_helper_through_the_projects_plugins_name_says_how_to_import_it(tmp_path):
    # 'plugins' stays the project's package (a user's folder never replaces the built-ins): say what works
    r = project(tmp_path, "from plugins import helper", True)
    assert_user_error(r, "config.json:evaluate.plugin:", "plugin 'plugins.my_eval' for evaluate failed to import",
                      "'plugins' is this project's package: import a module beside the plugin with "
                      "`from . import helper` or `import helper`")
