"""Evaluate ``script``: Deffe's per-sample run directory and scripts.

For each sample, in ``<run_directory>/explore_<id>/``:

* ``param.json`` holds the point (knob name and ``map`` alias -> value, plus
  ``dir`` and ``index``);
* a script other than ``.py`` is copied there with ``$name`` / ``${name}``
  replaced by the point's values (knob and scenario names, their ``map``
  aliases, ``$evaluate_index``, ``$DEFFE_DIR``, ``$DEFFE_EXP_DIR``: the
  directory the driver was started in, ``$DEFFE_CONFIG_DIR``: the config's),
  and runs there with its ``#!`` interpreter (``evaluate.interpreter`` wins),
  else ``bash`` as in Deffe (``sh`` where bash is not installed);
* a ``.py`` script runs in place, as in Deffe, with the driver's own Python in
  the sample's directory: ``python <script> <sample_evaluate_arguments>
  --name value ...`` for every knob, scenario and ``map`` alias, and
  ``--evaluate_index <id>``, as Deffe gave them (a strict parser must know
  them all, or use ``sample_evaluate_excludes``); a true value
  (``true`` or the text ``True``) is the bare flag ``--name``, a false one is
  left out, as are the names of ``sample_evaluate_excludes``.
  ``source_scripts`` (relative to the config) are sourced by bash first; what
  they export reaches the script;
  ``$name`` in those fixed arguments is replaced too (no shell sees them);
* a knob or scenario named (or mapped to) ``command_file`` or
  ``command_option`` names a script (Deffe's gem5 examples: it writes the
  application's options for the evaluate script), found as given from where
  the driver was started, else in the config's directory; it runs the same
  way, just before the evaluate script. Both write to ``output_log``
  (``evaluate.log``), and a non-zero exit status of either is a failed sample.

The three ``DEFFE_*`` directories are also in every script's environment, with
``DEFFE_SAMPLE_DIR``, ``DEFFE_SAMPLE_ID`` and ``evaluate.env``. The extract
plugin runs Deffe's extract script with the same rules (`Scripts`).

Knob values never reach a shell as code. Values made only of plain characters
(letters, digits, ``_ . , : + = @ % / -``) are written into the copy as they
are; any other value (``x; touch pwned``) is written as a reference to an
environment variable (``${DEFFE_KNOB_<name>}``, or the ``DEFFE_*`` directory's
own variable) that holds it, so the shell expands it as data. Scripts run
from an argument list, never through a shell command line; the source scripts
are sourced by a fixed bash text that receives their paths and the command as
arguments. (Inside single quotes such a reference is not expanded: quote with
double quotes.)
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
from types import SimpleNamespace
from pathlib import Path
from typing import Any

from framework.errors import DeffeError, exit_status
from framework.evaluation import describe
from framework.guard import file_digests
from framework.log_tail import log_tail
from framework.protocols import EvaluationFailed
from framework.threads import user_environment
from framework.values import format_value, parse_names

SAFE = re.compile(r"^[A-Za-z0-9_.,:+=@%/\-]+$")
REFERENCE = re.compile(r"\$(\{)?([A-Za-z_][A-Za-z0-9_]*)(?(1)\})")
DIRS = ("DEFFE_DIR", "DEFFE_EXP_DIR", "DEFFE_CONFIG_DIR")   # in the environment under their own names
COMMAND_NAMES = ("command_file", "command_option")       # Deffe's scripts run before the evaluate script
# Sources $2..$(n+1), then runs the rest of the arguments; the sourced scripts see no arguments of ours
SOURCE = ('_deffe_n=$1; shift; _deffe_sources=("${@:1:_deffe_n}"); shift "$_deffe_n"\n'
          '_deffe_argv=("$@"); set --\n'
          'for _deffe_f in "${_deffe_sources[@]}"; do . "$_deffe_f"; done\n'
          'exec "${_deffe_argv[@]}"\n')


class ScriptFailed(EvaluationFailed):
    """The script could not run or exited with a non-zero status: a failed sample."""


@dataclass
class ScriptOutput:
    directory: Path
    returncode: int
    log: Path


def substitute(text: str, values: dict[str, str]) -> str:
    """The script text with $name / ${name} of known names replaced (see module doc)."""
    def repl(m: re.Match) -> str:
        name = m.group(2)
        if name not in values:
            return m.group(0)
        v = values[name]
        if SAFE.match(v):
            return v
        return "${%s}" % (name if name in DIRS else f"DEFFE_KNOB_{name}")
    return REFERENCE.sub(repl, text)


def tail(path: Path, lines: int = 3) -> str:
    """The last `lines` lines of a log, joined for a failed sample's one-line message (framework.log_tail)."""
    return " | ".join(log_tail(path, lines))


def printable(text: str) -> str:
    """`text` read with surrogateescape, as it can be printed."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_text_script(path: Path, file: str | None, where: str, what: str) -> None:
    """A script other than .py is copied with the point's values substituted and run by its #! line or bash:
    a compiled program (NUL bytes, as git and grep tell binary files) would be mangled, and bash cannot run
    it: a config error, not a failed sample each."""
    if path.suffix == ".py":
        return
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError as e:
        raise DeffeError(f"{what} '{path}' cannot be read ({e.strerror})", file=file, where=where) from None
    if b"\0" in head:
        raise DeffeError(f"{what} '{path}' is a binary file (a compiled program?), not a script: it would be "
                         "copied with the knob values substituted and run by bash", file=file, where=where,
                         hint=f"wrap it in a shell script that runs it (exec {shlex.quote(str(path))} \"$@\")")


def split_words(text: str | None, file: str | None, where: str) -> list[str]:
    """Deffe's sample_*_arguments, split like a shell."""
    try:
        return shlex.split(text or "")
    except ValueError as e:
        raise DeffeError(f"cannot split the arguments {text!r} ({e})", file=file, where=where) from None


def flag_arguments(point: dict[str, Any], excludes: set[str]) -> list[str]:
    """``--name value`` for each entry of the point, as Deffe passed them to a .py script."""
    out: list[str] = []
    for name, v in point.items():
        if name in excludes or v is False or v == "False":
            continue
        out += [f"--{name}"] if v is True or v == "True" else [f"--{name}", format_value(v)]
    return out


def environment(env, file: str | None) -> dict[str, str]:
    """``evaluate.env`` as the scripts' environment: checked here, once, as a config error (an illegal name
    or a list given as a value failed every sample, or reached the scripts as a Python text)."""
    where = "evaluate.env"
    if not isinstance(env, dict):
        raise DeffeError(f"is {describe(env)}, not an object of variable names and values", file=file,
                         where=where, hint='e.g. "env": {"OMP_NUM_THREADS": "4"}')
    for name, value in env.items():
        if not name or "=" in name or "\0" in name:
            raise DeffeError(f"{name!r} is not an environment variable name", file=file, where=where,
                             hint="a name is not empty and has neither '=' nor a NUL character")
        if not isinstance(value, (str, int, float)) or "\0" in str(value):   # (a bool is an int)
            raise DeffeError(f"{name}: {json.dumps(value)} is not a value for the environment", file=file,
                             where=where, hint="give a string, a number or a boolean (without NUL characters)")
    return {k: str(v) for k, v in env.items()}


@dataclass
class Context:
    """One sample as its scripts see it."""
    point: dict[str, Any]     # name -> value: knobs, scenarios, their aliases, evaluate_index
    texts: dict[str, str]     # what $name stands for: the point's values as text, the DEFFE_* directories
    env: dict[str, str]       # the scripts' environment


class Scripts:
    """How Deffe ran the scripts of a sample; shared by evaluate and extract. Made in Initialize (in the driver)."""

    def __init__(self, framework):
        cfg = framework.config
        # Deffe's variables: the directory the driver was started in, and the config's
        self.dirs = {"DEFFE_EXP_DIR": str(Path.cwd()), "DEFFE_CONFIG_DIR": str(cfg.dir)}
        if os.environ.get("DEFFE_DIR"):
            self.dirs["DEFFE_DIR"] = os.environ["DEFFE_DIR"]
        self.alias = {k.name: k.map for k in framework.space.knobs if k.map and k.map != k.name}
        self.bash = shutil.which("bash")
        self.env_extra = environment(framework.section("evaluate").get("env") or {}, cfg.file_of("evaluate.env"))
        self._texts: dict[Path, str] = {}

    def context(self, sample) -> Context:
        point: dict[str, Any] = {}
        for name, v in sample.values.items():
            point[name] = v
            if name in self.alias:
                point.setdefault(self.alias[name], v)
        point["evaluate_index"] = sample.id
        texts = {**self.dirs, **{k: format_value(v) for k, v in point.items()}}
        env = user_environment(os.environ)   # the thread settings the user gave, not the driver's budget
        env.update(self.env_extra)
        env.update(self.dirs)
        env["DEFFE_SAMPLE_DIR"] = str(Path(sample.directory).resolve())
        env["DEFFE_SAMPLE_ID"] = str(sample.id)
        for name, v in texts.items():
            if name not in DIRS and not SAFE.match(v):
                env[f"DEFFE_KNOB_{name}"] = v
        return Context(point, texts, env)

    def text(self, path: Path) -> str:
        """The script's text; bytes that are not UTF-8 (a Latin-1 comment) kept as they are (surrogateescape),
        so that its copy differs only where a value was substituted."""
        if path not in self._texts:
            self._texts[path] = path.read_bytes().decode("utf-8", "surrogateescape")
        return self._texts[path]

    def command(self, path: Path, directory: Path, ctx: Context, fixed: list[str] = (),
                excludes: set[str] = frozenset(), interpreter: str | None = None) -> list[str]:
        """The argument list that runs `path` for a sample: a .py script in place with the point as
        arguments, as Deffe; any other as its substituted copy in `directory`."""
        text = self.text(path)
        if path.suffix == ".py":
            # $name in the fixed arguments: a value, else an environment variable; no shell sees them
            ref = lambda m: ctx.texts.get(m.group(2), ctx.env.get(m.group(2), m.group(0)))  # noqa: E731
            return [sys.executable, str(path), *(REFERENCE.sub(ref, w) for w in fixed),
                    *flag_arguments(ctx.point, excludes)]
        copy = directory / path.name
        copy.write_bytes(substitute(text, ctx.texts).encode("utf-8", "surrogateescape"))
        copy.chmod(path.stat().st_mode | 0o100)
        if interpreter:
            program = shlex.split(interpreter)
        else:
            first = text.splitlines()[0] if text else ""
            program = shlex.split(first[2:]) if first.startswith("#!") else []
        return (program or [self.bash or "sh"]) + [str(copy)]   # Deffe ran every script with bash

    def sourced(self, sources: list[Path], argv: list[str]) -> list[str]:
        """`argv` run after bash sourced `sources` (Deffe's 'source s ; python3 ...')."""
        if not sources:
            return argv
        return [self.bash, "-c", SOURCE, "bash", str(len(sources)), *map(str, sources), *argv]

    @staticmethod
    def run(argv: list[str], directory: Path, env: dict[str, str], out) -> int:
        try:
            return subprocess.run(argv, cwd=directory, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL).returncode
        except FileNotFoundError:
            raise ScriptFailed(f"cannot run {argv[0]!r} (not found)") from None
        except PermissionError:
            raise ScriptFailed(f"cannot run {argv[0]!r} (permission denied)") from None


def log_name(name, taken: set[str], file: str | None, where: str) -> str:
    """A script's ``output_log``, checked: a file name (or relative path) inside the sample's directory that is
    none of the `taken` files the plugins write or read there (a log named as the script's copy emptied the
    script before it ran; "." failed every sample)."""
    parts = Path(name).parts if isinstance(name, str) else ()
    trouble = (f"is {describe(name)}, not a file name" if not isinstance(name, str)
               else "must be a file in the sample's directory, not a path out of it" if Path(name).is_absolute()
               or ".." in parts
               else "is a directory, not a file name" if not parts or name.endswith(("/", "/.")) or parts[-1] == "."
               else "is taken: the sample's directory holds a file of that name" if parts[0] in taken
               else None)
    if trouble:
        raise DeffeError(f"{name!r} {trouble}", file=file, where=where,
                         hint=f"give a file name such as {where.split('.')[0]}.log"
                              + (f" (not {', '.join(sorted(taken))})" if taken else ""))
    return name


def find_script(framework, name: str, where: str, what: str) -> tuple[Path | None, list[Path]]:
    """A script named as Deffe named it: in the current directory or next to the config (Config.find_file),
    and the places looked at; an info line says which was used when both were looked at."""
    cfg = framework.config
    found, looked = cfg.find_file(name, cfg.file_of(where), where, what)
    if found is not None and len(looked) > 1:
        framework.log.info(f"{what} {name}: {found}")
    return found, looked


class ScriptEvaluate:
    def __init__(self, framework):
        self.framework = framework
        self.options = framework.section("evaluate")

    def Initialize(self) -> None:
        cfg = self.framework.config
        origin = cfg.data.get("__origin__")
        name = self.options.get("script")
        if not name:
            raise DeffeError("the script evaluator needs a script", file=origin,
                             where="evaluate.script", hint='e.g. "evaluate": {"script": "evaluate.sh"}')
        self.path, looked = find_script(self.framework, name, "evaluate.script", "evaluate script")
        if self.path is None:
            raise DeffeError(f"evaluate script '{name}' not found (looked at {' and '.join(map(str, looked))})",
                             file=cfg.file_of("evaluate.script"), where="evaluate.script",
                             hint="put it in the current directory or next to the config, or give its path")
        check_text_script(self.path, cfg.file_of("evaluate.script"), "evaluate.script", "evaluate script")
        self.scripts = Scripts(self.framework)
        self.interpreter = self._interpreter()
        # the sample's directory also holds these: the log must not be written over one of them
        # (a log named as the costs file is allowed: the script's printed output is then its costs)
        taken = {"param.json"}
        if self.path.suffix != ".py":
            taken.add(self.path.name)   # its copy
        self.log_name = log_name(self.options.get("output_log") or "evaluate.log", taken,
                                 cfg.file_of("evaluate.output_log"), "evaluate.output_log")
        self.fixed = split_words(self.options.get("sample_evaluate_arguments"), origin,
                                 "evaluate.sample_evaluate_arguments")
        self.excludes = set(parse_names(self.options.get("sample_evaluate_excludes"),
                                        "evaluate.sample_evaluate_excludes"))
        sources = self.options.get("source_scripts") or []
        self.sources = [cfg.resolve(os.path.expandvars(s)) for s in parse_names(sources, "evaluate.source_scripts")]
        for s in self.sources:
            if not s.is_file():
                raise DeffeError(f"source script '{s}' not found", file=cfg.file_of("evaluate.source_scripts"),
                                 where="evaluate.source_scripts")
        if self.sources and not self.scripts.bash:
            raise DeffeError("source_scripts are sourced by bash, which is not installed", file=origin,
                             where="evaluate.source_scripts")
        # every command file a point can name must exist: one error now, not a failed sample each
        for knob in self.framework.space.knobs:
            if {knob.name, knob.map} & set(COMMAND_NAMES) and knob.levels is not None:
                for v in knob.levels:
                    if not self._command_file(v).is_file():
                        raise DeffeError(f"{knob.name}: command script '{v}' not found (looked at "
                                         f"{self._command_file(v)})", file=origin,
                                         where="scenarios" if knob.scenario else "knobs")
                    check_text_script(self._command_file(v), origin, "scenarios" if knob.scenario else "knobs",
                                      f"{knob.name}: command script")
                    if self._command_file(v).name == self.log_name:
                        raise DeffeError(f"{knob.name}: the command script '{v}' is copied to the sample's "
                                         f"directory as {self.log_name}, the evaluate log", file=origin,
                                         where="evaluate.output_log", hint="give output_log another name")

    def _interpreter(self) -> str | None:
        """``evaluate.interpreter``, checked: one not found failed every sample and the run went on."""
        interpreter = self.options.get("interpreter")
        if not interpreter:
            return None
        file = self.framework.config.file_of("evaluate.interpreter")
        try:
            program = shlex.split(str(interpreter))
        except ValueError as e:
            raise DeffeError(f"cannot split {interpreter!r} ({e})", file=file, where="evaluate.interpreter") \
                from None
        # a relative path with a '/' is looked for from the sample's directory, which does not exist yet
        if program and (os.path.isabs(program[0]) or "/" not in program[0]):
            path = self.scripts.env_extra.get("PATH", os.environ.get("PATH", os.defpath))
            if shutil.which(program[0], path=path) is None:
                from framework.executors import executor_kind
                if executor_kind(self.framework.config, self.framework.args) != "local":
                    # the cluster's nodes run the scripts: a program there may be missing on this machine
                    self.framework.log.warning(f"warning: evaluate.interpreter: '{program[0]}' is not found on "
                                               "this machine; the cluster's nodes must have it")
                    return str(interpreter)
                raise DeffeError(f"'{program[0]}' is not an executable program" +
                                 ("" if os.path.isabs(program[0]) else " found on PATH"), file=file,
                                 where="evaluate.interpreter", hint="give the path of the program that runs the "
                                                                   "script, e.g. /bin/bash")
        return str(interpreter)

    def Fingerprint(self) -> dict:
        """What the costs depend on besides the config: the text of every script a sample runs."""
        commands = [self._command_file(v) for k in self.framework.space.knobs
                    if {k.name, k.map} & set(COMMAND_NAMES) and k.levels is not None for v in k.levels]
        return file_digests([self.path, *self.sources, *commands])

    DRY_LINES = 40   # lines of one script a dry run shows

    def DryRun(self, values: dict) -> list[str]:
        """What -no-run prints for a point: the commands a real run would run in the sample's directory, with
        the point's values substituted as they would be; nothing is written (Deffe's -no-run wrote the
        directories). ``<N>`` stands for the sample's id ($evaluate_index), which the run store gives."""
        s = self.scripts
        token = "DEFFEDRYRUNINDEX"   # the id to come, shown as <N>
        folder = Path(self.framework.run_dir) / f"explore_{token}"
        ctx = s.context(SimpleNamespace(values=values, id=token, directory=folder))
        here = os.path.relpath(folder) if Path(folder).is_absolute() else str(folder)
        lines = []
        scripts = [(self._command_file(ctx.point[n]), [], set(), None) for n in COMMAND_NAMES if n in ctx.point]
        scripts.append((self.path, self.fixed, self.excludes, self.interpreter))
        for path, fixed, excludes, interpreter in scripts:
            if path.suffix == ".py":
                ref = lambda m: ctx.texts.get(m.group(2), ctx.env.get(m.group(2), m.group(0)))  # noqa: E731
                argv = ["python", path.name, *(REFERENCE.sub(ref, w) for w in fixed),
                        *flag_arguments(ctx.point, excludes)]
                lines.append(f"in {here}/: {shlex.join(argv)}")
                continue
            # (shown: a byte that is not UTF-8 as U+FFFD; the copy keeps it)
            text = printable(substitute(s.text(path), ctx.texts)).splitlines()
            program = shlex.split(interpreter) if interpreter else []
            if not program and text and text[0].startswith("#!"):
                program = shlex.split(text[0][2:])
            lines.append(f"in {here}/: {shlex.join(program or ['bash'])} {path.name}, which would read:")
            body = [line for line in text if line.strip()]
            lines += [f"  {line}" for line in body[:self.DRY_LINES]]
            if len(body) > self.DRY_LINES:
                lines.append(f"  ... ({len(body) - self.DRY_LINES} more lines)")
        if self.sources:
            lines.insert(0, f"after sourcing {', '.join(str(p) for p in self.sources)}:")
        return [line.replace(token, "<N>") for line in lines]

    def _command_file(self, value) -> Path:
        """A command script named by a point: as given (from where the driver started), else in the config's
        directory, as in Deffe."""
        p = Path(self.scripts.dirs["DEFFE_EXP_DIR"]) / format_value(value)
        return p if p.is_file() else self.framework.config.dir / format_value(value)

    def Run(self, sample):
        d: Path = Path(sample.directory).resolve()
        if d.exists():
            shutil.rmtree(d)  # left by an evaluation that was killed: start clean
        d.mkdir(parents=True)
        s = self.scripts
        ctx = s.context(sample)
        params = {k: v for k, v in ctx.point.items() if k != "evaluate_index"}   # with the aliases, as Deffe
        params.update(dir=d.name, index=str(sample.id))
        (d / "param.json").write_text(json.dumps(params, indent=2, default=str))
        runs = [(f"command script '{ctx.texts[n]}'", s.command(self._command_file(ctx.point[n]), d, ctx))
                for n in COMMAND_NAMES if n in ctx.point]
        argv = s.command(self.path, d, ctx, self.fixed, self.excludes, self.interpreter)
        runs.append(("the script", s.sourced(self.sources, argv)))
        log = d / self.log_name
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "wb") as out:
            for what, argv in runs:
                status = s.run(argv, d, ctx.env, out)
                if status != 0:
                    break
        if status != 0:
            last = tail(log)
            raise ScriptFailed(f"{what} {exit_status(status)}"
                               + (f"; {self.log_name} ends: {last}" if last else ""))
        return ScriptOutput(d, status, log)


def GetObject(framework):
    return ScriptEvaluate(framework)
