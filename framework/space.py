"""The design space: typed knobs, mixed-radix indexing, and codes.

A point is held as a *code*: one float per knob, the level index for a finite
knob and the value itself for a continuous one. Codes are what samplers,
search algorithms and the run store exchange; values are what users and
evaluators see. A finite space is indexed in mixed radix (the last knob varies
fastest, like ``itertools.product``) without ever materialising it: a space of
10**30 points maps index <-> point with Python integers.
"""
from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from .errors import DeffeError
from .values import Value, format_value, shorten, value_key

if TYPE_CHECKING:   # the encoding imports this module
    from .encoding import Encoding

KINDS = ("categorical", "ordinal", "integer", "real")
ENCODINGS = ("numeric", "onehot", "ordinal")


# ----------------------------------------------------------------------------- levels
class Levels:
    """The finite values of a knob, in order. Subclasses avoid materialising ranges."""

    numeric: bool = True

    def __len__(self) -> int: raise NotImplementedError
    def __getitem__(self, i: int) -> Value: raise NotImplementedError
    def index(self, value: Any) -> int: raise NotImplementedError  # ValueError if absent

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def numbers(self) -> np.ndarray:
        """Float value of every level (numeric levels only)."""
        return np.array([float(self[i]) for i in range(len(self))], dtype=float)


class ListLevels(Levels):
    def __init__(self, values: Sequence[Value]):
        self.values = tuple(values)
        self.numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool)
                           for v in self.values)
        self._keys: dict[tuple, int] = {}
        self._texts: dict[str, int] = {}   # a level's own text (what a CSV holds): a shortcut past value_key
        for i, v in enumerate(self.values):
            self._keys.setdefault(value_key(v), i)
            text = format_value(v)
            if value_key(text) == value_key(v):
                self._texts.setdefault(text, self._keys[value_key(v)])

    def __len__(self): return len(self.values)
    def __getitem__(self, i): return self.values[i]

    def index(self, value):
        if isinstance(value, str) and value in self._texts:
            return self._texts[value]
        try:
            key = value_key(value)
            return self._keys[key]
        except KeyError:
            i = self._nearest(key)
            if i is None:
                raise ValueError(value) from None
            return i
        except TypeError:
            raise ValueError(value) from None

    # A value within this fraction of the gap to a neighbouring level is that level, for levels that are
    # floats: a decimal range "0.1-1.0-0.1" lists 0.3, which np.arange or a Python sweep writes as
    # 0.30000000000000004 (float noise is ~1e-16 of the value). Integer levels match exactly (14.00000000001
    # is no 14), as does text.
    TOLERANCE = 1e-9

    def _nearest(self, key: tuple) -> int | None:
        if key[0] != "n" or not math.isfinite(key[1]):
            return None
        floats = getattr(self, "_floats", None)
        if floats is None:   # made at the first miss: the sorted numeric levels, and which of them are floats
            nums = sorted((float(v), i) for i, v in enumerate(self.values)
                          if isinstance(v, (int, float)) and not isinstance(v, bool))
            floats = self._floats = ([x for x, _ in nums], [i for _, i in nums],
                                     [isinstance(self.values[i], float) for _, i in nums])
        xs, idx, isfloat = floats
        j = bisect.bisect_left(xs, key[1])
        best = min((k for k in (j - 1, j) if 0 <= k < len(xs)), key=lambda k: abs(xs[k] - key[1]), default=None)
        if best is None or not isfloat[best]:
            return None
        gaps = [abs(xs[k] - xs[best]) for k in (best - 1, best + 1) if 0 <= k < len(xs)]
        scale = min(gaps) if gaps else abs(xs[best]) or 1.0
        return idx[best] if abs(xs[best] - key[1]) <= self.TOLERANCE * scale else None

    def duplicates(self) -> list[Value]:
        """Values listed twice: one value (1, 1.0 and "1") or two written alike in the tables, scripts and
        command lines (true and "true": format_value writes both as true, and a table read back cannot tell
        them apart)."""
        seen, texts, dup = set(), set(), []
        for v in self.values:
            k, t = value_key(v), format_value(v)
            if k in seen or t in texts:
                dup.append(v)
            seen.add(k)
            texts.add(t)
        return dup


class RangeLevels(ListLevels):
    """A list of values that is a range of integers (the string syntax "1-1000000"), held as the range: the
    levels, codes and keys of the `ListLevels` of its values, without a Python object, a key and a text per
    value (a million values took 18 s and 530 MB before the first sample)."""

    def __init__(self, values: range):
        self.values = values
        self.numeric = True

    def index(self, value):
        try:
            key = value_key(value)
        except TypeError:
            raise ValueError(value) from None
        if key[0] == "n" and float(key[1]).is_integer():
            at, off = divmod(int(key[1]) - self.values.start, self.values.step)
            if off == 0 and 0 <= at < len(self.values):
                return at
        raise ValueError(value)

    def duplicates(self) -> list[Value]:
        return []

    def numbers(self) -> np.ndarray:
        return np.arange(self.values.start, self.values.stop, self.values.step, dtype=np.int64).astype(float)


class ArithLevels(Levels):
    """low, low+step, ... (n levels); integers stay integers."""

    def __init__(self, low: float, step: float, n: int, integer: bool):
        self.low, self.step, self.n, self.integer = low, step, n, integer
        # the decimals the user wrote: 0 to 1 in steps of 0.1 gives 0.3, not 0.1 + 2 x 0.1 = 0.30000000000000004
        # (a value an evaluator receives, a script as its argument, and the tables show)
        self.decimals = None if integer else _written_decimals(low, step)

    def __len__(self): return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        v = self.low + i * self.step
        if self.integer:
            return int(round(v))
        return float(round(v, self.decimals)) if self.decimals is not None else float(v)

    def index(self, value):
        key = value_key(value)
        if key[0] != "n":
            raise ValueError(value)
        pos = (key[1] - self.low) / self.step
        i = int(round(pos))
        if 0 <= i < self.n and math.isclose(self[i], key[1], rel_tol=1e-9, abs_tol=1e-12):
            return i
        raise ValueError(value)

    def numbers(self):
        v = self.low + np.arange(self.n) * self.step
        return np.round(v, self.decimals) if self.decimals is not None else v


def _written_decimals(*numbers: float) -> int | None:
    """The most decimals of the numbers as Python writes them (0.25: 2, 1e-05: 5); None when one of them needs
    more than 12 (1/3: no rounding to what was written)."""
    most = 0
    for x in numbers:
        text = repr(float(x))
        if "e" in text:
            mantissa, exponent = text.split("e")
            d = len(mantissa.split(".")[1].rstrip("0")) if "." in mantissa else 0
            d -= int(exponent)
        else:
            d = len(text.split(".")[1].rstrip("0"))
        most = max(most, d)
    return most if most <= 12 else None


class GeomLevels(Levels):
    """low, low*factor, low*factor**2, ... (n levels): a log range with a step factor."""

    def __init__(self, low: float, factor: float, n: int, integer: bool, high: float | None = None):
        self.low, self.factor, self.n, self.integer, self.high = low, factor, n, integer, high
        # the decimals the user wrote, as ArithLevels keeps them: level i of 0.3 x 3**i has the low's decimals
        # plus i times the factor's (0.9, not 0.8999999999999999); None where they are not a few
        self.decimals = None if integer else (_written_decimals(low), _written_decimals(factor))

    def __len__(self): return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        v = self.low * self.factor ** i
        if self.integer:
            v = int(round(v))
        else:
            low, factor = self.decimals
            if low is not None and factor is not None and low + i * factor <= 12:
                v = float(round(v, low + i * factor))
            v = float(v)
        # the level count allows float noise (0.1 x 3 = 0.30000000000000004 is the max 0.3): never above max
        return v if self.high is None or v <= self.high else type(v)(self.high)

    def repeated(self) -> int | None:
        """An integer value two levels round to (1 x 1.5 and 1 x 1.5**2 are both 2), or None."""
        if not self.integer:
            return None
        previous = self[0]
        for i in range(1, self.n):
            current = self[i]
            if current == previous:
                return current
            # levels more than 1 apart round apart, and the gaps only grow: no repeat beyond
            if self.low * self.factor ** (i - 1) * (self.factor - 1) > 1:
                return None
            previous = current
        return None

    def index(self, value):
        key = value_key(value)
        if key[0] != "n" or key[1] <= 0:
            raise ValueError(value)
        i = int(round(math.log(key[1] / self.low) / math.log(self.factor)))
        if 0 <= i < self.n and math.isclose(self[i], key[1], rel_tol=1e-9):
            return i
        raise ValueError(value)


# ----------------------------------------------------------------------------- knobs
@dataclass(frozen=True, eq=False)
class Knob:
    """One dimension of the space (a knob or a scenario of the config)."""

    name: str
    kind: str                                  # one of KINDS
    levels: Levels | None                      # None: a continuous real range
    low: float | None = None                   # bounds of a continuous range
    high: float | None = None
    log: bool = False
    encoding: str = "numeric"                  # one of ENCODINGS
    scenario: bool = False
    map: str | None = None                     # Deffe's alias used in evaluate scripts
    family: str | None = None                  # a repeated knob's name ("device")
    member: int | None = None                  # its position in the family
    groups: tuple[str, ...] = ()
    exchangeable: bool | tuple = False         # a family's values are interchangeable labels: all (True)
                                               # or those whose value_key is listed

    @property
    def finite(self) -> bool:
        return self.levels is not None

    @property
    def size(self) -> int | None:
        return len(self.levels) if self.levels is not None else None

    @property
    def numeric(self) -> bool:
        return self.levels is None or self.levels.numeric

    def value(self, code: float) -> Value:
        """The value a code stands for."""
        if self.levels is None:
            return float(code)
        return self.levels[int(code)]

    def code(self, value: Any) -> float:
        """The code of a value, matched by value ("1.0" matches 1). ValueError if outside."""
        if self.levels is None:
            key = value_key(value)
            if key[0] != "n" or not (self.low <= key[1] <= self.high):
                raise ValueError(value)
            return float(key[1])
        return float(self.levels.index(value))

    def _along(self, p: np.ndarray) -> np.ndarray:
        """A continuous knob's codes at fractions p of its range (of its log range for a log knob), within it:
        exp(log(low)) may round below low."""
        if self.log:
            codes = np.exp(np.log(self.low) + p * (np.log(self.high) - np.log(self.low)))
        else:
            codes = self.low + p * (self.high - self.low)
        return np.clip(codes, self.low, self.high)

    def at_position(self, position: np.ndarray) -> np.ndarray:
        """Codes of a continuous knob at positions of [0, 1] along its range, 0 and 1 its very ends:
        exp(log(100)) is 100.00000000000004, outside a range that ends at 100 (clipped to it here)."""
        p = np.clip(np.asarray(position, dtype=float), 0.0, 1.0)
        return np.where(p == 0.0, self.low, np.where(p == 1.0, self.high, self._along(p)))

    @property
    def log_cells(self) -> bool:
        """A log range of evenly spaced levels (an integer range with 'log' and no step): its levels are
        not log-spaced, so the unit cube maps to them through the log of their values, each level v
        owning the cell [v, v + step) of a log-uniform draw (1 to 1024: half of the draws below 32).
        Log ranges with a step factor (GeomLevels) are log-spaced already: uniform over their levels."""
        return self.log and isinstance(self.levels, ArithLevels) and self.levels.n > 1

    def _log_span(self) -> tuple[float, float]:
        lv = self.levels
        return math.log(lv.low), math.log(lv.low + lv.n * lv.step)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map points of [0, 1) to codes, uniform over levels (log-uniform for log ranges)."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, np.nextafter(1.0, 0.0))
        if self.levels is None:
            return self._along(u)
        if self.log_cells:
            a, b = self._log_span()
            x = np.exp(a + u * (b - a))
            return np.clip(np.floor((x - self.levels.low) / self.levels.step), 0, self.levels.n - 1)
        return np.floor(u * len(self.levels))

    def to_unit(self, codes: np.ndarray) -> np.ndarray:
        """Centre of each code's cell in [0, 1] (inverse of from_unit)."""
        codes = np.asarray(codes, dtype=float)
        if self.levels is None:
            if self.log:
                return (np.log(codes) - np.log(self.low)) / (np.log(self.high) - np.log(self.low))
            return (codes - self.low) / (self.high - self.low)
        if self.log_cells:
            a, b = self._log_span()
            start = self.levels.low + codes * self.levels.step
            return (0.5 * (np.log(start) + np.log(start + self.levels.step)) - a) / (b - a)
        return (codes + 0.5) / len(self.levels)

    def describe(self) -> dict:
        """What defines this knob's domain (for run signatures and checkpoints)."""
        d: dict[str, Any] = {"name": self.name, "kind": self.kind, "encoding": self.encoding}
        if self.levels is None:
            d.update(low=self.low, high=self.high, log=self.log)
        elif isinstance(self.levels, ListLevels):
            d["values"] = [format_value(v) for v in self.levels.values]
        else:
            d["values"] = [format_value(self.levels[0]), format_value(self.levels[len(self.levels) - 1])]
            d["count"] = len(self.levels)
            d["spacing"] = type(self.levels).__name__
        return d


def count_text(n: int) -> str:
    """A count of points for a message: as it is up to 12 digits, else '1.3e+3494' (Python refuses to write
    an int of more than 4,300 digits, and a float holds none beyond 1e308: a knob with count 5,000 has more)."""
    if n < 10 ** 12:
        return str(n)
    exponent = math.floor(math.log10(n))
    mantissa = 10 ** (math.log10(n) - exponent)
    if mantissa >= 9.995:   # rounds up to 10.0
        mantissa, exponent = 1.0, exponent + 1
    return f"{mantissa:.2f}".rstrip("0").rstrip(".") + f"e+{exponent}"


# ----------------------------------------------------------------------------- space
class DesignSpace:
    """An ordered set of knobs. Codes are float arrays of shape (n, len(knobs))."""

    def __init__(self, knobs: Sequence[Knob]):
        self.knobs: list[Knob] = list(knobs)
        self.names: list[str] = [k.name for k in self.knobs]
        self._pos = {n: i for i, n in enumerate(self.names)}
        self.finite = all(k.finite for k in self.knobs)
        self.radices: list[int | None] = [k.size for k in self.knobs]
        if self.finite:
            size = 1
            for r in self.radices:
                size *= r
            self.size: int | None = size
        else:
            self.size = None
        # place values of the mixed radix (last knob fastest)
        self._place: list[int] = []
        if self.finite:
            p = 1
            for r in reversed(self.radices):
                self._place.append(p)
                p *= r
            self._place.reverse()

    def __len__(self) -> int:
        return len(self.knobs)

    def __getitem__(self, name: str) -> Knob:
        return self.knobs[self._pos[name]]

    def position(self, name: str) -> int:
        return self._pos[name]

    # ---- mixed radix
    def _small(self) -> bool:
        return self.size is not None and self.size < 2 ** 62

    def index_of(self, codes: np.ndarray) -> list[int] | np.ndarray:
        """Index of each code row (int64 array for spaces below 2**62, else Python ints)."""
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        if not self.finite:
            raise ValueError("a space with a continuous knob has no index")
        if self._small():
            place = np.array(self._place, dtype=np.int64)
            return codes.astype(np.int64) @ place
        return [sum(int(c) * p for c, p in zip(row, self._place)) for row in codes]

    def point_at(self, indices: Iterable[int] | np.ndarray) -> np.ndarray:
        """Code rows of the given indices (the inverse of index_of)."""
        if not self.finite:
            raise ValueError("a space with a continuous knob has no index")
        if self._small():
            idx = np.asarray(indices, dtype=np.int64).reshape(-1)
            out = np.empty((idx.size, len(self.knobs)), dtype=float)
            for j, (p, r) in enumerate(zip(self._place, self.radices)):
                out[:, j] = (idx // p) % r
            return out
        rows = []
        for index in indices:
            index = int(index)
            rows.append([(index // p) % r for p, r in zip(self._place, self.radices)])
        return np.array(rows, dtype=float).reshape(-1, len(self.knobs))

    # ---- values <-> codes
    def values(self, code_row: Sequence[float]) -> dict[str, Value]:
        return {k.name: k.value(c) for k, c in zip(self.knobs, code_row)}

    def decode(self, codes: np.ndarray) -> list[dict[str, Value]]:
        return [self.values(row) for row in np.atleast_2d(codes)]

    def code_row(self, values: dict[str, Any] | Sequence[Any], where: str = "") -> np.ndarray:
        """Codes of one point given by name (dict) or in knob order; DeffeError if outside."""
        if isinstance(values, dict):
            missing = [n for n in self.names if n not in values]
            if missing:
                raise DeffeError(f"missing value for {', '.join(missing)}", where=where or None)
            seq = [values[n] for n in self.names]
        else:
            seq = list(values)
            if len(seq) != len(self.knobs):
                raise DeffeError(f"expected {len(self.knobs)} values, got {len(seq)}", where=where or None)
        row = np.empty(len(self.knobs))
        for j, (k, v) in enumerate(zip(self.knobs, seq)):
            try:
                row[j] = k.code(v)
            except (ValueError, TypeError):
                raise DeffeError(f"value {shorten(v) if isinstance(v, str) else repr(v)} of '{k.name}' is outside "
                                 f"its domain ({domain_text(k)})",
                                 where=where or None) from None
        return row

    def code_list(self, values: Sequence[Any]) -> list[float]:
        """Codes of one point given in knob order, as a list: what a reader of many rows keeps."""
        if len(values) == len(self.knobs):
            try:
                return [k.code(v) for k, v in zip(self.knobs, values)]
            except (ValueError, TypeError):
                pass
        return self.code_row(values).tolist()   # the DeffeError that names the value

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        u = np.atleast_2d(u)
        return np.column_stack([k.from_unit(u[:, j]) for j, k in enumerate(self.knobs)]) \
            if len(self.knobs) else np.empty((u.shape[0], 0))

    def to_unit(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(codes)
        return np.column_stack([k.to_unit(codes[:, j]) for j, k in enumerate(self.knobs)]) \
            if len(self.knobs) else np.empty((codes.shape[0], 0))

    def random(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent uniform points (with replacement)."""
        return self.from_unit(rng.random((n, len(self.knobs))))

    def invalid(self, codes: np.ndarray) -> str | None:
        """Why some code rows are not points of this space, or None when all are."""
        codes = np.asarray(codes, dtype=float)
        if codes.ndim != 2 or codes.shape[1] != len(self.knobs):
            return f"expected rows of {len(self.knobs)} codes, got an array of shape {codes.shape}"
        for j, k in enumerate(self.knobs):
            col = codes[:, j]
            if k.finite:
                bad = np.isnan(col) | (col != np.floor(col)) | (col < 0) | (col >= k.size)
            else:
                bad = np.isnan(col) | (col < k.low) | (col > k.high)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                if k.finite:   # a code is a level's index: say which, beside the values they stand for
                    return (f"row {i}: {float(col[i]):g} is not a code of knob '{k.name}' (its codes are the "
                            f"indices 0 to {k.size - 1} of its values {domain_text(k)})")
                return f"row {i}: {float(col[i]):g} is not a code of knob '{k.name}' ({domain_text(k)})"
        return None

    # ---- identity
    def key(self, code_row: Sequence[float]) -> str:
        """Text that identifies a point by its values and knob names, independent of order."""
        items = []
        for k, c in zip(self.knobs, code_row):
            kind, v = value_key(k.value(c))
            items.append((k.name, f"{kind}:{v!r}" if kind == "n" else f"{kind}:{v}"))
        items.sort()
        return json.dumps(items, separators=(",", ":"))

    def keys(self, codes: np.ndarray) -> list[str]:
        return [self.key(row) for row in np.atleast_2d(codes)]

    def describe(self) -> list[dict]:
        return [k.describe() for k in self.knobs]

    def varying(self) -> list[Knob]:
        """Knobs that take more than one value (Deffe's pruned parameters)."""
        return [k for k in self.knobs if not (k.finite and k.size == 1)]

    def encoding(self) -> "Encoding":
        from .encoding import Encoding
        return Encoding(self)

    def families(self) -> dict[str, list[str]]:
        """Repeated knobs: family name -> member knob names in order."""
        out: dict[str, list[str]] = {}
        for k in self.knobs:
            if k.family is not None:
                out.setdefault(k.family, []).append(k.name)
        return out


def domain_text(knob: Knob) -> str:
    if knob.levels is None:
        return f"{knob.low:g} to {knob.high:g}"
    n = len(knob.levels)
    if n <= 8:
        return ", ".join(format_value(v) for v in knob.levels)
    return f"{format_value(knob.levels[0])}, {format_value(knob.levels[1])}, ..., {format_value(knob.levels[n - 1])} ({n} values)"
