"""`smoothtask-trainer simulate`: parse options, call `services.simulate.simulate`, render the result."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import boundary
from smoothtask_trainer.cli.options import JsonOpt, QuietOpt
from smoothtask_trainer.cli.output import human_bytes

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer simulate --output demo.jsonl.gz --snapshots 500

  smoothtask-trainer simulate --output daemon.sqlite --format sqlite --no-labels

  smoothtask-trainer simulate --output nested.jsonl --format jsonl-nested --seed 7 --interval-ms 1000
"""


class Format(StrEnum):
    jsonl = "jsonl"
    jsonl_nested = "jsonl-nested"
    sqlite = "sqlite"


@boundary
def simulate(
    ctx: typer.Context,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="File to write; a name ending in .gz is gzip-compressed.",
            dir_okay=False,
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format,
        typer.Option(
            "--format",
            help="jsonl: the flat seed shape; jsonl-nested: the daemon's serde shape; "
            "sqlite: a daemon-schema database.",
        ),
    ] = Format.jsonl,
    snapshots: Annotated[int, typer.Option("--snapshots", min=1, help="How many snapshots to write.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed writes the same bytes.")] = 42,
    interval_ms: Annotated[
        int,
        typer.Option("--interval-ms", min=1, help="Time between snapshots, as the daemon's polling_interval_ms."),
    ] = 500,
    labels: Annotated[
        bool,
        typer.Option(
            "--labels/--no-labels",
            help="Write the ground-truth teacher labels; --no-labels writes NULLs as the real daemon does.",
        ),
    ] = True,
    scale: Annotated[
        float,
        typer.Option("--scale", min=0.05, max=16, help="Desktop size: 1.0 is ~40 app groups and ~190 processes."),
    ] = 1.0,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a realistic simulated desktop workload as snapshot logs.

    A browser with media tabs, an IDE, terminals running builds, a player, a game, indexers and updaters,
    system daemons and containers; focus moves, the user goes idle, load raises PSI and latency. The daemon's
    quirks are reproduced (NULL Option fields, cumulative counters, PSI in percent, unstable group ids).
    """
    from smoothtask_trainer.schemas.simulate import SimulateOptions
    from smoothtask_trainer.services.simulate import simulate as run_simulate

    out = state_of(ctx).output(json_out, quiet)
    options = SimulateOptions(
        output=output,
        format=fmt.value,
        snapshots=snapshots,
        seed=seed,
        interval_ms=interval_ms,
        labels=labels,
        scale=scale,
        overwrite=overwrite,
    )
    with out.count_progress("simulating", snapshots) as progress:
        result = run_simulate(options, on_progress=progress)
    out.emit(result, lambda console: _render(console, result), quiet_line=str(result.output))


def _render(console: Console, result) -> None:  # noqa: ANN001 - SimulateResult, imported lazily
    from rich.table import Table

    table = Table(title="simulate", title_justify="left", show_header=False)
    table.add_column("key")
    table.add_column("value", justify="right")
    table.add_row("output", str(result.output))
    table.add_row("format", str(result.format))
    table.add_row("snapshots", f"{result.snapshots:,}")
    table.add_row("process rows", f"{result.processes:,}")
    table.add_row("app-group rows", f"{result.app_groups:,}")
    table.add_row("labels", "teacher" if result.labels else "none (NULL, as the daemon)")
    table.add_row("size", human_bytes(result.bytes_written))
    table.add_row("seconds", f"{result.seconds:.2f}")
    console.print(table)
