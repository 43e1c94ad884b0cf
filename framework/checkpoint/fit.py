"""Whether a checkpoint fits a config: the same knobs and costs, or inputs and outputs of the same shape under other
names or of other values (matched by position, with a warning); anything else is an error naming the first
difference. The warning also names inputs of another kind at the same position (a knob's log-scaled value in the
checkpoint, its place in the list in the config): the model then reads one kind of number where it learned
another, which the user should know of, but Deffe's transfer across kernels is just that, so it is no error."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import DeffeError
from ..values import value_key
from .file import CheckpointMeta

@dataclass
class Fit:
    """Whether a checkpoint fits a config: why not (None: it fits), and what was matched by position."""

    why: str | None = None
    knobs: list[tuple[str, str]] = field(default_factory=list)   # (checkpoint's name, config's name)
    costs: list[tuple[str, str]] = field(default_factory=list)
    hint: str | None = None   # what to do, when more is known than "use another checkpoint"
    values: list[str] = field(default_factory=list)   # numeric knobs of the same name and other values, described
    kinds: list[tuple[str, str]] = field(default_factory=list)   # features of another kind at the same position

    def note(self) -> str | None:
        """The warning line when names differ (None for an exact match)."""
        parts = []
        if self.knobs:
            parts.append("knobs matched by position (inputs of the same shape, other names): "
                         + ", ".join(f"{a} -> {b}" for a, b in self.knobs))
        if self.values:
            parts.append("numeric knobs of other values (each read as one scaled number): " + ", ".join(self.values))
        if self.kinds:
            parts.append("inputs of another kind at the same position: "
                         + ", ".join(f"{a} ({_feature_kind(a)}) -> {b} ({_feature_kind(b)})" for a, b in self.kinds))
        if self.costs:
            parts.append("costs matched by position: " + ", ".join(f"{a} -> {b}" for a, b in self.costs))
        return "; ".join(parts) or None

def match(meta: CheckpointMeta, signature: dict, costs: list[str], plugin: str | None = None) -> Fit:
    """Whether a checkpoint can serve a config with this encoding signature and these costs (see the module)."""
    if plugin is not None and meta.plugin != plugin:
        why = f"it holds a '{meta.plugin}' model, the config's model plugin is '{plugin}'"
        if match(meta, signature, costs).why is not None:   # the knobs or costs differ too: another checkpoint
            return Fit(why)
        # the checkpoint fits but for its plugin: "use a checkpoint trained on the same knobs" sent the user
        # looking for what they had; naming the checkpoint's plugin in the config is the fix
        return Fit(why, hint=f'set "plugin": "{meta.plugin}" in the config\'s model section (the checkpoint\'s '
                             f"model), or train a '{plugin}' checkpoint on these knobs and costs")
    old_c, new_c = list(meta.costs), list(costs)
    if len(old_c) != len(new_c):
        return Fit(f"it predicts the costs {', '.join(old_c)}, the config has {', '.join(new_c)}")
    why = _moved(old_c, new_c, "cost")
    if why:
        return Fit(why, hint=_reorder_hint(old_c, new_c, "costs") if set(old_c) == set(new_c) else None)
    renamed_costs = [(a, b) for a, b in zip(old_c, new_c) if a != b]
    mine = meta.signature
    if mine.get("version") != signature.get("version"):
        return Fit(f"it was trained under feature encoding version {mine.get('version')}, this framework uses "
                   f"version {signature.get('version')}")
    old_k, new_k = mine.get("knobs", []), signature.get("knobs", [])
    if {k["name"] for k in old_k} == {k["name"] for k in new_k}:
        olds, news = [k["name"] for k in old_k], [k["name"] for k in new_k]
        if olds != news:   # the same knobs in another order: a model reads its inputs by position
            return Fit(_moved(olds, news, "knob") + " (the config lists the same knobs in another order)",
                       hint=_reorder_hint(olds, news, "knobs"))
        (why, values, kinds), renamed = _same_knobs(mine, signature), []
    else:
        why, renamed, values, kinds = _same_shape(mine, signature)
    return Fit(why, renamed, renamed_costs, values=values, kinds=kinds) if why is None else Fit(why)

def _same_knobs(mine: dict, signature: dict) -> tuple[str | None, list[str], list[tuple[str, str]]]:
    """The same knobs: each alike, or a numeric one of other values (``_rescaled``, named in the warning, with
    its features of another kind where its values changed them)."""
    old_knobs = {k["name"]: k for k in mine.get("knobs", [])}
    values, rescaled = [], set()
    for name, k in {k["name"]: k for k in signature.get("knobs", [])}.items():
        if not _same_knob(old_knobs[name], k):
            if not _rescaled(old_knobs[name], k):
                return _knob_differs(old_knobs[name], k), [], []
            values.append(_other_values(old_knobs[name], k))
            rescaled.add(name)
    if mine.get("families") != signature.get("families"):
        return "the repeated knobs (count / exchangeable) differ from the config's", [], []
    old_f, new_f = list(mine.get("features", [])), list(signature.get("features", []))
    kinds = []
    for i, (a, b) in enumerate(zip(old_f, new_f)):
        if _same_feature(a, b):
            continue
        # a rescaled knob's second feature: its place in the list or its log-scaled value, as its values decide
        if _feature_base(a) == _feature_base(b) and _feature_base(a) in rescaled:
            kinds.append((a, b))
            continue
        return f"feature {i} is '{a}' in the checkpoint and '{b}' in the config", [], []
    if len(old_f) != len(new_f):
        return f"it has {len(old_f)} features, the config gives {len(new_f)}", [], []
    return None, values, kinds

def _same_shape(mine: dict, signature: dict) -> tuple[str | None, list[tuple[str, str]], list[str],
                                                      list[tuple[str, str]]]:
    """Knobs of other names: the inputs must have the same shape (single-valued knobs give none). Returns why
    not, the knobs matched by position, the numeric knobs of the same name and other values, the features of
    another kind."""
    old_v = [k for k in mine.get("knobs", []) if _levels(k) != 1]
    new_v = [k for k in signature.get("knobs", []) if _levels(k) != 1]
    olds, news = [k["name"] for k in old_v], [k["name"] for k in new_v]
    shape = f"its inputs are {len(olds)} knobs that vary, the config has {len(news)}"
    if len(news) > len(olds):
        extra = next(n for n in news if n not in olds)
        return f"the config has a knob '{extra}' that it was not trained with ({shape})", [], [], []
    if len(olds) > len(news):
        gone = next(n for n in olds if n not in news)
        return f"it was trained with a knob '{gone}' that the config does not have ({shape})", [], [], []
    why = _moved(olds, news, "knob")
    if why:
        return why, [], [], []
    renamed, values = [], []
    for i, (o, n) in enumerate(zip(old_v, new_v)):
        if o["name"] == n["name"]:
            if not _same_knob(o, n):
                if not _rescaled(o, n):
                    return _knob_differs(o, n), [], [], []
                values.append(_other_values(o, n))
            continue
        pair = f"knob {i + 1} ('{o['name']}' in the checkpoint, '{n['name']}' in the config)"
        if (o.get("kind"), o.get("encoding")) != (n.get("kind"), n.get("encoding")):
            return (f"{pair} is {o.get('kind')} ({o.get('encoding')}) in the checkpoint and {n.get('kind')} "
                    f"({n.get('encoding')}) in the config"), [], [], []
        if _width(o) != _width(n):
            return (f"{pair} is one-hot over {_width(o)} values in the checkpoint and {_width(n)} in the config",
                    [], [], [])
        renamed.append((o["name"], n["name"]))
    to_new = dict(renamed)
    families = [([to_new.get(m, m) for m in f["members"]], f["exchangeable"], f["fixed"])
                for f in mine.get("families", {}).values()]
    if families != [(f["members"], f["exchangeable"], f["fixed"]) for f in signature.get("families", {}).values()]:
        return "the repeated knobs (count / exchangeable) differ from the config's", [], [], []
    old_f, new_f = mine.get("features", []), signature.get("features", [])
    if len(old_f) != len(new_f):
        return f"it has {len(old_f)} features, the config gives {len(new_f)}", [], [], []
    # the same shape, but a feature may be another kind of number at the same position (Deffe's evenly spaced
    # kmeans sizes give their log-scaled value, matmul's powers of two their place in the list): said, as the
    # model reads it as what it learned
    kinds = [(a, b) for a, b in zip(old_f, new_f) if _feature_kind(a) != _feature_kind(b)]
    return None, renamed, values, kinds

def _same_values(a: list, b: list) -> bool:
    """Two value lists alike as the run reads them: 1 and 1.0 are the same value (values.value_key)."""
    return len(a) == len(b) and all(value_key(x) == value_key(y) for x, y in zip(a, b))

def _same_knob(old: dict, new: dict) -> bool:
    """A knob of the checkpoint and of the config alike: its values compared as values, not as text."""
    if set(old) != set(new):
        return False
    return all(_same_values(old[k], new[k]) if k == "values" and isinstance(old[k], list) and
               isinstance(new[k], list) else old[k] == new[k] for k in old)

# the encoding's second feature of a numeric list (encoding.py: "<knob>:rank" or "<knob>:log"), by what it is
_SECOND = {"rank": "place in the list", "log": "log-scaled value"}
# what defines a knob's values in a signature (space.Knob.describe), as opposed to what it is
_DOMAIN = ("values", "count", "spacing", "low", "high")


def _feature_base(f: str) -> str:
    """The knob a feature is of: 'a' for 'a' and 'a:rank'."""
    base, sep, kind = f.rpartition(":")
    return base if sep and kind in _SECOND else f


def _feature_kind(f: str) -> str:
    """What kind of number a feature is: a numeric list's second feature, else its scaled value."""
    base, sep, kind = f.rpartition(":")
    return _SECOND[kind] if sep and kind in _SECOND else "scaled value"


def _rescaled(old: dict, new: dict) -> bool:
    """A knob of the same name that is one scaled number on both sides (numeric encoding, the same kind) and
    differs in its values alone: it fits as a renamed knob does (docs/models.md: a numeric knob's values may
    differ). A one-hot knob is a column per value, so it is not one."""
    if old.get("encoding") != "numeric" or new.get("encoding") != "numeric":
        return False
    return {k: v for k, v in old.items() if k not in _DOMAIN} == {k: v for k, v in new.items() if k not in _DOMAIN}


def _other_values(old: dict, new: dict) -> str:
    """A rescaled knob as the warning names it: 'l1d_size: 7 values (1 to 64) -> 5 values (1 to 16)'."""
    def span(k: dict) -> str:
        plain = isinstance(k.get("values"), list) and "count" not in k
        return _count(k["values"]) if plain else _domain(k, kind=False)
    return f"{new['name']}: {span(old)} -> {span(new)}"


def _same_feature(a: str, b: str) -> bool:
    """A feature's name alike on both sides: a one-hot column's 'x2=1' is 'x2=1.0'."""
    if a == b:
        return True
    (na, sep_a, va), (nb, sep_b, vb) = a.rpartition("="), b.rpartition("=")
    return bool(sep_a and sep_b) and na == nb and value_key(va) == value_key(vb)

def _moved(olds: list[str], news: list[str], what: str) -> str | None:
    """A name on both sides at another position (matching by position would swap them)."""
    for i, name in enumerate(olds):
        if name in news and news.index(name) != i:
            return (f"{what} '{name}' is {what} {i + 1} of the checkpoint and {what} {news.index(name) + 1} of "
                    "the config")
    return None

def _reorder_hint(olds: list[str], news: list[str], what: str) -> str:
    """What to do about the same names in another order: list them as the checkpoint has them."""
    shown = ", ".join(olds[:12]) + (f", ... ({len(olds)} in all)" if len(olds) > 12 else "")
    return (f"list the config's {what} in the checkpoint's order ({shown}), as the model reads them by position, "
            "or train a new model")


def _levels(k: dict) -> int | None:
    """How many values a knob of a signature takes (None: a continuous range)."""
    if "values" not in k:
        return None
    return int(k["count"]) if "count" in k else len(k["values"])

def _width(k: dict) -> int:
    """The features a knob gives on its own: one per value when one-hot, else one."""
    return (_levels(k) or 1) if k.get("encoding") == "onehot" else 1

def incompatibility(meta: CheckpointMeta, signature: dict, costs: list[str],
                    plugin: str | None = None) -> str | None:
    """Why a checkpoint cannot serve a config with this encoding signature and these costs, or None."""
    return match(meta, signature, costs, plugin).why

def _knob_differs(old: dict, new: dict) -> str:
    """What differs in a knob between the checkpoint and the config, shown so that the two sides differ (the
    first six values of each were the same text when only the end of a list had moved)."""
    head = f"knob '{new['name']}' differs: "
    if (old.get("kind"), old.get("encoding")) != (new.get("kind"), new.get("encoding")):
        return head + (f"trained as {old.get('kind')} ({old.get('encoding')}) {_domain(old, kind=False)}, the "
                       f"config has {new.get('kind')} ({new.get('encoding')}) {_domain(new, kind=False)}")
    a, b = old.get("values"), new.get("values")
    if a is None or b is None or "count" in old or "count" in new:
        text_a, text_b = _domain(old), _domain(new)
        if text_a != text_b:
            return head + f"trained with {text_a}, the config has {text_b}"
    else:
        ends = f"trained with {_count(a)}, the config has {_count(b)}"
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if value_key(x) != value_key(y)), None)
        if first is not None:
            return head + (f"the {_ordinal(first + 1)} value is {a[first]} in the checkpoint and {b[first]} in "
                           "the config"
                           + (f" ({ends})" if len(a) != len(b) else ""))
        if len(a) != len(b):
            longer, shorter = (b, a) if len(b) > len(a) else (a, b)
            extra = longer[len(shorter):]
            shown = ", ".join(map(str, extra[:4])) + (", ..." if len(extra) > 4 else "")
            side = "the config adds" if longer is b else "the config lacks"
            return head + f"{ends}: {side} {shown}"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return head + "; ".join(f"{k} {old.get(k)!r} in the checkpoint, {new.get(k)!r} in the config" for k in keys)


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _count(values: list) -> str:
    return f"{len(values)} value{'' if len(values) == 1 else 's'} ({values[0]} to {values[-1]})" if values \
        else "no values"


def _domain(k: dict, kind: bool = True) -> str:
    prefix = f"{k.get('kind')} " if kind else ""
    if "values" in k:
        vals = k["values"]
        text = ", ".join(map(str, vals[:6])) + (", ..." if len(vals) > 6 else "")
        return prefix + f"[{text}]" + (f" ({k['count']} values)" if "count" in k else "")
    return prefix + f"{k.get('low')} to {k.get('high')}" + (" (log)" if k.get("log") else "")

def check_compatible(meta: CheckpointMeta, signature: dict, costs: list[str], shown: str,
                     plugin: str | None = None, log: Any = None, explore: str | None = None) -> Fit:
    """A DeffeError when the checkpoint does not fit; a warning to ``log`` when it fits by position.
    ``explore``: the exploration entry it was given to, named when the config has several (one -icp serves
    them all, and the entry whose knobs it lacks is what the user must know)."""
    fit = match(meta, signature, costs, plugin)
    if fit.why:
        which = f" (exploration '{explore}')" if explore else ""
        raise DeffeError(f"checkpoint does not fit this config{which}: {fit.why}", file=shown,
                         hint=fit.hint or "use a checkpoint trained on the same knobs and costs (or on inputs of "
                                          "the same shape), or train a new model")
    if log is not None and fit.note():
        log.warning(f"warning: {shown}: {fit.note()}")
    return fit
