"""`python3 -m framework.docs [--check]`: a mistake on its command line, or no documentation where it
looks (an installed framework: no README.md nor docs/ beside the package), is one error line, status 2,
never a silent success nor a rewrite."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import framework.docs as docs

ROOT = Path(__file__).resolve().parents[2]


def stale_checkout(tmp_path, monkeypatch, heading: str = "") -> Path:
    """A checkout whose docs/ref.md holds a stale reference (under ``heading``, e.g. "## Reference\\n\\n")."""
    (tmp_path / "docs").mkdir()
    page = tmp_path / "docs" / "ref.md"
    page.write_text(f"# Ref\n\n{heading}<!-- config-reference:start -->\nold\n<!-- config-reference:end -->\n")
    (tmp_path / "README.md").write_text("# Readme\n")
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    monkeypatch.setattr(docs, "README", tmp_path / "README.md")
    monkeypatch.setattr(docs, "DOCS", tmp_path / "docs")
    return page


def test_an_unknown_argument_is_refused_in_one_line_and_rewrites_nothing(tmp_path, monkeypatch, capsys):
    page = stale_checkout(tmp_path, monkeypatch)
    assert docs.main(["--chek"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("error: ") and "--chek" in err \
        and "--check" in err.split(";", 1)[1], err
    assert "old" in page.read_text()


def test_an_installed_framework_says_there_is_no_documentation_here(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(ROOT / "framework", site / "framework", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    env = {k: v for k, v in os.environ.items() if k not in ("DEFFE_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    for argv in (["--check"], []):
        r = subprocess.run([sys.executable, "-m", "framework.docs", *argv], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and r.stdout == "", (argv, r)
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and "checkout" in r.stderr, r.stderr
