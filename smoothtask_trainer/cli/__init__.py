"""The `smoothtask-trainer` command line (a thin layer over `smoothtask_trainer.services`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smoothtask_trainer.cli.app import app

#: Options that take several values after one flag, as the seed's `--snapshots a.jsonl b.jsonl.gz` does.
MULTI_VALUE_OPTIONS = frozenset({"--snapshots"})


def expand_multi_value_options(argv: list[str]) -> list[str]:
    """`--snapshots a b --db x` -> `--snapshots a --snapshots b --db x` (Click options take one value each)."""
    out: list[str] = []
    current: str | None = None
    for arg in argv:
        if arg in MULTI_VALUE_OPTIONS:
            current = arg
            out.append(arg)
            continue
        if current is not None and (arg == "-" or not arg.startswith("-")):
            if out[-1] != current:
                out.append(current)
            out.append(arg)
            continue
        current = None
        out.append(arg)
    return out


def run(typer_app: Any, prog_name: str) -> None:
    """Run a Typer app on this process's arguments (several values after --snapshots; --json always one document)."""
    import json
    import sys

    from smoothtask_trainer.cli.state import AppState

    args = expand_multi_value_options(sys.argv[1:])
    state = AppState()
    try:
        typer_app(args=args, prog_name=prog_name, obj=state)
    except SystemExit as exc:
        # Usage errors are reported by Click before any command runs, on stderr only; --json promises one
        # document on stdout whatever happens, so one is written for them here.
        if exc.code == 2 and "--json" in args and not state.out.emitted:
            error = {"type": "UsageError", "message": "invalid command line; the reason is on stderr", "hint": None}
            sys.stdout.write(json.dumps({"ok": False, "error": error}, indent=2) + "\n")
        raise


def main() -> None:
    """Console-script entry point."""
    run(app, "smoothtask-trainer")


def run_standalone(command: Callable[..., None], epilog: str, prog_name: str) -> None:
    """One unified command as a program of its own: the seed's `smoothtask_trainer.<name>` command lines."""
    import typer

    single = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode="rich")
    single.command(epilog=epilog)(command)
    run(single, prog_name)


__all__ = ["app", "expand_multi_value_options", "main", "run", "run_standalone"]
