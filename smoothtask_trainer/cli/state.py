"""What the root options decided (config file, output mode), shared by every command through the Typer context."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from smoothtask_trainer.cli.output import Output

if TYPE_CHECKING:
    from smoothtask_trainer.settings import TrainerSettings


@dataclass
class AppState:
    """The root options of this invocation (held in the Typer context, never in module state)."""

    config: Path | None = None
    out: Output = field(default_factory=Output)

    def output(self, json_flag: bool = False, quiet_flag: bool = False) -> Output:
        """The output mode, letting a command's own --json/--quiet add to the global ones."""
        self.out.json = self.out.json or json_flag
        self.out.quiet = (self.out.quiet or quiet_flag) and not self.out.json
        return self.out

    def settings(self, overrides: dict[str, Any] | None = None) -> TrainerSettings:
        """Settings with the command's flags on top (flag > env > file > default)."""
        from smoothtask_trainer.cli.command import usage_error
        from smoothtask_trainer.errors import ConfigError
        from smoothtask_trainer.settings import load_settings

        try:
            return load_settings(self.config, overrides)
        except ConfigError as exc:  # a bad flag value is a usage error, as Click reports one
            raise usage_error(exc, overrides or {}) or exc from None


def state_of(ctx: typer.Context | None) -> AppState:
    """The AppState of this invocation (a default one outside a root callback, e.g. in tests)."""
    if ctx is None:
        return AppState()
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj
