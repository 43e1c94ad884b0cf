"""Reading DTR's JSON-lines logs: a log the test writes in DTR's format (never DTR's own
logs), read plain and from a zip; malformed logs give one line naming file and line."""
from __future__ import annotations

import json
import zipfile

import pytest

from simulator.graph import SimulatorError
from simulator.remat import baseline, load_dtr_log, replay
from traces import write_dtr_log

MB4 = 4_000_000


@pytest.fixture()
def log(tmp_path):
    return write_dtr_log(tmp_path / "toy-6-default.log", layers=6, batch_bytes=MB4)


def test_log_is_read_from_its_last_start(log):
    t = load_dtr_log(log)
    assert t.name == "toy"
    # 6 convs + 6 relu_ + 6 views + loss + 6 backward ops; the warm-up constant is skipped
    assert t.op_calls() == 25
    assert int(t.constant.sum()) == 7 and 123 not in t.size.tolist()
    # views share storage: 6 activations + loss grad + 6 x (input grad, weight grad) + 7 constants
    assert t.n_storages == 6 + 1 + 12 + 7


def test_baseline_of_the_log_by_hand(log):
    t = load_dtr_log(log)
    peak, compute = baseline(t)
    # all 6 activations are held for the backward; at the first backward op: input + 6 acts +
    # loss grad + input grad + weight grad, plus 6 weights
    assert peak == MB4 * (1 + 6 + 1 + 1) + 6 * 4096 + 4096
    forward = sum(1e-3 + 1e-6 * i for i in range(6)) + 6 * 2e-4 + 6 * 1e-6
    backward = 5e-5 + sum(2e-3 + 5e-7 * i for i in range(6))
    assert compute == pytest.approx(forward + backward, rel=1e-12)


def test_replaying_the_log_remakes_relu_outputs_with_their_in_place_op(log):
    t = load_dtr_log(log)
    peak, base = baseline(t)
    r = replay(t, 0.6 * peak, "dtr_eq")
    assert not r.oom and r.remats > 0 and r.overhead > 1.0
    assert r.peak_bytes <= 0.6 * peak
    # each remade activation runs conv then relu_: remats come in pairs
    assert r.remats % 2 == 0


def test_log_inside_a_zip_is_read_without_extracting(tmp_path, log):
    z = tmp_path / "logs.zip"
    with zipfile.ZipFile(z, "w") as f:
        f.write(log, "logs/toy-6-default.log")
        f.write(log, "logs/other-1-default.log")
        f.writestr("logs/manifest.json", json.dumps({"models": [{"name": "Toy (6)", "log": "logs/toy-6-default.log"}]}))
    plain = load_dtr_log(log)
    for name in ("toy", "Toy (6)", "TOY"):
        t = load_dtr_log(z, model=name)
        assert baseline(t) == baseline(plain)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["logs.zip", "toy-6-default.log"]
    with pytest.raises(SimulatorError, match="needs a model name"):
        load_dtr_log(z)
    with pytest.raises(SimulatorError, match="no log of model 'toys'.*did you mean 'toy'"):
        load_dtr_log(z, model="toys")


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = ['{"INSTRUCTION":"ANNOTATE","ANNOTATION":"START"}',
        '{"INSTRUCTION":"CONSTANT","NAME":"x1"}',
        '{"INSTRUCTION":"MEMORY","NAME":"x1","MEMORY":"64"}']


@pytest.mark.parametrize("bad, line, text", [
    ('{"INSTRUCTION":"CALL","NAME":"f","ARGS":["x1"],"RESULT":["x2"],"TIME":"5"', 4, "not valid JSON"),
    ('{"INSTRUCTION":"JUMP"}', 4, "unknown instruction 'JUMP'"),
    ('{"INSTRUCTION":"CALL","NAME":"f","ARGS":["x9"],"RESULT":["x2"],"TIME":"5"}', 4, "unknown name 'x9'"),
    ('{"INSTRUCTION":"CALL","NAME":"f","ARGS":["x1"],"RESULT":["x2"],"TIME":"soon"}', 4, "TIME must be an integer"),
    ('{"INSTRUCTION":"CALL","NAME":"f","ARGS":["x1"],"RESULT":["x2"],"TIME":"5"}', 4, "not followed by its MEMORY"),
    ('{"INSTRUCTION":"RELEASE","NAME":"x7"}', 4, "unknown name 'x7'"),
    ('{"INSTRUCTION":"MUTATE","NAME":"relu_","ARGS":["x1"],"MUTATE":[3],"TIME":"5"}', 4, "argument positions"),
    ('{"INSTRUCTION":"MEMORY","NAME":"x1","MEMORY":"64"}', 4, "does not follow"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}', 4, "not followed by its MEMORY"),
    # a name or an instruction that is a list or an object, a size too large or not whole: no traceback
    ('{"INSTRUCTION":"RELEASE","NAME":["x1"]}', 4, r"NAME must be a name \(a string\), not \['x1'\]"),
    ('{"INSTRUCTION":["RELEASE"],"NAME":"x1"}', 4, r"unknown instruction \['RELEASE'\]"),
    ('{"INSTRUCTION":"COPY","DST":["z"],"SRC":"x1"}', 4, "DST must be a name"),
    ('{"INSTRUCTION":"COPY_FROM","DST":{"a":1},"SRC":"x1"}', 4, "DST must be a name"),
    ('{"INSTRUCTION":"COPY","DST":"z","SRC":["x1"]}', 4, "SRC must be a name"),
    ('{"INSTRUCTION":"CONSTANT","NAME":["x5"]}', 4, "NAME must be a name"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}\n{"INSTRUCTION":"MEMORY","NAME":"x5","MEMORY":"100000000000000000000"}',
     5, r"MEMORY 100000000000000000000 is too large \(at most 2\*\*53"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}\n{"INSTRUCTION":"MEMORY","NAME":"x5","MEMORY":4000.7}',
     5, "MEMORY must be an integer, not 4000.7"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}\n{"INSTRUCTION":"MEMORY","NAME":"x5","MEMORY":true}',
     5, "MEMORY must be an integer, not True"),
    ('{"INSTRUCTION":"MUTATE","NAME":"relu_","ARGS":["x1"],"MUTATE":[true],"TIME":"5"}', 4, "argument positions"),
    # before: "unknown instruction 'list'" / 'None', and the 301 digits of int(1e300)
    ('["RELEASE", "x1"]', 4, r"not a JSON object \(a JSON array\)"),
    ('"RELEASE"', 4, r"not a JSON object \(a JSON string\)"),
    ('{"NAME":"x1"}', 4, "has no INSTRUCTION"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}\n{"INSTRUCTION":"MEMORY","NAME":"x5","MEMORY":1e300}',
     5, r"MEMORY 1e\+300 is too large \(at most 2\*\*53"),
    ('{"INSTRUCTION":"CONSTANT","NAME":"x5"}\n{"INSTRUCTION":"MEMORY","NAME":"x5","MEMORY":-1e300}',
     5, r"MEMORY must be >= 0, not -1e\+300$"),
])
def test_malformed_logs_name_file_and_line(tmp_path, bad, line, text):
    path = _write(tmp_path / "bad.log", GOOD + [bad])
    with pytest.raises(SimulatorError, match=text) as err:
        load_dtr_log(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}: line {line}: ") and "\n" not in msg


def test_alias_index_beyond_the_arguments(tmp_path):
    path = _write(tmp_path / "bad.log", GOOD + [
        '{"INSTRUCTION":"CALL","NAME":"view","ARGS":["x1"],"RESULT":["x2"],"TIME":"5"}',
        '{"INSTRUCTION":"MEMORY","NAME":"x2","MEMORY":"64"}',
        '{"INSTRUCTION":"ALIAS","NAME":"x2","ALIAS":"1"}'])
    with pytest.raises(SimulatorError, match=r"line 6: ALIAS 1 names no argument"):
        load_dtr_log(path)


def test_copy_from_rebinds_a_name(tmp_path):
    path = _write(tmp_path / "ok.log", GOOD + [
        '{"INSTRUCTION":"CALL","NAME":"clone","ARGS":["x1"],"RESULT":["x2"],"TIME":"1000"}',
        '{"INSTRUCTION":"MEMORY","NAME":"x2","MEMORY":"100"}',
        '{"INSTRUCTION":"ALIAS","NAME":"x2","ALIAS":"-1"}',
        '{"INSTRUCTION":"COPY_FROM","DST":"x1","SRC":"x2"}',
        '{"INSTRUCTION":"RELEASE","NAME":"x2"}',
        # x1 now names the clone: the constant's storage was freed, the clone's is still held
        '{"INSTRUCTION":"CALL","NAME":"f","ARGS":["x1"],"RESULT":["x3"],"TIME":"1000"}',
        '{"INSTRUCTION":"MEMORY","NAME":"x3","MEMORY":"10"}',
        '{"INSTRUCTION":"ALIAS","NAME":"x3","ALIAS":"-1"}'])
    peak, compute = baseline(load_dtr_log(path))
    assert peak == 164 and compute == pytest.approx(2e-6)


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(SimulatorError, match="no such file"):
        load_dtr_log(tmp_path / "nope.log")
    with pytest.raises(SimulatorError, match="no instructions"):
        load_dtr_log(_write(tmp_path / "empty.log", ['{"INSTRUCTION":"ANNOTATE","ANNOTATION":"START"}']))
