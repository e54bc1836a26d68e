"""Generated files: documentation and completion scripts that must never drift from the code they describe.

    uv run python -m tools.docgen      # rewrite every generated file in place

What is generated, and the test that fails when a committed copy differs from what these modules generate:

- tables between `<!-- name:start -->` and `<!-- name:end -->` markers in docs/features.md and
  docs/data-formats.md, from the daemon contract and the store (`contract_docs`; `tests/test_docs.py`), and in
  docs/configuration.md, from the settings model (`configuration`; `tests/test_docs.py`);
- docs/cli.md, the command-line reference, from the Typer app's command tree (`cli_reference`;
  `tests/test_cli_reference.py`);
- completions/*, the bash, zsh, fish and PowerShell completion scripts, from Typer (`completions`;
  `tests/test_completions.py`).

The whole-file tests rewrite the committed copy instead of failing when `SMOOTHTASK_UPDATE_SNAPSHOTS=1` is set.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from tools.docgen import configuration
from tools.docgen.cli_reference import cli_reference
from tools.docgen.common import COMPLETIONS, DOCS, PROG, REGENERATE, ROOT, UPDATE_ENV, render, sync_snapshot
from tools.docgen.completions import COMPLETE_VAR, COMPLETION_FILES, completion_script
from tools.docgen.contract_docs import GENERATED as CONTRACT_BLOCKS
from tools.docgen.contract_docs import features_table

#: docs file -> {marker block name -> generator}
GENERATED: dict[str, dict[str, Callable[[], str]]] = {
    **CONTRACT_BLOCKS,
    "configuration.md": configuration.blocks(),
}


def whole_files() -> dict[Path, Callable[[], str]]:
    """Files generated in full: path -> generator."""
    files: dict[Path, Callable[[], str]] = {DOCS / "cli.md": cli_reference}
    for shell, name in COMPLETION_FILES.items():
        files[COMPLETIONS / name] = partial(completion_script, shell)
    return files


__all__ = [
    "COMPLETE_VAR",
    "COMPLETIONS",
    "COMPLETION_FILES",
    "DOCS",
    "GENERATED",
    "PROG",
    "REGENERATE",
    "ROOT",
    "UPDATE_ENV",
    "cli_reference",
    "completion_script",
    "features_table",
    "render",
    "sync_snapshot",
    "whole_files",
]
