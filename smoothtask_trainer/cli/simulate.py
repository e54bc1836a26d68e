"""`smoothtask-trainer simulate`: parse options, call `services.simulate.simulate`, render the result."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import examples
from smoothtask_trainer.cli.output import human_bytes
from smoothtask_trainer.cli.reports import table
from smoothtask_trainer.cli.state import AppState
from smoothtask_trainer.schemas.simulate import SimulateOptions

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer simulate --output demo.jsonl.gz --snapshots 500",
    "smoothtask-trainer simulate --output daemon.sqlite --format sqlite --no-labels",
    "smoothtask-trainer simulate --output fixed.sqlite --format sqlite --daemon-profile full",
    "smoothtask-trainer simulate --output nested.jsonl --format jsonl-nested --seed 7 --interval-ms 1000",
)


@command(models=(SimulateOptions,))
def simulate(state: AppState, options: SimulateOptions) -> None:
    """Write a realistic simulated desktop workload as snapshot logs.

    A browser with media tabs, an IDE, terminals running builds, a player, a game, indexers and updaters,
    system daemons and containers; focus moves, the user goes idle, load raises PSI and latency. The daemon's
    quirks are reproduced (NULL Option fields, cumulative counters, PSI in percent, unstable group ids).
    """
    from smoothtask_trainer.services.simulate import simulate as run_simulate

    out = state.out
    with out.count_progress("simulating", options.snapshots) as progress:
        result = run_simulate(options, on_progress=progress)
    out.emit(result, lambda console: _render(console, result), quiet_line=str(result.output))


def _render(console: Console, result) -> None:  # noqa: ANN001 - SimulateResult, imported lazily
    rows = [
        ("output", result.output),
        ("format", result.format),
        ("snapshots", f"{result.snapshots:,}"),
        ("process rows", f"{result.processes:,}"),
        ("app-group rows", f"{result.app_groups:,}"),
        ("labels", "teacher" if result.labels else "none (NULL, as the daemon)"),
        ("daemon profile", result.daemon_profile),
        ("size", human_bytes(result.bytes_written)),
        ("seconds", f"{result.seconds:.2f}"),
    ]
    table(console, "simulate", ("key", "value"), rows, right=("value",), header=False)
