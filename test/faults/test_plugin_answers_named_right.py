"""What a user plugin gives back is judged by what it is, and said on one line: a numpy integer in
Fingerprint() is a number; GetObject returning the class is named as such; a pandas answer of an evaluator
is one line saying it is not costs."""
from __future__ import annotations

import json
import sqlite3

from cli_helpers import assert_user_error, run_deffe, write

PLUGIN = """import numpy as np
class P:
    def __init__(self, fw): self.fw = fw
    def Initialize(self): pass
{body}
def GetObject(framework): return {made}
"""


def project(tmp_path, **sections):
    write(tmp_path / "fn.py", "import pandas as pd\ndef evaluate(p): return {'t': float(p['x'])}\n"
                              "def series(p): return pd.Series({'t': float(p['x'])})\n")
    data = {"python_path": ["."], "knobs": [{"name": "x", "values": [1, 2, 3, 4]}], "costs": ["t::min"],
            "evaluate": {"plugin": "python", "function": "fn:evaluate"}, "model": {"plugin": None},
            "exploration": {"plugin": "sampling", "samples_per_step": 4, "max_samples": 4},
            "framework": {"run_directory": "run", "seed": 1, "progress": False}}
    data.update(sections)
    write(tmp_path / "cfg.json", json.dumps(data))
    return run_deffe("-config", "cfg.json", "-jobs", "1", cwd=tmp_path)


def test_a_fingerprint_holding_numpy_numbers_is_accepted_as_the_numbers_they_are(tmp_path):
    # before: "Fingerprint() returned a int64 at ['rows'], whose text is not the same in every run" (np.float64
    # passed): a numpy integer's text is the same in every run
    write(tmp_path / "ev.py", PLUGIN.format(
        body="    def Fingerprint(self): return {'rows': np.int64(3), 'ok': np.bool_(True), 'mean': np.float32(0.5),"
             " 'sizes': [np.uint8(2)]}\n    def Run(self, s): return {'t': float(s.values['x'])}",
        made="P(framework)"))
    r = project(tmp_path, evaluate={"plugin": "ev"})
    assert r.rc == 0 and "Traceback" not in r.err, r
    # the same run again resumes: its fingerprint is the same
    r = project(tmp_path, evaluate={"plugin": "ev"})
    assert r.rc == 0 and "Traceback" not in r.err, r


def test_a_fingerprint_with_keys_that_are_not_text_is_still_refused(tmp_path):
    write(tmp_path / "ev.py", PLUGIN.format(
        body="    def Fingerprint(self): return {np.int64(1): 'a'}\n"
             "    def Run(self, s): return {'t': float(s.values['x'])}", made="P(framework)"))
    assert_user_error(project(tmp_path, evaluate={"plugin": "ev"}), "Fingerprint() returned a key of type int64",
                      "plain JSON only")


def test_get_object_returning_the_class_says_so_and_how_to_make_the_object(tmp_path):
    # before: "failed in Initialize(): TypeError: ... missing 1 required positional argument: 'self'; this
    # framework calls Initialize() with no arguments: ... see docs/plugins.md 'From the original Deffe'"
    write(tmp_path / "my_sampler.py", PLUGIN.format(body="    def Run(self, count): return None", made="P"))
    line = assert_user_error(project(tmp_path, sampling={"plugin": "my_sampler"}), "cfg.json:sampling.plugin:",
                             "plugin 'my_sampler' for sampling: GetObject returned the class P, not an object of "
                             "it; return P(framework)")
    assert "Deffe" not in line and not (tmp_path / "run").exists()


def test_an_evaluator_returning_a_pandas_series_fails_its_samples_on_one_line_saying_not_costs(tmp_path):
    # before: "the evaluator returned a pandas.Series (t    1.0" and the rest on the next lines of deffe.log
    r = project(tmp_path, evaluate={"plugin": "python", "function": "fn:series"})
    assert "Traceback" not in r.err, r
    with sqlite3.connect(tmp_path / "run" / "deffe.db") as db:
        errors = [e for (e,) in db.execute("SELECT error FROM samples")]
    assert len(errors) == 4
    for e in errors:
        assert "\n" not in e and e.startswith("the evaluator returned a pandas.Series (t ") and "not costs" in e, e
    log = (tmp_path / "run" / "deffe.log").read_text()
    assert [line for line in log.splitlines() if "pandas.Series" in line and "not costs" in line], log
