"""Evaluate ``script``: Deffe's per-sample run directory and script.

For each sample, in ``<run_directory>/explore_<id>/``:

* ``param.json`` holds the point (knob name -> value, plus ``dir`` and ``index``);
* the script is copied there with ``$name`` / ``${name}`` (knob names and their
  ``map`` aliases, and ``$evaluate_index``) replaced by the point's values;
* it runs there: a ``.py`` script with the driver's own Python, given the point
  as ``--name value`` arguments (as in Deffe); any other script with its ``#!``
  interpreter, else ``sh``. Its output goes to ``evaluate.log``.

Knob values never reach a shell as code. Values made only of plain characters
(letters, digits, ``_ . , : + = @ % / -``) are written into the copy as they
are; any other value (``x; touch pwned``) is written as a reference to an
environment variable (``${DEFFE_KNOB_<name>}``) that holds it, so the shell
expands it as data. Scripts run from an argument list, never through a shell
command line. (Inside single quotes such a reference is not expanded: quote
with double quotes.) In a ``.py`` script only plain values are substituted;
every value reaches it as an argument.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from framework.errors import DeffeError
from framework.protocols import EvaluationFailed
from framework.threads import user_environment
from framework.values import format_value

SAFE = re.compile(r"^[A-Za-z0-9_.,:+=@%/\-]+$")
REFERENCE = re.compile(r"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)(?(1)\})")
LOG = "evaluate.log"


class ScriptFailed(EvaluationFailed):
    """The script could not run or exited with a non-zero status: a failed sample."""


@dataclass
class ScriptOutput:
    directory: Path
    returncode: int
    log: Path


def substitute(text: str, values: dict[str, str], shell: bool) -> str:
    """The script text with $name / ${name} of known names replaced (see module doc)."""
    def repl(m: re.Match) -> str:
        name = m.group(2)
        if name not in values:
            return m.group(0)
        v = values[name]
        if SAFE.match(v):
            return v
        return "${DEFFE_KNOB_%s}" % name if shell else m.group(0)
    return REFERENCE.sub(repl, text)


def tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class ScriptEvaluate:
    def __init__(self, framework):
        self.framework = framework
        self.options = framework.section("evaluate")

    def Initialize(self) -> None:
        cfg = self.framework.config
        name = self.options.get("script")
        if not name:
            raise DeffeError("the script evaluator needs a script", file=cfg.data.get("__origin__"),
                             where="evaluate.script", hint='e.g. "evaluate": {"script": "evaluate.sh"}')
        path = Path(name)
        if not path.is_absolute():
            path = cfg.dir / name
        if not path.is_file():
            raise DeffeError(f"evaluate script '{name}' not found (looked at {path})",
                             file=cfg.data.get("__origin__"), where="evaluate.script")
        self.path = path
        self.text = path.read_text(errors="replace")
        self.is_python = path.suffix == ".py"
        self.command = self._command()
        self.env_extra = {str(k): str(v) for k, v in (self.options.get("env") or {}).items()}
        self.aliases = {k.map: k.name for k in self.framework.space.knobs if k.map}

    def _command(self) -> list[str]:
        if self.is_python:
            return [sys.executable]
        interp = self.options.get("interpreter")
        if interp:
            return shlex.split(interp)
        first = self.text.splitlines()[0] if self.text else ""
        if first.startswith("#!"):
            return shlex.split(first[2:].strip())
        return ["sh"]

    def Run(self, sample):
        d: Path = Path(sample.directory).resolve()
        if d.exists():
            shutil.rmtree(d)  # left by an evaluation that was killed: start clean
        d.mkdir(parents=True)
        texts = {name: format_value(v) for name, v in sample.values.items()}
        for alias, name in self.aliases.items():
            texts.setdefault(alias, texts[name])
        texts["evaluate_index"] = str(sample.id)
        params = dict(sample.values)
        params.update(dir=d.name, index=str(sample.id))
        (d / "param.json").write_text(json.dumps(params, indent=2, default=str))
        copy = d / self.path.name
        copy.write_text(substitute(self.text, texts, shell=not self.is_python))
        copy.chmod(self.path.stat().st_mode | 0o100)

        argv = self.command + [str(copy)]
        if self.is_python:
            for name, v in sample.values.items():
                argv += [f"--{name}", format_value(v)]
        env = user_environment(os.environ)   # the thread settings the user gave, not the driver's budget
        env.update(self.env_extra)
        env["DEFFE_SAMPLE_DIR"] = str(d)
        env["DEFFE_SAMPLE_ID"] = str(sample.id)
        for name, v in texts.items():
            if not SAFE.match(v):
                env[f"DEFFE_KNOB_{name}"] = v
        log = d / LOG
        with open(log, "wb") as out:
            try:
                proc = subprocess.run(argv, cwd=d, env=env, stdout=out, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL)
            except FileNotFoundError:
                raise ScriptFailed(f"cannot run {argv[0]!r} (not found)") from None
            except PermissionError:
                raise ScriptFailed(f"cannot run {argv[0]!r} (permission denied)") from None
        if proc.returncode != 0:
            last = tail(log)
            raise ScriptFailed(f"the script exited with status {proc.returncode}"
                               + (f"; {LOG} ends: {last}" if last else ""))
        return ScriptOutput(d, proc.returncode, log)


def GetObject(framework):
    return ScriptEvaluate(framework)
