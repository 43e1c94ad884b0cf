"""The README's config reference is the schema's: every key documented, no stale text."""
from pathlib import Path

from framework.config.schema import markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_config_reference_matches_the_schema():
    assert markdown().strip() in README.read_text(), \
        "README.md's config reference is stale: run python3 -m framework.config.schema --update-readme"


def test_readme_gives_the_two_commands():
    text = README.read_text()
    assert "python3 framework/run_deffe.py -config example/config.json" in text
    assert "python3 -m pytest -q" in text
