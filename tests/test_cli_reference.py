"""docs/cli.md is the program's own command tree: current, complete, and independent of the terminal.

`SMOOTHTASK_UPDATE_SNAPSHOTS=1 uv run pytest tests/test_cli_reference.py` rewrites docs/cli.md instead of failing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer

from smoothtask_trainer.cli import app
from tools import docgen as docsgen

CLI_MD = docsgen.DOCS / "cli.md"
UPDATE = os.environ.get(docsgen.UPDATE_ENV) == "1"


def walk(cmd: Any = None, ctx: Any = None, path: str = docsgen.PROG) -> Iterator[tuple[str, Any, Any]]:
    """(command path, command, context) for the root and every visible command under it."""
    if cmd is None:
        cmd = typer.main.get_command(app)
        ctx = typer.Context(cmd, info_name=docsgen.PROG)
    yield path, cmd, ctx
    if hasattr(cmd, "list_commands"):
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from walk(sub, typer.Context(sub, info_name=name, parent=ctx), f"{path} {name}")


def section(text: str, path: str) -> str:
    """The part of docs/cli.md about one command (its heading up to the next command heading)."""
    match = re.search(rf"^#+ `{re.escape(path)}`\n(.*?)(?=^#+ `|\Z)", text, re.S | re.M)
    assert match, f"docs/cli.md has no section for `{path}`"
    return match.group(1)


def test_cli_md_is_current() -> None:
    problem = docsgen.sync_snapshot(CLI_MD, docsgen.cli_reference(), update=UPDATE, test="tests/test_cli_reference.py")
    assert problem is None, problem


def test_every_command_has_help_and_is_documented_with_every_option() -> None:
    text = CLI_MD.read_text()
    commands = list(walk())
    assert len(commands) >= 6, "root, collect, simulate, validate, train, export (and more as they come)"
    for path, cmd, _ctx in commands:
        assert (cmd.help or "").strip(), f"`{path}` has no help text (give its function a docstring)"
        body = section(text, path)
        assert cmd.help.strip().splitlines()[0] in body, path
        for param in cmd.params:
            if getattr(param, "hidden", False):
                continue
            if param.param_type_name == "option":
                assert (param.help or "").strip(), f"`{path}` option {param.opts[0]} has no help text"
                for opt in param.opts + param.secondary_opts:
                    assert re.search(rf"`[^`]*{re.escape(opt)}\b", body), f"{opt} of `{path}` is not in docs/cli.md"
            else:
                assert (param.help or "").strip(), f"`{path}` argument {param.name} has no help text"
                assert (param.name or "").upper() in body, f"argument {param.name} of `{path}` is not documented"
        if path != docsgen.PROG:
            name = path.rsplit(" ", 1)[1]
            assert f"[`{name}`](#{path.replace(' ', '-')})" in text, f"`{path}` is missing from the command table"


def test_reference_shows_defaults_ranges_and_examples() -> None:
    text = CLI_MD.read_text()
    simulate = section(text, f"{docsgen.PROG} simulate")
    snapshots = "| `--snapshots INTEGER` | Number of snapshots (daemon loop iterations). (default: 2000; N ≥ 1) |"
    assert snapshots in simulate
    assert "`--format <jsonl\\|jsonl-nested\\|sqlite>`" in simulate  # a | in a table cell is escaped
    assert "```bash\nsmoothtask-trainer simulate --output demo.jsonl.gz --snapshots 500\n" in simulate
    collect = section(text, f"{docsgen.PROG} collect")
    assert "smoothtask-trainer collect [OPTIONS] SOURCES..." in collect
    assert "[env var: SMOOTHTASK_CONFIG]" in section(text, docsgen.PROG)
    train = section(text, f"{docsgen.PROG} train")
    assert train.index("**Options**") < train.index("**Training**") < train.index("**Dataset**")
    # an option derived from a setting shows its default, its bounds and its settings key
    assert "(default: 6; 1 ≤ N ≤ 16; settings key train.depth)" in train
    assert "(default: 0.1; 0 < N ≤ 1; settings key train.learning_rate)" in train


def test_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = set()
    for columns, colour in (("40", "1"), ("250", "0")):
        monkeypatch.setenv("COLUMNS", columns)
        monkeypatch.setenv("LINES", "10")
        monkeypatch.setenv("FORCE_COLOR", colour)
        outputs.add(docsgen.cli_reference())
    assert len(outputs) == 1
