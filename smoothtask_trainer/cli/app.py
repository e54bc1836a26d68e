"""The root `smoothtask-trainer` command: global options and the command tree in one readable block.

Command modules are imported here, but each imports its service (and with it pandas, CatBoost or ONNX) only when
it runs, so `--help` and shell completion stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from smoothtask_trainer import __version__
from smoothtask_trainer.cli import collect as _collect
from smoothtask_trainer.cli import export as _export
from smoothtask_trainer.cli import features as _features
from smoothtask_trainer.cli import pipeline as _pipeline
from smoothtask_trainer.cli import replay as _replay
from smoothtask_trainer.cli import report as _report
from smoothtask_trainer.cli import simulate as _simulate
from smoothtask_trainer.cli import train as _train
from smoothtask_trainer.cli import tune as _tune
from smoothtask_trainer.cli import validate as _validate
from smoothtask_trainer.cli.options import JsonOpt, QuietOpt, option
from smoothtask_trainer.cli.state import state_of

app = typer.Typer(
    name="smoothtask-trainer",
    help="Train the SmoothTask daemon's app-group ranker from its snapshot logs, and tune its policy.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["--help"]},
    add_completion=True,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"smoothtask-trainer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        option(
            "--config",
            "-c",
            help="TOML settings file (default: ./smoothtask-trainer.toml, then "
            "~/.config/smoothtask-trainer/config.toml).",
            envvar="SMOOTHTASK_CONFIG",
            dir_okay=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
    verbose: Annotated[bool, option("--verbose", "-v", help="Say more on stderr.")] = False,
    version: Annotated[
        bool, option("--version", help="Show the version and exit.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Train the SmoothTask daemon's app-group ranker from its snapshot logs."""
    state = state_of(ctx)
    state.config = config
    state.out.json = json_out
    state.out.quiet = quiet and not json_out
    state.out.verbose = verbose


# ---- the command tree ------------------------------------------------------------------------------------------
app.command("collect", rich_help_panel="Data", epilog=_collect.EPILOG)(_collect.collect)
app.command("simulate", rich_help_panel="Data", epilog=_simulate.EPILOG)(_simulate.simulate)
app.command("validate", rich_help_panel="Data", epilog=_validate.EPILOG)(_validate.validate)
app.command("features", rich_help_panel="Data", epilog=_features.EPILOG)(_features.features)
app.command("train", rich_help_panel="Model", epilog=_train.EPILOG)(_train.train)
app.command("pipeline", rich_help_panel="Automation", epilog=_pipeline.EPILOG)(_pipeline.pipeline)
app.command("export", rich_help_panel="Model", epilog=_export.EPILOG)(_export.export)
app.command("replay", rich_help_panel="Policy", epilog=_replay.EPILOG)(_replay.replay)
app.command("tune", rich_help_panel="Policy", epilog=_tune.EPILOG)(_tune.tune)
app.command("report", rich_help_panel="Automation", epilog=_report.EPILOG)(_report.report)
