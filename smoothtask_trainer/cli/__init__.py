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


class _CountingStdout:
    """Forwards to stdout, counting what was written (to know whether a JSON document went out)."""

    def __init__(self, inner: object) -> None:
        self._inner = inner
        self.written = 0

    def write(self, text: str) -> int:
        self.written += len(text)
        return self._inner.write(text)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def run(typer_app: Any, prog_name: str) -> None:
    """Run a Typer app on this process's arguments (several values after --snapshots; --json always one document)."""
    import json
    import sys

    args = expand_multi_value_options(sys.argv[1:])
    if "--json" not in args:
        typer_app(args=args, prog_name=prog_name)
        return
    # Usage errors are reported by Typer before any command runs, on stderr only; --json promises one document
    # on stdout whatever happens, so one is written for them here.
    counting = _CountingStdout(sys.stdout)
    sys.stdout = counting  # type: ignore[assignment]
    try:
        typer_app(args=args, prog_name=prog_name)
    except SystemExit as exc:
        if exc.code == 2 and counting.written == 0:
            error = {"type": "UsageError", "message": "invalid command line; the reason is on stderr", "hint": None}
            counting.write(json.dumps({"ok": False, "error": error}, indent=2) + "\n")
        raise
    finally:
        sys.stdout = counting._inner  # type: ignore[assignment]


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
