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


def test_small_sizes_are_printed_in_kb_and_bytes(tmp_path, capsys):
    # a 5 kB trace printed "baseline peak 0.0 MB" and a budget of "0.0 MB"
    log = tmp_path / "tiny.log"
    log.write_text('{"INSTRUCTION": "CONSTANT", "NAME": "w"}\n{"INSTRUCTION": "MEMORY", "NAME": "w", "MEMORY": "1000"}\n'
                   '{"INSTRUCTION": "CALL", "NAME": "f", "ARGS": ["w"], "RESULT": ["a"], "TIME": "100"}\n'
                   '{"INSTRUCTION": "MEMORY", "NAME": "a", "MEMORY": "4000"}\n'
                   '{"INSTRUCTION": "ALIAS", "NAME": "a", "ALIAS": "-1"}\n')
    assert main(["--trace", str(log), "--budget-ratio", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "baseline peak        5.0 kB\n" in out
    assert out.splitlines()[-1].split()[1:3] == ["500", "B"]


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
    (["--trace", "nope.txt"], "nope.txt: no such file"),   # a log by its name, as the remat evaluator takes it
    (["--trace", "LOG", "--batch-size", "8"], "--batch-size applies to networks"),
    (["--trace", "LOG", "--plot", "/no/such/dir/p.png"], "--plot: no directory '/no/such/dir'"),
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


def test_a_malformed_log_is_one_line_with_file_and_line_not_a_traceback(log, tmp_path, capsys):
    # a RELEASE whose NAME is a list gave "TypeError: unhashable type: 'list'" and exit 1
    bad = tmp_path / "bad.log"
    bad.write_text(log.read_text() + '{"INSTRUCTION": "RELEASE", "NAME": ["a"]}\n')
    n = len(bad.read_text().splitlines())
    assert _status(["--trace", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {bad}: line {n}: NAME must be a name (a string), not ['a']\n"


def _status(argv) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return stop.code


def test_outputs_never_replace_the_trace(tmp_path, capsys):
    # --csv naming the --trace network replaced it with the CSV, exit 0
    net = tmp_path / "net.json"
    net.write_text(json.dumps({"name": "mlp", "layers": {
        "data": {"type": "Input", "tensor": [4, 8], "parents": []},
        "fc1": {"type": "InnerProduct", "num_outputs": 16, "parents": ["data"]}}}))
    before = net.read_bytes()
    assert _status(["--trace", str(net), "--sweep", "--csv", str(net)]) == 2
    err = capsys.readouterr().err
    assert err == f"error: {net}: --csv names the --trace file: writing it would replace an input; " \
                  "choose another name\n"
    assert net.read_bytes() == before
    png = tmp_path / "s.png"
    assert _status(["--trace", str(net), "--csv", str(png), "--plot", str(tmp_path / "s")]) == 2
    assert "--plot and --csv would both write this file" in capsys.readouterr().err
    assert not png.exists()


def test_plot_format_is_checked_before_the_sweep(log, tmp_path, capsys, monkeypatch):
    # --plot out.txt: a matplotlib traceback after the whole sweep
    import simulator.remat.__main__ as cli
    monkeypatch.setattr(cli, "replay", lambda *a, **k: pytest.fail("replayed before the check"))
    assert _status(["--trace", str(log), "--sweep", "--plot", str(tmp_path / "sweep.txt")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'sweep.txt'}: --plot: no plot format for '.txt' files; ")
    assert ".png" in err and ".pdf" in err and err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    assert _status(["--trace", str(log), "--budget-ratio", "1", "--plot", str(tmp_path / "sweep")]) == 0
    assert (tmp_path / "sweep.png").stat().st_size > 1000  # no extension: matplotlib's png


def test_module_runs_as_a_program(log):
    # one real interpreter (bad input is checked in-process above)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    ok = subprocess.run([sys.executable, "-m", "simulator.remat", "--trace", str(log), "--json"],
                        capture_output=True, text=True, env=env, cwd=REPO, timeout=120)
    assert ok.returncode == 0 and json.loads(ok.stdout)["oom"] is False


def test_a_reader_that_goes_away_ends_the_output_quietly(log):
    # `python -m simulator.remat ... | head -1` ended in a BrokenPipeError traceback; now quietly, with the
    # status of a process the pipe stopped (128 + SIGPIPE), as `python -m simulator` and run_deffe
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run([sys.executable, "-m", "simulator.remat", "--trace", str(log), "--budget-ratio", "1"],
                              stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=120,
                              env=dict(os.environ, PYTHONPATH=str(REPO)))
    finally:
        os.close(write_end)
    assert proc.stderr == "" and proc.returncode == 141, (proc.returncode, proc.stderr)
