"""python -m simulator.remat: tables, JSON, sweeps, CSV and plots; bad input is one line, exit 2."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from simulator.remat.__main__ import main
from traces import write_dtr_log

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return write_dtr_log(tmp_path_factory.mktemp("cli") / "toy-6-default.log")


def test_table(log, capsys):
    assert main(["--trace", str(log), "--budget-ratio", "0.7", "--heuristic", "dtr"]) == 0
    out = capsys.readouterr().out
    assert "baseline peak" in out and "baseline compute" in out and "overhead" in out
    assert out.strip().splitlines()[-1].split()[0] == "0.70"


def test_json(log, capsys):
    assert main(["--trace", str(log), "--budget-ratio", "0.7", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == {"baseline_peak_bytes", "baseline_compute_s", "overhead", "peak_bytes", "oom",
                      "thrash", "seconds"}
    assert d["overhead"] > 1.0 and d["oom"] is False and d["peak_bytes"] <= 0.7 * d["baseline_peak_bytes"]


def test_sweep_with_csv_and_plot(log, tmp_path, capsys):
    csv_path, png = tmp_path / "s.csv", tmp_path / "s.png"
    assert main(["--trace", str(log), "--sweep", "--heuristic", "lru", "--json", "--csv", str(csv_path),
                 "--plot", str(png)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["ratio"] for r in rows] == [round(0.1 * k, 1) for k in range(1, 11)]
    assert rows[0]["oom"] and rows[-1]["overhead"] == 1.0
    assert len(csv_path.read_text().splitlines()) == 11 and png.stat().st_size > 1000


def test_zip_and_zoo(log, tmp_path, capsys):
    z = tmp_path / "logs.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.write(log, "logs/toy-6-default.log")
    assert main(["--trace", str(z), "--model", "toy", "--budget-ratio", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overhead"] == 1.0
    assert main(["--trace", "resnet18", "--batch-size", "4", "--budget-ratio", "0.8", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overhead"] >= 1.0
    assert main(["--trace", "mnist.json", "--batch-size", "16", "--budget-ratio", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["overhead"] == 1.0  # a bundled Paleo network


@pytest.mark.parametrize("argv, text", [
    (["--trace", "nope.log"], "nope.log: no such file"),
    (["--trace", "LOG", "--heuristic", "belady"], "unknown heuristic 'belady'"),
    (["--trace", "LOG", "--budget-ratio", "-1"], "--budget-ratio must be"),
    (["--trace", "LOG", "--budget-ratio", "half"], "invalid float value"),
    (["--trace", "resnet1000"], "unknown zoo model"),
    (["--trace", "nope.json"], "nope.json: no such file"),
    (["--trace", "LOG", "--batch-size", "8"], "--batch-size applies to networks"),
    (["--trace", "LOG", "--plot", "/no/such/dir/p.png"], "cannot write"),
    (["--budget-ratio", "0.5"], "required: --trace"),
])
def test_bad_input_is_one_line_and_status_2(log, capsys, argv, text):
    argv = [str(log) if a == "LOG" else a for a in argv]
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith("error: ") and text in err and err.count("\n") == 1


def test_module_runs_as_a_program(log):
    # one real interpreter (bad input is checked in-process above)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ok = subprocess.run([sys.executable, "-m", "simulator.remat", "--trace", str(log), "--json"],
                        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert ok.returncode == 0 and json.loads(ok.stdout)["oom"] is False
