"""-report's mistakes are the one line ``error: <file>:<where>: <what>; <what to do>``: a report whose place holds
a directory or a link to nowhere, a deffe_run.json that is not JSON or not an object, a manifest naming a table
outside the run directory that the run's config never named, a table that is not CSV."""
import json
import logging
import shutil

import pytest

from cli_helpers import assert_user_error, run_deffe, write
from framework.reports import reports_after_run


def _copy(run_dir, where):
    return shutil.copytree(run_dir, where)


def _dir_in_place(path):
    path.unlink(missing_ok=True)
    path.mkdir()
    return "a directory is in the place of this file (", "; move the directory aside"


def _link_to_nowhere(path):
    path.unlink(missing_ok=True)
    path.symlink_to(path.parent / "gone" / "report.html")
    return f"it is a link to {path.parent / 'gone' / 'report.html'}, nothing that can be written (", \
        "; remove the link"


@pytest.mark.parametrize("block", [_dir_in_place, _link_to_nowhere])
def test_a_report_whose_place_is_taken_is_named_with_the_way_out(minimal_run, tmp_path, block):
    """'error: RUN_DIR: cannot write deffe_report.html (Is a directory); free some space, ...': the run
    directory instead of the file, and a remedy that does not help."""
    d = _copy(minimal_run, tmp_path / "run")
    what, hint = block(d / "deffe_report.html")
    line = assert_user_error(run_deffe("-report", d, cwd=tmp_path),
                             f"error: {d / 'deffe_report.html'}: cannot write deffe_report.html: {what}", hint)
    assert "free some space" not in line
    assert not [p.name for p in d.iterdir() if ".tmp" in p.name]
    # the same text as the warning at the end of a run
    said = []
    log = logging.getLogger("test_report_errors_named")
    log.addHandler(handler := logging.Handler())
    handler.emit = lambda record: said.append(record.getMessage())
    try:
        assert reports_after_run(d, log) == {}
    finally:
        log.removeHandler(handler)
    assert len(said) == 1 and line[len("error: "):] in said[0], said


@pytest.mark.parametrize("text, where, what", [
    (b'{"broken": ', "line 1 column 12", "not a run manifest: not JSON (Expecting value)"),
    (b'{"costs": []\n  "explores": []}', "line 2 column 3", "not a run manifest: not JSON (Expecting ',' delimiter)"),
    (b"\n  []", "line 2 column 3", "not a run manifest (a JSON object), but list []"),
    (b'"explores"', "line 1 column 1", "not a run manifest (a JSON object), but str"),
    (b'{"explores": []}\xff', "byte 16", "not a run manifest: not text"),
])
def test_a_manifest_that_is_not_json_or_not_an_object_names_the_place(minimal_run, tmp_path, text, where, what):
    """'error: .../deffe_run.json: not a run manifest (Expecting value: line 1 column 12 (char 11))': no place
    and no way on."""
    d = _copy(minimal_run, tmp_path / "run")
    (d / "deffe_run.json").write_bytes(text)
    assert_user_error(run_deffe("-report", d, cwd=tmp_path), f"error: {d / 'deffe_run.json'}:{where}: {what}",
                      "; run the command that made the run again: it resumes the run and rewrites deffe_run.json")


def _other_run(tmp_path, d):
    other = tmp_path / "other"
    other.mkdir()
    shutil.copy(d / "deffe_evaluation.csv", other / "deffe_evaluation.csv")
    return "../other/deffe_evaluation.csv", "deffe_evaluation.csv"


def _system_file(tmp_path, d):
    write(tmp_path / "passwd", "root:x:0:0:root:/root:/bin/bash\nweird,line,of,fields\n")
    return str(tmp_path / "passwd"), "passwd"


@pytest.mark.parametrize("outside", [_other_run, _system_file])
def test_a_manifest_table_outside_the_run_directory_the_config_never_named_is_refused(minimal_run, tmp_path,
                                                                                      outside):
    """tables.evaluation = '../other/deffe_evaluation.csv' read another run's table (exit 0, with a warning of
    a run stopped mid-step); '/etc/passwd' was parsed as a table: 'error: /etc/passwd: cannot read the table'."""
    d = _copy(minimal_run, tmp_path / "run")
    m = json.loads((d / "deffe_run.json").read_text())
    m["explores"][0]["tables"]["evaluation"], name = outside(tmp_path, d)
    (d / "deffe_run.json").write_text(json.dumps(m))
    assert_user_error(run_deffe("-report", d, cwd=tmp_path),
                      f"error: {d / 'deffe_run.json'}:explores[0].tables.evaluation: "
                      f"'{m['explores'][0]['tables']['evaluation']}' is outside the run directory, and the run's "
                      f"config names no table '{name}'", "rewrites deffe_run.json")


def test_a_table_the_config_placed_outside_the_run_directory_is_read(tmp_path):
    """What the driver itself writes: an absolute table name in the config, outside the run directory."""
    write(tmp_path / "ev.py", "def evaluate(p):\n    return {'t': p['a'] + 1}\n")
    table = tmp_path / "tables" / "my_evaluations.csv"
    table.parent.mkdir()
    write(tmp_path / "config.json", json.dumps({
        "python_path": ["."], "knobs": [{"name": "a", "values": "0-9"}], "costs": ["t"],
        "evaluate": {"plugin": "python", "function": "ev:evaluate"}, "model": {"plugin": None},
        "exploration": {"max_samples": 4, "explore": [{"evaluation_table": str(table)}]}}))
    assert run_deffe("-config", "config.json", "-quiet", cwd=tmp_path).rc == 0
    assert json.loads((tmp_path / "explore" / "deffe_run.json").read_text())["explores"][0]["tables"][
        "evaluation"] == str(table)
    r = run_deffe("-report", "explore", cwd=tmp_path)
    assert r.rc == 0 and r.err == "", r


def test_a_table_that_is_not_csv_is_one_line_with_its_place_and_the_way_on(minimal_run, tmp_path):
    d = _copy(minimal_run, tmp_path / "run")
    write(d / "deffe_prediction.csv", "a,b\n1,2\n1,2,3,4\n")
    assert_user_error(run_deffe("-report", d, cwd=tmp_path),
                      f"error: {d / 'deffe_prediction.csv'}:line 3: cannot read the table (ParserError: ",
                      "; restore it from a copy of the run, or run the command that made the run again")
