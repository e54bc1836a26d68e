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


def main() -> None:
    """Console-script entry point."""
    import sys

    app(args=expand_multi_value_options(sys.argv[1:]), prog_name="smoothtask-trainer")


__all__ = ["app", "expand_multi_value_options", "main"]
