"""A run's trained model in Python: ``Model.predict(DataFrame) -> DataFrame``.

The model is the checkpoint the run wrote (``checkpoints/<exploration>.ckpt``), loaded as
``run_deffe.py -inference-only`` loads it (`inference.load_model`): the same plugin checks, the same
knob encoding, so a prediction here equals the one in the CSV file inference writes.
"""
from __future__ import annotations

import logging
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .checkpoint import read_meta
from .config import Config, Explore
from .contract import predicted
from .errors import DeffeError
from .inference import load_model
from .preload import cells_of, match_columns
from .values import format_value

SHOWN = "predict()"   # the "file" errors about the points name


class Model:
    """The surrogate model of one exploration, for points given as a DataFrame."""

    def __init__(self, config: Config, explore: Explore, checkpoint: Path):
        self.config = config
        self.explore = explore
        self.checkpoint = Path(checkpoint)
        self.knobs = list(explore.space.names)
        self.costs = list(config.cost_names)
        self._plugin: Any = None   # loaded on the first prediction: importing torch takes seconds

    def __repr__(self) -> str:
        return f"Model({self.explore.name!r}, knobs={self.knobs}, costs={self.costs}, file='{self.checkpoint}')"

    @property
    def plugin(self) -> Any:
        """The model plugin object, with the checkpoint loaded."""
        if self._plugin is None:
            from .cli import build_parser
            # the command line's defaults (no -trust-pickle, no -seed): what -inference-only would use
            args = build_parser().parse_args(["-config", str(self.config.path)])
            args.trust_pickle = bool(self.config.section("model").get("trust_pickle"))
            threads = int(self.config.section("model").get("threads") or 1)
            self._plugin = load_model(self.config, args, self.explore, read_meta(self.checkpoint),
                                      self.checkpoint, logging.getLogger("deffe.api"), threads)
        return self._plugin

    def predict(self, points: pd.DataFrame) -> pd.DataFrame:
        """``predicted-<cost>`` (and ``std-<cost>`` when the model gives an uncertainty, ``feasible`` when it
        learned failures) per row of ``points``, which holds a column per knob, found by name; other columns
        are ignored (or one design: a dict of values, or a row of ``run.evaluations``). The result has the index
        of ``points`` and the knob columns first."""
        points = _as_frame(points)
        codes = self.codes(points)
        n = len(codes)
        if not n:   # no rows: the model is asked about one point of the space (the middle of every knob), so that
            # the columns (std-<cost>, feasible) are those rows get, and none of its answer is kept
            codes = self.explore.space.from_unit(np.full((1, len(self.explore.space)), 0.5))
        pred = predicted(self.plugin, codes, len(self.costs), read_meta(self.checkpoint).plugin,
                         str(self.checkpoint))
        found = self._found([str(c) for c in points.columns])
        out = points.iloc[:, [i for i in found.values() if i is not None]].copy()
        for j, cost in enumerate(self.costs):
            out[f"predicted-{cost}"] = np.asarray(pred.mean, dtype=float)[:n, j]
            if pred.std is not None:
                out[f"std-{cost}"] = np.asarray(pred.std, dtype=float)[:n, j]
        if getattr(pred, "feasible", None) is not None and \
                getattr(getattr(self.plugin, "feasibility", None), "trained", False):
            out["feasible"] = np.asarray(pred.feasible, dtype=float)[:n]
        return out

    def codes(self, points: pd.DataFrame) -> np.ndarray:
        """The points as the model's input; a missing knob or a value outside its domain is a DeffeError."""
        space = self.explore.space
        header = [str(c) for c in points.columns]
        found = self._found(header)
        given = [i for i in found.values() if i is not None]
        # the knob columns' cells as the text a CSV file would hold: values match as in -inference-only
        columns = [[format_value(v) for v in points.iloc[:, i].tolist()] for i in given]
        where = {name: (given.index(i) if i is not None else None) for name, i in found.items()}
        rows = []
        for r, cells in enumerate(zip(*columns) if columns else [()] * len(points)):
            try:
                rows.append(space.code_list(cells_of(list(cells), where, space)))
            except DeffeError as e:
                raise DeffeError(e.what, file=SHOWN, where=f"row {points.index[r]!r}", hint=e.hint) from None
        return np.array(rows, dtype=float).reshape(-1, len(space))

    def _found(self, header: list[str]) -> dict[str, int | None]:
        """Knob name -> the position of its column (None: a knob of one value, not given)."""
        try:
            return match_columns(header, self.explore.space, SHOWN)
        except DeffeError as e:
            raise DeffeError(e.what, file=SHOWN, where="columns", hint=e.hint) from None


def _as_frame(points) -> pd.DataFrame:
    """Points as a DataFrame; one design may come as a dict of values or as a row (a Series) of a table."""
    if isinstance(points, pd.DataFrame):
        return points
    if isinstance(points, pd.Series):
        return points.to_frame().T        # run.evaluations.iloc[3]: its row label stays the index
    if isinstance(points, Mapping) and points and all(np.ndim(v) == 0 for v in points.values()):
        return pd.DataFrame([dict(points)])
    wanted = "the points are a DataFrame with a column per knob, a dict of one design's values, or a row " \
             "of run.evaluations"
    if isinstance(points, (str, bytes)) or np.ndim(points) == 0 and not isinstance(points, Mapping):
        raise DeffeError(f"{wanted}, not {type(points).__name__} {points!r}"[:200], file=SHOWN)
    try:
        return pd.DataFrame(points)
    except (ValueError, TypeError) as e:
        raise DeffeError(f"{wanted}, not this {type(points).__name__} ({e})", file=SHOWN) from None
