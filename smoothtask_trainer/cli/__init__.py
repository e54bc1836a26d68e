"""The `smoothtask-trainer` command line (a thin layer over `smoothtask_trainer.services`)."""

from __future__ import annotations

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


def main() -> None:
    """Console-script entry point."""
    import json
    import sys

    args = expand_multi_value_options(sys.argv[1:])
    if "--json" not in args:
        app(args=args, prog_name="smoothtask-trainer")
        return
    # Usage errors are reported by Typer before any command runs, on stderr only; --json promises one document
    # on stdout whatever happens, so one is written for them here.
    counting = _CountingStdout(sys.stdout)
    sys.stdout = counting  # type: ignore[assignment]
    try:
        app(args=args, prog_name="smoothtask-trainer")
    except SystemExit as exc:
        if exc.code == 2 and counting.written == 0:
            error = {"type": "UsageError", "message": "invalid command line; the reason is on stderr", "hint": None}
            counting.write(json.dumps({"ok": False, "error": error}, indent=2) + "\n")
        raise
    finally:
        sys.stdout = counting._inner  # type: ignore[assignment]


__all__ = ["app", "expand_multi_value_options", "main"]
