"""The original Deffe's test case and light tests, run with its command lines, store the costs it stores.

The files under original_test/ are written in the style of the original's test/
(the same knobs, groups, scenario with a `map`, evaluate.sh calling evaluate.py
with single-dash options, a config that names evaluate.py itself, and
run_deffe.sh with the original's command lines); evaluate.py records what it was
given. The runs go through bash after `source setup.source`, as Deffe's README
says.
"""
import json
import sqlite3
from pathlib import Path

from deffe_shell import copy_case, deffe_table, shell
from cli_helpers import read_csv


def test_the_bare_minimal_case_stores_param1_x_param2_x_options(tmp_path):
    case = copy_case("original_test", tmp_path)
    # its evaluate and extract say "slurm": "True": -no-slurm runs them here, as Deffe's run_deffe.sh does
    r = shell("run_deffe -config config.json -no-slurm", case)
    assert r.rc == 0, r
    rows = read_csv(case / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 40 and {x["status"] for x in rows} == {"ok"}
    for x in rows:   # the scenario 'size' reaches the script as $options, its map alias
        assert float(x["exec_time"]) == int(x["param1"]) * int(x["param2"]) * int(x["size"]), x
    # what the script was given: the values substituted, the directories Deffe exports
    seen = [json.loads(p.read_text()) for p in (case / "explore").glob("explore_*/seen.json")]
    assert len(seen) == 40
    assert all(s["env"]["DEFFE_EXP_DIR"] == str(case) and s["env"]["DEFFE_CONFIG_DIR"] == str(case) for s in seen)
    assert all(a in s["argv"] for s in seen for a in ("-cwd", "-options", "-evaluate_index"))
    # the missing pre_evaluated_data is a warning, as in Deffe, not an error
    assert "output_application1_deffe.csv not found" in r.err and "going on without it" in r.err
    # Deffe's own tables, where it wrote them
    table = deffe_table(case / "deffe_evaluation.csv")
    assert list(table[0]) == ["param1", "param2", "size", "exec_time", "EvaluateTime", "ExtractTime", "RunDir"]
    assert sorted((x["param1"], x["param2"], x["size"], float(x["exec_time"])) for x in table) == \
        sorted((x["param1"], x["param2"], x["size"], float(x["exec_time"])) for x in rows)
    assert all(Path(x["RunDir"]).parent == case / "explore" and Path(x["RunDir"]).is_dir() for x in table)
    assert len(deffe_table(case / "deffe_eval_predict.csv")) >= 40 and (case / "deffe_output.csv").is_file()


def test_run_deffe_sh_runs_the_light_tests_with_the_originals_flags(tmp_path):
    case = copy_case("original_test", tmp_path)
    r = shell("sh run_deffe.sh", case)
    assert r.rc == 0, r
    assert "Traceback" not in r.err, r
    # each run's summary went through the script's `| grep -v seconds | tail -n +4` into test<N>.txt
    assert all("exec_time=" in (case / f"test{n}.txt").read_text() for n in (1, 2, 3))
    # light test 1 names evaluate.py, 2 and 3 the template's evaluate.sh: as in Deffe, whose runs always
    # started anew, the second run moves the first one's store aside instead of refusing to go on
    assert r.err.count("this run starts anew") == 1 and (case / "explore.1" / "deffe.db").is_file(), r
    stored = []
    for run_dir in ("explore.1", "explore"):   # every evaluation of the three runs, with Deffe's cost
        with sqlite3.connect(case / run_dir / "deffe.db") as db:
            stored += [(json.loads(p), json.loads(c)) for p, c in db.execute("SELECT params, costs FROM samples")]
    assert len(stored) == 40 + 80 + 80
    for params, costs in stored:
        assert costs["exec_time"] == params["param1"] * params["param2"] * params["size"], params
    # light test 2 reads Deffe's group overrides: param1::7;8 wins over set1, set2::4 sets param3
    assert {(p["param1"], p["param3"]) for p, _c in stored if "param4" in p and p["param2"] in (1, 2)
            and p["param3"] == 4} >= {(7, 4), (8, 4)}
    # the first step was -init-batch-samples 10, each later one Deffe's template's -fixed-samples 1
    with sqlite3.connect(case / "explore" / "deffe.db") as db:
        steps = [n for (n,) in db.execute("SELECT COUNT(*) FROM membership GROUP BY step ORDER BY step")]
    assert steps[0] == 10 and set(steps[1:]) == {1}, steps


def test_without_no_slurm_a_machine_without_slurm_is_told_so_in_one_line(tmp_path):
    """Deffe's "slurm": "True" means SLURM jobs: with no controller to talk to, one line says so and how to
    evaluate here instead, before any sample is sent anywhere."""
    case = copy_case("original_test", tmp_path)
    r = shell("env -u SLURM_CONF run_deffe -config config.json", case)
    assert r.rc == 2, r
    line = r.err.strip().splitlines()[-1]
    assert line.startswith("error: config.json:evaluate.slurm: ") and "SLURM is not reachable from here" in line \
        and "-no-slurm" in line
    assert not (case / "explore" / "deffe.db").exists()   # said before the run directory is made


def test_deffes_table_is_not_written_over_the_data_the_run_reads(tmp_path):
    case = copy_case("original_test", tmp_path)
    light = "run_deffe -no-slurm -no-train -config config_light_test1.json -init-batch-samples 10 -batch-size 10"
    assert shell(light, case).rc == 0
    data = (case / "deffe_evaluation.csv").read_text()
    assert len(data.splitlines()) == 41
    r = shell("run_deffe -config config_light_test1.json -no-train -pre-evaluated-data deffe_evaluation.csv "
              "-only-preloaded-data-exploration -max-samples 3 -fresh", case)
    assert r.rc == 0, r
    assert "deffe_evaluation.csv: the original Deffe's evaluation table is not written: it is the " \
           "-pre-evaluated-data file" in r.err, r
    assert (case / "deffe_evaluation.csv").read_text() == data      # the data is untouched
    assert len(deffe_table(case / "deffe_output.csv")) >= 3          # the other tables are written


def test_a_stored_run_made_otherwise_is_not_moved_aside_with_the_data_the_run_reads(tmp_path):
    case = copy_case("original_test", tmp_path)
    light = "run_deffe -no-slurm -no-train -init-batch-samples 10 -batch-size 10"
    assert shell(f"{light} -config config_light_test1.json", case).rc == 0
    # the same knobs, the template's evaluate.sh: the stored run (made with evaluate.py) would start anew
    text = (case / "config_light_test1.json").read_text()
    (case / "other.json").write_text(text.replace(',\n    "evaluate" : { "sample_evaluate_script" : "evaluate.py" }', ""))
    # data kept in the run directory (a copy of its table: the table itself is refused before this, as one
    # the run would overwrite, test_preloaded_data_only.py)
    (case / "explore" / "old.csv").write_bytes((case / "explore" / "deffe_evaluation.csv").read_bytes())
    r = shell(f"{light} -config other.json -pre-evaluated-data explore/old.csv", case)
    assert r.rc == 2 and r.err.startswith("error: ") and len(r.err.strip().splitlines()) == 1, r
    assert "the run directory explore holds the -pre-evaluated-data file" in r.err, r
    assert not (case / "explore.1").exists() and len(read_csv(case / "explore" / "deffe_evaluation.csv")) == 40
