"""Model checkpoints: one file per trained model, with what it was trained under.

File layout (so the metadata can be read and checked before the weights are):

    b"DEFFE-MODEL\\n"   magic line
    8 bytes          length of the header, big-endian
    header           JSON: `CheckpointMeta` (``format`` 2)
    payload          an ``.npz`` archive (numpy's format, uncompressed): numeric and
                     fixed-width text arrays (``<path>.npy``) and ``state.json``, the
                     model's small structured state, in which ``{"__array__": "<path>"}``
                     stands for an array of the archive

Loading a checkpoint executes nothing that comes from the file: the header and
``state.json`` are JSON, every array is read by checking its npy header (no
Python objects, no records; its size must match its shape) and copying its
bytes, and each model checks every value and shape it takes (`State`). What
cannot be stored as arrays, a fitted scikit-learn estimator, is stored as what
it was fitted on (features, targets, settings with their seed) and refitted on
loading, which gives the same predictions bit for bit (see
plugins/ml_model/_sklearn_model.py). A damaged or crafted file is a one-line
`DeffeError` naming the file and what is wrong.

Checkpoints of format 1 (before this one) hold Python pickle data, which can
run any code when read. They are refused, with what to do, unless the user
opts in for files of a source they trust: ``-trust-pickle`` on the command line
or ``"trust_pickle": true`` in the config's ``model`` section (`trusts_pickle`).
`read_state` is the only place that unpickles.

The header records the model plugin, the encoding signature (feature names,
knob domains, families), the cost names and a digest of the config sections a
model depends on. A checkpoint fits a config (`match`) when its inputs and
outputs have the same shape:

* the same knobs and costs, in the same order: silent (a different digest
  alone, i.e. another network, evaluator or training settings, is what
  fine-tuning is for); the same names in another order are an error whose
  hint (`Fit.hint`) gives the checkpoint's order: features are read by position;
* other names (Deffe's transfer across kernels: the scenario ``kmeans_objects``
  of one config is ``matmul_size`` of the other): as many knobs that vary, and
  position by position the same kind, encoding and feature width (a one-hot
  knob: as many values), a knob of one name at the same position on both
  sides; as many costs. Knobs and costs are then matched by position, which
  the loader reports in one warning line;
* anything else is a `DeffeError` naming the first difference.

Keras ``.hdf5`` files of the original Deffe are recognised and refused with
what to do instead.

A user's model plugin writes its checkpoint in its own format (its ``Save(path)``); the trainer then writes
``<path>.meta.json`` beside it (`write_sidecar`): the same header as JSON (the plugin, the encoding
signature, the costs, the step, the history; in ``info`` the model settings and the python_path it was
found on), which `read_meta` returns for a file that is not in this format. -inference-only and the Python
API then build that plugin (only the config's ``model.plugin``: a file never chooses a module) and call its
``Load(path)``.
"""
from .file import (DAMAGED_HINT, DIGEST_SECTIONS, FORMAT, HDF5_SIGNATURE, KERAS_SUFFIXES, MAGIC, PICKLE_FORMAT,
                   TRUST_FLAG, TRUST_KEY, CheckpointMeta, FormatError, config_digest, is_keras, keras_error,
                   SIDECAR_SUFFIX, is_framework_file, meta_from_header, one_checkpoint, pickle_refused,
                   read_checkpoint, read_meta, read_state, sidecar_path, trusts_pickle, write_checkpoint,
                   write_sidecar)
from .fit import Fit, check_compatible, incompatibility, match
from .payload import ARRAY_KINDS, STATE_ENTRY, PayloadError, State, check_settings, pack, quoted, unpack

__all__ = ["ARRAY_KINDS", "DAMAGED_HINT", "DIGEST_SECTIONS", "FORMAT", "HDF5_SIGNATURE", "KERAS_SUFFIXES", "MAGIC",
           "PICKLE_FORMAT", "SIDECAR_SUFFIX", "STATE_ENTRY", "TRUST_FLAG", "TRUST_KEY", "CheckpointMeta", "Fit", "FormatError",
           "PayloadError", "State", "check_compatible", "check_settings", "config_digest", "incompatibility",
           "is_framework_file", "is_keras", "keras_error", "match", "meta_from_header", "one_checkpoint", "pack", "pickle_refused",
           "quoted", "read_checkpoint", "read_meta", "read_state", "sidecar_path", "trusts_pickle", "unpack",
           "write_checkpoint", "write_sidecar"]
