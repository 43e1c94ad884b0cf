"""The Python API, as in a notebook: explore, read the results as DataFrames, predict with the model.

    python3 example/notebook_api.py [RUN_DIR]       # default run directory: example/explore_api

The config is a dict here (a file's path works the same); its evaluator is the function `evaluate`
below, found through python_path ["."], which is relative to base_dir, this file's directory.
Running it again resumes the run: nothing is evaluated twice.
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:   # the checkout; not needed once Deffe is installed (pip install .)
    sys.path.insert(0, str(HERE.parent))


def evaluate(point: dict) -> dict:
    """The design to tune: a kernel whose time depends smoothly on its tile and unroll factor."""
    tile, unroll = int(point["tile"]), int(point["unroll"])
    return {"time": 1e-3 * (1.0 + 0.05 * (tile - 24) ** 2 / 24 + 4.0 / unroll + 0.1 * unroll)}


CONFIG = {
    "python_path": ["."],
    "knobs": [
        {"name": "tile", "values": "8-65"},            # 8, 9, ..., 64 (a range excludes its end)
        {"name": "unroll", "values": [1, 2, 4, 8, 16]},
    ],
    "costs": [{"name": "time", "unit": "s"}],
    "evaluate": {"plugin": "python", "function": "notebook_api:evaluate"},
    "exploration": {"samples_per_step": 20, "max_samples": 60},
    "framework": {"run_directory": "explore_api", "seed": 1},
}


def main() -> None:
    import pandas as pd

    import framework

    run_dir = sys.argv[1] if len(sys.argv) > 1 else None
    run = framework.explore(CONFIG, base_dir=HERE, run_dir=run_dir)
    print(f"{len(run.evaluations)} designs evaluated in {run.run_dir}")

    best = run.evaluations.sort_values("time").iloc[0]
    print(f"best: tile={best['tile']} unroll={best['unroll']} time={best['time'] * 1e3:.3f} ms")

    # the model's hold-out error after each step (model_metrics.csv)
    print(run.model_metrics[["step", "train", "holdout", "mape_percent"]].to_string(index=False))

    # predictions for designs never evaluated
    new = pd.DataFrame({"tile": [20, 24, 28], "unroll": [4, 4, 4]})
    predicted = run.model.predict(new)
    print(predicted.to_string(index=False))
    for tile, unroll, guess in zip(new["tile"], new["unroll"], predicted["predicted-time"]):
        truth = evaluate({"tile": tile, "unroll": unroll})["time"]
        print(f"tile={tile} unroll={unroll}: predicted {guess * 1e3:.3f} ms, true {truth * 1e3:.3f} ms")

    # the same results later, from the run directory alone
    again = framework.load_run(run.run_dir)
    assert again.evaluations.equals(run.evaluations)


if __name__ == "__main__":
    main()
