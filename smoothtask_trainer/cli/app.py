"""The root `smoothtask-trainer` command: global options and the command tree in one readable block.

Command modules are imported here, but each imports its service (and with it pandas, CatBoost or ONNX) only when
it runs, so `--help` and shell completion stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from smoothtask_trainer import __version__
from smoothtask_trainer.cli.output import Output

app = typer.Typer(
    name="smoothtask-trainer",
    help="Train the SmoothTask daemon's app-group ranker from its snapshot logs, and tune its policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["--help"]},
    add_completion=True,
)


@dataclass
class AppState:
    """What the root options decided, for every command (held in the Typer context)."""

    config: Path | None = None
    out: Output = field(default_factory=Output)

    def output(self, json_flag: bool = False, quiet_flag: bool = False) -> Output:
        """The output mode, letting a command's own --json/--quiet add to the global ones."""
        self.out.json = self.out.json or json_flag
        self.out.quiet = (self.out.quiet or quiet_flag) and not self.out.json
        return self.out

    def settings(self, overrides: dict[str, Any] | None = None) -> Any:
        """Settings with the command's flags on top (flag > env > file > default)."""
        from smoothtask_trainer.settings import load_settings

        return load_settings(self.config, overrides)


def state_of(ctx: typer.Context | None) -> AppState:
    """The AppState of this invocation (a default one outside a root callback, e.g. in tests)."""
    if ctx is None:
        return AppState()
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def _version(value: bool) -> None:
    if value:
        typer.echo(f"smoothtask-trainer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            help="TOML settings file (default: ./smoothtask-trainer.toml, then "
            "~/.config/smoothtask-trainer/config.toml).",
            envvar="SMOOTHTASK_CONFIG",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    json_out: Annotated[
        bool, typer.Option("--json", help="Print exactly one JSON document on stdout (for CI).")
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the essential result.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Say more on stderr.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", help="Show the version and exit.", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Train the SmoothTask daemon's app-group ranker from its snapshot logs."""
    state = state_of(ctx)
    state.config = config
    state.out.json = json_out
    state.out.quiet = quiet and not json_out
    state.out.verbose = verbose


# ---- the command tree ------------------------------------------------------------------------------------------
from smoothtask_trainer.cli import collect as _collect  # noqa: E402
from smoothtask_trainer.cli import export as _export  # noqa: E402
from smoothtask_trainer.cli import pipeline as _pipeline  # noqa: E402
from smoothtask_trainer.cli import simulate as _simulate  # noqa: E402
from smoothtask_trainer.cli import train as _train  # noqa: E402
from smoothtask_trainer.cli import validate as _validate  # noqa: E402

app.command("collect", rich_help_panel="Data", epilog=_collect.EPILOG)(_collect.collect)
app.command("simulate", rich_help_panel="Data", epilog=_simulate.EPILOG)(_simulate.simulate)
app.command("validate", rich_help_panel="Data", epilog=_validate.EPILOG)(_validate.validate)
app.command("train", rich_help_panel="Model", epilog=_train.EPILOG)(_train.train)
app.command("pipeline", rich_help_panel="Automation", epilog=_pipeline.EPILOG)(_pipeline.pipeline)
app.command("export", rich_help_panel="Model", epilog=_export.EPILOG)(_export.export)
