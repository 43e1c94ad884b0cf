"""Layer groups: the exact by-layers rule, FLOP balance, named and natural groups."""
from __future__ import annotations

import pytest

from simulator import zoo
from simulator.graph import SimulatorError


@pytest.fixture(scope="module")
def resnet50():
    return zoo.load("resnet50")


def sizes(groups):
    return [len(g.layers) for g in groups]


def test_by_layers_first_remainder_groups_get_one_more(resnet50):
    assert len(resnet50) == 176
    net = resnet50.regroup(5)
    assert sizes(net.groups) == [36, 35, 35, 35, 35]  # 176 = 5 * 35 + 1
    assert [g.name for g in net.groups] == ["g0", "g1", "g2", "g3", "g4"]
    flat = [i for g in net.groups for i in g.layers]
    assert flat == list(range(176))  # consecutive, in topological order
    assert sizes(resnet50.regroup(16).groups) == [11] * 16
    assert sizes(resnet50.regroup(176).groups) == [1] * 176


def test_regroup_returns_a_new_network(resnet50):
    before = list(resnet50.groups)
    other = resnet50.regroup(4)
    assert resnet50.groups == before and other is not resnet50
    assert other.layers is resnet50.layers  # layers are shared, not copied


def test_by_flops_is_balanced(resnet50):
    n = 8
    net = resnet50.regroup(n, by="flops")
    assert len(net.groups) == n and all(g.layers for g in net.groups)
    assert [i for g in net.groups for i in g.layers] == list(range(len(resnet50)))

    def worst(groups):
        return max(sum(resnet50.layers[i].fwd_flops for i in g.layers) for g in groups)

    assert worst(net.groups) < worst(resnet50.regroup(n).groups)
    assert worst(net.groups) <= 1.5 * resnet50.forward_flops / n


def test_natural_blocks_are_the_default_for_zoo(resnet50):
    names = [g.name for g in resnet50.groups]
    assert names[0] == "stem" and names[-1] == "head"
    assert names[1:4] == ["layer1.0", "layer1.1", "layer1.2"]
    assert len(names) == 18  # stem, 16 bottlenecks, head
    assert "data" in [resnet50.layers[i].name for i in resnet50.groups[0].layers]
    assert resnet50.regroup("blocks").groups == resnet50.groups


def test_many_blocks_fall_back_to_16_groups():
    net = zoo.load("gpt2", size="large")  # 36 transformer blocks + 2 > 32
    assert sizes(net.groups) == sizes(net.regroup(16).groups)


def test_named_groups(resnet50):
    first = [l.name for l in resnet50.layers[:10]]
    rest = [l.name for l in resnet50.layers[10:]]
    net = resnet50.regroup({"front": first, "back": rest})
    assert [(g.name, len(g.layers)) for g in net.groups] == [("front", 10), ("back", 166)]
    with pytest.raises(SimulatorError, match="layers in no group: layer4.2/relu"):
        resnet50.regroup({"front": first, "back": rest[:-4]})
    with pytest.raises(SimulatorError, match="unknown layer 'conv9'"):
        resnet50.regroup({"front": first + ["conv9"], "back": rest})
    with pytest.raises(SimulatorError, match="is in groups 'front' and 'back'"):
        resnet50.regroup({"front": first, "back": rest + first[:1]})


def test_bad_grouping_requests(resnet50):
    with pytest.raises(SimulatorError, match="cannot make 200 groups from 176 layers"):
        resnet50.regroup(200)
    with pytest.raises(SimulatorError, match="positive integer"):
        resnet50.regroup(0)
    with pytest.raises(SimulatorError, match="did you mean 'blocks'"):
        resnet50.regroup("block")
    with pytest.raises(SimulatorError, match="did you mean 'flops'"):
        resnet50.regroup(4, by="flop")
    assert sizes(resnet50.regroup("layers").groups) == [1] * 176
