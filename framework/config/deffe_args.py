"""Configs written for the original Deffe: its option strings and module names.

Deffe configured blocks with ``pyscript`` (the block's module),
``ml_model_script`` and free option strings (``"arguments": "-method lhs"``,
``"ml_arguments": "-epochs 100 -loss custom_mean_abs_log_loss"``). Here those
are mapped onto the structured keys, which win when both are given. Options
of the strings that we do not share are reported as warnings (the run goes
on), so that an old config keeps working.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from ..errors import DeffeError
from ..values import to_number
from .loader import ORIGIN
from .schema import DEFFE_PYSCRIPTS

# Deffe's sampling methods -> (our sampling plugin, extra settings)
DEFFE_METHODS = {
    "random": ("random", {}),
    "uniform_random": ("random", {}),
    "lhs": ("lhs", {}),
    "space_filling_lhs": ("lhs", {}),
    "halton": ("halton", {}),
    "sobol": ("sobol", {}),
    "full_fact": ("factorial", {}),
    "factorial": ("factorial", {}),
    "frac_fact_res": ("fractional_factorial", {}),
    "plackett_burman": ("plackett_burman", {}),
    "box_behnken": ("box_behnken", {}),
    "central_composite_ccf": ("central_composite", {"face": "ccf"}),
    "central_composite_cci": ("central_composite", {"face": "cci"}),
    "central_composite_ccc": ("central_composite", {"face": "ccc"}),
}

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


def parse_option_string(text: str, options: dict, file: str, where: str,
                        warnings: list[str]) -> dict:
    """Structured values of the options we share; the others become warnings."""
    try:
        tokens = shlex.split(text)
    except ValueError as e:
        raise DeffeError(f"cannot split the option string ({e})", file=file, where=where) from None
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
                raise DeffeError(f"option {tok} needs at least one number", file=file, where=where)
            out[key] = vals
            continue
        if i + 1 >= len(tokens):
            raise DeffeError(f"option {tok} needs a value", file=file, where=where)
        raw = tokens[i + 1]
        if kind in ("int", "float"):
            n = to_number(raw)
            if n is None or (kind == "int" and not float(n).is_integer()):
                raise DeffeError(f"option {tok} needs {'an integer' if kind == 'int' else 'a number'}, got '{raw}'",
                                 file=file, where=where)
            out[key] = int(n) if kind == "int" else float(n)
        else:
            out[key] = raw
        i += 2
    return out


def apply(cfg: dict) -> list[str]:
    """Map Deffe's keys of a validated config onto the structured ones; return warnings."""
    file = cfg.get(ORIGIN, "")
    warnings: list[str] = []

    for section, builtins in DEFFE_PYSCRIPTS.items():
        sec = cfg[section]
        script = sec.pop("pyscript", None)
        if script and sec.get("plugin") in (None, _default_plugin(section)) and section != "slurm":
            if Path(script).name not in builtins:
                sec["plugin"] = script  # a user module standing in for the block

    sampling = cfg["sampling"]
    args = parse_option_string(sampling.pop("arguments", "") or "", SAMPLING_OPTIONS, file,
                               "sampling.arguments", warnings)
    method = sampling.pop("method", None) or args.pop("method", None)
    if method:
        if method in DEFFE_METHODS:
            plugin, extra = DEFFE_METHODS[method]
            sampling["plugin"] = plugin
            for k, v in extra.items():
                sampling[k] = v
        else:
            sampling["plugin"] = method
    explo = cfg["exploration"]
    for key in ("samples_per_step", "custom_samples"):
        if key in args and explo.get(key) in (None, _schema_default("exploration", key)):
            explo[key] = args[key]

    model = cfg["model"]
    script = model.pop("ml_model_script", None)
    if script and model.get("plugin") in (None, _default_plugin("model")):
        model["plugin"] = DEFFE_MODELS.get(Path(script).name, script)
    margs = parse_option_string(model.pop("ml_arguments", "") or "", MODEL_OPTIONS, file,
                                "model.ml_arguments", warnings)
    margs.update(parse_option_string(model.pop("arguments", "") or "", MODEL_OPTIONS, file,
                                     "model.arguments", warnings))
    for k, v in margs.items():
        if model.get(k) in (None, _schema_default("model", k)):
            model[k] = v

    ev = cfg["evaluate"]
    legacy = ev.pop("sample_evaluate_script", None)
    if legacy and not ev.get("script"):
        ev["script"] = legacy
    for section in ("evaluate", "extract", "exploration"):
        text = cfg[section].pop("arguments", "") or ""
        if text.strip():
            parse_option_string(text, {}, file, f"{section}.arguments", warnings)
    for section in ("sampling", "evaluate", "extract", "model", "exploration"):
        for k in ("output_log", "batch_size", "slurm"):
            cfg[section].pop(k, None)
    cfg["extract"].pop("hold_evaluated_data", None)
    for e in explo["explore"]:
        legacy_table = e.pop("evaluation_predict_table", None)
        if legacy_table and e.get("output_table") == _schema_default_explore("output_table"):
            e["output_table"] = legacy_table
        e.pop("valid_costs", None)
    return warnings


def _default_plugin(section: str):
    return _schema_default(section, "plugin")


def _schema_default(section: str, key: str):
    from .schema import SECTIONS
    return SECTIONS[section][key].default


def _schema_default_explore(key: str):
    from .schema import EXPLORE
    return EXPLORE[key].default
