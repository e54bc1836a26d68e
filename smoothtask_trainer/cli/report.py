"""`smoothtask-trainer report`: parse options, call `services.report.report`, render the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import DbOpt, examples, option
from smoothtask_trainer.cli.reports import table
from smoothtask_trainer.cli.state import AppState

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer report --db store.db --output report.html",
    "smoothtask-trainer report --db store.db --model model.onnx --output report.html",
    "smoothtask-trainer report --db store.db --model model.onnx --thresholds model.thresholds.yml -o report.html",
    "smoothtask-trainer report --db store.db --daemon-config /etc/smoothtask/smoothtask.yml -o report.html",
)


@command("policy.ncpu", "policy.harm_latency_ms", "policy.harm_horizon_s")
def report(
    state: AppState,
    overrides: dict,
    db: DbOpt,
    output: Annotated[
        Path,
        option("--output", "-o", help="The HTML file to write (self-contained: it opens offline).", dir_okay=False),
    ],
    model: Annotated[
        Path | None,
        option("--model", help="A model train wrote; its figures come from the metadata beside it.", dir_okay=False),
    ] = None,
    thresholds: Annotated[
        Path | None,
        option(
            "--thresholds",
            help="A daemon YAML or tune's output: the policy section compares its thresholds with the defaults.",
            dir_okay=False,
        ),
    ] = None,
    daemon_config: Annotated[
        Path | None,
        option(
            "--daemon-config",
            help="The daemon's YAML instead of --thresholds: its thresholds, and its model when --model is not "
            "given (its policy_mode decides the ranker, as replay does).",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Write one self-contained HTML page with the figures of a store and, given them, a model and thresholds.

    Data: snapshots over time with gaps, app groups and processes per snapshot, pressure and latency with
    bad_responsiveness and harm marked, labels, the NULL share of the 51 features. Model (from the metadata
    train writes): the learning curve, held-out NDCG against the stub ranker and random order, future focus,
    the top 20 features and the score spread per label class. Policy: the class mix, the PSI flag's precision
    and recall, the hysteresis churn/lag curve, replayed classes against labels and the class timeline of a few
    apps, with the daemon's defaults and with the given thresholds. Then the daemon YAML and its traps. A section
    without its input says what to run.
    """
    from smoothtask_trainer.services.report import report as run_report

    policy = state.settings(overrides).policy
    ranker = None
    if daemon_config is not None:
        from smoothtask_trainer.services.report import config_inputs

        if thresholds is not None:
            raise typer.BadParameter("give --thresholds or --daemon-config, not both", param_hint="'--daemon-config'")
        ranker, model, thresholds = config_inputs(daemon_config, model)
    result = run_report(db, output, model, thresholds=thresholds, policy=policy, ranker=ranker)
    for warning in result.warnings:
        state.out.warn(warning)
    state.out.emit(result, lambda console: _render(console, result), quiet_line=result.output)


def _render(console: Console, result) -> None:  # noqa: ANN001 - ReportResult, imported lazily
    rows = [
        ("output", result.output),
        ("figures", str(result.figures)),
        ("size", f"{result.bytes_written / 1e6:.1f} MB"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    table(console, "report", ("key", "value"), rows, right=("value",), header=False)
