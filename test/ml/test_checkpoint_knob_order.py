"""A config listing the checkpoint's knobs (or costs) in another order: a model reads its inputs by position, so
it is refused, and the one-line error says that the order differs and gives the checkpoint's order to list them
in (it said "feature 0 is 'x' in the checkpoint and 'y' in the config" and to use another checkpoint)."""
import json

import pytest

from cli_helpers import assert_user_error, run_deffe

KNOBS = [{"name": "x", "values": "0-5"}, {"name": "y", "values": [1, 2, 3]}, {"name": "z", "values": [0, 1]}]


def config(tmp_path, name, knobs, costs):
    cfg = {"knobs": knobs, "costs": costs, "python_path": ["."],
           "evaluate": {"plugin": "python", "function": "f:evaluate"},
           "model": {"plugin": "sklearn_rf", "estimators": 5},
           "exploration": {"plugin": "sampling", "samples_per_step": 12, "max_samples": 12},
           "framework": {"report_files": False, "progress": False}}
    (tmp_path / name).write_text(json.dumps(cfg))


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    d = tmp_path_factory.mktemp("order")
    (d / "f.py").write_text("def evaluate(p):\n    x, y = float(p['x']), float(p['y'])\n"
                            "    return {'t': x + 2 * y + 1, 'm': x * y + 1}\n")
    config(d, "config.json", KNOBS, ["t", "m"])
    r = run_deffe("-config", "config.json", "-quiet", cwd=d)
    assert r.rc == 0, r
    (d / "in.csv").write_text("x,y,z\n2,3,1\n")
    return d


@pytest.mark.parametrize("knobs, costs, what", [
    ([KNOBS[1], KNOBS[0], KNOBS[2]], ["t", "m"], "knob 'x' is knob 1 of the checkpoint and knob 2 of the config "
                                                 "(the config lists the same knobs in another order)"),
    (KNOBS, ["m", "t"], "cost 't' is cost 1 of the checkpoint and cost 2 of the config"),
])
def test_the_same_names_in_another_order_say_so_and_how_to_fix_it(trained, knobs, costs, what):
    config(trained, "other.json", knobs, costs)
    r = run_deffe("-config", "other.json", "-inference-only", "-icp", "explore/checkpoints/explore_0.ckpt",
                  "-input", "in.csv", "-output", "out.csv", cwd=trained)
    order = "knobs in the checkpoint's order (x, y, z)" if costs == ["t", "m"] else \
        "costs in the checkpoint's order (t, m)"
    assert_user_error(r, what, f"; list the config's {order}, as the model reads them by position")
    assert not (trained / "out.csv").exists()
