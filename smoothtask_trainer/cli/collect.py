"""`smoothtask-trainer collect`: parse options, call `services.collect.collect`, render the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import boundary
from smoothtask_trainer.cli.options import DbOpt, JsonOpt, QuietOpt
from smoothtask_trainer.cli.output import human_bytes

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer collect /var/lib/smoothtask/snapshots.sqlite --db store.db

  smoothtask-trainer collect logs/ 'old/*.jsonl.gz' --db store.db --max-errors 10

  zcat day1.jsonl.gz | smoothtask-trainer collect - --db store.db --json
"""


@boundary
def collect(
    ctx: typer.Context,
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Snapshot logs: JSONL or JSONL.gz (flat or the daemon's nested shape), the daemon's SQLite "
            "database, a rotated gzipped database, directories, glob patterns, or '-' for stdin.",
            show_default=False,
        ),
    ],
    db: DbOpt,
    max_errors: Annotated[
        int | None,
        typer.Option(
            "--max-errors",
            min=0,
            help="Bad records allowed per file; past that the file fails and is rolled back. "
            "(default: no limit; settings key collect.max_errors)",
            show_default=False,
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail a file on its first bad record (= --max-errors 0).")
    ] = False,
    parallel: Annotated[
        bool | None,
        typer.Option(
            "--parallel/--no-parallel",
            help="Decode JSONL in a second process while writing. (default: on; settings key collect.parallel)",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Ingest snapshot logs into one SQLite store with the daemon's schema.

    Each file is one transaction, recorded with its sha256: running the same command again inserts nothing
    new, and Ctrl-C leaves every earlier file committed. Bad records are reported with file:line and skipped.
    """
    from smoothtask_trainer.services.collect import collect as run_collect

    state = state_of(ctx)
    out = state.output(json_out, quiet)
    if strict and max_errors not in (None, 0):
        raise typer.BadParameter("--strict means --max-errors 0; give one or the other", param_hint="--strict")
    settings = state.settings({"collect": {"max_errors": 0 if strict else max_errors, "parallel": parallel}}).collect
    with out.byte_progress() as progress:
        result = run_collect(sources, db, settings, on_progress=progress)
    for report in result.files:
        for skipped in report.first_skipped:
            where = f"{report.source}:{skipped.line}" if skipped.line is not None else report.source
            out.warn(f"{where}: skipped: {skipped.reason}")
        if report.skipped_records > len(report.first_skipped):
            out.warn(f"{report.source}: {report.skipped_records - len(report.first_skipped)} more records skipped")
        if report.unknown_keys:
            keys = ", ".join(f"{k} ({n})" for k, n in sorted(report.unknown_keys.items())[:8])
            out.debug(f"{report.source}: ignored keys outside the contract: {keys}")
    out.emit(result, lambda console: _render(console, result), quiet_line=str(result.inserted.snapshots))


def _render(console: Console, result) -> None:  # noqa: ANN001 - CollectResult, imported lazily
    from rich import box
    from rich.table import Table

    table = Table(title=f"collect → {result.db}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("source", overflow="fold", ratio=1)
    table.add_column("status", overflow="fold")
    for col in ("snapshots", "processes", "groups", "skipped", "time"):
        table.add_column(col, justify="right", no_wrap=True)
    colour = {"ingested": "green", "failed": "red", "already-ingested": "cyan"}
    for f in result.files:
        label = "already in" if f.status == "already-ingested" else f.status
        status = f"[{colour.get(f.status, 'yellow')}]{label}[/]"
        if f.duplicate_snapshots:
            status += f"\n{f.duplicate_snapshots:,} duplicate"
        table.add_row(
            f"{f.source}\n[dim]{f.kind}, {human_bytes(f.size_bytes)}[/]",
            status,
            f"{f.snapshots_inserted:,}",
            f"{f.processes_inserted:,}",
            f"{f.app_groups_inserted:,}",
            f"{f.skipped_records:,}",
            f"{f.seconds:.1f}s",
        )
    console.print(table)
    for f in result.files:
        if f.note:
            console.print(f"  {f.source}: {f.note}", highlight=False)
    s = result.store
    console.print(
        f"Store now holds {s.snapshots:,} snapshots, {s.processes:,} process rows, {s.app_groups:,} app-group rows "
        f"({result.seconds:.2f} s).",
        highlight=False,
    )
