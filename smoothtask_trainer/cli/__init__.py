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
    seen = _Seen(sys.stderr) if "--json" in args else None
    if seen is not None:
        sys.stderr = seen
    try:
        typer_app(args=args, prog_name=prog_name, obj=state)
    except SystemExit as exc:
        # Usage errors are reported by Click before any command runs, on stderr only; --json promises one
        # document on stdout whatever happens, so one is written for them here, with the reason Click gave.
        if exc.code == 2 and seen is not None and not state.out.emitted:
            reason = _usage_reason("".join(seen.text)) or "invalid command line; the reason is on stderr"
            hint = f"see {prog_name} --help"
            error = {"type": "UsageError", "message": reason, "hint": hint}
            sys.stdout.write(json.dumps({"ok": False, "error": error}, indent=2) + "\n")
        raise
    finally:
        if seen is not None:
            sys.stderr = seen.inner


class _Seen:
    """stderr, passed through, with a copy of what was written (the usage error's reason, for --json)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.text = inner, []

    def write(self, text: str) -> int:
        if len(self.text) < 200:
            self.text.append(text)
        return self.inner.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _usage_reason(text: str) -> str | None:
    """The reason inside Click's error box (or after its `Error:`), on one line."""
    boxed = [line.strip().strip("\u2502").strip() for line in text.splitlines() if line.strip().startswith("\u2502")]
    if boxed:
        return " ".join(part for part in boxed if part)
    plain = [line.split("Error:", 1)[1].strip() for line in text.splitlines() if "Error:" in line]
    return plain[0] if plain else None


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
