"""Extract ``cost_output``: read the costs from a file in the sample's directory.

``format`` of the file (``cost_output``, default ``results.out``):

* ``json``  an object keyed by cost name, a list in cost order, or a number;
* ``lines`` one value per line in cost order, or ``name value`` / ``name: value``
  / ``name=value`` lines;
* ``regex`` ``regex`` maps each cost to a pattern whose first group is the value
  (searched in the file, multi-line);
* ``auto``  (default) JSON if it parses, else the regex form when patterns are
  given, else lines.

Deffe's ``sample_extract_script`` (if set) runs first in the sample's directory.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from framework.protocols import EvaluationFailed
from framework.values import to_number


class ExtractFailed(EvaluationFailed):
    """The costs could not be read from the sample's output: a failed sample."""


def parse_lines(text: str, cost_names: list[str], source: str):
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
    if not lines:
        raise ExtractFailed(f"{source} is empty")
    if all(to_number(l) is not None for l in lines):
        return [to_number(l) for l in lines]
    pairs = {}
    for l in lines:
        m = re.match(r"^([A-Za-z_][\w.\-]*)\s*[:=\s]\s*(\S+)\s*$", l)
        if m:
            pairs[m.group(1)] = m.group(2)
    if pairs:
        return pairs
    raise ExtractFailed(f"{source}: cannot read costs (expected one number per line, or 'name value' lines)")


class CostOutputExtract:
    def __init__(self, framework):
        self.framework = framework
        self.options = framework.section("extract")

    def Initialize(self) -> None:
        self.file = self.options.get("cost_output") or "results.out"
        self.format = self.options.get("format") or "auto"
        self.patterns = {c: re.compile(p, re.MULTILINE) for c, p in (self.options.get("regex") or {}).items()}
        script = self.options.get("sample_extract_script")
        self.script = None
        if script:
            p = Path(script)
            p = p if p.is_absolute() else self.framework.config.dir / p
            self.script = p if p.is_file() else None  # Deffe configs name extract.sh even when unused
        self.cost_names = self.framework.cost_names

    def Run(self, sample, output):
        d = Path(sample.directory)
        if self.script is not None:
            proc = subprocess.run(["sh", str(self.script)], cwd=d, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise ExtractFailed(f"extract script exited with status {proc.returncode}: "
                                    f"{proc.stderr.decode(errors='replace').strip()[-200:]}")
        path = d / self.file
        if not path.is_file():
            raise ExtractFailed(f"{self.file} was not written in {d}")
        text = path.read_text(errors="replace")
        fmt = self.format
        if fmt in ("json", "auto"):
            try:
                return json.loads(text)
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
