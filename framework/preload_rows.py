"""The text the run store keeps of each pre-evaluated row: the point's key (`DesignSpace.key`) and its values
as JSON, for many rows at once.

A point's text is made of its knobs' texts, and a knob of a finite space takes few values: each value's text is
made once (by `DesignSpace.key` and `values` themselves, on the first row that holds it) and joined for every
row. Made row by row, the keys and values of a file of 200,000 rows took longer than storing them.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np


def _dumps(x: Any) -> str:   # as the store writes a point's values (store._dumps)
    return json.dumps(x, separators=(",", ":"), default=str)


class RowText:
    def __init__(self, space: Any):
        self.space = space
        knobs = space.knobs
        # a continuous knob has as many values as rows: nothing to share, each row's text is made as it is
        self.shared = bool(knobs) and all(k.finite for k in knobs)
        self._key: list[dict[float, str]] = [{} for _ in knobs]   # knob -> code -> its item of a key
        self._values: list[dict[float, str]] = [{} for _ in knobs]   # knob -> code -> '"name":value'
        self._order: list[int] | None = None   # the knobs in the order of a key's items

    def _learn(self, row: list[float]) -> None:
        """Each knob's texts of the codes of ``row``, from the space's own key and values of that row."""
        space = self.space
        items = json.loads(space.key(row))
        names = [k.name for k in space.knobs]
        if self._order is None:
            self._order = [names.index(name) for name, _text in items]
        by_name = dict((name, [name, text]) for name, text in items)
        values = space.values(row)
        for j, name in enumerate(names):
            self._key[j][row[j]] = json.dumps(by_name[name], separators=(",", ":"))
            self._values[j][row[j]] = _dumps({name: values[name]})[1:-1]

    def texts(self, codes: np.ndarray) -> tuple[list[str], list[str]]:
        """The keys and the values (JSON) of the rows ``codes``."""
        space = self.space
        codes = np.atleast_2d(codes)
        if not len(codes):
            return [], []
        if not self.shared:
            return space.keys(codes), [_dumps(space.values(row)) for row in codes]
        for j, column in enumerate(codes.T):   # a value not met yet: its texts learned from a row holding it
            for code in np.unique(column).tolist():
                if code not in self._key[j]:
                    self._learn(codes[int(np.flatnonzero(column == code)[0])].tolist())
        # joined a knob at a time over all the rows (numpy's loop over object arrays), not a row at a time
        keys = self._joined(self._key, codes, self._order, "[", "]")
        values = self._joined(self._values, codes, range(len(space.knobs)), "{", "}")
        return keys, values

    @staticmethod
    def _joined(texts: list[dict[float, str]], codes: np.ndarray, order, opening: str, closing: str) -> list[str]:
        out: np.ndarray | None = None
        for j in order:
            column, at = np.unique(codes[:, j], return_inverse=True)
            part = np.array([texts[j][c] for c in column.tolist()], dtype=object)[at.reshape(-1)]
            out = opening + part if out is None else out + ("," + part)
        return (out + closing).tolist()
