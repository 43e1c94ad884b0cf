"""The README and the pages of docs/: the commands, the generated parts (config reference, search
options) match the code, and the pages hold what the README sends a reader to."""
import subprocess
import sys

from framework.docs import DOCS, PARTS, README, ROOT, holding_markers, pages, render


def test_generated_parts_are_current_on_every_page():
    held = {}
    for page in pages():
        text = page.read_text()
        for name in PARTS:
            assert text.count(f"<!-- {name}:start -->") == text.count(f"<!-- {name}:end -->") <= 1, (page, name)
            if f"<!-- {name}:start -->" in text:
                held.setdefault(name, []).append(page.name)
        assert render(text) == text, f"{page.relative_to(ROOT)} is stale: run python3 -m framework.docs"
    # each part is written once, where the reference now lives
    assert held == {"config-reference": ["config.md"], "search-options": ["exploration.md"]}


def test_the_docs_check_command_passes_and_sees_every_page_with_markers():
    assert {p.name for p in holding_markers()} == {"config.md", "exploration.md"}
    r = subprocess.run([sys.executable, "-m", "framework.docs", "--check"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr


def test_the_check_fails_on_a_stale_page_and_keeps_headings_under_their_parent(tmp_path, monkeypatch):
    import framework.docs as docs
    from test_docs_command import stale_checkout   # the stale checkout of the docs command's tests
    page = stale_checkout(tmp_path, monkeypatch, heading="## Reference\n\n")
    assert docs.main(["--check"]) == 1 and "old" in page.read_text()
    assert docs.main([]) == 0 and docs.main(["--check"]) == 0
    text = page.read_text()
    assert "\n### `top`\n" in text and "\n#### " not in text   # one level below "## Reference"


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "python3 framework/run_deffe.py -config example/config.json" in text
    assert "python3 -m pytest -q" in text
    assert len(text.splitlines()) <= 220, "the README is for a newcomer: the reference goes to docs/"


def test_the_readme_sends_the_reader_to_every_page_of_docs():
    text = README.read_text()
    section = text[text.index("## Where to go next"):]
    for page in sorted(DOCS.glob("*.md")):
        assert f"](docs/{page.name})" in section, page.name


def test_every_page_of_docs_starts_with_a_title_and_a_link_back_to_the_readme():
    for page in sorted(DOCS.glob("*.md")):
        lines = page.read_text().splitlines()
        assert lines[0].startswith("# ") and lines[1] == "" and "](../README.md)" in lines[2], page.name


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
    text = (DOCS / "plugins.md").read_text()
    section = text[text.index("# What the blocks receive and return"):text.index("A **code** is one float")]
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
