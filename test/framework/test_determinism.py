"""A seed makes a run repeatable value for value; another seed gives another sequence."""
import json

from cli_helpers import read_csv, run_deffe, write


def run(tmp_path, name, method, seed):
    d = tmp_path / name
    write(d / "config.json", json.dumps({
        "knobs": [{"name": "a", "values": "0-50"}, {"name": "b", "type": "real", "min": 0.1, "max": 10,
                                                       "log": True},
                  {"name": "c", "values": ["x", "y", "z"]}],
        "costs": ["f"],
        "sampling": {"plugin": method},
        "evaluate": {"script": "run.sh"},
        "exploration": {"plugin": "sampling", "samples_per_step": 5, "max_samples": 15},
        "model": {"plugin": None},   # the samplers' determinism; a seeded model has tests of its own
    }))
    write(d / "run.sh", "echo $a > results.out\n")
    r = run_deffe("-config", "config.json", "-seed", seed, cwd=d)
    assert r.rc == 0, r
    return [(row["a"], row["b"], row["c"]) for row in read_csv(d / "explore" / "deffe_evaluation.csv")]


def test_same_seed_same_run_other_seed_other_run(tmp_path):
    for method in ("random", "lhs", "sobol"):
        one = run(tmp_path, f"{method}1", method, 7)
        two = run(tmp_path, f"{method}2", method, 7)
        other = run(tmp_path, f"{method}3", method, 8)
        assert len(one) == 15 and len(set(one)) == 15
        assert one == two, method
        assert one != other, method
