"""The `smoothtask-trainer` command line (a thin layer over `smoothtask_trainer.services`)."""

from __future__ import annotations

from smoothtask_trainer.cli.app import app


def main() -> None:
    """Console-script entry point."""
    app(prog_name="smoothtask-trainer")


__all__ = ["app", "main"]
