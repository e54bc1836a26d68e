"""`smoothtask-trainer report`: parse options, call `services.report.report`, render the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

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
) -> None:
    """Write one self-contained HTML page with the figures of a store and, given one, a model.

    Data: snapshots over time with gaps, app groups and processes per snapshot, pressure and latency with
    bad_responsiveness shaded, labels, the NULL share of the 51 features. Model: held-out NDCG against the stub
    ranker and random order, and the label-free future-focus figure. Policy (with --thresholds): the class mix,
    the agreement with the labels and the churn, with the daemon's defaults and with the given thresholds. A section
    without its input says what to run.
    """
    from smoothtask_trainer.services.report import report as run_report

    policy = state.settings(overrides).policy
    result = run_report(db, output, model, thresholds=thresholds, policy=policy)
    state.out.emit(result, lambda console: _render(console, result), quiet_line=result.output)


def _render(console: Console, result) -> None:  # noqa: ANN001 - ReportResult, imported lazily
    rows = [
        ("output", result.output),
        ("figures", str(result.figures)),
        ("size", f"{result.bytes_written / 1e6:.1f} MB"),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    table(console, "report", ("key", "value"), rows, right=("value",), header=False)
