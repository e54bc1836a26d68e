"""Regenerate every generated file in place: `uv run python -m tools.docgen`."""

from __future__ import annotations

import sys

from tools.docgen import GENERATED, whole_files
from tools.docgen.common import DOCS, ROOT, render


def main() -> int:
    for filename, blocks in GENERATED.items():
        path = DOCS / filename
        text = path.read_text(encoding="utf-8")
        new = render(text, blocks)
        if new != text:
            path.write_text(new, encoding="utf-8")
        print(f"{'updated' if new != text else 'current'} {path.relative_to(ROOT)}")
    for path, make in whole_files().items():
        fresh = make()
        changed = not path.is_file() or path.read_text(encoding="utf-8") != fresh
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh, encoding="utf-8")
        print(f"{'updated' if changed else 'current'} {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
