"""The step record's (and so the progress line's) scenario combinations come in the combinations' order
(the knobs' values, as the tables and reports give them), not in the order first evaluated."""
import numpy as np

from framework.config import Cost
from framework.progress import best_text
from framework.report import Tracker, scenario_labels
from framework.space import DesignSpace, Knob, ListLevels


def test_the_progress_line_lists_combinations_in_the_knobs_value_order():
    space = DesignSpace([Knob("a", "ordinal", ListLevels([1, 2])),
                         Knob("size", "ordinal", ListLevels([16, 32, 64, 128, 256]), scenario=True)])
    # evaluated first: 256, 16, 128, 64, and 32 last (the progress line showed "size=256 ...; size=16 ...;
    # size=128 ...; size=64 ...; 1 more", size=32 hidden)
    sizes = [256, 16, 128, 64, 32, 256, 16]
    params = [{"a": 1 + i % 2, "size": s} for i, s in enumerate(sizes)]
    costs = np.array([[float(s)] for s in sizes])
    tracker = Tracker([Cost("t")], [], ["t"])
    info = tracker.update(costs, ["ok"] * len(sizes), scenario_labels(space, params))
    assert list(info["scenarios"]) == ["size=16", "size=32", "size=64", "size=128", "size=256"]
    line = best_text(info, [Cost("t")], ["t"])
    assert line.startswith("best t: size=16 16; size=32 32; size=64 64; size=128 128") and line.endswith("1 more")


def test_several_scenarios_the_first_varies_slowest_and_a_plain_label_list_keeps_its_order():
    space = DesignSpace([Knob("n", "ordinal", ListLevels([4, 2]), scenario=True),
                         Knob("mode", "categorical", ListLevels(["fast", "slow"]), scenario=True)])
    params = [{"n": 2, "mode": "slow"}, {"n": 4, "mode": "slow"}, {"n": 2, "mode": "fast"},
              {"n": 4, "mode": "fast"}]
    labels = scenario_labels(space, params)
    info = Tracker([Cost("t")], [], ["t"]).update(np.ones((4, 1)), ["ok"] * 4, labels)
    # the config's order of values (4 before 2), the first scenario varying slowest
    assert list(info["scenarios"]) == ["n=4, mode=fast", "n=4, mode=slow", "n=2, mode=fast", "n=2, mode=slow"]
    plain = Tracker([Cost("t")], [], ["t"]).update(np.ones((4, 1)), ["ok"] * 4, list(labels))
    assert list(plain["scenarios"]) == list(labels)   # labels without their order: as met
