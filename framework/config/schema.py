"""Every config key, its type and its default: the one place defaults live.

`python3 framework/run_deffe.py -show-defaults` prints this table as JSON, and
the README's config reference is written from it. Keys marked ``deffe`` exist
for configs written for the original Deffe: they are accepted and mapped onto
the structured keys (see `deffe_args.py`), the structured keys being the
documented way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Key:
    type: str                 # str, int, number, bool, bool|auto, names, values, list, dict, any, str|list
    default: Any = None
    doc: str = ""
    choices: tuple = ()
    min: float | None = None
    max: float | None = None
    deffe: bool = False       # accepted for Deffe compatibility
    nullable: bool = False    # null means "none" (model.plugin: no model), not "the default"
    foreign: dict | None = None   # other tools' names for a choice (lower case) -> the choice to write


# Keras's standard loss names (a Deffe user's ml_arguments or -loss may hold them), not accepted: the loss
# here each means (the default mse is of log costs, so msle's meaning too)
KERAS_LOSSES = {"mean_absolute_error": "mae", "huber_loss": "huber", "log_cosh": "huber", "logcosh": "huber",
                "mean_squared_logarithmic_error": "mse", "msle": "mse",
                "mean_absolute_percentage_error": "custom_mean_abs_exp_loss", "mape": "custom_mean_abs_exp_loss"}


def choice_hint(value: str, key: Key) -> str | None:
    """The hint for a value not among a key's choices: what to write for another tool's name of one
    (Keras's mean_absolute_error is mae here), else the nearest choice."""
    from ..errors import did_you_mean
    meant = (key.foreign or {}).get(str(value).lower())
    if meant:
        return f"write '{meant}' (the name here of {value})"
    # the choices are spelled as they are ('MAE' is not accepted) but suggested whatever the case: 'mae'
    same = [c for c in key.choices or () if str(c).lower() == str(value).lower()]
    near = f"did you mean '{same[0]}'?" if same else did_you_mean(str(value), key.choices or ())
    if near:
        return near
    # no near miss: which one to write
    return "write one of them" + (f", or leave it out for the default '{key.default}'" if key.default is not None else "")


# Keys every plugin section has.
_PLUGIN_COMMON = {
    "plugin": Key("str", None, "module name, dotted module, or path of a .py file (relative to the config)"),
    "options": Key("dict", {}, "free-form options read by a user plugin"),
    "pyscript": Key("str", None, "Deffe's module of the block; mapped onto 'plugin'", deffe=True),
    "arguments": Key("str", "", "Deffe's option string for the block (e.g. '-method lhs')", deffe=True),
    "output_log": Key("str", None, "Deffe's log file of the block (we log to the run log)", deffe=True),
    "slurm": Key("any", False, "Deffe's per-block SLURM switch: true (or \"True\", \"yes\", 1, or an object of "
                              "SLURM settings) sends the samples out as SLURM jobs with the slurm section's "
                              "settings (framework.executor 'slurm'); false (\"False\", \"no\", 0) runs them "
                              "here; other text is an error; -no-slurm turns it off", deffe=True),
    "batch_size": Key("int", None, "Deffe's parallel batch of a block: evaluate's and extract's become "
                                   "framework.jobs", deffe=True),
}

TOP = {
    "include": Key("str|list", None, "file(s) merged under this one; this file wins"),
    "python_path": Key("str|list", [], "directories (relative to the config) searched for user plugins, on the import path after the project's; one that is no directory is a warning"),
    "knobs": Key("list", [], "the design knobs"),
    "scenarios": Key("list", [], "application scenarios: parameters that are not design decisions"),
    "costs": Key("list", [], "names of the costs to measure (a list, or Deffe's text 'a, b'); 'name::min' / 'name::max' give a direction"),
    "constraints": Key("list", [], "conditions designs must meet, on costs: 'peak_memory <= 16e9'"),
    "sampling": Key("dict", {}, ""),
    "evaluate": Key("dict", {}, ""),
    "extract": Key("dict", {}, ""),
    "model": Key("dict", {}, ""),
    "exploration": Key("dict", {}, ""),
    "framework": Key("dict", {}, ""),
    "slurm": Key("dict", {}, ""),
}

KNOB = {
    "name": Key("str", None, "name of the knob (a column of the tables, $name in scripts)"),
    "values": Key("values", None, "a list, a scalar, or Deffe's string syntax '1,2-4,5'"),
    "type": Key("str", None, "categorical | ordinal | integer | real (default: ordinal for numbers, categorical for text)",
                choices=("categorical", "ordinal", "integer", "real")),
    "min": Key("number", None, "lower bound of an integer or real range (inclusive)"),
    "max": Key("number", None, "upper bound of an integer or real range (inclusive)"),
    "step": Key("number", None, "step of a range; a factor when 'log' is true; a real range without step is continuous"),
    "log": Key("bool", False, "log scale: sampling is log-uniform and the model feature is log(value)"),
    "count": Key("int", None, "this entry stands for N like knobs named <name>_0 .. <name>_{N-1}", min=1),
    "groups": Key("names", None, "groups the knob belongs to; a knob without groups is in every exploration"),
    "map": Key("str", None, "another name for the knob in evaluate scripts ($map)"),
    "exchangeable": Key("any", False, "with count: true, or the list of values that are interchangeable labels "
                                      "(e.g. identical GPUs), so points equal up to relabelling are alike to models"),
    "encoding": Key("str", None, "model feature: numeric | onehot | ordinal (default by type; a categorical "
                                 "knob of more than 64 values: ordinal)",
                    choices=("numeric", "onehot", "ordinal")),
    "doc": Key("str", None, "free text describing the knob"),
    "base": Key("any", None, "Deffe's base value for its 'onedim' sampling; accepted and unused", deffe=True),
    "onedim_combination": Key("any", None, "Deffe's 'onedim' sampling option; accepted and unused", deffe=True),
}

COST = {
    "name": Key("str", None, "name of the cost"),
    "direction": Key("str", "min", "min | max", choices=("min", "max")),
    "doc": Key("str", None, "free text describing the cost"),
    "unit": Key("str", None, "unit of the cost, for people: s, B, FLOP, samples/s, ... (s and B get SI prefixes "
                             "when shown: 412 ms, 5.83 GB); default: what the evaluator says, if anything"),
    "min": Key("number", None, "smallest valid value: a sample whose cost is below it failed (a negative time "
                               "is garbage, not a measurement)"),
    "max": Key("number", None, "largest valid value: a sample whose cost is above it failed"),
}

SAMPLING = {
    **_PLUGIN_COMMON,
    "plugin": Key("str", "random", "random | factorial | lhs | sobol | halton | full_factorial | "
                                   "fractional_factorial | plackett_burman | box_behnken | central_composite | a user module"),
    "method": Key("str", None, "same as 'plugin' (Deffe's -method)"),
    "seed": Key("int", None, "seed of the sampler, in place of framework.seed (default: framework.seed; "
                             "written out, the same points)"),
    "scramble": Key("bool", True, "sobol / halton: scrambled (Owen) sequences"),
    "levels": Key("int", 3, "factorial designs: levels taken from a continuous knob", min=2),
    "resolution": Key("int", 3, "fractional_factorial: resolution of the 2-level design", min=3),
    "face": Key("str", "ccf", "central_composite: ccf (faced) | cci (inscribed) | ccc (circumscribed, clipped)",
                choices=("ccf", "cci", "ccc")),
    "center": Key("int", 1, "central_composite, box_behnken: centre points, 0 for none (duplicates are dropped)", min=0),
    "validate_module": Key("str", None, "Deffe's module that filters samples; not supported (warned)", deffe=True),
    "optimize_sample_sequence_module": Key("str", None, "Deffe's module that reorders samples; not supported "
                                                        "(warned): the surrogate exploration does this", deffe=True),
    "cost_objective": Key("names", None, "Deffe's costs of that module; accepted and unused", deffe=True),
}

EVALUATE = {
    **_PLUGIN_COMMON,
    "plugin": Key("str", "script", "script | python | placement (the simulator) | a user module"),
    "script": Key("str", None, "script run for each sample in its directory: a .py in place with the point as "
                               "--name value arguments, any other as a copy with $name / ${name} substituted"),
    "sample_evaluate_script": Key("str", None, "Deffe's name for 'script'", deffe=True),
    "function": Key("str", None, "python: 'module:function' (module on python_path or a .py path) taking the point, returning costs"),
    "timeout": Key("number", None, "seconds one evaluation may take before it is stopped and stored as 'timeout'; 0 or "
                                         "unset: no limit", min=0),
    "env": Key("dict", {}, "extra environment variables for the script"),
    "interpreter": Key("str", None, "program that runs a non-.py script (default: its #! line, else bash, else sh)"),
    "keep_directories": Key("bool", True, "keep each sample's run directory (Deffe's explore_<N>); false: it is "
                                          "removed once the sample's costs are stored (failed samples keep "
                                          "theirs, for diagnosis)"),
    "retries": Key("int", 0, "an evaluation that fails or times out is evaluated again, up to this many more "
                             "times; the last try's outcome is stored: 'timeout' if it timed out, else 'failed' "
                             "(its error says after how many tries)", min=0),
    "simulator": Key("dict", {}, "placement: the simulation settings (see evaluate.simulator in this reference)"),
    "output_log": Key("str", "evaluate.log", "script: the log of each sample's scripts, in its directory"),
    "sample_evaluate_arguments": Key("str", None, "script, .py: fixed arguments before the point's --name value "
                                                  "arguments (Deffe's key)"),
    "sample_evaluate_excludes": Key("str", None, "script, .py: comma list of names not passed as arguments "
                                                 "(Deffe's key)"),
    "source_scripts": Key("str|list", [], "script: shell scripts (relative to the config) that bash sources before "
                                          "the script; what they export reaches it (Deffe's key)"),
    "hold_evaluated_data": Key("bool", False, "Deffe option: every result is kept in the run store anyway",
                               deffe=True),
    "output_flow": Key("int", None, "Deffe's pipeline flow of a block; accepted and unused", deffe=True),
    "batch": Key("int", None, "Deffe option; accepted and unused", deffe=True),
}

# evaluate.simulator: settings of the placement evaluator (any of the marked ones may also be a knob)
PLACEMENT = {
    "network": Key("str", "resnet50", "a zoo name (resnet50, inception_v3, gpt2, ...), a Paleo JSON file, or "
                   "'module:function' (a Python file by the config or on python_path) returning a PyTorch model "
                   "and a sample input (batch first; add a third item, 1, for a sequence-first input), or a simulator "
                   "Network"),
    "network_config": Key("dict", {}, "zoo settings, e.g. {\"size\": \"medium\"} for gpt2; for "
                          "'module:function', its keyword arguments"),
    "devices": Key("str", "cpu+4xV100-pcie3", "a device preset or an Exprimo device-graph JSON file (knob too)"),
    "memory_cap_gb": Key("number", None, "cap every GPU's memory at this many GB (knob too)", min=0),
    "groups": Key("int", None, "layer groups a placement names a device for (default: the network's own)", min=1),
    "grouping": Key("str", "layers", "how regrouping cuts the layers: layers (equal counts) | flops (balanced)",
                    choices=("layers", "flops")),
    "device_knob": Key("str", "device", "the repeated knob holding the device of each group"),
    "default_device": Key("int", 1, "the device of every group when there is no device knob", min=0),
    "cost_model": Key("str", None, "roofline (simulator default) | paleo (knob too)", choices=("roofline", "paleo")),
    "batch_size": Key("int", None, "samples per training step (default: the network's; knob too)", min=1),
    "ppp_comp": Key("number", None, "paleo: fraction of peak compute reached (simulator default 0.9)", min=0),
    "ppp_comm": Key("number", None, "paleo: fraction of peak link bandwidth reached (default 0.25)", min=0),
    "micro_batches": Key("int", None, "micro-batches in flight (pipelining; default 1; knob too)", min=1),
    "schedule": Key("str", None, "pipeline schedule gpipe | 1f1b (knob too)", choices=("gpipe", "1f1b")),
    "replicas": Key("int", None, "data-parallel replicas (default 1; knob too)", min=1),
    "precision": Key("str", None, "fp32 | fp16 | bf16 (knob too)", choices=("fp32", "fp16", "bf16")),
    "optimizer": Key("str", None, "sgd | momentum | adam (knob too)", choices=("sgd", "momentum", "adam")),
    "memory": Key("str", None, "a placement that does not fit: infeasible (default) | penalty | ignore",
                  choices=("infeasible", "penalty", "ignore")),
    "memory_penalty": Key("number", None, "penalty: step time x (1 + this x overflow fraction)", min=0),
    "training_algorithm": Key("str", None, "backprop (default) | feedback_alignment | direct_feedback_alignment | "
                                           "memory_efficient_dfa: what the backward keeps and waits for (knob too)",
                              choices=("backprop", "feedback_alignment", "direct_feedback_alignment",
                                       "memory_efficient_dfa")),
    "memory_budget": Key("any", None, "memory a device may hold: bytes, or a fraction of its memory if <= 1; one "
                                      "number or {device name or \"*\": number} (knob too, as a number)"),
    "remat": Key("any", None, "devices over their budget rematerialise (DTR) instead of failing: off (default) | "
                              "all | [device names] (knob too)"),
    "remat_heuristic": Key("str", None, "eviction heuristic of the rematerialisation: dtr_eq (default) | dtr | "
                                        "dtr_local | msps | lru | largest | random (knob too)",
                           choices=("dtr", "dtr_eq", "dtr_local", "msps", "lru", "largest", "random")),
}

EXTRACT = {
    **_PLUGIN_COMMON,
    "plugin": Key("str", "cost_output", "cost_output | a user module (ignored when the evaluator returns costs itself)"),
    "cost_output": Key("str", "results.out", "file, in the sample's directory, holding the costs"),
    "format": Key("str", "auto", "auto | json | lines | regex", choices=("auto", "json", "lines", "regex")),
    "regex": Key("dict", None, "cost name -> regular expression whose first group is the value"),
    "sample_extract_script": Key("str", None, "script run in the sample's directory before reading "
                                              "cost_output (Deffe's extract.sh; skipped when it does not exist)"),
    "sample_extract_arguments": Key("str", None, "a .py extract script: fixed arguments (Deffe's key)"),
    "sample_extract_excludes": Key("str", None, "a .py extract script: names not passed (Deffe's key)"),
    "output_log": Key("str", "extract.log", "the log of the extract script, in the sample's directory"),
    "hold_evaluated_data": Key("bool", False, "Deffe option: every result is kept in the run store anyway",
                               deffe=True),
    "output_flow": Key("int", None, "Deffe's pipeline flow of a block; accepted and unused", deffe=True),
}

MODEL = {
    **_PLUGIN_COMMON,
    "plugin": Key("str", "auto", "the surrogate model: auto (chooses per problem among model.candidates by "
                                 "cross-validation or a hold-out, see plugins/ml_model/auto.py) | torch_mlp (deep "
                                 "ensemble of MLPs) | torch_cnn (Deffe's 1-D CNN, as an ensemble) | sklearn_rf | "
                                 "sklearn_gbm | sklearn_gp (Gaussian process) | a user module; null or -no-train: "
                                 "none", nullable=True),
    "candidates": Key("names", ["torch_mlp", "sklearn_rf", "sklearn_gbm", "sklearn_gp"],
                      "auto: the models it chooses among (built-in model plugins other than auto); with a "
                      "repeated knob, torch_mlp is tried as itself and as torch_mlp:direct (family_direct)"),
    "blend": Key("bool", True, "auto: per cost, the average of its two best candidates is one more choice, "
                               "taken when it predicts that cost's held-out points better than each (up to 49 "
                               "samples: unless one candidate scores below 0.7 times the average's score)"),
    "selection_holdout": Key("str", "random", "auto, from 50 samples: the hold-out its candidates are scored on: "
                                              "random (a seeded quarter) | latest (in the guided exploration, the "
                                              "latest quarter of the points, except at its last training; "
                                              "measured, not the default: docs/exploration-versions.md)",
                             choices=("random", "latest")),
    "constraint_model": Key("str", "any", "auto, from 50 samples: the model of a cost a constraint bounds: any "
                                          "(chosen as every other cost) | network (the better of the deep "
                                          "ensemble's variants: the search asks about designs beyond the data, "
                                          "where trees call them feasible; measured, not the default: "
                                          "plugins/ml_model/auto.py, CONSTRAINT_NOTE)", choices=("any", "network")),
    "redecide_growth": Key("number", 2.0, "auto: the choice is made again once the training samples have grown by "
                                          "this factor since it was last made (in between, only the chosen model "
                                          "trains), and at an exploration's last training", min=1),
    "bound_margin": Key("number", 0.25, "every model: predictions are kept within the range of the training costs "
                                        "(log scale for positive costs) widened by this fraction of its width, "
                                        "smoothly (tanh) so that their order is kept", min=0),
    "gp_max_points": Key("int", 300, "sklearn_gp: most training points (a seeded subset beyond it: the fit costs "
                                     "the cube of the points)", min=2),
    "ml_model_script": Key("str", None, "Deffe's model script (keras_cnn.py, ...)", deffe=True),
    "ml_arguments": Key("str", "", "Deffe's model option string ('-epochs 100 -loss ...')", deffe=True),
    "ml_model_type": Key("str", None, "Deffe's model type (keras_cnn | torch_cnn | sklearn, in any case): mapped "
                                      "onto 'plugin'; another is a warning and the default model is used",
                         deffe=True),
    "exclude_costs": Key("names", None, "Deffe option; accepted and unused (the model learns every cost)",
                         deffe=True),
    "epochs": Key("int", 1000, "torch: training epochs (with a validation_split, early stopping may end sooner)",
                  min=1),
    "loss": Key("str", "mse", "torch: mse | huber | mae (on the standardised, log by default, cost) | "
                              "custom_mean_abs_log_loss | custom_mean_abs_exp_loss (Deffe's relative losses; "
                              "positive costs only); Deffe's mean_squared_error and custom_mean_abs_loss are "
                              "read as mse and custom_mean_abs_exp_loss",
                choices=("mse", "huber", "mae", "custom_mean_abs_log_loss", "custom_mean_abs_exp_loss",
                         "mean_squared_error", "mean_squared_error_int", "custom_mean_abs_loss"),
                foreign=KERAS_LOSSES),
    "train_batch_size": Key("int", None, "torch: mini-batch size of training (null: 256 below 500 training "
                                         "points; from 500 on, a 32nd of the points, between 32 and 256, so "
                                         "that an epoch takes at least 32 steps)", min=1),
    "learning_rate": Key("number", 0.01, "torch: Adam's learning rate", min=0),
    "lr_schedule": Key("str", "cosine", "torch: cosine (decay to 1% over the epochs) | constant",
                       choices=("cosine", "constant")),
    "weight_decay": Key("number", 0.0, "torch: decoupled weight decay (AdamW)", min=0),
    "patience": Key("int", 100, "torch, with a validation_split: training stops after this many epochs in "
                                "which no member's validation loss improved (each member keeps its best "
                                "epoch's weights)", min=1),
    "validation_split": Key("number", None, "torch: fraction of the training data each ensemble member keeps "
                                            "for early stopping (a different part for each member); 0: every "
                                            "member trains on all of it for all the epochs; null (automatic): "
                                            "torch_mlp 0.2 below 50 training points, 0 from 50; torch_cnn 0.2",
                        min=0),
    "train_test_split": Key("number", 0.8, "fraction of the evaluated points the model trains on; the rest is a "
                                           "hold-out, the same points at every step, on which MAPE, R^2, Kendall's "
                                           "tau and top-k recall are measured (1: no hold-out)", min=0),
    "ensemble": Key("int", 5, "torch: members of the deep ensemble (their spread is the std of a prediction)",
                    min=1),
    "hidden": Key("list", [32, 32, 32], "torch: widths of the hidden layers (torch_cnn: of its dense layers)"),
    "activation": Key("str", "silu", "torch_mlp: silu | relu | tanh | gelu", choices=("silu", "relu", "tanh", "gelu")),
    "dropout": Key("number", 0.0, "torch: dropout rate of the hidden layers (Deffe used 0.4)", min=0),
    "convs": Key("int", 2, "torch_cnn: convolution layers (kernel 3, 32 then 64 channels, 'same' padding)", min=0),
    "log_costs": Key("bool", True, "train on log(cost) for costs that are positive on every training point"),
    "learn_infeasible": Key("any", None, "which costs the regressors also learn from infeasible points whose "
                                         "evaluator measured them: true (all), false (none), a list of costs; "
                                         "default: the costs of the constraints (a placement too large for "
                                         "memory shows where the memory limit lies; its step time, often "
                                         "lower than any that fits, would only mislead the search)"),
    "relabellings": Key("int", 32, "torch_mlp, with an exchangeable repeated knob: random relabellings of the "
                                  "interchangeable values each training point is also seen under (one drawn "
                                  "per point and epoch), so that the network learns they are interchangeable "
                                  "(0: the canonical naming only)", min=0),
    "family_pooling": Key("bool", True, "torch_mlp, with a repeated knob: the network also reads what each of the "
                                        "knob's values (e.g. each device) receives from the members holding it, "
                                        "through learned per-member weights, pooled by max and mean over the "
                                        "values, from pooling_samples training points on (false: the features "
                                        "only)"),
    "family_direct": Key("bool", False, "torch_mlp, with family_pooling: the network also reads the repeated "
                                        "knob's own features (labels, shares, transitions) directly, not only "
                                        "through the pooling block; auto tries both (torch_mlp:direct)"),
    "pooling_samples": Key("int", 50, "torch_mlp: the fewest training points with which family_pooling is "
                                      "used (below, the deep ensemble keeps a validation part and is not "
                                      "auto's candidate; the block was not measured there)", min=0),
    "refit": Key("bool", False, "after measuring on the hold-out, train once more on every point, so that the "
                                "exploration's model has seen all the data (the figures describe the model "
                                "without the hold-out); costs a second full training each step, which the "
                                "exploration benchmark did not repay"),
    "retrain_growth": Key("number", 0.1, "torch: a step that adds fewer successful samples than this fraction of "
                                         "those of the last full training continues the current model for a "
                                         "tenth of the epochs at a tenth of the learning rate (0: always train "
                                         "anew)", min=0),
    "transfer_learning": Key("bool", False, "torch: warm-start each step from the previous step's model "
                                            "(Deffe's -tl-samples)"),
    "initial_checkpoint": Key("str", None, "torch: start from this checkpoint (-icp), e.g. a model trained on "
                                           "another network; its knobs and costs must match"),
    "freeze_layers": Key("int", 0, "torch: with initial_checkpoint, keep the first N weight layers fixed "
                                   "(-freeze-layers)", min=0),
    "estimators": Key("int", 200, "sklearn_rf: trees; sklearn_gbm: boosting iterations", min=1),
    "max_depth": Key("int", None, "sklearn_rf / sklearn_gbm: depth limit of the trees (none: no limit)", min=1),
    "gbm_learning_rate": Key("number", 0.1, "sklearn_gbm: shrinkage of each boosting iteration", min=0),
    "threads": Key("int", 0, "CPU threads of the driver's libraries: the model's training and prediction, the "
                             "exploration's search (0: as many as -jobs); torch training itself uses one, the "
                             "fastest for small mini-batches", min=0),
    "seed": Key("int", None, "seed of model training, in place of framework.seed (default: framework.seed; written out, the same model)"),
    "trust_pickle": Key("bool", False, "read old (format 1) checkpoints, whose weights are Python pickle data that "
                                       "can run any code when loaded (-trust-pickle); only for files from a source "
                                       "you trust. Checkpoints written now hold only numbers and JSON and need no "
                                       "trust"),
    "top_k": Key("int", 10, "hold-out metric: recall of the k best points among the k predicted best", min=1),
    "checkpoints": Key("bool", True, "write the model after each step to checkpoints/<explore>.ckpt in the run "
                                     "directory"),
    "plots": Key("bool", False, "plot the learning curve and predicted against true costs after each step "
                                "(also on with -model-stats-output)"),
}

EXPLORE = {
    "name": Key("str", None, "name of this exploration"),
    "groups": Key("names", None, "groups (and knob names) it uses; 'name::v1;v2' overrides a knob's values"),
    "pre_evaluated_data": Key("str", None, "CSV of rows evaluated elsewhere, loaded into the run store (-pre-evaluated-data, or -input, replaces it, as in Deffe)"),
    "evaluation_table": Key("str", "deffe_evaluation.csv", "every evaluated sample"),
    "ml_predict_table": Key("str", "deffe_prediction.csv", "points whose costs were predicted"),
    "output_table": Key("str", "deffe_output.csv", "evaluated and predicted points together"),
    "exploration_table": Key("str", "deffe_exploration.csv", "the result of the exploration (front / top-k)"),
    "evaluation_predict_table": Key("str", "deffe_eval_predict.csv", "Deffe's table of evaluated and predicted "
                                                                     "points (framework.deffe_tables)", deffe=True),
    "all_table": Key("str", "deffe_output.csv", "Deffe's table of every point, pre-evaluated ones included "
                                                "(framework.deffe_tables)", deffe=True),
    "valid_costs": Key("names", None, "Deffe option: the costs its model learned; accepted and unused (ours "
                                      "learns every cost)", deffe=True),
    "samples_per_step": Key("int", None, "overrides exploration.samples_per_step", min=1),
    "initial_samples": Key("int", None, "overrides exploration.initial_samples", min=1),
    "max_samples": Key("int", None, "overrides exploration.max_samples", min=1),
    "max_steps": Key("int", None, "overrides exploration.max_steps", min=1),
    "max_time": Key("number", None, "overrides exploration.max_time", min=0),
}

EXPLORATION = {
    **_PLUGIN_COMMON,
    "plugin": Key("str", "surrogate", "surrogate (model-guided) | sampling | random_search | exhaustive | "
                                      "hill_climbing | annealing | genetic | map_elites | nsga2 | a user module"),
    "explore": Key("list", [], "the explorations to run, in order"),
    "samples_per_step": Key("int", 20, "points proposed per step", min=1),
    "initial_samples": Key("int", None, "points in the first step (default: samples_per_step; surrogate: "
                                        "max(samples_per_step, 2 x knobs + 2))", min=1),
    "custom_samples": Key("list", None, "cumulative sample counts per step (Deffe's -custom-samples)"),
    "max_samples": Key("int", None, "budget: evaluated samples per exploration (none: the whole finite space)", min=1),
    "max_steps": Key("int", None, "budget: steps per exploration", min=1),
    "max_time": Key("number", None, "budget: wall seconds per exploration", min=0),
    # the surrogate-guided exploration
    "objectives": Key("names", None, "the costs the best designs (several: the Pareto front) are over and the surrogate "
                                         "optimises; a search plugin's default options.objective(s) (default, the key "
                                         "left out: every cost; an empty list is an error)"),
    "acquisition": Key("str", "ei", "surrogate: ei (expected improvement) | lcb (lower confidence bound) | "
                                    "thompson | exploit; with several objectives multi_objective chooses, on "
                                    "the optimistic costs (mean - kappa x std): ei and thompson act as lcb "
                                    "(warned), exploit uses the mean", choices=("ei", "lcb", "thompson", "exploit")),
    "kappa": Key("number", 2.0, "surrogate: weight of the uncertainty in lcb", min=0),
    "multi_objective": Key("str", "hvi", "surrogate, several costs: hvi (hypervolume improvement) | parego "
                                         "(random scalarisations)", choices=("hvi", "parego")),
    "candidates": Key("int", 20000, "surrogate: model predictions spent searching the space per step", min=10),
    "seek_feasible": Key("bool", True, "surrogate: while no evaluated design meets the constraints (of any "
                                       "scenario combination, or of one), head for where they hold there (the "
                                       "model's likeliest candidates, from the designs that missed by the "
                                       "least); false: propose what the sampler gives until one does "
                                       "(docs/exploration.md)"),
    "diversity": Key("number", 0.1, "surrogate: least fraction of knobs two points of one batch differ in", min=0),
    "local_share": Key("number", None, "surrogate: fraction of each step's points chosen among the trust region's "
                                       "moves of the best designs only (TuRBO's focus; 0: the whole search's "
                                       "candidates compete for every point); default 0.3 with one objective, 0 "
                                       "with several (docs/exploration.md)", min=0, max=1),
    "patience": Key("int", None, "surrogate: stop after this many steps without improving the best (or the "
                                  "front), counted per scenario combination; the other explorations ignore it "
                                  "(warned)", min=1),
    "accuracy_target": Key("number", None, "surrogate: once the model's hold-out error (MAPE, a fraction) is "
                                           "below this, finish on predictions (after a confirmation step)", min=0),
    "confirm": Key("int", 5, "surrogate: the last evaluations of the budget go to the predicted-best points not "
                             "evaluated yet, this many per scenario combination (0: none)", min=0),
    "top_k": Key("int", 10, "rows of deffe_exploration.csv for one cost (the front for several), per "
                           "scenario combination", min=1),
    "analysis": Key("bool", True, "print and plot knob importance at the end of an exploration"),
    "options": Key("dict", {}, "settings of a search-algorithm exploration (objective, population, ...) "
                               "or of a user plugin"),
}

FRAMEWORK = {
    "run_directory": Key("str", "explore", "run directory, relative to the current directory (as in Deffe)"),
    "output_log": Key("str", "deffe.log", "log file in the run directory"),
    "seed": Key("int", 0, "seed of every random choice of the run"),
    "jobs": Key("int", 1, "evaluations run in parallel (local processes, one thread each); also the threads "
                          "of the model unless model.threads says otherwise", min=1),
    "progress": Key("bool", True, "show a progress bar on stderr"),
    "report_files": Key("bool", True, "write deffe_report.xlsx, deffe_report.html and the report_*.png plots "
                                      "into the run directory at the end of a run (run_deffe.py -report DIR "
                                      "rebuilds them any time)"),
    "executor": Key("str", "local", "where evaluations run: local worker processes (-jobs N at once), a Dask "
                                    "cluster (framework.dask) or SLURM jobs through submitit (the slurm section); "
                                    "-executor on the command line", choices=("local", "dask", "slurm")),
    "dask": Key("dict", {}, "the Dask executor: address (tcp://host:port of a running scheduler; without it a "
                            "local cluster of 'workers' processes, default -jobs, at most one per core, is started for the "
                            "run) and workers; at most -jobs evaluations are in flight"),
    "retrain_after": Key("int", None, "asynchronous exploration: new results between two trainings of the model "
                                      "(default: the number of workers, -jobs)", min=1),
    "asynchronous": Key("bool", False, "keep every worker busy: propose a new point as each result arrives and "
                                       "retrain the model in the background (Deffe's -pipeline; -async); the "
                                       "default synchronous steps are what a seeded run reproduces exactly"),
    "deffe_tables": Key("bool|auto", "auto", "also write the original Deffe's tables where it wrote them (the explore "
                                       "entry's table names, relative to the current directory, ', '-separated, "
                                       "with EvaluateTime, ExtractTime, RunDir): true | false | auto (when the "
                                       "config uses Deffe's own keys)"),
}

SLURM = {
    "nodes": Key("int", 1, "", min=1),
    "cpus_per_task": Key("int", 1, "", min=1),
    "constraint": Key("str", None, ""),
    "partition": Key("str", None, ""),
    "account": Key("str", None, ""),
    "time": Key("str", None, "job time limit (SLURM syntax)"),
    "mem": Key("str", None, "memory per job (SLURM syntax)"),
    "exclude": Key("str", None, "nodes not to use (SLURM syntax)"),
    "nodelist": Key("str", None, "nodes to use (SLURM syntax)"),
    "mail_type": Key("str", None, "SLURM mail events"),
    "mail_user": Key("str", None, "SLURM mail address"),
    "source_scripts": Key("str|list", [], "scripts sourced in each job before the evaluation"),
    "pyscript": Key("str", None, "Deffe's SLURM module; accepted", deffe=True),
    "user_script_configured": Key("bool", False, "Deffe option; accepted and unused", deffe=True),
}

# framework.dask (checked by validate.py; documented by the framework.dask key above)
DASK = {
    "address": Key("str", None, "tcp://host:port of a running scheduler"),
    "workers": Key("int", None, "worker processes of the local cluster (default: -jobs)", min=1),
}

SECTIONS = {
    "sampling": SAMPLING,
    "evaluate": EVALUATE,
    "extract": EXTRACT,
    "model": MODEL,
    "exploration": EXPLORATION,
    "framework": FRAMEWORK,
    "slurm": SLURM,
}

# Deffe's framework modules and their built-in counterparts.
DEFFE_PYSCRIPTS = {
    "sampling": {"_sampling.py", "random_sampling.py", "smart_sampling.py"},
    "evaluate": {"_evaluate.py", "evaluate.py"},
    "extract": {"_extract.py", "extract.py"},
    "model": {"_ml_model.py", "ml_model.py"},
    "exploration": {"_exploration.py", "exploration.py", "dse_full_exploration.py"},
    "slurm": {"deffe_slurm.py"},
}


# The keys of a plugin block that only some of its built-in plugins read, and those plugins (a key not here
# is read by every one, or by the framework for them). config/ignored.py warns of a key given for a built-in
# plugin that does not read it; a user's own plugin may read any key. `options` is for a user's plugin.
_TORCH = ("torch_mlp", "torch_cnn")
READ_BY = {
    "sampling": {"options": (), "scramble": ("sobol", "halton"), "levels": ("factorial", "full_factorial"),
                 "resolution": ("fractional_factorial",), "face": ("central_composite",),
                 "center": ("central_composite", "box_behnken")},
    "evaluate": {"options": ("remat",), "function": ("python",), "simulator": ("placement",),
                 **{k: ("script",) for k in ("script", "interpreter", "env", "output_log", "source_scripts",
                                             "sample_evaluate_arguments", "sample_evaluate_excludes")}},
    "extract": {"options": ()},
    "model": {"options": (),
              **{k: _TORCH for k in ("epochs", "loss", "train_batch_size", "learning_rate", "lr_schedule",
                                     "weight_decay", "patience", "ensemble", "hidden", "dropout",
                                     "retrain_growth")},
              "validation_split": _TORCH + ("auto",),
              **{k: ("torch_mlp", "auto") for k in ("family_pooling", "family_direct", "pooling_samples")},
              "activation": ("torch_mlp",), "relabellings": ("torch_mlp",), "convs": ("torch_cnn",),
              "estimators": ("sklearn_rf", "sklearn_gbm"), "max_depth": ("sklearn_rf", "sklearn_gbm"),
              "gbm_learning_rate": ("sklearn_gbm",), "gp_max_points": ("sklearn_gp",),
              **{k: ("auto",) for k in ("candidates", "blend", "selection_holdout", "constraint_model",
                                        "redecide_growth")}},
}


def defaults() -> dict:
    """The defaults of every section, as JSON-ready data."""
    return {name: {k: v.default for k, v in spec.items() if not v.deffe}
            for name, spec in SECTIONS.items()}


def reference() -> dict:
    """Every key with its type, default and meaning (for -show-defaults and the README)."""
    def rows(spec):
        return {k: {"type": v.type, "default": v.default, "doc": v.doc,
                    **({"choices": list(v.choices)} if v.choices else {}),
                    **({"deffe": True} if v.deffe else {})} for k, v in spec.items()}
    out = {"top": rows(TOP), "knobs[]": rows(KNOB), "costs[]": rows(COST),
           "exploration.explore[]": rows(EXPLORE), "evaluate.simulator": rows(PLACEMENT)}
    out.update({name: rows(spec) for name, spec in SECTIONS.items()})
    return out


def markdown() -> str:
    """The config reference as Markdown tables (pasted into the README; a test keeps them in sync)."""
    import json as _json
    out = []
    for section, rows in reference().items():
        out.append(f"#### `{section}`\n")
        out.append("| key | type | default | meaning |")
        out.append("|---|---|---|---|")
        for key, r in rows.items():
            default = "" if r["default"] in (None, "", [], {}) else f"`{_json.dumps(r['default'])}`"
            doc = r["doc"] + (f" ({', '.join(r['choices'])})" if r.get("choices") and "|" not in r["doc"] else "")
            if r.get("deffe"):
                doc = "*Deffe:* " + doc
            cell = lambda t: str(t).replace("|", "\\|")  # noqa: E731 - a pipe would end the cell
            out.append(f"| `{key}` | {cell(r['type'])} | {cell(default)} | {cell(doc)} |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(markdown())
