"""The gem5 example in the original's style: a command_file script writes the application's options, the
evaluate script runs "gem5" (gem5_standin/, which writes m5out/stats.txt), extract.sh writes two lines to
results.out, and pre-evaluated data comes in Deffe's own table format."""
from deffe_shell import copy_case, deffe_table, shell
from cli_helpers import read_csv


def expected_cycles(row: dict) -> int:
    """What the stand-in computes (gem5_standin/build/RISCV/gem5.opt)."""
    return int(int(row["kmeans_objects"]) * 1000 * (1 + 4 / int(row["l1d_ways"])) * (1 + 16 / int(row["l1d_size"]))
               * (1 + 64 / int(row["l2_size"])) * (int(row["cacheline"]) / 32))


def test_the_gem5_example_runs_with_the_originals_command_line(tmp_path):
    case = copy_case("gem5", tmp_path)
    r = shell('python3 "$DEFFE_DIR/framework/run_deffe.py" -config config_small.json -no-slurm', case,
              env={"GEM5_DIR": str(case / "gem5_standin")})
    assert r.rc == 0, r
    rows = read_csv(case / "riscv_exploration" / "deffe_evaluation.csv")
    assert len(rows) == 2 * 2 * 2 * 3 and {x["status"] for x in rows} == {"ok"}, rows
    pre = {(x["l1d_ways"], x["l1d_size"], x["l2_size"], x["kmeans_objects"]): x for x in rows}
    # Deffe's table: ", " separators, the map alias 'options' as a column, another case, no column for the
    # single-valued scenarios; the row outside the space (cacheline 64) is skipped
    assert pre[("2", "4", "16", "100")]["cpu_cycles"] == "5000" and pre[("4", "8", "32", "110")]["cpu_cycles"] == "7000"
    evaluated = [x for x in rows if (x["l1d_ways"], x["l1d_size"], x["l2_size"], x["kmeans_objects"])
                 not in {("2", "4", "16", "100"), ("4", "8", "32", "110")}]
    assert len(evaluated) == 22
    for x in evaluated:
        assert int(x["cpu_cycles"]) == expected_cycles(x), x
    sample = next(p for p in (case / "riscv_exploration").glob("explore_*") if (p / "m5out").is_dir())
    options = (sample / "cmd_options_file.txt").read_text().split()
    assert options[0] == "-i" and options[1] == f"{case}/kdd_cup" and options[4:] == ["-k", "10"]
    assert len((sample / "results.out").read_text().split()) == 2          # cycles and seconds: the first is read
    assert "2 new in the store" in r.err and "1 outside the space skipped" in r.err
    table = deffe_table(case / "deffe_output.csv")                         # pre-evaluated rows included
    assert len(table) == 24 and list(table[0])[-4:] == ["cpu_cycles", "EvaluateTime", "ExtractTime", "RunDir"]
