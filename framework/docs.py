"""Parts of the README written from the code, so that they cannot go stale.

    python3 -m framework.docs            rewrite them in README.md
    python3 -m framework.docs --check    exit 1 if README.md is stale (a test does this too)

Each part sits between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


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


def render(text: str) -> str:
    for name, make in PARTS.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text:
            continue
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{start}\n{make()}\n{end}{tail}"
    return text


if __name__ == "__main__":
    current = README.read_text()
    new = render(current)
    if "--check" in sys.argv[1:]:
        sys.exit(0 if new == current else 1)
    if new != current:
        README.write_text(new)
    print("README.md updated" if new != current else "README.md up to date")
