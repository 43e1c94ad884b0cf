"""The generic design-space exploration engine (knows nothing of DNNs).

config -> DesignSpace -> driver loop (ask / evaluate / store / train / tell) -> tables.
See the README and docs/running.md (what a run does) in the repository.
"""

# The Python API (framework/api.py): ``from framework import explore, load_run``. Imported on first use,
# so that the command line and the evaluation workers, which import framework.*, do not load pandas.
__all__ = ["explore", "load_run", "Run", "Exploration", "Model", "DeffeError"]


def __getattr__(name: str):
    if name in ("explore", "load_run", "Run", "Exploration"):
        from . import api
        return getattr(api, name)
    if name == "Model":
        from .api_model import Model
        return Model
    if name == "DeffeError":
        from .errors import DeffeError
        return DeffeError
    raise AttributeError(f"module 'framework' has no attribute '{name}'")
