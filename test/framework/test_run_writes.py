"""A table or the run's log named like a file the run reads (the evaluator, the config): the error names the
key that names the table (in its file), the file it would overwrite, and says to name another table."""
import json

import pytest

from cli_helpers import run_deffe


@pytest.mark.parametrize("where, key", [("explore", "output_table"), ("framework", "output_log")])
def test_a_table_named_like_the_evaluator_blames_the_tables_key(tmp_path, where, key):
    (tmp_path / "f.py").write_text("def evaluate(p):\n    return {'cost': float(p['x'])}\n")
    config = {"knobs": [{"name": "x", "values": [0, 1]}], "costs": ["cost"], "python_path": ["."],
              "evaluate": {"plugin": "python", "function": "f:evaluate"}, "model": {"plugin": None},
              "exploration": {"plugin": "sampling", "explore": [{"name": "a"}]}}
    if where == "explore":
        config["exploration"]["explore"][0][key] = "../f.py"
    else:
        config["framework"] = {key: "../f.py"}
    (tmp_path / "c1.json").write_text(json.dumps(config))
    before = (tmp_path / "f.py").read_text()
    r = run_deffe("-config", "c1.json", "-no-run", cwd=tmp_path)   # the tables are in ./explore
    assert r.rc == 2, r
    lines = r.err.strip().splitlines()
    at = "exploration.explore[0].output_table" if where == "explore" else "framework.output_log"
    assert len(lines) == 1 and lines[0].startswith(f"error: c1.json:{at}: ../f.py would overwrite "), r
    assert lines[0].endswith(f"{tmp_path / 'f.py'}, the file of evaluate.function; name another "
                             f"{'table' if where == 'explore' else 'log'}"), r
    assert "data.csv" not in r.err and (tmp_path / "f.py").read_text() == before
