"""Configs written for the original Deffe: its option strings and module names.

Deffe configured blocks with ``pyscript`` (the block's module),
``ml_model_script`` and free option strings (``"arguments": "-method lhs"``,
``"ml_arguments": "-epochs 100 -loss custom_mean_abs_log_loss"``). Here those
are mapped onto the structured keys, which win when both are given. Options
of the strings that we do not share are reported as warnings (the run goes
on), so that an old config keeps working.
"""
from __future__ import annotations

import os
import shlex
from pathlib import Path

from ..errors import DeffeError
from ..values import SWITCH_WORDS, to_number
from .loader import ORIGIN
from .schema import DEFFE_PYSCRIPTS, SLURM
from .validate import check_keys

# Deffe's sampling methods -> (our sampling plugin, extra settings)
DEFFE_METHODS = {
    "random": ("random", {}),
    "uniform_random": ("random", {}),
    "lhs": ("lhs", {}),
    "space_filling_lhs": ("lhs", {}),
    "halton": ("halton", {}),
    "sobol": ("sobol", {}),
    "full_fact": ("factorial", {}),
    # Deffe's factorial is np.arange of every point, shuffled: the whole space in random order, which is
    # what random (without replacement, seeded) draws; this project's factorial walks the grid in order
    "factorial": ("random", {}),
    "frac_fact_res": ("fractional_factorial", {}),
    "plackett_burman": ("plackett_burman", {}),
    "box_behnken": ("box_behnken", {}),
    "central_composite_ccf": ("central_composite", {"face": "ccf"}),
    "central_composite_cci": ("central_composite", {"face": "cci"}),
    "central_composite_ccc": ("central_composite", {"face": "ccc"}),
}
# Deffe's methods we do not have -> the nearest we do (a warning says so)
DEFFE_METHODS_NEAREST = {"onedim": "random", "smart": "random", "onedim_with_smart": "random",
                         "random_k_means": "lhs", "maximin": "lhs"}
# Deffe's ml_model_type -> our model plugin
DEFFE_MODEL_TYPES = {"keras_cnn": "torch_cnn", "torch_cnn": "torch_cnn", "sklearn": "sklearn_rf"}

DEFFE_MODELS = {
    "keras_cnn.py": "torch_cnn", "torch_cnn.py": "torch_cnn", "pytorch_cnn.py": "torch_cnn",
    "torch_wl_cnn.py": "torch_cnn", "keras_mlp.py": "torch_mlp", "torch_mlp.py": "torch_mlp",
    "sklearn_rf.py": "sklearn_rf", "random_forest.py": "sklearn_rf",
    "sklearn_gbm.py": "sklearn_gbm", "gradient_boosting.py": "sklearn_gbm",
}

# option -> (structured key, kind); kind: int, float, str, flag, ints
SAMPLING_OPTIONS = {
    "-method": ("method", "str"),
    "-fixed-samples": ("samples_per_step", "int"),
    "-custom-samples": ("custom_samples", "ints"),
}
MODEL_OPTIONS = {
    "-epochs": ("epochs", "int"),
    "-loss": ("loss", "str"),
    "-batch-size": ("train_batch_size", "int"),
    "-train-test-split": ("train_test_split", "float"),
    "-validation-split": ("validation_split", "float"),
    "-tl-samples": ("transfer_learning", "flag"),
    "-convs": ("convs", "int"),
    "-lr": ("learning_rate", "float"),
    "-learning-rate": ("learning_rate", "float"),
    "-icp": ("initial_checkpoint", "str"),
    "-tl_freeze_layers": ("freeze_layers", "int"),
    "-freeze-layers": ("freeze_layers", "int"),
    "-ensemble": ("ensemble", "int"),
    "-epochs-patience": ("patience", "int"),
}


BATCH_WARNING = "evaluations in parallel on"   # marks the warning below (-jobs N and preloaded runs drop it)


def batch_warning(jobs: int) -> str:
    """The warning of Deffe's batch size beyond the cores: that many evaluations would run at once."""
    return f"{jobs} {BATCH_WARNING} {os.cpu_count()} cores (Deffe's batch size); give -jobs N for fewer"


def _equals_split(tokens: list[str], options: dict, file: str, where: str) -> list[str]:
    """Deffe's argparse reads '-loss=mae' as '-loss mae': the same for the options we share."""
    out = []
    for tok in tokens:
        opt, eq, value = tok.partition("=")
        if not eq or not tok.startswith("-") or opt not in options:
            out.append(tok)
            continue
        if options[opt][1] == "flag":
            raise DeffeError(f"option {opt} takes no value, got '{tok}'", file=file, where=where,
                             hint=f"write {opt} alone")
        out += [opt, value]
    return out


def parse_option_string(text: str, options: dict, file: str, where: str,
                        warnings: list[str]) -> dict:
    """Structured values of the options we share; the others become warnings."""
    try:
        tokens = shlex.split(text)
    except ValueError as e:
        raise DeffeError(f"cannot split the option string ({e})", file=file, where=where,
                         hint="close the quotes the option string opens") from None
    tokens = _equals_split(tokens, options, file, where)
    out: dict = {}
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok not in options:
            # an option we do not share: skip it and its values
            j = i + 1
            while j < len(tokens) and not (tokens[j].startswith("-") and to_number(tokens[j]) is None):
                j += 1
            warnings.append(f"{file}:{where}: Deffe option '{' '.join(tokens[i:j])}' is not used here (ignored)")
            i = j
            continue
        key, kind = options[tok]
        if kind == "flag":
            out[key] = True
            i += 1
            continue
        if kind == "ints":
            vals = []
            i += 1
            while i < len(tokens) and to_number(tokens[i]) is not None:
                vals.append(int(to_number(tokens[i])))
                i += 1
            if not vals:
                raise DeffeError(f"option {tok} needs at least one number", file=file, where=where,
                                 hint=f"give {tok} its numbers, e.g. '{tok} 20 40'")
            out[key] = vals
            continue
        if i + 1 >= len(tokens):
            raise DeffeError(f"option {tok} needs a value", file=file, where=where,
                             hint=f"give {tok} its value, or remove {tok}")
        raw = tokens[i + 1]
        if kind in ("int", "float"):
            n = to_number(raw)
            if n is None or (kind == "int" and not float(n).is_integer()):
                raise DeffeError(f"option {tok} needs {'an integer' if kind == 'int' else 'a number'}, got '{raw}'",
                                 file=file, where=where,
                                 hint=f"give {tok} {'an integer' if kind == 'int' else 'a number'}")
            out[key] = int(n) if kind == "int" else float(n)
        else:
            out[key] = raw
        i += 2
    return out


def apply(cfg: dict, raw: dict | None = None) -> list[str]:
    """Map Deffe's keys of a validated config onto the structured ones; return warnings. ``raw`` is the
    config as written (before defaults were filled in): what the user gave, where Deffe's defaults differ."""
    file = cfg.get(ORIGIN, "")
    warnings: list[str] = []
    written = _written(raw, "model")
    user_scripts = set()

    for section, builtins in DEFFE_PYSCRIPTS.items():
        sec = cfg[section]
        script = sec.pop("pyscript", None)
        # a section without a plugin key (slurm: Deffe's SLURM module) takes its pyscript as accepted only
        if script and _has_plugin(section) and sec.get("plugin") in (None, _default_plugin(section)):
            if Path(script).name not in builtins:
                sec["plugin"] = script  # a user module standing in for the block
                user_scripts.add(section)

    _sampling(cfg, file, warnings, _written(raw, "sampling"), "sampling" in user_scripts)
    _model(cfg, file, warnings, written)

    ev = cfg["evaluate"]
    legacy = ev.pop("sample_evaluate_script", None)
    if legacy and not ev.get("script"):
        ev["script"] = legacy
    for section in ("evaluate", "extract", "exploration"):
        text = cfg[section].pop("arguments", "") or ""
        if text.strip():
            parse_option_string(text, {}, file, f"{section}.arguments", warnings)
    # Deffe's parallel batch of evaluate and extract: that many evaluations at once
    batches = [int(cfg[s]["batch_size"]) for s in ("evaluate", "extract") if cfg[s].get("batch_size")]
    if batches and cfg["framework"].get("jobs") == _schema_default("framework", "jobs"):
        cfg["framework"]["jobs"] = max(batches)
        if max(batches) > (os.cpu_count() or 1):
            warnings.append(f"{file}:evaluate.batch_size: {batch_warning(max(batches))}")
    # Deffe's per-block "slurm": "True": the samples go out as SLURM jobs with the slurm section's settings
    # (-no-slurm turns it off again, as in Deffe; see cli.py)
    # An object's keys are checked whether or not SLURM is used (-no-slurm): a misspelt one is a mistake either way.
    # The slurm section's keys the user wrote win over the object's; its defaults do not.
    switched = False
    for section in ("evaluate", "extract"):
        slurm = cfg[section].get("slurm")
        if isinstance(slurm, dict):
            slurm = check_keys(slurm, SLURM, file, f"{section}.slurm", fill_defaults=False)
        if _slurm_switch(slurm, file, f"{section}.slurm") and not switched:
            switched = True
            if isinstance(slurm, dict):
                written = {k for k in _written(raw, "slurm") if isinstance(k, str) and not k.startswith("__")}
                ours = cfg.get("slurm", {})
                cfg["slurm"] = {**ours, **slurm, **{k: v for k, v in ours.items() if k in written}}
            cfg["framework"]["executor"] = "slurm"
    for section in ("sampling", "evaluate", "extract", "model", "exploration"):
        for k in ("batch_size", "slurm", "hold_evaluated_data", "output_flow", "batch"):
            cfg[section].pop(k, None)
        if section not in ("evaluate", "extract"):   # their output_log names each sample's log
            cfg[section].pop("output_log", None)
    for entry in cfg["knobs"] + cfg["scenarios"]:
        entry.pop("base", None)
        entry.pop("onedim_combination", None)
    for e in cfg["exploration"]["explore"]:
        e.pop("valid_costs", None)
    return warnings


DEFFE_SWITCH_WORDS = {**SWITCH_WORDS, "": False}   # Deffe's configs leave a switch off as ""


def _slurm_switch(value, file: str, where: str) -> bool:
    """Deffe's per-block "slurm": a JSON boolean, a switch written as text in any case ("True", "no", "0"),
    or an object of SLURM settings (on). Anything else ("Flase", "maybe", 2) is an error: Deffe read every
    text but "true" as off, an earlier version here every text but "false" as on."""
    if value is None or isinstance(value, (bool, dict)):
        return bool(value) or isinstance(value, dict)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in DEFFE_SWITCH_WORDS:
        return DEFFE_SWITCH_WORDS[value.strip().lower()]
    raise DeffeError(f"expected true or false (or an object of SLURM settings), got {value!r}", file=file,
                     where=where, hint='write "True" or "False" (Deffe\'s text), or true or false')


def slurm_from(raw: dict | None, file: str) -> str | None:
    """The key that sends this config's samples to SLURM, as a user would look for it: framework.executor
    "slurm", else Deffe's evaluate.slurm or extract.slurm switched on; None when none does."""
    if _written(raw, "framework").get("executor") == "slurm":
        return "framework.executor"
    for section in ("evaluate", "extract"):
        if _slurm_switch(_written(raw, section).get("slurm"), file, f"{section}.slurm"):
            return f"{section}.slurm"
    return None


def _written(raw: dict | None, section: str) -> dict:
    """A section as the user wrote it (no defaults filled in); {} if not written."""
    sec = (raw or {}).get(section)
    return sec if isinstance(sec, dict) else {}


def _sampling(cfg: dict, file: str, warnings: list[str], written: dict, user_script: bool = False) -> None:
    sampling = cfg["sampling"]
    text = sampling.pop("arguments", "") or ""
    # the user's own sampler gets the whole option string: no option of it is "not used here"
    args = parse_option_string(text, SAMPLING_OPTIONS, file, "sampling.arguments", [] if user_script else warnings)
    given = sampling.pop("method", None)
    method = given or args.pop("method", None)
    where = "sampling.method" if given else "sampling.arguments"
    if method in DEFFE_METHODS_NEAREST and not user_script:
        warnings.append(f"{file}:sampling: Deffe's sampling method '{method}' is not here: "
                        f"'{DEFFE_METHODS_NEAREST[method]}' is used instead")
        method = DEFFE_METHODS_NEAREST[method]
    if user_script:
        # the user's own sampler (Deffe's pyscript) is the block, as in Deffe: its method and option string
        # are its settings (framework.config.section("sampling")), never a built-in taking its place
        sampling["arguments"] = text
        if method:
            sampling["method"] = method
    elif method:
        plugin, extra = DEFFE_METHODS.get(method, (method, {}))
        # the structured keys the user wrote win over Deffe's method (docs/config.md)
        for key, value in {"plugin": plugin, **extra}.items():
            if key not in written:
                sampling[key] = value
            elif str(written[key]) != str(value):
                warnings.append(f"{file}:{where}: Deffe's method '{method}' ignored for sampling.{key}: "
                                f"the config's {key} '{written[key]}' is used")
    for key in ("validate_module", "optimize_sample_sequence_module"):
        if sampling.pop(key, None):
            warnings.append(f"{file}:sampling.{key}: Deffe's sample-filtering and reordering modules are not "
                            "supported here (ignored); the surrogate exploration chooses what to evaluate")
    sampling.pop("cost_objective", None)
    explo = cfg["exploration"]
    for key in ("samples_per_step", "custom_samples"):
        if key in args and explo.get(key) in (None, _schema_default("exploration", key)):
            explo[key] = args[key]
    if "samples_per_step" in args:
        explo["_deffe_fixed_samples"] = args["samples_per_step"]   # Deffe's -fixed-samples: steps of that size


# Deffe's model scripts (keras_cnn.py, torch_cnn.py, sklearn_rf.py) trained on every evaluated point
DEFFE_TRAIN_TEST_SPLIT = 1.0


def _model(cfg: dict, file: str, warnings: list[str], written: dict) -> None:
    model = cfg["model"]
    script = model.pop("ml_model_script", None)
    kind = model.pop("ml_model_type", None)
    deffe_model = script is not None or kind is not None or "ml_arguments" in model
    if model.get("plugin") in (None, _default_plugin("model")):
        if script:
            model["plugin"] = DEFFE_MODELS.get(Path(script).name, script)
        elif kind is not None and str(kind).strip().lower() in DEFFE_MODEL_TYPES:
            model["plugin"] = DEFFE_MODEL_TYPES[str(kind).strip().lower()]
        elif kind is not None:
            # as an unknown sampling method: the run goes on with what is nearest (here the default model)
            used = f"the model '{model['plugin']}' is used instead" if model.get("plugin") else "no model is trained"
            warnings.append(f"{file}:model.ml_model_type: Deffe's model type '{kind}' is not keras_cnn, torch_cnn "
                            f"or sklearn: {used}")
    if model.pop("exclude_costs", None):
        warnings.append(f"{file}:model.exclude_costs: ignored: the model learns every cost")
    margs = parse_option_string(model.pop("ml_arguments", "") or "", MODEL_OPTIONS, file,
                                "model.ml_arguments", warnings)
    if script and Path(script).name == "keras_cnn.py" and int(margs.get("freeze_layers", -1)) > 0:
        margs["freeze_layers"] = keras_frozen_weight_layers(int(margs["freeze_layers"]), int(margs.get("convs", 2)))
    margs.update(parse_option_string(model.pop("arguments", "") or "", MODEL_OPTIONS, file,
                                     "model.arguments", warnings))
    if deffe_model and "train_test_split" not in written:
        margs.setdefault("train_test_split", DEFFE_TRAIN_TEST_SPLIT)   # their -train-test-split default 1.00
    for k, v in margs.items():
        if model.get(k) in (None, _schema_default("model", k)):
            model[k] = v


def keras_frozen_weight_layers(n: int, convs: int) -> int:
    """Deffe's Keras CNN froze ``model.layers[:n]``, counting its input, reshape and dropout layers; here
    ``freeze_layers`` counts weight layers. Its weight layers sat at these positions of ``model.layers``
    (with 2 convolutions: input, reshape, conv, dropout, conv, dropout, reshape, dense, dropout, dense,
    dense; without: input, then dense and dropout in turn), so its -freeze-layers 5 froze the two
    convolutions: 2 here."""
    positions = (2, 4, 7, 9, 10) if convs == 2 else (1, 3, 5, 7, 8)
    return sum(1 for p in positions if p < n)


def _has_plugin(section: str) -> bool:
    from .schema import SECTIONS
    return "plugin" in SECTIONS[section]


def _default_plugin(section: str):
    return _schema_default(section, "plugin")


def _schema_default(section: str, key: str):
    from .schema import SECTIONS
    return SECTIONS[section][key].default
