"""Model features of a design space, owned by the framework so every model plugin sees the same ones.

Per knob: one-hot for categorical knobs, position/(n-1) for ordinal text,
and (t(v) - t(min)) / (t(max) - t(min)) for numbers (t = log for log
ranges). A list of numbers also gives a second feature, ``<knob>:rank``, its
place in the list over [0, 1]: lists are often doublings (1, 2, 4, 8, 16
micro-batches; cache sizes of 1 to 256 kB; GPU memory caps of 2 to 32 GB),
whose small values crowd at 0 on the linear scale (micro-batches 1 and 2: 0
and 0.07), yet 1 against 2 is often the largest step (no pipeline against
one). On 1,000 placements of an LSTM with memory caps the deep ensemble's
MAPE fell from 3.5% to 3.2% with it. Every list gets a second feature, evenly spaced or
not, so that the features' shape depends on the knobs' kinds, not on their
values: Deffe's transfer across kernels starts a model on a knob of other
values matched by position. Where the place would repeat the value (evenly
spaced, positive numbers: Deffe's problem sizes "100-100100-100"), it is the
log-scaled value instead, ``<knob>:log`` (see ``_second_spec``). Trees split either column alike;
the GP puts every feature on an even scale and drops the duplicate. Knobs with
a single value give no feature (Deffe's pruning).

Repeated knobs (``count: N`` in the config, a *family* such as ``device_0`` ..
``device_15``) get features about how the members relate, because what often
matters is which members share a value (e.g. which layer groups share a
device, so that no transfer happens between them and their loads add up):

* every finite family of two or more members gets *transition* features
  ``device_3==device_2``: 1 when a member has the same value as the previous
  one (pairs further apart were tried: on placements they made the models
  worse, 120 more features for 16 members);
* an ``exchangeable`` family (its values are interchangeable labels, e.g.
  identical devices; ``exchangeable: [1, 2, 3, 4]`` makes only those values
  interchangeable, the others keep labels of their own) is encoded so that
  points equal up to a relabelling of the values get the same features:
  - canonical labels: the values are renamed by order of first appearance
    along the family (``[2, 2, 0, 3, 0]`` becomes ``[0, 0, 1, 2, 1]``) and each
    member's label is one-hot encoded (``device_3~1``: member 3 holds the
    second distinct value; a value with a label of its own: ``device_3=0``);
  - shares: the fraction of the members holding the most used interchangeable
    value, the second most used, ... (``device:share0`` ...), i.e. how
    balanced the use of the labels is;
  - the transition features above, which do not depend on the labels at all.

  Renaming by first appearance makes a small move (emptying a device) rename
  every later member, so a model may see such neighbours as far apart.
  ``relabelled`` gives the same features under random relabellings, for
  models that learn the interchangeability itself (the torch models train on
  them, see ``model.relabellings``): a device's load is then the same
  function of its one-hot column whatever its label.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from .space import DesignSpace, Knob, domain_text
from .values import format_value, value_key

# Bumped whenever the meaning of a feature changes, so that a checkpoint made
# under another encoding is refused even when the feature names agree.
ENCODING_VERSION = 4
_CHUNK = 65536  # rows encoded at a time in family blocks (bounds the temporaries)
_SAID: set[tuple] = set()   # wide categorical knobs whose ordinal feature was logged (once each set)


@dataclass
class _Family:
    """A repeated knob's members, with their codes mapped onto one shared list of values."""

    name: str
    positions: list[int]            # columns of the codes, in member order
    tables: list[np.ndarray]        # per member: code -> index in the shared values
    n_values: int
    exchangeable: bool
    fixed: np.ndarray | None = None  # per shared value: its own label (not exchangeable), or -1
    n_label: int = 0                # per member one-hot columns (fixed values + "interchangeable")
    n_shares: int = 0

    @property
    def n_fixed(self) -> int:
        return 0 if self.fixed is None else int((self.fixed >= 0).sum())

    @property
    def n_exchangeable(self) -> int:
        return self.n_values - self.n_fixed

    def fixed_table(self) -> np.ndarray:
        return np.full(self.n_values, -1, dtype=np.int64) if self.fixed is None else self.fixed


@dataclass
class Encoding:
    """Features for models, owned here so that every model plugin sees the same ones."""

    space: DesignSpace
    feature_names: list[str] = field(default_factory=list)
    _columns: list[tuple] = field(default_factory=list, repr=False)

    def __post_init__(self):
        _say_ordinal(self.space)
        families = _families(self.space)
        member_of = {p: f for f in families.values() for p in f.positions}
        self.knob_names: list[str] = []
        self._scalars: list[tuple] = []
        for j, k in enumerate(self.space.knobs):
            if k.finite and k.size == 1:
                continue
            fam = member_of.get(j)
            self.knob_names.append(k.name)
            self._scalars.append(("label", fam, fam.positions.index(j)) if fam is not None and fam.exchangeable
                                 else _sequence_spec(j, k))
        for j, k in enumerate(self.space.knobs):
            fam = member_of.get(j)
            if fam is None or not fam.exchangeable:  # an exchangeable family's block replaces its members'
                self._add_knob(j, k)
            if fam is not None and fam.positions[-1] == j:
                self._add_family(fam)

    # ------------------------------------------------------------------ building
    def _add_knob(self, j: int, k: Knob) -> None:
        if k.finite and k.size == 1:
            return
        if k.encoding == "onehot":
            self._columns.append(("onehot", j, k.size))
            self.feature_names.extend(f"{k.name}={format_value(v)}" for v in k.levels)
        else:
            spec = _scalar_spec(j, k)
            self._columns.append(spec)
            self.feature_names.append(k.name)
            if spec[0] == "table" and k.numeric and k.encoding not in ("ordinal", "onehot"):
                # a list of numbers also gives its place in the list (see the module's docstring); every
                # such list, evenly spaced or not, so that the inputs' shape does not depend on the values
                # (Deffe's transfer across kernels matches knobs of other values by position)
                self._columns.append(_second_spec(j, k, spec))
                self.feature_names.append(f"{k.name}:{'log' if self._columns[-1][0] == 'log' else 'rank'}")

    def _add_family(self, fam: _Family) -> None:
        knobs = [self.space.knobs[p] for p in fam.positions]
        m = len(knobs)
        if fam.exchangeable:
            fam.n_label = fam.n_values
            own = {int(fam.fixed[v]): v for v in range(fam.n_values) if fam.fixed is not None and fam.fixed[v] >= 0}
            texts = ([f"={format_value(_value_of(knobs, fam, own[q]))}" for q in range(fam.n_fixed)]
                     + [f"~{q}" for q in range(fam.n_exchangeable)])
            for k in knobs:
                self.feature_names.extend(f"{k.name}{t}" for t in texts)
            fam.n_shares = min(m, fam.n_exchangeable)
            self.feature_names.extend(f"{fam.name}:share{r}" for r in range(fam.n_shares))
        self.feature_names.extend(f"{knobs[j].name}=={knobs[j - 1].name}" for j in range(1, m))
        self._columns.append(("family", fam))

    # ------------------------------------------------------------------ use
    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def check(self, codes: np.ndarray, first_row: int = 0) -> None:
        """ValueError naming the first row that is not a point of the space (wrong columns included).

        ``first_row``: the number of the first row in the messages (when checking a piece of a larger array).
        """
        codes = np.asarray(codes, dtype=float)
        if codes.ndim != 2 or codes.shape[1] != len(self.space.knobs):
            raise ValueError(f"expected rows of {len(self.space.knobs)} codes (one per knob: "
                             f"{', '.join(self.space.names)}), got an array of shape {codes.shape}")
        if len(codes) == 0:
            return
        # cheap reductions first (NaN fails every comparison); the failing row is looked for only on failure
        lo, hi = codes.min(axis=0), codes.max(axis=0)
        for j, k in enumerate(self.space.knobs):
            if k.finite:
                fine = lo[j] >= 0 and hi[j] <= k.size - 1
            else:
                fine = lo[j] >= k.low and hi[j] <= k.high
            if fine and k.finite:
                col = codes[:, j]
                fine = bool(np.array_equal(col, np.floor(col)))
            if fine:
                continue
            col = codes[:, j]
            if k.finite:
                bad = np.isnan(col) | (col != np.floor(col)) | (col < 0) | (col >= k.size)
            else:
                bad = np.isnan(col) | (col < k.low) | (col > k.high)
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"row {first_row + i}: {float(col[i]):g} is not a code of knob '{k.name}' "
                             f"({domain_text(k)})")

    def transform(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        out = np.empty((codes.shape[0], self.n_features), dtype=np.float32)
        c = 0
        for col in self._columns:
            kind = col[0]
            if kind == "family":
                c = _encode_family(col[1], codes, out, c)
            elif kind == "onehot":
                n = col[2]
                out[:, c:c + n] = np.eye(n, dtype=np.float32)[codes[:, col[1]].astype(np.int64)]
                c += n
            else:
                out[:, c] = _scalar(col, codes)
                c += 1
        return out

    @property
    def exchangeable(self) -> bool:
        """Whether some family's values are interchangeable labels (then `relabelled` differs from `transform`)."""
        return any(col[1].exchangeable for col in self._columns if col[0] == "family")

    def relabelled(self, codes: np.ndarray, views: int, rng: np.random.Generator) -> np.ndarray:
        """(views, n, d) features: view 0 is `transform`; each other view renames, row by row, the
        interchangeable labels of every exchangeable family by a random permutation (the same point
        as the model sees it under another naming of the identical devices). Only the label columns
        change: shares and transitions do not depend on the names."""
        x = self.transform(codes)
        out = np.repeat(x[None], max(1, views), axis=0)
        n = len(x)
        c = 0
        for col in self._columns:
            fam = col[1] if col[0] == "family" else None
            if fam is not None and fam.n_label and fam.n_exchangeable > 1:
                m, nl, nf = len(fam.positions), fam.n_label, fam.n_fixed
                block = x[:, c:c + m * nl].reshape(n, m, nl)
                own = np.broadcast_to(np.arange(nf), (n, nf))   # fixed values keep their columns
                for v in range(1, views):
                    new_of = np.argsort(rng.random((n, fam.n_exchangeable)), axis=1)   # old label -> new
                    source = np.concatenate([own, nf + np.argsort(new_of, axis=1)], axis=1)  # new <- old
                    out[v, :, c:c + m * nl] = np.take_along_axis(block, source[:, None, :], axis=2).reshape(n, -1)
            c += _column_width(col)
        return out

    def member_slots(self) -> list[dict]:
        """Where each repeated knob's members show their values among the features, for models that pool
        over the values (e.g. the load each device gets from the groups placed on it).

        Per family whose members have one feature per value (an exchangeable family's labels, or one-hot
        members): ``slots`` (members x values) the feature column that is 1 when that member holds that
        value (an exchangeable family: that label), -1 for a value the member cannot hold, -2 for the
        value of a member with one value only (no feature: always 1); ``columns`` every feature column
        describing the family (labels or one-hots, shares, transitions); ``own`` per value its index among
        the values that are themselves (a fixed label such as the CPU next to interchangeable GPUs), -1
        for an interchangeable label and for every value of a family not declared exchangeable: there
        the config says nothing of which values differ, and a model that needs to tell them apart has their
        one-hot columns (why, measured: docs/models.md, "What each value receives"). Families with a
        member encoded as a number are left out (a scaled number says nothing per value)."""
        start, c = {}, 0          # first feature column of each family (by name) and knob (by position)
        for col in self._columns:
            start[col[1].name if col[0] == "family" else col[1]] = c
            c += _column_width(col)
        onehot = {col[1]: col[2] for col in self._columns if col[0] == "onehot"}   # knob -> its width
        out = []
        for fam in (col[1] for col in self._columns if col[0] == "family"):
            m, f0 = len(fam.positions), start[fam.name]
            columns = list(range(f0, f0 + _family_width(fam)))
            if fam.n_label:
                slots = f0 + np.arange(m)[:, None] * fam.n_label + np.arange(fam.n_label)[None, :]
                # the label columns hold the fixed values first, then the interchangeable labels
                own = [q if q < fam.n_fixed else -1 for q in range(fam.n_label)]
            else:
                members = [(i, p, t) for i, (p, t) in enumerate(zip(fam.positions, fam.tables)) if len(t) > 1]
                if any(p not in onehot for _, p, _ in members):
                    continue
                # not declared exchangeable: no identity in the block (see member_slots' docstring)
                own = [-1] * fam.n_values
                slots = np.full((m, fam.n_values), -1, dtype=np.int64)
                for i, table in enumerate(fam.tables):
                    if len(table) == 1:
                        slots[i, table[0]] = -2
                for i, p, table in members:
                    slots[i, table] = start[p] + np.arange(onehot[p])
                    columns.extend(range(start[p], start[p] + onehot[p]))
            out.append({"name": fam.name, "slots": slots.astype(np.int64), "columns": sorted(columns), "own": own})
        return out

    def knob_values(self, codes: np.ndarray) -> np.ndarray:
        """One number in [0, 1] per knob that varies (`knob_names`), for models that read the knobs as a
        sequence (Deffe's CNN): the scaled value (log-scaled for an evenly spaced list of positive numbers),
        a categorical knob's position in its list, and for an exchangeable family each member's label after
        renaming by first appearance."""
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        out = np.empty((codes.shape[0], len(self.knob_names)), dtype=np.float32)
        labels: dict[str, np.ndarray] = {}
        for c, spec in enumerate(self._scalars):
            if spec[0] == "label":
                fam, m = spec[1], spec[2]
                if fam.name not in labels:
                    vals = np.column_stack([t[codes[:, p].astype(np.int64)] for t, p in zip(fam.tables, fam.positions)])
                    labels[fam.name] = canonical_labels(vals, fam.n_values, fam.fixed)
                out[:, c] = labels[fam.name][:, m] / max(1, fam.n_values - 1)
            else:
                out[:, c] = _scalar(spec, codes)
        return out

    def signature(self) -> dict:
        """What a trained model depends on: checked when a checkpoint is loaded."""
        families = {f.name: {"members": [self.space.knobs[p].name for p in f.positions],
                             "exchangeable": f.exchangeable,
                             "fixed": None if f.fixed is None else f.fixed.tolist()}
                    for f in (col[1] for col in self._columns if col[0] == "family")}
        return {"version": ENCODING_VERSION, "features": list(self.feature_names),
                "knobs": self.space.describe(), "families": families}


def _say_ordinal(space: DesignSpace) -> None:
    """Categorical knobs of more than ONEHOT_DEFAULT_MAX values are one ordinal feature each unless the config
    says otherwise (config/knobs.py): said once, so that a user who wants a column per value knows to ask."""
    from .config.knobs import ONEHOT_DEFAULT_MAX
    wide = tuple((k.name, k.size) for k in space.knobs
                 if k.finite and k.kind == "categorical" and k.encoding == "ordinal" and k.size > ONEHOT_DEFAULT_MAX)
    if not wide or wide in _SAID:
        return
    _SAID.add(wide)
    names = ", ".join(f"'{n}'" for n, _ in wide[:5]) + (f" and {len(wide) - 5} more" if len(wide) > 5 else "")
    sizes = sorted({n for _, n in wide})
    size = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]} to {sizes[-1]}"
    logging.getLogger("deffe").info(
        f"knob{'s' if len(wide) > 1 else ''} {names} ({size} categorical values): one ordinal model feature "
        f"each, their place in the list, not a one-hot column per value (the default beyond {ONEHOT_DEFAULT_MAX} "
        'values; "encoding": "onehot" on a knob gives a column per value)')


def _scalar_spec(j: int, k: Knob) -> tuple:
    """One number in [0, 1] for a knob: its scaled value (log for log knobs), or its position in the list."""
    if k.encoding in ("ordinal", "onehot") or not k.numeric:
        return ("table", j, np.linspace(0.0, 1.0, k.size))
    if k.levels is None:
        return ("range", j, k.low, k.high, k.log)
    nums = k.levels.numbers() if len(k.levels) <= 1_000_000 else None
    if nums is None:
        lo, hi = float(k.levels[0]), float(k.levels[len(k.levels) - 1])
        return ("linear-index", j, lo, hi, len(k.levels))
    t = np.log(nums) if (k.log and np.all(nums > 0)) else nums
    span = t.max() - t.min()
    return ("table", j, (t - t.min()) / span if span > 0 else np.zeros_like(t))


def _sequence_spec(j: int, k: Knob) -> tuple:
    """A knob's one number for the models that read one per knob (Deffe's CNN): its scaled value, on the log
    scale where its list is evenly spaced and positive (see ``_second_spec``)."""
    spec = _scalar_spec(j, k)
    if spec[0] == "table" and k.numeric and k.encoding not in ("ordinal", "onehot"):
        second = _second_spec(j, k, spec)
        if second[0] == "log":
            return second
    return spec


def _second_spec(j: int, k: Knob, first: tuple) -> tuple:
    """A numeric list's second feature: its place in the list, or, where that would repeat the scaled
    value (an evenly spaced list of positive numbers, such as Deffe's problem sizes "100-100100-100"), its
    log-scaled value. Costs often follow a power of a size: on the log scale 100, 1,000 and 10,000 objects
    are evenly apart, where linearly the first two are 0 and 0.009 of a feature that the networks and the
    GP read at their own smooth scale (trees are indifferent to either)."""
    rank = np.linspace(0.0, 1.0, k.size)
    nums = k.levels.numbers() if k.size <= 1_000_000 else None
    if nums is None or k.size < 3 or not np.allclose(first[2], rank, atol=1e-9) or not np.all(nums > 0):
        return ("table", j, rank)
    t = np.log(nums)
    return ("log", j, (t - t.min()) / (t.max() - t.min()))


def _scalar(spec: tuple, codes: np.ndarray) -> np.ndarray:
    kind, j = spec[0], spec[1]
    x = codes[:, j]
    if kind in ("table", "log"):
        return spec[2][x.astype(np.int64)]
    if kind == "range":
        lo, hi, log = spec[2], spec[3], spec[4]
        return ((np.log(x) - np.log(lo)) / (np.log(hi) - np.log(lo))) if log else (x - lo) / (hi - lo)
    return x / max(spec[4] - 1, 1)  # linear-index: a huge evenly spaced range


# ----------------------------------------------------------------------------- families
def _families(space: DesignSpace) -> dict[str, _Family]:
    """Finite repeated knobs with two or more members, their values shared by value."""
    members: dict[str, list[int]] = {}
    for j, k in enumerate(space.knobs):
        if k.family is not None:
            members.setdefault(k.family, []).append(j)
    out: dict[str, _Family] = {}
    for name, pos in members.items():
        pos = sorted(pos, key=lambda p: (space.knobs[p].member is None, space.knobs[p].member, p))
        knobs = [space.knobs[p] for p in pos]
        if len(pos) < 2 or not all(k.finite for k in knobs) or max(k.size for k in knobs) > 1_000_000:
            continue
        shared: dict[tuple, int] = {}
        tables = []
        for k in knobs:  # members may differ when an explore overrides one member's values
            tables.append(np.array([shared.setdefault(value_key(v), len(shared)) for v in k.levels],
                                   dtype=np.int64))
        if len(shared) < 2:
            continue
        exchangeable = all(k.exchangeable for k in knobs)
        fixed = None
        if exchangeable and any(k.exchangeable is not True for k in knobs):
            # only the values listed are interchangeable; the others keep labels of their own
            swap = set.intersection(*[set(k.exchangeable) for k in knobs if k.exchangeable is not True])
            fixed = np.full(len(shared), -1, dtype=np.int64)
            for key, idx in shared.items():
                if key not in swap:
                    fixed[idx] = int((fixed >= 0).sum())
            if (fixed < 0).sum() < 2:
                exchangeable, fixed = False, None
        out[name] = _Family(name, pos, tables, len(shared), exchangeable, fixed)
    return out


def _value_of(knobs: list[Knob], fam: _Family, shared: int):
    """The value behind a shared value index (the first member that has it)."""
    for k, table in zip(knobs, fam.tables):
        hit = np.flatnonzero(table == shared)
        if len(hit):
            return k.levels[int(hit[0])]
    return shared


def _column_width(col: tuple) -> int:
    """Feature columns of one entry of ``Encoding._columns``."""
    if col[0] == "family":
        return _family_width(col[1])
    return col[2] if col[0] == "onehot" else 1


def _family_width(fam: _Family) -> int:
    m = len(fam.positions)
    return fam.n_label * m + fam.n_shares + m - 1


def _encode_family(fam: _Family, codes: np.ndarray, out: np.ndarray, c: int) -> int:
    n = codes.shape[0]
    width = _family_width(fam)
    kernel = _numba_kernel() if n >= _NUMBA_ROWS else None
    if kernel is not None:
        size = max(len(t) for t in fam.tables)
        tables = np.zeros((len(fam.tables), size), dtype=np.int64)
        for i, t in enumerate(fam.tables):
            tables[i, :len(t)] = t
        kernel(np.ascontiguousarray(codes[:, fam.positions], dtype=np.float64), tables, fam.n_values,
               fam.fixed_table(), fam.n_fixed, fam.n_label, fam.n_shares, out, c)
        return c + width
    m = len(fam.positions)
    fixed = fam.fixed_table()
    for lo in range(0, n, _CHUNK):
        hi = min(n, lo + _CHUNK)
        rows = hi - lo
        vals = np.column_stack([t[codes[lo:hi, p].astype(np.int64)] for t, p in zip(fam.tables, fam.positions)])
        block = out[lo:hi, c:c + width]
        k = 0
        if fam.n_label:
            labels = canonical_labels(vals, fam.n_values, fam.fixed)
            block[:, :fam.n_label * m] = 0.0
            block[np.arange(rows)[:, None], np.arange(m)[None, :] * fam.n_label + labels] = 1.0
            k += fam.n_label * m
        if fam.n_shares:
            swap = fixed[vals] < 0
            at = np.where(swap, vals, fam.n_values) + np.arange(rows)[:, None] * (fam.n_values + 1)
            counts = np.bincount(at.ravel(), minlength=rows * (fam.n_values + 1)).reshape(rows, -1)[:, :-1]
            counts = -np.sort(-counts, axis=1)[:, :fam.n_shares]
            block[:, k:k + fam.n_shares] = counts / float(m)
            k += fam.n_shares
        block[:, k:k + m - 1] = vals[:, 1:] == vals[:, :-1]
    return c + width


# Large batches (a search scoring candidates) go through a compiled kernel; small ones stay in numpy
# so that a short run does not pay for compiling it. Both give the same features (tested).
_NUMBA_ROWS = 4096
_KERNEL: list = []


def _numba_kernel():
    if not _KERNEL:
        try:
            import numba
            _KERNEL.append(numba.njit(cache=True, nogil=True)(_family_rows))
        except ImportError:  # numba missing: numpy does it, only slower
            _KERNEL.append(None)
    return _KERNEL[0]


class Relabelling:
    """The canonical naming of a space's interchangeable values: one code row per design, not per naming.

    A family declared ``exchangeable`` (identical devices) has many code rows for one design: renaming
    the devices changes the codes, not the costs. ``canonical`` replaces each such family's members by
    their labels in order of first appearance (fixed values keep their own), so that two rows are equal
    exactly when one is a renaming of the other. The rows it returns are identities, not codes to
    evaluate: explorations compare and deduplicate with them and keep proposing the codes themselves.
    """

    def __init__(self, space: DesignSpace):
        self.families = [f for f in _families(space).values() if f.exchangeable]

    @property
    def active(self) -> bool:
        return bool(self.families)

    def canonical(self, codes: np.ndarray) -> np.ndarray:
        codes = np.atleast_2d(np.asarray(codes, dtype=float))
        if not self.families or not len(codes):
            return codes
        out = codes.copy()
        for fam in self.families:
            vals = np.column_stack([t[codes[:, p].astype(np.int64)] for t, p in zip(fam.tables, fam.positions)])
            out[:, fam.positions] = canonical_labels(vals, fam.n_values, fam.fixed)
        return out


def canonical_labels(values: np.ndarray, n_values: int, fixed: np.ndarray | None = None) -> np.ndarray:
    """Rename each row's values by order of first appearance: [2, 2, 0, 3, 0] -> [0, 0, 1, 2, 1].

    ``values`` holds integers in [0, n_values). Two rows get the same labels
    exactly when one is a relabelling of the other. With ``fixed`` (per value:
    its own label, or -1), only the values marked -1 are renamed, after the
    fixed labels: with value 0 fixed, [2, 2, 0, 3, 0] becomes [1, 1, 0, 2, 0].
    """
    values = np.asarray(values, dtype=np.int64)
    n, m = values.shape
    rows = np.arange(n)
    fixed = np.full(n_values, -1, dtype=np.int64) if fixed is None else np.asarray(fixed, dtype=np.int64)
    swap = fixed < 0
    n_fixed = int((~swap).sum())
    if n_values <= m:
        # first position of each value (m when absent); a value's label is its rank by first position
        first = np.empty((n, n_values), dtype=np.int32)
        for v in range(n_values):
            hit = values == v
            at = hit.argmax(axis=1)
            first[:, v] = np.where(hit[rows, at], at, m)
        fs = first[:, swap]
        label = np.empty((n, n_values), dtype=np.int64)
        label[:, swap] = n_fixed + (fs[:, None, :] < fs[:, :, None]).sum(axis=2)
        label[:, ~swap] = fixed[~swap]
        return np.take_along_axis(label, values, axis=1)
    # many possible values: compare members pairwise instead (m * m per row)
    member_swaps = swap[values]
    first = (values[:, :, None] == values[:, None, :]).argmax(axis=2)   # first member with the same value
    new = (first == np.arange(m)) & member_swaps
    label_of_first = n_fixed + np.cumsum(new, axis=1) - 1
    out = np.take_along_axis(label_of_first, first, axis=1)
    return np.where(member_swaps, out, fixed[values])


def _family_rows(codes, tables, n_values, fixed, n_fixed, n_label, n_shares, out, c0):
    """One pass per row over a family's members (compiled by numba for large batches).

    Writes the same block as the numpy path of `_encode_family`.
    """
    n, m = codes.shape
    counts = np.zeros(n_values, dtype=np.int64)
    label_of = np.full(n_values, -1, dtype=np.int64)
    vals = np.empty(m, dtype=np.int64)
    for i in range(n):
        for j in range(m):
            vals[j] = tables[j, int(codes[i, j])]
        c = c0
        if n_label > 0:
            for q in range(n_label * m):
                out[i, c + q] = 0.0
            nxt = n_fixed
            for j in range(m):
                v = vals[j]
                if fixed[v] >= 0:  # a value that keeps its own label
                    lab = fixed[v]
                else:              # renamed by order of first appearance
                    lab = label_of[v]
                    if lab < 0:
                        lab = nxt
                        label_of[v] = lab
                        nxt += 1
                out[i, c + j * n_label + lab] = 1.0
            for j in range(m):
                label_of[vals[j]] = -1
            c += n_label * m
        if n_shares > 0:
            for v in range(n_values):
                counts[v] = 0
            for j in range(m):
                if fixed[vals[j]] < 0:
                    counts[vals[j]] += 1
            for q in range(1, n_values):  # insertion sort, largest first: a handful of values
                x = counts[q]
                r = q - 1
                while r >= 0 and counts[r] < x:
                    counts[r + 1] = counts[r]
                    r -= 1
                counts[r + 1] = x
            for q in range(n_shares):
                out[i, c + q] = counts[q] / m
            c += n_shares
        for j in range(1, m):
            out[i, c + j - 1] = 1.0 if vals[j] == vals[j - 1] else 0.0
