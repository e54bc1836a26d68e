"""`smoothtask-trainer collect`: parse options, call `services.collect.collect`, render the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import DbOpt, examples
from smoothtask_trainer.cli.output import human_bytes
from smoothtask_trainer.cli.reports import line, table
from smoothtask_trainer.cli.state import AppState

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer collect /var/lib/smoothtask/snapshots.sqlite --db store.db",
    "smoothtask-trainer collect logs/ 'old/*.jsonl.gz' --db store.db --max-errors 10",
    "zcat day1.jsonl.gz | smoothtask-trainer collect - --db store.db --json",
)


@command("collect")
def collect(
    state: AppState,
    overrides: dict,
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Snapshot logs: JSONL or JSONL.gz (flat or the daemon's nested shape), the daemon's SQLite "
            "database, a rotated gzipped database, directories, glob patterns, or '-' for stdin.",
            show_default=False,
        ),
    ],
    db: DbOpt,
) -> None:
    """Ingest snapshot logs into one SQLite store with the daemon's schema.

    Each file is one transaction, recorded with its sha256: running the same command again inserts nothing
    new, and Ctrl-C leaves every earlier file committed. Bad records are reported with file:line and skipped.
    """
    from smoothtask_trainer.services.collect import collect as run_collect

    out = state.out
    settings = state.settings(overrides).collect
    with out.byte_progress() as progress:
        result = run_collect(sources, db, settings, on_progress=progress)
    for report in result.files:
        for warning in report.skipped_lines():
            out.warn(warning)
        if report.unknown_keys:
            keys = ", ".join(f"{k} ({n})" for k, n in sorted(report.unknown_keys.items())[:8])
            out.debug(f"{report.source}: ignored keys outside the contract: {keys}")
    out.emit(result, lambda console: _render(console, result), quiet_line=str(result.inserted.snapshots))


def _render(console: Console, result) -> None:  # noqa: ANN001 - CollectResult, imported lazily
    colour = {"ingested": "green", "failed": "red", "already-ingested": "cyan"}
    rows = []
    for f in result.files:
        label = "already in" if f.status == "already-ingested" else f.status
        status = f"[{colour.get(f.status, 'yellow')}]{label}[/]"
        if f.duplicate_snapshots:
            status += f"\n{f.duplicate_snapshots:,} duplicate"
        counts = (f.snapshots_inserted, f.processes_inserted, f.app_groups_inserted, f.skipped_records)
        source = f"{f.source}\n[dim]{f.kind}, {human_bytes(f.size_bytes)}[/]"
        rows.append((source, status, *(f"{n:,}" for n in counts), f"{f.seconds:.1f}s"))
    numbers = ("snapshots", "processes", "groups", "skipped", "time")
    table(console, f"collect → {result.db}", ("source", "status", *numbers), rows, right=numbers)
    for f in result.files:
        if f.note:
            line(console, f"  {f.source}: {f.note}")
    s = result.store
    line(
        console,
        f"Store now holds {s.snapshots:,} snapshots, {s.processes:,} process rows, {s.app_groups:,} app-group rows "
        f"({result.seconds:.2f} s).",
    )
