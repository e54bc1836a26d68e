"""`smoothtask-trainer features`: parse options, call `services.features.build_features`, render the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.errors import EXIT_FAILURE
from smoothtask_trainer.cli.options import examples, option
from smoothtask_trainer.cli.output import human_bytes
from smoothtask_trainer.cli.reports import line, table
from smoothtask_trainer.cli.state import AppState

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer features logs/*.jsonl.gz --out features/",
    "smoothtask-trainer features fleet/ --out features/ --host-from directory --workers 8",
    "smoothtask-trainer features fleet/ --out /shared/features/ --scheduler tcp://10.0.0.5:8786 --json",
)


@command(
    "features",
    "collect.max_errors",
    "dataset.labels",
    "dataset.attention_horizon_s",
    "dataset.responsiveness_correction",
)
def features(
    state: AppState,
    overrides: dict,
    sources: Annotated[
        list[str],
        typer.Argument(
            help="Snapshot logs: JSONL or JSONL.gz (flat or the daemon's nested shape), the daemon's SQLite "
            "database, a rotated gzipped database, directories or glob patterns. Each file is one unit of work.",
            show_default=False,
        ),
    ],
    out_dir: Annotated[
        Path,
        option("--out", help="The dataset directory (created; an earlier dataset is updated).", file_okay=False),
    ],
) -> None:
    """Build a Parquet feature dataset from many logs on a Dask cluster.

    One row per (snapshot, app group): the 51 features, the keys, the label and the columns replay and tune read,
    partitioned by host and day: the rows validate --features-out builds from a store of each source. Runs on a
    local cluster, or on an existing one with --scheduler. Running again skips the sources already built and
    rebuilds the ones that changed; a source that fails is reported and the others complete.
    """
    from smoothtask_trainer.services.features import build_features

    out = state.out
    settings = state.settings(overrides)

    def progress(report, total: int) -> None:  # noqa: ANN001 - SourceReport, imported lazily
        out.debug(f"{report.status}: {report.source} ({report.seconds:.1f} s on {report.worker or '-'})")

    result = build_features(sources, out_dir, settings.features, settings.dataset, settings.collect, progress)
    for report in result.sources:
        for warning in report.warnings:
            out.warn(warning)
    out.emit(result, lambda console: _render(console, result), quiet_line=str(result.rows))
    if not result.ok:
        failed = result.failed
        out.error(
            f"{len(failed)} source(s) failed: " + "; ".join(f"{f.source}: {f.error}" for f in failed[:3]),
            "fix or remove those files and run the same command again (completed sources are skipped)",
        )
        raise typer.Exit(EXIT_FAILURE)


def _render(console: Console, result) -> None:  # noqa: ANN001 - FeaturesResult, imported lazily
    colour = {"built": "green", "failed": "red", "already-built": "cyan"}
    rows = []
    for s in result.sources:
        status = f"[{colour.get(s.status, 'yellow')}]{s.status}[/]"
        size = human_bytes(s.size_bytes) if s.size_bytes is not None else "-"
        rows.append(
            (f"{s.source}\n[dim]{s.kind or '-'}, {size}[/]", s.host, status, f"{s.rows:,}", f"{s.seconds:.1f}s")
        )
    table(console, f"features → {result.dataset}", ("source", "host", "status", "rows", "time"), rows, right=("rows",))
    for s in result.failed:
        line(console, f"  [red]{s.source}[/]: {s.error}")
    line(
        console,
        f"Dataset now holds {result.rows:,} rows of {result.snapshots:,} snapshots; {result.workers} Dask worker(s) "
        f"at {result.scheduler} ({result.seconds:.2f} s).",
    )
