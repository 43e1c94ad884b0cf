"""-output (and every file a command writes besides the run's own) never replaces a file the config's evaluation
reads: not only the top-level evaluate and extract scripts, but a command_file script a scenario names (Deffe's
gem5 configs), a knob's file values, evaluate.source_scripts, a file in a nested setting. -inference-only
-output kmeans_command_script.sh replaced Deffe's command script with the prediction CSV, silently."""
import json

import pytest

from cli_helpers import assert_user_error, run_deffe


def project(d):
    (d / "ev.sh").write_text("echo $a > results.out\n")
    (d / "env.source").write_text("export X=1\n")
    (d / "cmd.sh").write_text("echo options > opts.txt\n")
    (d / "scripts").mkdir()
    (d / "scripts" / "slow.sh").write_text("echo slow\n")
    (d / "in1.dat").write_text("1 2 3\n")
    (d / "in2.dat").write_text("4 5 6\n")
    (d / "net.json").write_text("{}\n")
    (d / "fake.ckpt").write_text("not read: the outputs are checked first\n")
    (d / "in.csv").write_text("a,data\n1,in1.dat\n")
    config = {"knobs": [{"name": "a", "values": [1, 2]}, {"name": "data", "values": ["in1.dat", "in2.dat"]}],
              "scenarios": [{"name": "cmd", "map": "command_file", "values": "cmd.sh"},
                            {"name": "variant", "values": "$G5_SCRIPTS/slow.sh"}],
              "costs": ["t"],
              "evaluate": {"script": "ev.sh", "source_scripts": ["env.source"], "env": {"NET": "net.json"}},
              "extract": {"cost_output": "results.out"}}
    (d / "c.json").write_text(json.dumps(config))
    return d


@pytest.mark.parametrize("output, what", [
    ("cmd.sh", "is a file the scenario 'cmd' names (cmd.sh)"),
    ("in2.dat", "is a file the knob 'data' names (in2.dat)"),
    ("scripts/slow.sh", "is a file the scenario 'variant' names ("),
    ("env.source", "is the file of evaluate.source_scripts"),
    ("net.json", "is the file of evaluate.env.NET"),
])
def test_inference_output_never_replaces_a_file_the_evaluation_reads(tmp_path, output, what):
    d = project(tmp_path)
    before = (d / output).read_bytes()
    r = run_deffe("-config", "c.json", "-inference-only", "-icp", "fake.ckpt", "-input", "in.csv",
                  "-output", output, cwd=d, env={"G5_SCRIPTS": str(d / "scripts")})
    line = assert_user_error(r, f"-output: {output} {what}", "; it would be overwritten; name another file")
    assert line.startswith("error: -output: ") and line.endswith("; name another file"), line
    assert (d / output).read_bytes() == before


def test_model_stats_output_is_checked_the_same_way(tmp_path):
    d = project(tmp_path)
    before = (d / "cmd.sh").read_bytes()
    r = run_deffe("-config", "c.json", "-inference-only", "-icp", "fake.ckpt", "-input", "in.csv",
                  "-output", "out.csv", "-model-stats-output", "cmd.sh", cwd=d,
                  env={"G5_SCRIPTS": str(d / "scripts")})
    assert_user_error(r, "-model-stats-output: cmd.sh is a file the scenario 'cmd' names")
    assert (d / "cmd.sh").read_bytes() == before and not (d / "out.csv").exists()
