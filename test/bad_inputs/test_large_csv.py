"""A large CSV file (-pre-evaluated-data, -inference-only -input) is streamed: reading 100,000 rows (4.5 MB)
holds the rows' numbers, never the file's text as Python objects (the cells of every row take eight times
the file's bytes: 37 MB here). tracemalloc slows reading six times, hence not more rows."""
from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from framework.errors import DeffeError
from framework.inference import read_input
from framework.preload import load_csv
from framework.space import ArithLevels, DesignSpace, Knob, ListLevels

ROWS = 100_000
SPACE = DesignSpace([Knob("a", "integer", ArithLevels(0, 1, 1000, True)),
                     Knob("b", "categorical", ListLevels(["x", "y"]), encoding="onehot")])


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.csv"
    with open(path, "w", newline="") as fh:
        fh.write("a,b,t,note\n")
        for i in range(ROWS):
            fh.write(f"{i % 1000},{'xy'[i % 2]},{i / 1000:.6f},a note that is not read {i}\n")
    return path


def peak_bytes(read) -> tuple[object, int]:
    tracemalloc.start()
    try:
        out = read()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_pre_evaluated_data_is_streamed(big_csv):
    pre, peak = peak_bytes(lambda: load_csv(big_csv, "big.csv", SPACE, ["t"]))
    assert pre.codes.shape == (ROWS, 2) and len(pre.results) == ROWS and pre.skipped == 0
    assert pre.results[ROWS - 1].costs == {"t": (ROWS - 1) / 1000} and pre.results[-1].status == "ok"
    assert peak < 2 * big_csv.stat().st_size, f"{peak / 1e6:.1f} MB for a {big_csv.stat().st_size / 1e6:.1f} MB file"


def test_inference_input_is_streamed(big_csv):
    (rows, has_truth), peak = peak_bytes(lambda: read_input(big_csv, "big.csv", SPACE, ["t"]))
    codes = np.array(rows.codes).reshape(-1, 2)
    assert has_truth == [True] and len(rows.lines) == ROWS and not rows.bad
    assert codes[-1].tolist() == [(ROWS - 1) % 1000, (ROWS - 1) % 2] and rows.lines[-1] == ROWS + 1
    assert peak < 2 * big_csv.stat().st_size, f"{peak / 1e6:.1f} MB for a {big_csv.stat().st_size / 1e6:.1f} MB file"


def test_a_bad_row_far_down_is_named_by_its_line(big_csv, tmp_path):
    bad = tmp_path / "bad.csv"
    with open(big_csv, "rb") as src, open(bad, "wb") as dst:
        for n, line in enumerate(src, 1):
            dst.write(line.replace(b",", b",\xe9", 1) if n == 75_001 else line)
    with pytest.raises(DeffeError) as err:
        load_csv(bad, "bad.csv", SPACE, ["t"])
    assert str(err.value).startswith("bad.csv:line 75001: not UTF-8 text")
