"""Model features of a design space, owned by the framework so every model plugin sees the same ones."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .space import DesignSpace
from .values import format_value


@dataclass
class Encoding:
    """Features for models, owned here so that every model plugin sees the same ones.

    Per knob: one-hot for categorical knobs, position/(n-1) for ordinal text,
    and (t(v) - t(min)) / (t(max) - t(min)) for numbers (t = log for log
    ranges). Knobs with a single value give no feature (Deffe's pruning).
    """

    space: DesignSpace
    feature_names: list[str] = field(default_factory=list)
    _columns: list[tuple] = field(default_factory=list, repr=False)

    def __post_init__(self):
        for j, k in enumerate(self.space.knobs):
            if k.finite and k.size == 1:
                continue
            if k.encoding == "onehot":
                self._columns.append(("onehot", j, k.size))
                self.feature_names.extend(f"{k.name}={format_value(v)}" for v in k.levels)
            elif k.encoding == "ordinal" or not k.numeric:
                self._columns.append(("table", j, np.linspace(0.0, 1.0, k.size)))
                self.feature_names.append(k.name)
            elif k.levels is None:
                self._columns.append(("range", j, k.low, k.high, k.log))
                self.feature_names.append(k.name)
            else:
                nums = k.levels.numbers() if len(k.levels) <= 1_000_000 else None
                if nums is None:
                    lo, hi = float(k.levels[0]), float(k.levels[len(k.levels) - 1])
                    self._columns.append(("linear-index", j, lo, hi, len(k.levels)))
                else:
                    t = np.log(nums) if (k.log and np.all(nums > 0)) else nums
                    span = t.max() - t.min()
                    table = (t - t.min()) / span if span > 0 else np.zeros_like(t)
                    self._columns.append(("table", j, table))
                self.feature_names.append(k.name)

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        out = np.empty((codes.shape[0], self.n_features), dtype=np.float32)
        c = 0
        for col in self._columns:
            kind, j = col[0], col[1]
            x = codes[:, j]
            if kind == "onehot":
                n = col[2]
                out[:, c:c + n] = np.eye(n, dtype=np.float32)[x.astype(np.int64)]
                c += n
                continue
            if kind == "table":
                out[:, c] = col[2][x.astype(np.int64)]
            elif kind == "range":
                lo, hi, log = col[2], col[3], col[4]
                out[:, c] = ((np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo))) if log \
                    else (x - lo) / (hi - lo)
            else:  # linear-index: a huge evenly spaced range
                out[:, c] = x / max(col[4] - 1, 1)
            c += 1
        return out

    def signature(self) -> dict:
        """What a trained model depends on: checked when a checkpoint is loaded."""
        return {"features": list(self.feature_names), "knobs": self.space.describe()}
