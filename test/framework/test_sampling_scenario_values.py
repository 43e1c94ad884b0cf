"""The initial design of the sequence samplers holds every value of each small scenario (docs/exploration.md)."""
import pytest

from framework.plugins import make_plugin
from helpers import framework_for

KNOBS = [{"name": "a", "values": [1, 2, 3, 4, 5]}, {"name": "b", "values": [1, 2, 3]}, {"name": "c", "values": [0, 1]}]
SCENARIOS = [{"name": "s", "values": [1, 2, 3]}, {"name": "t", "values": [10, 20, 30, 40]}]


@pytest.mark.parametrize("plugin", ["halton", "lhs", "sobol"])
@pytest.mark.parametrize("n", [4, 5, 7])
def test_the_first_points_hold_every_value_of_each_scenario(tmp_path, plugin, n):
    # halton, seed 1, 7 points never met t=30: its dimensions are balanced over powers of their bases only,
    # and the scenarios (last in the space) get large ones
    for seed in (1, 2, 3):
        fw = framework_for(tmp_path / str(seed), {
            "knobs": KNOBS, "scenarios": SCENARIOS, "costs": ["cost"], "sampling": {"plugin": plugin},
            "evaluate": {"plugin": "python", "function": "x:y"}}, seed=seed)
        s = make_plugin("sampling", plugin, fw, fw.config.dir, fw.config.python_paths())
        s.Initialize()
        codes = s.Run(n)
        head = fw.space.decode(codes)
        assert len(set(fw.space.keys(codes))) == n
        assert {p["s"] for p in head} == {1, 2, 3} and {p["t"] for p in head} == {10, 20, 30, 40}, (seed, head)


def test_halton_is_repeatable_and_continues_its_sequence(tmp_path):
    def points(d):
        fw = framework_for(d, {"knobs": KNOBS, "scenarios": SCENARIOS, "costs": ["cost"],
                               "sampling": {"plugin": "halton"}, "evaluate": {"plugin": "python", "function": "x:y"}},
                           seed=1)
        s = make_plugin("sampling", "halton", fw, fw.config.dir, fw.config.python_paths())
        s.Initialize()
        first, later = s.Run(7), s.Run(20)
        assert len(set(fw.space.keys(first)) | set(fw.space.keys(later))) == 27   # no point twice
        return first.tolist() + later.tolist()
    assert points(tmp_path / "one") == points(tmp_path / "two")
