"""The data bundled with the simulator, found by file name: a path that exists first, then a bundled file."""
from __future__ import annotations

import json

import pytest

import simulator as sim
from simulator import data
from simulator.graph import SimulatorError

SHIPPED_NETWORKS = ["alex_v2.json", "alex_v2_2gpu.json", "alex_v2_8gpu.json", "inception_v3.json", "mnist.json", "resnet34.json", "resnet50.json"]


def test_the_bundled_files_and_their_notices_are_there():
    assert data.names(data.NETWORKS) == SHIPPED_NETWORKS
    assert {"malvik-4gpu.json", "malvik.json", "cluster1.json", "luke01.json", "colocrl-4.json"} \
        <= set(data.names(data.DEVICE_GRAPHS))
    readme = (data.DATA / "README.md").read_text()
    assert "github.com/eivindlie/exprimo" in readme and "github.com/TalwalkarLab/paleo" in readme
    assert "Copyright (c) 2019 Eivind Lie Andreassen" in (data.DATA / "LICENSE-exprimo").read_text()
    assert "Apache License" in (data.DATA / "LICENSE-paleo").read_text()


def test_bare_names_load_the_bundled_files_from_any_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    g = sim.load_device_graph("malvik-4gpu.json")
    assert g.name == "malvik-4gpu" and len(g.devices) == 5
    assert sim.load_network("inception_v3.json").name == "Inception v3"
    assert data.path("resnet50.json", data.NETWORKS) == data.DATA / "paleo-nets" / "resnet50.json"
    r = sim.simulate(sim.load_network("mnist.json"), "malvik.json", 1)  # a device graph named in simulate too
    assert r.feasible and r.step_time > 0


def test_a_file_that_exists_wins_over_a_bundled_one(tmp_path, monkeypatch):
    doc = json.loads((data.DATA / "exprimo-device-graphs" / "malvik-4gpu.json").read_text())
    doc["devices"][1]["model"] = "my own GPU"
    (tmp_path / "malvik-4gpu.json").write_text(json.dumps(doc))
    monkeypatch.chdir(tmp_path)
    assert sim.load_device_graph("malvik-4gpu.json").devices[1].model == "my own GPU"
    assert data.locate("malvik-4gpu.json", data.DEVICE_GRAPHS, base=tmp_path) == str(tmp_path / "malvik-4gpu.json")


def test_unknown_names_are_one_line_errors_that_list_the_bundled_names(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SimulatorError) as err:
        sim.load_network("resnet51.json")
    assert str(err.value) == f"resnet51.json: no such file (bundled networks: {', '.join(SHIPPED_NETWORKS)})"
    with pytest.raises(SimulatorError, match=r"^malvik-8gpu.json: no such file \(bundled device graphs: .*"
                                             r"malvik-4gpu.json"):
        sim.load_device_graph("malvik-8gpu.json")
    with pytest.raises(SimulatorError, match="no bundled network 'vgg16.json'; bundled: alex_v2.json"):
        data.path("vgg16.json", data.NETWORKS)
    # a path with a directory never falls back to a bundled file of the same name
    with pytest.raises(SimulatorError, match=r"nets/resnet50.json: no such file"):
        sim.load_network("nets/resnet50.json")

