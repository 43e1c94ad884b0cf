"""Warnings for keys the chosen plugin does not use: a key given and silently ignored reads as if it had
worked (a `patience` that never stops an NSGA-II run, an `acquisition` that with several costs picks the same
points as another, an `epochs` given to a random forest, a `sampling.options.scramble` that sobol never reads).
The exploration's are below, said when the config loads; the sampling, evaluate, extract and model blocks'
(`unread_plugin_keys`) come from schema.READ_BY, for built-in plugins only (a user's own plugin may read any
key), said by the driver."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..values import parse_names
from .loader import origin_of
from .schema import READ_BY, SECTIONS

# how a warning calls each block's plugin ("the 'sobol' sampling")
BLOCK_WORDS = {"sampling": "sampling", "evaluate": "evaluator", "extract": "extract plugin", "model": "model"}
# the plugins' folders under plugins/ (the model block's is ml_model)
PLUGIN_FOLDERS = {"sampling": "sampling", "evaluate": "evaluate", "extract": "extract", "model": "ml_model"}

# the built-in explorations other than the surrogate one: none stops on `patience` (their budget ends them)
SEARCHES = ("sampling", "random_search", "exhaustive", "hill_climbing", "annealing", "genetic", "map_elites",
            "nsga2")

# exploration keys that only the surrogate exploration reads (patience has a warning of its own, above)
SURROGATE_ONLY = ("acquisition", "kappa", "multi_objective", "candidates", "seek_feasible", "diversity",
                  "local_share", "accuracy_target", "confirm")


def ignored_keys(data: dict, costs: list[Any], raw: dict, shown: str) -> list[str]:
    """One warning line per exploration key given in the config that its exploration ignores."""
    sec, given = data["exploration"], raw.get("exploration") if isinstance(raw.get("exploration"), dict) else {}
    plugin = str(sec.get("plugin") or "surrogate").strip().lower()
    out = []

    def at(key: str) -> str:
        return f"{origin_of(given, key, origin_of(raw, 'exploration', shown))}:exploration.{key}"

    if sec.get("patience") is not None and plugin in SEARCHES:
        out.append(f"{at('patience')}: the '{plugin}' exploration ignores patience (only the surrogate "
                   "exploration stops on it): its budget (max_samples, max_steps, max_time) ends it")
    # the surrogate's own keys, written by the user (their defaults are in every config): none does anything
    # for a search, and a search plugin says nothing of them
    for key in SURROGATE_ONLY:
        if plugin in SEARCHES and given.get(key) is not None:
            out.append(f"{at(key)}: the '{plugin}' exploration ignores {key} (only the surrogate exploration "
                       "uses it)")
    objectives = parse_names(sec.get("objectives"), "exploration.objectives")
    several = len(objectives) > 1 if objectives else len(costs) > 1
    acq = given.get("acquisition")
    if plugin == "surrogate" and several and acq in ("ei", "thompson"):
        out.append(f"{at('acquisition')}: with several objectives acquisition '{acq}' acts as 'lcb': the "
                   f"optimistic costs (mean - kappa x std) go to multi_objective "
                   f"('{sec.get('multi_objective') or 'hvi'}'); only 'exploit' (the mean) chooses otherwise")
    return out


def _builtin(section: str, name: Any, python_path: list) -> bool:
    """Whether the block's plugin ``name`` is a built-in one: a module of plugins/<block>/ that no module of
    the user's python_path stands in for (plugins.locate looks there first)."""
    from ..plugins import builtin_names
    if not isinstance(name, str) or name not in builtin_names(PLUGIN_FOLDERS[section]):
        return False
    return not any((Path(d) / f"{name}.py").is_file() or (Path(d) / name / "__init__.py").is_file()
                   for d in python_path if isinstance(d, str))


def _readers(section: str, plugin: str, data: dict) -> set[str]:
    """The built-in plugins whose keys apply: the plugin, and for auto the candidates it trains too."""
    out = {plugin}
    if section == "model" and plugin == "auto":
        out |= {str(c).split(":")[0] for c in parse_names(data["model"].get("candidates"), "model.candidates")
                or ()}
    return out


def unread_plugin_keys(data: dict, origins: dict[str, str], blocks: tuple = tuple(READ_BY)) -> list[str]:
    """One warning line per key of the sampling, evaluate, extract and model blocks (those of ``blocks``) that
    the block's built-in plugin does not read (schema.READ_BY): a key only other plugins read, or an option of
    `options`, which only a user's plugin reads (said with the key to write instead when there is one).
    ``origins``: the file that wrote each key given ("model.epochs" -> file; Config.origins), so that a
    default is never warned about. The driver says them once the plugins are known (the command line may
    change them): before, an error of the command line stays the one line it is."""
    out = []
    for section in blocks:
        read_by = READ_BY[section]
        given = {k[len(section) + 1:]: f for k, f in origins.items()   # (the section's own keys, not deeper)
                 if k.startswith(f"{section}.") and k.count(".") == 1}
        sec = data.get(section) or {}
        plugin = sec.get("plugin")
        if not given or not _builtin(section, plugin, data.get("python_path") or []):
            continue
        readers = _readers(section, plugin, data)
        who = f"the '{plugin}' {BLOCK_WORDS[section]}"
        own = [k for k, by in read_by.items() if readers & set(by) and k != "options"]
        for key, file in given.items():
            if key not in read_by or readers & set(read_by[key]) or SECTIONS[section][key].deffe:
                continue
            at = f"{file}:{section}.{key}"
            if key != "options":
                out.append(f"{at}: {who} ignores {key} (read by {', '.join(read_by[key])} only)")
                continue
            for option in (sec.get("options") if isinstance(sec.get("options"), dict) else {}):
                there = option in read_by and readers & set(read_by[option]) or \
                    option in SECTIONS[section] and option not in read_by
                instead = f"put it at {section}.{option}" if there else \
                    (f"it reads {', '.join(f'{section}.{k}' for k in own)}" if own else "")
                out.append(f"{at}.{option}: {who} reads no options (they are for a plugin of your own)"
                           + (f"; {instead}" if instead else ""))
    return out
