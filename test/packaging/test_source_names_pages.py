"""The Markdown pages the sources send a reader to (docstrings, comments) are in the repository."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAGE = re.compile(r"(?<![\w./-])([\w./-]*[A-Za-z]\w*\.md)\b")


def test_every_page_named_in_the_sources_exists():
    held = {p.name for p in ROOT.rglob("*.md") if ".git" not in p.parts}
    missing = []
    for top in ("framework", "plugins", "simulator"):
        for path in sorted((ROOT / top).rglob("*.py")):
            for n, line in enumerate(path.read_text().splitlines(), 1):
                for name in PAGE.findall(line):
                    if not ((ROOT / name).is_file() or ("/" not in name and name in held)):
                        missing.append(f"{path.relative_to(ROOT)}:{n}: {name}")
    assert not missing, "\n".join(missing)
