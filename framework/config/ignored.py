"""Warnings for exploration keys the chosen exploration does not use: a key given and silently ignored reads
as if it had worked (a `patience` that never stops an NSGA-II run, an `acquisition` that with several costs
picks the same points as another)."""
from __future__ import annotations

from typing import Any

from ..values import parse_names
from .loader import origin_of

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
