"""The bare-minimal case of the original Deffe, end to end through the real CLI."""
import itertools

from cli_helpers import read_csv, run_deffe


def test_minimal_case_evaluates_every_point_with_the_right_cost(minimal):
    r = run_deffe("-config", "config.json", cwd=minimal)
    assert r.rc == 0, r
    rows = read_csv(minimal / "explore" / "deffe_evaluation.csv")
    assert list(rows[0].keys()) == ["param1", "param2", "size", "exec_time", "status"]
    # "1,2-4,5" is 1,2,3,5: the range excludes its end, as in Deffe
    expected = set(itertools.product([1, 2, 3, 5], [1, 2], [16, 32, 64, 128, 256]))
    got = {(int(r["param1"]), int(r["param2"]), int(r["size"])) for r in rows}
    assert got == expected and len(rows) == len(expected) == 40
    for row in rows:
        assert row["status"] == "ok"
        assert float(row["exec_time"]) == int(row["param1"]) * int(row["param2"]) * int(row["size"])
    # Deffe's per-sample run directories, with the substituted script and param.json
    script = (minimal / "explore" / "explore_1" / "evaluate.sh").read_text()
    assert "$param1" not in script and "${param2}" not in script and "$options" not in script
    assert (minimal / "explore" / "explore_1" / "param.json").is_file()
    assert (minimal / "explore" / "deffe.db").is_file() and (minimal / "explore" / "deffe.log").is_file()


def test_rerun_evaluates_nothing_again(minimal):
    assert run_deffe("-config", "config.json", cwd=minimal).rc == 0
    first = read_csv(minimal / "explore" / "deffe_evaluation.csv")
    r = run_deffe("-config", "config.json", cwd=minimal)
    assert r.rc == 0
    assert "0 evaluated now, 40 from the store" in r.out
    assert read_csv(minimal / "explore" / "deffe_evaluation.csv") == first
    assert not (minimal / "explore" / "explore_41").exists()


def test_output_and_prediction_tables(minimal):
    assert run_deffe("-config", "config.json", cwd=minimal).rc == 0
    out = read_csv(minimal / "explore" / "deffe_output.csv")
    assert len(out) == 40 and {r["source"] for r in out} == {"evaluated"}
    pred = (minimal / "explore" / "deffe_prediction.csv").read_text().splitlines()
    assert pred[0] == "param1,param2,size,predicted-exec_time,std-exec_time"
