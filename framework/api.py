"""The Python API: ``framework.explore(config)`` runs an exploration as ``run_deffe.py -config`` does and
returns a `Run`; ``framework.load_run(run_dir)`` reads a finished (or running) one.

``explore`` goes through the command line's own code (`cli.run`) with the options turned into its
flags, so a run made here and one made on the command line are the same run: same tables, same store,
one resumes the other. What the command line may leave behind in its process (log handlers holding
the log file, thread limits, environment variables) is put back after each call (`isolation`), and a
mistake is a `DeffeError`, never a SystemExit.
"""
from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from . import run_data
from .api_model import Model
from .config import Config, load_config
from .errors import DeffeError, did_you_mean
from .isolation import preserved
from .plugins import user_modules_forgotten

# flags that do not make a run (a dry run writes nothing, the others do something else)
NOT_RUN_OPTIONS = {"help", "config", "no_run", "show_defaults", "inference_only", "input", "output", "strict",
                   "model_extract_dir", "report"}
DICT_FILE = "<config dict>"   # the name a dict config stands under in its base directory


def explore(config: dict | str | os.PathLike, *, run_dir: str | os.PathLike | None = None, seed: int | None = None,
            jobs: int | None = None, max_samples: int | None = None, fresh: bool = False, quiet: bool = True,
            base_dir: str | os.PathLike | None = None, **options: Any) -> "Run":
    """Run (or resume) an exploration and return its results.

    ``config``: a config file's path, or the config as a dict (the JSON's content); a dict's relative
    names (scripts, python_path, data files, the run directory) are relative to ``base_dir`` (default:
    the working directory), as a file's are to its directory. ``run_dir`` replaces
    framework.run_directory (relative to the working directory). ``options`` are the other command-line
    options by their long name with ``_`` for ``-``: ``epochs=50``, ``no_train=True``,
    ``custom_samples=[20, 40]``, ``retry_failed=True``.
    """
    _path_arg(run_dir, "run_dir", "explore()")
    _path_arg(base_dir, "base_dir", "explore()")
    base = Path(base_dir if base_dir is not None else os.getcwd()).expanduser().absolute()
    argv = _argv(dict(options, seed=seed, jobs=jobs, max_samples=max_samples, fresh=fresh, quiet=quiet))
    from . import cli
    with preserved():
        os.environ["DEFFE_EXP_DIR"] = os.getcwd()   # what the command line sets, for the config's $VARS
        cfg = _load(config, base)
        fw = cfg.section("framework")
        if run_dir is not None:
            fw["run_directory"] = str(Path(run_dir).expanduser().absolute())
        elif isinstance(config, dict):
            fw["run_directory"] = str(base / Path(fw["run_directory"]).expanduser())
        try:
            # the import path put back and the user's plugin modules forgotten: a next call loads them afresh
            with user_modules_forgotten([cfg.dir, *cfg.python_paths()]):
                cli.run(["-config", str(cfg.path), *argv], config=cfg)
        except DeffeError as e:
            raise in_api_terms(e) from e.__cause__
        where = Path(fw["run_directory"]).expanduser().absolute()
    return Run(_loaded(where), config=cfg)


def in_api_terms(e: DeffeError) -> DeffeError:
    """The error with the command line's flags it suggests said as explore()'s keywords: '-fresh' is
    'fresh=True', '-jobs N' 'jobs=N' (a caller of the API has no command line to add them to)."""
    from .cli import build_parser
    actions = {flag: a for a in build_parser()._actions for flag in a.option_strings}

    def keyword(m: re.Match) -> str:
        action = actions.get(m.group(1))
        if action is None or action.dest in NOT_RUN_OPTIONS:   # no keyword of explore() (-inference-only)
            return m.group(0)
        if action.nargs == 0:
            return f"{action.dest}=True"
        return f"{action.dest}={m.group(2) or '...'}"

    def said(text: str | None) -> str | None:
        return None if text is None else _FLAG.sub(keyword, text)
    return DeffeError(said(e.what), file=e.file, where=e.where, hint=said(e.hint))


_FLAG = re.compile(r"(?<![\w./-])(-[a-z][a-z0-9-]*)(?: ([A-Z][A-Z_]*)\b)?")   # a flag, and its argument's name


def load_run(run_dir: str | os.PathLike) -> "Run":
    """A run directory written by `explore` or ``run_deffe.py`` (it needs the run's deffe_run.json only, not
    the config file: the manifest holds the config's text)."""
    _path_arg(run_dir, "run_dir", "load_run()", required=True)
    return Run(_loaded(run_dir))


def _loaded(run_dir: str | os.PathLike) -> run_data.RunData:
    """The run's data; what the reader should know of it (evaluations shown from the run store, not yet in
    the tables of a run stopped mid-step) as Python warnings."""
    data = run_data.load_run(run_dir)
    for note in data.warnings:
        warnings.warn(note, UserWarning, stacklevel=3)
    return data


def _path_arg(value: Any, name: str, where: str, required: bool = False) -> None:
    """A directory argument is a path (text or a Path); anything else is the caller's mistake, named."""
    if value is None and not required:
        return
    if not isinstance(value, (str, os.PathLike)):
        raise DeffeError(f"{name} is a directory's path (a str or a Path), not {_kind(value)}", where=where)


def _kind(value: Any) -> str:
    return "None" if value is None else f"{type(value).__name__} {value!r}"[:80]


def _load(config: dict | str | os.PathLike, base: Path) -> Config:
    if isinstance(config, dict):
        os.environ["DEFFE_CONFIG_DIR"] = str(base)
        return load_config(base / DICT_FILE, data=_plain(config))
    if not isinstance(config, (str, os.PathLike)):
        raise DeffeError(f"a config is a dict or a file's path, not {type(config).__name__}", where="explore()")
    os.environ["DEFFE_CONFIG_DIR"] = str(Path(config).expanduser().absolute().parent)
    return load_config(config)


def _plain(config: dict) -> dict:
    """The dict as JSON would give it: paths become text, numpy numbers plain numbers, numpy arrays (and
    pandas Series) and tuples lists."""
    def other(x: Any) -> Any:
        if hasattr(x, "tolist"):   # a numpy array or number (a 1-element array's .item() was the only way)
            return x.tolist()
        return x.item() if hasattr(x, "item") else (os.fspath(x) if isinstance(x, os.PathLike) else str(x))
    return json.loads(json.dumps(config, default=other))


def _argv(options: dict[str, Any]) -> list[str]:
    """The command line's flags for keyword options (None and False: not given)."""
    from .cli import build_parser
    actions = {}
    for a in build_parser()._actions:   # the first flag of each destination: -samples-per-step, not -fixed-samples
        actions.setdefault(a.dest, a)
    argv: list[str] = []
    for key, value in options.items():
        action = actions.get(key)
        if action is None or key in NOT_RUN_OPTIONS:
            usable = sorted(k for k in actions if k not in NOT_RUN_OPTIONS)
            if key == "report":   # -report makes no run: a run's results are load_run()'s
                hint = "framework.load_run(run_dir) reads a run's results; framework.reports.build_reports(run_dir) " \
                       "rebuilds its reports"
            else:
                hint = did_you_mean(key, usable) or "the command line's options, e.g. epochs=50, no_train=True"
            raise DeffeError(f"'{key}' is not an option of explore()", where="explore()", hint=hint)
        if value is None or value is False:
            continue
        flag = action.option_strings[0]
        if action.nargs == 0:   # a switch
            argv.append(flag)
        elif action.nargs in ("+", "*"):
            values = value if isinstance(value, (list, tuple)) else [value]
            argv += [flag, *(os.fspath(v) if isinstance(v, os.PathLike) else str(v) for v in values)]
        else:
            argv += [flag, os.fspath(value) if isinstance(value, os.PathLike) else str(value)]
    return argv


class Exploration:
    """One exploration of a run: its tables as DataFrames (costs as floats, NaN where a sample has none)."""

    def __init__(self, data: run_data.ExploreData, run: "Run"):
        self.name = data.name
        self.knobs = data.knobs                   # knob and scenario names, in the tables' order
        self.evaluations = data.evaluations       # every evaluated point: knobs, costs, status
        self.predictions = data.predictions       # points the model predicted: predicted-<cost>, std-<cost>
        self.front = data.front                   # the best designs (deffe_exploration.csv), ranked
        # the model's hold-out accuracy per step and cost (model_metrics.csv); empty without a model
        self.model_metrics = data.model_metrics if data.model_metrics is not None else pd.DataFrame()
        self.steps = data.steps                   # per step: best / hypervolume, the model's report
        self.files = data.files
        self._run = run
        self._model: Model | None = None
        self._model_loaded = False

    def __repr__(self) -> str:
        return f"Exploration({self.name!r}, {len(self.evaluations)} evaluations, front of {len(self.front)})"

    @property
    def checkpoint(self) -> Path | None:
        """The model file the run wrote last for this exploration, or None."""
        for record in reversed(self.steps):
            path = (record.get("model") or {}).get("checkpoint")
            if path and Path(path).is_file():
                return Path(path)
        path = self._run.run_dir / "checkpoints" / f"{self.name}.ckpt"
        return path if path.is_file() else None

    @property
    def model(self) -> Model | None:
        """The trained model (loaded on first use), or None when the run trained none (model.plugin none,
        -no-train, model.checkpoints false). A checkpoint whose description is there without its file (a user
        plugin's Save() that wrote none, in a run made before that was refused; a file moved) is an error
        that says so, not None, which reads as "no model was trained"."""
        if not self._model_loaded:
            from .checkpoint import read_meta, sidecar_path
            ckpt = self.checkpoint
            described = self._run.run_dir / "checkpoints" / f"{self.name}.ckpt"
            if ckpt is None and sidecar_path(described).is_file():
                read_meta(described)   # raises: "checkpoint file not found ...: only its description ... is there"
            if ckpt is not None:
                from .inference import pick_explore
                config = self._run.config
                self._model = Model(config, pick_explore(config, read_meta(ckpt), str(ckpt)), ckpt)
            self._model_loaded = True
        return self._model


class Run:
    """A run's results. The attributes of its first exploration are the run's own (``run.front`` is
    ``run.explores[first].front``); ``run.explores`` has every exploration by name."""

    def __init__(self, data: run_data.RunData, config: Config | None = None):
        self.data = data
        self.run_dir = data.run_dir
        self.costs = data.cost_names                  # cost names, in the tables' order
        self.units = {c["name"]: c.get("unit") for c in data.costs}
        self.directions = {c["name"]: c.get("direction", "min") for c in data.costs}
        self.objectives = data.objectives
        self.explores = {name: Exploration(e, self) for name, e in data.explores.items()}
        self._config = config

    def __repr__(self) -> str:
        return f"Run('{self.run_dir}', costs={self.costs}, explores={list(self.explores)})"

    def _first(self) -> Exploration:
        if not self.explores:
            raise DeffeError("the run has no exploration", file=str(self.run_dir / run_data.MANIFEST))
        return next(iter(self.explores.values()))

    evaluations = property(lambda self: self._first().evaluations)
    predictions = property(lambda self: self._first().predictions)
    front = property(lambda self: self._first().front)
    model_metrics = property(lambda self: self._first().model_metrics)
    model = property(lambda self: self._first().model)

    @property
    def config(self) -> Config:
        """The run's config: the one it ran with, else rebuilt from the text the manifest keeps (the file
        may have changed or gone since)."""
        if self._config is None:
            from .config.loader import included_texts, variables_set
            # the files it included, as they were, and the $VARS it named with the values the run had
            with preserved(), included_texts(self.data.config_includes), variables_set(_config_env(self.data)):
                self._config = _config_of(self.data)
        return self._config


def _config_env(data: run_data.RunData) -> dict[str, str | None]:
    """The environment variables the run's config named and their values in the run (the manifest's
    config_env; a run of an older version has none: its config is read in the environment of now)."""
    path = data.run_dir / run_data.MANIFEST
    try:
        env = json.loads(path.read_text()).get("config_env") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, (str, type(None)))
                                            for k, v in env.items()):
        raise DeffeError(f"config_env is an object of variables' values (text or null), not {_kind(env)}",
                         file=str(path), where="config_env", hint="fix the key or remove it (the config is then "
                         "read with the variables of now)")
    return env


def _config_of(data: run_data.RunData) -> Config:
    path = Path(data.config_path) if data.config_path else data.run_dir / DICT_FILE
    os.environ["DEFFE_CONFIG_DIR"] = str(path.parent)
    try:
        same = data.config_text is None or path.read_text() == data.config_text
    except OSError:
        same = False
    if same:
        return load_config(path)
    if data.config_text is None:
        raise DeffeError("the run's config is gone and the manifest does not hold its text",
                         file=str(data.run_dir / run_data.MANIFEST))
    from .config.loader import read_json_text
    return load_config(path, data=read_json_text(data.config_text, str(data.run_dir / run_data.MANIFEST),
                                                  once=False))   # a run of an older version kept it
