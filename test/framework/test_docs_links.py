"""Every relative link of README.md and docs/*.md leads to a file of the repository, and every
heading anchor it names (page.md#anchor, #anchor) is a heading of that page."""
import re
from pathlib import Path

import pytest

from framework.docs import ROOT, pages

LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")


def prose(text: str, code: bool = False) -> list[str]:
    """The lines of a page outside code blocks, inline code removed (with `code`: only its backticks)."""
    out, fence = [], False
    for line in text.splitlines():
        if re.match(r"\s{0,3}(```|~~~)", line):
            fence = not fence
            continue
        if not fence:
            out.append(line.replace("`", "") if code else re.sub(r"`[^`]*`", "", line))
    return out


def links(page: Path) -> list[str]:
    found = []
    for line in prose(page.read_text()):
        found += LINK.findall(line)
        if m := DEFINITION.match(line):
            found.append(m.group(1))
    return found


def anchors(page: Path) -> set[str]:
    """GitHub's anchors of a page's headings: lower case, punctuation dropped, spaces to '-',
    a repeated one numbered (-1, -2, ...)."""
    seen, out = {}, set()
    for line in prose(page.read_text(), code=True):
        m = re.match(r"\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", m.group(1))     # a link's text stays
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def test_the_link_pattern_finds_links_images_and_definitions(tmp_path):
    page = tmp_path / "p.md"
    page.write_text("See [a](docs/a.md), ![fig](img/x.png \"title\") and [b `c`](../b.md#sec).\n"
                    "`[not](a link)`\n```\n[nor](this.md)\n```\n[ref]: other.md\n# A `code` heading, twice\n"
                    "## A code heading twice\n")
    assert links(page) == ["docs/a.md", "img/x.png", "../b.md#sec", "other.md"]
    assert anchors(page) == {"a-code-heading-twice", "a-code-heading-twice-1"}


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(page):
    bad = []
    for target in links(page):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I):        # https:, mailto:, ...
            continue
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            bad.append(f"{target}: no file {dest}")
        elif not dest.resolve().is_relative_to(ROOT):
            bad.append(f"{target}: outside the repository")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading '#{anchor}' in {dest.relative_to(ROOT)}")
    assert not bad, f"{page.relative_to(ROOT)}:\n" + "\n".join(bad)


def test_the_pages_link_to_something():
    # the README lists every page, each page links back; images of the memory page are found
    assert len([t for t in links(ROOT / "README.md") if t.startswith("docs/")]) >= len(pages()) - 1
    assert any(t.startswith("img/") for t in links(ROOT / "docs" / "memory.md"))
