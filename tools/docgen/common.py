"""What every generator shares: paths, the regenerate command, marker blocks, committed-copy checks."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
COMPLETIONS = ROOT / "completions"

PROG = "smoothtask-trainer"
REGENERATE = "uv run python -m tools.docgen"
UPDATE_ENV = "SMOOTHTASK_UPDATE_SNAPSHOTS"


def cell(text: object) -> str:
    """Text for one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render(text: str, blocks: dict) -> str:
    """`text` with each named block (between `<!-- name:start -->` and `<!-- name:end -->`) regenerated."""
    for name, make in blocks.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"markers for {name!r} not found")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


def sync_snapshot(path: Path, fresh: str, *, update: bool, test: str) -> str | None:
    """Compare the committed `path` with `fresh`; with `update`, rewrite it instead.

    Returns:
        None when the file is (now) current, else what is wrong and the command that fixes it.
    """
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current == fresh:
        return None
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fresh, encoding="utf-8")
        return None
    state = "missing" if current is None else "stale"
    return (
        f"{path.relative_to(ROOT)} is {state}: run `{REGENERATE}` "
        f"(or `{UPDATE_ENV}=1 uv run pytest {test}`) and commit the result"
    )
