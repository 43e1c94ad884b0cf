"""The README's generated parts (config reference, search options) match the code."""
from pathlib import Path

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
