"""load_run checks the run's tables against its store: a table the run wrote itself is never 'edited'."""
import json

from cli_helpers import run_deffe, write
from framework.run_data import load_run


def test_a_front_of_whole_numbers_of_a_knob_with_decimals_is_not_edited(tmp_path):
    # the front holds a=1 and a=2 of [1, 1.5, 2]: pandas reads it '1' where the evaluations read '1.0', and
    # the rows matched none of the store's, so the run's own front was said to be edited by hand
    write(tmp_path / "f.py",
          'def evaluate(p):\n    a = p["a"]\n    return {"f1": a, "f2": 6 - 2 * a if a != 1.5 else 9}\n')
    write(tmp_path / "c.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": [1, 1.5, 2]}], "costs": ["f1", "f2"],
        "evaluate": {"plugin": "python", "function": "f:evaluate"}, "model": {"plugin": None},
        "exploration": {"plugin": "sampling"}, "framework": {"run_directory": "run", "seed": 1}}))
    r = run_deffe("-config", "c.json", "-quiet", cwd=tmp_path)
    assert r.rc == 0, r
    assert "edited by hand" not in r.err, r
    run = load_run(tmp_path / "run")
    assert list(run.first().front["a"]) == [1, 2]   # the case: a front without the decimal value
    assert run.warnings == []
    # a cost edited by hand still is
    path = tmp_path / "run" / "deffe_exploration.csv"
    path.write_text(path.read_text().replace("\n2,2,2,", "\n2,2,3,"))
    assert any("edited by hand" in w for w in load_run(tmp_path / "run").warnings)
