"""A config written for the original Deffe (its own test config, keys and option strings) runs as it is."""
import shutil
from pathlib import Path

from cli_helpers import read_csv, run_deffe

HERE = Path(__file__).resolve().parent / "deffe_config"


def test_original_deffe_config_runs_unchanged(tmp_path):
    for f in HERE.iterdir():
        shutil.copy(f, tmp_path / f.name)
    # its evaluate and extract say "slurm": "True": -no-slurm evaluates here, as with the original
    r = run_deffe("-config", "config.json", "-no-train", "-no-slurm", cwd=tmp_path)
    assert r.rc == 0, r
    rows = read_csv(tmp_path / "explore" / "deffe_evaluation.csv")
    assert len(rows) == 40 and all(x["status"] == "ok" for x in rows)
    assert all(float(x["exec_time"]) == int(x["param1"]) * int(x["param2"]) * int(x["size"]) for x in rows)
    # and Deffe's own tables where it wrote them: the current directory, ", " between cells, its columns
    deffe = (tmp_path / "deffe_eval_predict.csv").read_text().splitlines()
    assert deffe[0] == "param1, param2, size, exec_time, EvaluateTime, ExtractTime, RunDir" and len(deffe) == 41
    assert (tmp_path / "deffe_evaluation.csv").is_file() and (tmp_path / "deffe_output.csv").is_file()
    assert "-convs" not in r.err  # options we share are mapped, not reported
