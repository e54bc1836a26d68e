"""Generated parts of docs/: tables that must never drift from the code they describe.

    uv run python -m smoothtask_trainer.docsgen      # rewrite them in place

`tests/test_docs.py` fails when a committed table differs from what this module generates.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from smoothtask_trainer import contract

DOCS = Path(__file__).resolve().parent.parent / "docs"


def features_table() -> str:
    """The daemon's 51 features as a markdown table, from `contract.FEATURES`."""
    lines = [
        "| # | name | kind | source | default | key | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in contract.FEATURES:
        default = f'"{f.default}"' if f.kind == "categorical" else "0"
        lines.append(
            f"| {f.index} | `{f.name}` | {f.kind} | `{f.source}` | {default} | {'yes' if f.key else ''} | "
            f"{f.note.replace('|', chr(92) + '|')} |"
        )
    return "\n".join(lines)


GENERATED = {
    "features.md": {"features": features_table},
}


def render(text: str, blocks: dict) -> str:
    for name, make in blocks.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"markers for {name!r} not found")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def main() -> int:
    for filename, blocks in GENERATED.items():
        path = DOCS / filename
        path.write_text(render(path.read_text(), blocks))
        print(f"updated {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
