"""Knob values never reach a shell as code: they are passed as data."""
import json

from cli_helpers import read_csv, run_deffe, write

NASTY = ["x; touch pwned1", "$(touch pwned2)", "`touch pwned3`", "a b", "it's", 'say "hi"', "a|touch pwned4",
         "&& touch pwned5", "plain"]


def test_shell_script_gets_values_as_data(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": NASTY, "type": "categorical"}],
        "costs": ["n"],
        "evaluate": {"script": "run.sh"},
    }))
    write(tmp_path / "run.sh", 'printf "%s" "$word" > got.txt\nprintf "%s" "${word}" > got2.txt\n'
                               'echo 1 > results.out\n')
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert [row["status"] for row in rows] == ["ok"] * len(NASTY)
    assert {row["word"] for row in rows} == set(NASTY)  # CSV quoting keeps them intact
    got = set()
    for d in (tmp_path / "explore").glob("explore_*"):
        got.add((d / "got.txt").read_text())
        assert (d / "got.txt").read_text() == (d / "got2.txt").read_text()
    assert got == set(NASTY)
    assert not list(tmp_path.rglob("pwned*"))


def test_python_script_gets_values_as_arguments(tmp_path):
    write(tmp_path / "config.json", json.dumps({
        "knobs": [{"name": "word", "values": NASTY, "type": "categorical"}, {"name": "k", "values": [3]}],
        "costs": ["n"],
        "evaluate": {"script": "run.py"},
    }))
    write(tmp_path / "run.py", "import argparse\np = argparse.ArgumentParser()\n"
                               "p.add_argument('--word')\np.add_argument('--k', type=int)\n"
                               "p.add_argument('--evaluate_index')\n"
                               "a = p.parse_args()\nopen('got.txt', 'w').write(a.word)\n"
                               "open('results.out', 'w').write(str(len(a.word) * a.k))\n")
    r = run_deffe("-config", "config.json", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert all(float(row["n"]) == 3 * len(row["word"]) for row in rows)
    assert not list(tmp_path.rglob("pwned*"))
