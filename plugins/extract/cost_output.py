"""Extract ``cost_output``: read the costs from a file in the sample's directory.

``format`` of the file (``cost_output``, default ``results.out``):

* ``json``  an object keyed by cost name (matched without regard to case when
  no key matches exactly, as Deffe lower-cased both), a list in cost order, or
  a number;
* ``lines`` one number per line in cost order: the first as many lines as there
  are costs, as in Deffe (its gem5 ``extract.sh`` writes two lines for one
  cost); or ``name value`` / ``name: value`` / ``name=value`` lines;
* ``regex`` ``regex`` maps each cost to a pattern whose first group is the value
  (searched in the file, multi-line);
* ``auto``  (default) a JSON object or list if the file is one, else the regex
  form when patterns are given, else lines.

Fewer numbers than costs is a failed sample (Deffe stored 0 for the missing ones).

Deffe's ``sample_extract_script`` (when it exists; Deffe configs name
``extract.sh`` even when there is none) runs first in the sample's directory,
with the evaluate script's rules (see `plugins.evaluate.script`): a substituted
copy run by its ``#!`` line or bash, or a ``.py`` run in place with the point as
arguments (``sample_extract_arguments``, ``sample_extract_excludes``; no
``--evaluate_index``, which Deffe did not give it). Its output goes to
``output_log`` (``extract.log``) there; a non-zero exit status is a failed sample.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from framework.deffe_tables import EXTRACT_TIME_FILE
from framework.errors import exit_status
from framework.evaluation import describe
from framework.guard import file_digests
from framework.protocols import EvaluationFailed
from framework.values import parse_names, to_number
from plugins.evaluate.script import ScriptOutput, Scripts, check_text_script, find_script, log_name, split_words, tail


class ExtractFailed(EvaluationFailed):
    """The costs could not be read from the sample's output: a failed sample."""


def same_value(a, b) -> bool:
    """Two texts (or JSON values) of one cost that say the same ("5" and "5.0" do)."""
    if a == b and type(a) is type(b):
        return True
    x, y = (v if isinstance(v, str) else json.dumps(v) for v in (a, b))   # (a JSON number, a line's text)
    return to_number(x) is not None and to_number(x) == to_number(y)


def once(pairs, source: str) -> dict:
    """(name, value) pairs as a dict, or a failed sample when a name is given twice with different values
    (the last one was kept without a word)."""
    out = {}
    for name, value in pairs:
        if name in out and not same_value(out[name], value):
            a, b = (v if isinstance(v, str) else json.dumps(v) for v in (out[name], value))
            raise ExtractFailed(f"{source} gives '{name}' twice: {a} and {b}; write each cost once")
        out[name] = value
    return out


def no_booleans(data, cost_names: list[str], source: str):
    """`data` read from the file as JSON, with no true or false as a cost: a boolean is not a number (the line
    'true' was refused already). (A Python evaluator's True is still 1.0: framework.evaluation.)"""
    costs = {c.lower() for c in cost_names}   # (other keys are not read: a "verified": true is no trouble)
    if isinstance(data, dict):
        named = [(k, v) for k, v in data.items() if str(k).lower() in costs]
    elif isinstance(data, list):   # values in cost order
        named = list(zip(cost_names, data))
    else:                          # a lone value: the first cost's
        named = [(cost_names[0] if cost_names else "?", data)]
    for name, value in named:
        if isinstance(value, bool):
            raise ExtractFailed(f"{source}: cost '{name}' is {json.dumps(value)}, not a number")
    return data


def parse_lines(text: str, cost_names: list[str], source: str):
    lines = [l.strip() for l in text.splitlines()]
    if not any(lines):
        raise ExtractFailed(f"{source} is empty")
    n = len(cost_names)
    # by position, as Deffe read lines[index] for each cost: a blank line (a grep that found nothing) must
    # not let the next line's value stand in for its cost
    numbers = [to_number(l) for l in lines[:n]]
    if all(x is not None for x in numbers):
        if len(numbers) < n:
            raise ExtractFailed(f"{source} has {len(numbers)} number(s) for {n} costs ({', '.join(cost_names)}): "
                                "one number per line in cost order")
        return numbers   # later lines are ignored, as in Deffe
    matches = (re.match(r"^([A-Za-z_][\w.\-]*)\s*[:=\s]\s*(\S+)\s*$", l) for l in lines)
    pairs = once((m.groups() for m in matches if m), source)
    if pairs:
        return pairs
    bad = next(i for i, x in enumerate(numbers) if x is None)
    found = "is blank" if not lines[bad] else f"is {lines[bad][:40]!r}, not a number"
    raise ExtractFailed(f"{source}: cannot read costs: line {bad + 1} (cost {cost_names[bad]}) {found}: the "
                        f"first {n} line(s) are the costs, one number per line in cost order (or write 'name value' "
                        "lines)")


class CostOutputExtract:
    def __init__(self, framework):
        self.framework = framework
        self.options = framework.section("extract")

    def Initialize(self) -> None:
        cfg = self.framework.config
        origin = cfg.data.get("__origin__")
        self.file = self.options.get("cost_output") or "results.out"
        self.format = self.options.get("format") or "auto"
        self.patterns = {c: re.compile(p, re.MULTILINE) for c, p in (self.options.get("regex") or {}).items()}
        self.cost_names = self.framework.cost_names
        script = self.options.get("sample_extract_script")
        # in the current directory or next to the config, as Deffe looked
        self.script = find_script(self.framework, script, "extract.sample_extract_script", "extract script")[0] \
            if script else None
        if self.script is None:
            return   # Deffe configs name extract.sh even when there is none
        check_text_script(self.script, cfg.file_of("extract.sample_extract_script"), "extract.sample_extract_script",
                          "extract script")
        self.scripts = Scripts(self.framework)
        taken = {"param.json", self.file, EXTRACT_TIME_FILE}
        if self.script.suffix != ".py":
            taken.add(self.script.name)   # its copy
        self.log_name = log_name(self.options.get("output_log") or "extract.log", taken,
                                 cfg.file_of("extract.output_log"), "extract.output_log")
        self.fixed = split_words(self.options.get("sample_extract_arguments"), origin,
                                 "extract.sample_extract_arguments")
        self.excludes = set(parse_names(self.options.get("sample_extract_excludes"),
                                        "extract.sample_extract_excludes")) | {"evaluate_index"}

    def Fingerprint(self) -> dict:
        """The extract script's text, when there is one."""
        return file_digests([self.script]) if self.script is not None else {}

    def _run_script(self, sample, d: Path) -> str | None:
        """Run the extract script in the sample's directory; what went wrong, if it exited non-zero."""
        s = self.scripts
        d.mkdir(parents=True, exist_ok=True)
        ctx = s.context(sample)
        argv = s.command(self.script, d, ctx, self.fixed, self.excludes)
        log = d / self.log_name
        log.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        with open(log, "wb") as out:
            status = s.run(argv, d, ctx.env, out)
        # for Deffe's ExtractTime column (framework.deffe_tables), as its extract log's `time -p` lines were
        (d / EXTRACT_TIME_FILE).write_text(f"{time.perf_counter() - t0:.6f}\n")
        if status != 0:   # Deffe read the costs whatever the status: only when there are none does it count
            last = tail(log)
            return (f"the extract script {exit_status(status)}"
                    + (f"; {self.log_name} ends: {last}" if last else ""))
        return None

    def Run(self, sample, output):
        d = Path(sample.directory).resolve()
        if not d.is_dir() and isinstance(output, ScriptOutput):
            raise ExtractFailed(f"the sample's directory {d} was removed by the script; {self.file} was not read")
        if not d.is_dir() and self.script is None:
            # nothing ran in a directory of the sample (a python evaluator): there is no file to read, and
            # what the evaluator returned is what went wrong
            raise ExtractFailed(f"the evaluator returned {describe(output)}, not costs (a dict by cost name, "
                                "a number for one cost, or a list in cost order)")
        try:
            return self._read(sample, d)
        except ExtractFailed as e:
            # a script that exits 0 after its simulator failed (Deffe's evaluate_gem5.sh when gem5 is not
            # there) leaves no costs: what its log ends with says why
            log = self.framework.section("evaluate").get("output_log") or "evaluate.log"
            last = tail(d / log, lines=1)
            if last and log not in str(e):
                raise ExtractFailed(f"{e}; {log} ends: {last}") from None
            raise

    def _read(self, sample, d: Path):
        trouble = self._run_script(sample, d) if self.script is not None else None
        path = d / self.file
        if not path.is_file():
            raise ExtractFailed(trouble or f"{self.file} was not written in {d}")
        text = path.read_text(encoding="utf-8-sig", errors="replace")   # a Windows tool's byte-order mark too
        fmt = self.format
        if fmt in ("json", "auto"):
            try:
                data = json.loads(text, object_pairs_hook=lambda pairs: once(pairs, self.file))
                if fmt == "json" or isinstance(data, (dict, list)):
                    return no_booleans(data, self.cost_names, self.file)
            except ValueError:
                if fmt == "json":
                    raise ExtractFailed(f"{self.file} is not valid JSON") from None
        if fmt == "regex" or (fmt == "auto" and self.patterns):
            out = {}
            for cost, pattern in self.patterns.items():
                m = pattern.search(text)
                if not m:
                    raise ExtractFailed(f"{self.file}: no match for the pattern of '{cost}'")
                out[cost] = m.group(1)
            return out
        return parse_lines(text, self.cost_names, self.file)


def GetObject(framework):
    return CostOutputExtract(framework)
