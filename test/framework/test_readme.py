"""The README's generated parts (config reference, search options) match the code."""

from framework.docs import PARTS, README, render


def test_readme_generated_parts_are_current():
    text = README.read_text()
    for name in PARTS:
        assert f"<!-- {name}:start -->" in text, name
    assert render(text) == text, "README.md is stale: run python3 -m framework.docs"


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "python3 framework/run_deffe.py -config example/config.json" in text
    assert "python3 -m pytest -q" in text


def test_the_readme_install_line_gets_the_cpu_torch_that_requirements_pin():
    text = README.read_text()
    pins = dict(line.split("==") for line in (README.parent / "requirements.txt").read_text().splitlines()
                if "==" in line and not line.startswith("#"))
    install = next(line for line in text.splitlines() if line.startswith("pip install -r requirements.txt"))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in install
    assert f"torch at {pins['torch']}" in text and "CUDA build" in text
    assert "https://download.pytorch.org/whl/cpu" in (README.parent / "Dockerfile").read_text()


def test_the_objects_plugins_receive_and_return_are_documented_field_by_field():
    import dataclasses
    from framework import protocols
    text = README.read_text()
    section = text[text.index("### What the blocks receive and return"):text.index("A **code** is one float")]
    for record in (protocols.Sample, protocols.Result, protocols.TrainingData, protocols.Prediction,
                   protocols.Proposal, protocols.EvaluationOutput):
        for field in dataclasses.fields(record):
            assert f"`{field.name}`" in section or f"{field.name}," in section or f"`sample.{field.name}`" \
                in section, (record.__name__, field.name)
    for name in ("Infeasible", "EvaluationFailed", "units", "adaptive"):
        assert name in section, name


def test_the_main_example_runs_as_the_readme_says(tmp_path):
    from cli_helpers import ROOT, run_deffe
    r = run_deffe("-config", ROOT / "example" / "config.json", "-max-samples", "60", cwd=tmp_path, real=True)
    assert r.rc == 0, r
    assert "front (step_time, peak_memory):" in r.out and " ms" in r.out and "B\n" in r.out, r
    assert "knobs that matter" in r.out and "\n  step_time: " in r.out and "\n  peak_memory: " in r.out
    assert (tmp_path / "explore_placement" / "deffe_evaluation.csv").is_file()
