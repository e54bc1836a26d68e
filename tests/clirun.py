"""The in-process command-line runner every CLI test uses (`invoke`), as a user's shell would pass the words."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from smoothtask_trainer.cli import app, expand_multi_value_options

_runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run `smoothtask-trainer ARGS...` in this process (several values after --snapshots, as `main` allows)."""
    argv = expand_multi_value_options([str(a) for a in args])
    return _runner.invoke(app, argv, prog_name="smoothtask-trainer", env=env)
