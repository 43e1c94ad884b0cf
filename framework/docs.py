"""Parts of the documentation written from the code, so that they cannot go stale.

    python3 -m framework.docs            rewrite them in README.md and docs/*.md
    python3 -m framework.docs --check    exit 1 if any page is stale (a test does this too)

In a checkout only: an installed framework has no pages to check (one error line, status 2).

Each part sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``, in
whichever page holds those markers (the config reference is in docs/config.md,
the search options in docs/exploration.md). The headings of a part sit one
level below the heading the markers are under, wherever the page puts them.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def pages() -> list[Path]:
    """Every Markdown page of the documentation: README.md, then docs/*.md in name order."""
    return [p for p in (README, *sorted(DOCS.glob("*.md"))) if p.is_file()]


def config_reference() -> str:
    from .config.schema import markdown
    return markdown().strip()


def search_options() -> str:
    from .search import ALGORITHMS
    plugin_names = {"random": "random_search"}
    out = []
    for name, cls in ALGORITHMS.items():
        out.append(f"**`{plugin_names.get(name, name)}`**\n")
        out.append("| option | type | default | meaning |")
        out.append("|---|---|---|---|")
        for key, opt in cls.OPTIONS.items():
            doc = opt.doc + (f" ({', '.join(map(str, opt.choices))})" if opt.choices else "")
            default = "" if opt.default is None else f"`{json.dumps(opt.default)}`"
            out.append(f"| `{key}` | {opt.type} | {default} | {doc.replace('|', '/')} |")
        out.append("")
    return "\n".join(out).strip()


PARTS = {"config-reference": config_reference, "search-options": search_options}

_HEADING = re.compile(r"^(#{1,6}) ")


def _heading_level(text: str) -> int:
    """The level of the last Markdown heading of `text` outside code blocks (0: none)."""
    level, fence = 0, False
    for line in text.splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and (m := _HEADING.match(line)):
            level = len(m.group(1))
    return level


def _relevel(part: str, parent: int) -> str:
    """The part with its headings moved so that its top ones are one level below `parent`."""
    levels = [len(m.group(1)) for line in part.splitlines() if (m := _HEADING.match(line))]
    if not levels or not parent:
        return part
    shift = parent + 1 - min(levels)
    return "\n".join("#" * min(6, len(m.group(1)) + shift) + line[len(m.group(1)):]
                     if (m := _HEADING.match(line)) else line for line in part.splitlines())


def render(text: str) -> str:
    """`text` (one page) with every generated part it holds written anew."""
    for name, make in PARTS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{_relevel(make(), _heading_level(head))}\n{end}{tail}"
    return text


def holding_markers() -> list[Path]:
    """The pages that hold at least one generated part."""
    return [p for p in pages() if any(f"<!-- {name}:start -->" in p.read_text() for name in PARTS)]


def stale() -> list[Path]:
    """The pages whose generated parts differ from what the code writes now."""
    return [p for p in holding_markers() if render(p.read_text()) != p.read_text()]


USAGE = "usage: python3 -m framework.docs [--check]"


def main(argv: list[str]) -> int:
    """Rewrite the stale pages (0), or with --check say which are stale (1); a mistake: one line, 2."""
    if argv in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    unknown = [a for a in argv if a != "--check"]
    if unknown:
        print(f"error: command line:{unknown[0]}: unknown argument; {USAGE}", file=sys.stderr)
        return 2
    if not README.is_file() or not DOCS.is_dir():
        print(f"error: {ROOT}: no documentation here (no README.md and docs/: an installed package, not a "
              f"checkout); run python3 -m framework.docs in a checkout of the repository", file=sys.stderr)
        return 2
    check = "--check" in argv
    changed = stale()
    for page in changed:
        name = page.relative_to(ROOT)
        if check:
            print(f"{name} is stale: run python3 -m framework.docs", file=sys.stderr)
        else:
            page.write_text(render(page.read_text()))
            print(f"{name} updated")
    if not changed and not check:
        print("documentation up to date")
    return 1 if check and changed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
