"""``run_deffe.py -report RUN_DIR``: every report rebuilt from the run directory, nothing evaluated; and the
function a run calls at its end."""
import json
import logging
import shutil
import sqlite3

import commentjson

from cli_helpers import ROOT, assert_user_error, run_deffe, write
from framework.reports import reports_after_run


def _report_files(run_dir):
    return sorted(run_dir.glob("report_*.png")) + sorted(run_dir.glob("deffe_report.*"))


def _stored(run_dir):
    db = sqlite3.connect(run_dir / "deffe.db")
    try:
        return (db.execute("SELECT COUNT(*) FROM samples").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0],
                db.execute("SELECT COUNT(*) FROM steps").fetchone()[0])
    finally:
        db.close()


def test_report_rebuilds_every_report_and_evaluates_nothing(minimal_run, tmp_path):
    before = _report_files(minimal_run)
    assert len(before) >= 6
    for p in before:
        p.unlink()
    stored, table = _stored(minimal_run), (minimal_run / "deffe_evaluation.csv").read_bytes()
    # from another directory, with no config there: the run directory is all it needs
    r = run_deffe("-report", minimal_run, cwd=tmp_path)
    assert r.rc == 0, r
    printed = r.out.split()
    assert sorted(printed) == sorted(str(p) for p in before)
    assert _report_files(minimal_run) == before
    assert _stored(minimal_run) == stored
    assert (minimal_run / "deffe_evaluation.csv").read_bytes() == table
    assert not any(tmp_path.iterdir())   # nothing written where it was started


def test_report_on_a_directory_that_is_not_a_run(tmp_path):
    r = run_deffe("-report", tmp_path, cwd=tmp_path)
    assert_user_error(r, str(tmp_path), "not a run directory")
    assert not any(tmp_path.iterdir())


def test_report_on_a_missing_directory(tmp_path):
    r = run_deffe("-report", tmp_path / "nowhere", cwd=tmp_path)
    assert_user_error(r, str(tmp_path / "nowhere"))


def test_an_empty_run_dir_is_an_error_not_a_run(tmp_path):
    """`-report "$RUN_DIR"` with RUN_DIR unset was no -report at all: it started a run from ./config.json."""
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, tmp_path / name)
    before = sorted(p.name for p in tmp_path.iterdir())
    for empty in ("", "  "):
        r = run_deffe("-report", empty, "-quiet", cwd=tmp_path)
        assert_user_error(r, "-report: the run directory is empty text")
    assert sorted(p.name for p in tmp_path.iterdir()) == before   # no run directory made


def test_flags_that_make_or_change_a_run_are_refused_with_report(minimal_run, tmp_path):
    """-report with -no-run, -fresh, -inference-only, ... ignored them and rewrote the reports."""
    html = minimal_run / "deffe_report.html"
    stamp = html.stat().st_mtime_ns
    for flags, named in ((["-no-run"], "-no-run"), (["-fresh"], "-fresh"),
                         (["-inference-only", "-icp", "x.ckpt", "-input", "x.csv"], "-icp -inference-only -input"),
                         (["-seed", "0"], "-seed"), (["-fixed-samples", "3"], "-fixed-samples")):
        r = run_deffe("-report", minimal_run, *flags, cwd=tmp_path)
        assert_user_error(r, f"-report: {named}: not with -report")
    assert html.stat().st_mtime_ns == stamp and (minimal_run / "deffe.db").is_file()
    assert not (minimal_run.parent / (minimal_run.name + ".1")).exists()   # -fresh moved nothing aside
    # what has no effect on a run goes with it
    r = run_deffe("-report", minimal_run, "-quiet", "-config", "elsewhere.json", cwd=tmp_path)
    assert r.rc == 0, r


def test_the_flag_is_listed():
    r = run_deffe("-h", cwd=".")
    assert r.rc == 0 and "-report RUN_DIR" in r.out


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _logger(name):
    log = logging.getLogger(name)
    log.propagate = False
    handler = _Lines()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    return log, handler


def test_after_a_run_a_failure_to_build_is_a_warning(tmp_path):
    log, lines = _logger("test_report_cli.failure")
    assert reports_after_run(tmp_path, log) == {}
    warnings = [r.getMessage() for r in lines.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("warning: reports not written: ")
    assert f"-report {tmp_path}" in warnings[0]


def test_after_a_run_the_reports_are_built(minimal_run):
    log, lines = _logger("test_report_cli.success")
    paths = reports_after_run(minimal_run, log)
    assert paths["html"] == minimal_run / "deffe_report.html" and paths["xlsx"].is_file()
    assert not [r for r in lines.records if r.levelno >= logging.WARNING]


def test_a_run_writes_its_reports_unless_told_not_to(tmp_path):
    """What a user gets by default (the suite turns the reports off with DEFFE_REPORTS=off elsewhere)."""
    for name in ("config.json", "evaluate.sh"):
        shutil.copy(ROOT / "test" / name, tmp_path / name)
    r = run_deffe("-config", "config.json", "-quiet", "-max-samples", "12", cwd=tmp_path,
                  env={"DEFFE_REPORTS": ""})
    assert r.rc == 0, r
    run = tmp_path / "explore"
    assert (run / "deffe_report.html").is_file() and (run / "deffe_report.xlsx").is_file()
    assert list(run.glob("report_*.png"))
    data = commentjson.loads((tmp_path / "config.json").read_text())
    data.setdefault("framework", {})["report_files"] = False
    data["framework"]["run_directory"] = "quiet"
    (tmp_path / "config.json").write_text(json.dumps(data))
    r = run_deffe("-config", "config.json", "-quiet", "-max-samples", "12", cwd=tmp_path,
                  env={"DEFFE_REPORTS": ""})
    assert r.rc == 0, r
    assert not (tmp_path / "quiet" / "deffe_report.html").exists()


def test_a_finished_run_without_a_feasible_design_says_so(tmp_path):
    # "No front yet: deffe_exploration.csv is written at the end of the run", of a run that had ended
    write(tmp_path / "ev.py", "def evaluate(p):\n    raise ValueError('never')\n")
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"max_samples": 2}}))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    r = run_deffe("-report", "explore", cwd=tmp_path)
    assert r.rc == 0, r
    html = (tmp_path / "explore" / "deffe_report.html").read_text()
    assert "No feasible design: none of the 2 evaluations succeeded" in html and "front yet" not in html


def test_a_report_that_cannot_be_written_names_its_file_and_a_way_out(minimal_run, tmp_path):
    # "error: .../report_progress.png.tmp: cannot write the reports (Read-only file system)": an internal
    # file, and no way forward; then "error: RUN_DIR: cannot write report_progress.png (Is a directory); free
    # some space, ...": the run directory, not the file, and a way that does not help (docs/running.md: a
    # directory in the place of a file the run writes is named, with "move the directory aside")
    run = tmp_path / "run"
    shutil.copytree(minimal_run, run)
    # what the system refuses to replace, as a read-only disk would (the temporary names are unique: the
    # report's own place is taken)
    (run / "report_progress.png").unlink(missing_ok=True)
    (run / "report_progress.png").mkdir()
    line = assert_user_error(run_deffe("-report", run, cwd=tmp_path),
                             f"error: {run / 'report_progress.png'}: cannot write report_progress.png: a directory "
                             "is in the place of this file (", "; move the directory aside")
    assert "free some space" not in line
    assert ".tmp" not in line
    assert not [p.name for p in run.iterdir() if ".tmp" in p.name]   # the temporary file was removed
