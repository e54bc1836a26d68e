"""`smoothtask-trainer validate`: parse options, call `services.validate.validate`, render the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smoothtask_trainer.cli import dataset_options as dso
from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import EXIT_GATE, boundary
from smoothtask_trainer.cli.options import DbOpt, JsonOpt, QuietOpt

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer validate --db store.db

  smoothtask-trainer validate --db store.db --min-snapshots 500 --labels rules --json

  smoothtask-trainer validate --db store.db --max-snapshots 1000 --features-out features.parquet
"""

GATES = "Gates"


def _gate(name: str, kind: type, help_text: str, key: str) -> object:
    return Annotated[
        kind | None,
        typer.Option(
            name, help=f"{help_text} (settings key validation.{key})", show_default=False, rich_help_panel=GATES
        ),
    ]


MinSnapshots = _gate("--min-snapshots", int, "Fewest snapshots in the store. (default: 1)", "min_snapshots")
MinProcesses = _gate("--min-processes", int, "Fewest process rows. (default: 10)", "min_processes")
MinGroups = _gate("--min-groups", int, "Fewest app-group rows. (default: 1)", "min_groups")
MinGroupsPerQuery = _gate(
    "--min-groups-per-query", float, "Smallest median of app groups per snapshot. (default: 2)", "min_groups_per_query"
)
MinLabelSignal = _gate(
    "--min-label-signal", float, "Smallest share of snapshots whose labels differ. (default: 0.5)", "min_label_signal"
)
MinTimeSpan = _gate(
    "--min-time-span", float, "Fewest seconds between the first and last snapshot. (default: 0)", "min_time_span_s"
)
MaxNullRatio = _gate(
    "--max-null-ratio", float, "Largest share of NULLs in a key feature. (default: 0.5)", "max_null_ratio"
)


def gate_overrides(
    min_snapshots: int | None,
    min_processes: int | None,
    min_groups: int | None,
    min_groups_per_query: float | None,
    min_label_signal: float | None,
    min_time_span: float | None,
    max_null_ratio: float | None,
) -> dict[str, Any]:
    """The `[validation]` settings the user gave as flags (None = not given)."""
    return {
        "min_snapshots": min_snapshots,
        "min_processes": min_processes,
        "min_groups": min_groups,
        "min_groups_per_query": min_groups_per_query,
        "min_label_signal": min_label_signal,
        "min_time_span_s": min_time_span,
        "max_null_ratio": max_null_ratio,
    }


@boundary
def validate(
    ctx: typer.Context,
    db: DbOpt,
    min_snapshots: MinSnapshots = None,  # type: ignore[valid-type]
    min_processes: MinProcesses = None,  # type: ignore[valid-type]
    min_groups: MinGroups = None,  # type: ignore[valid-type]
    min_groups_per_query: MinGroupsPerQuery = None,  # type: ignore[valid-type]
    min_label_signal: MinLabelSignal = None,  # type: ignore[valid-type]
    min_time_span: MinTimeSpan = None,  # type: ignore[valid-type]
    max_null_ratio: MaxNullRatio = None,  # type: ignore[valid-type]
    labels: dso.LabelsOpt = None,
    responsiveness_correction: dso.CorrectionOpt = None,
    max_snapshots: dso.MaxSnapshotsOpt = None,
    sample: dso.SampleOpt = None,
    sample_seed: dso.SeedOpt = None,
    since: dso.SinceOpt = None,
    until: dso.UntilOpt = None,
    features_out: Annotated[
        Path | None,
        typer.Option(
            "--features-out",
            help="Also write the training matrix (keys, 51 features, label) to a .csv or .parquet file.",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Check that a store can train a good ranker (exit 3 when a gate fails).

    Reports the store's statistics, the rows per snapshot, each feature's NULL share and constant-ness (the
    daemon's dead features flagged), the label source and its distribution, PSI units and the daemon's
    cached-CPU zeros, then applies the gates.
    """
    from smoothtask_trainer.services.validate import validate as run_validate

    state = state_of(ctx)
    out = state.output(json_out, quiet)
    settings = state.settings(
        {
            "validation": gate_overrides(
                min_snapshots,
                min_processes,
                min_groups,
                min_groups_per_query,
                min_label_signal,
                min_time_span,
                max_null_ratio,
            ),
            "dataset": dso.dataset_overrides(
                labels, responsiveness_correction, max_snapshots, sample, sample_seed, since, until
            ),
        }
    )
    report = run_validate(db, settings.validation, settings.dataset, features_out)
    for warning in report.warnings:
        out.warn(warning)
    out.emit(report, lambda console: _render(console, report, out.verbose), quiet_line="ok" if report.ok else "failed")
    if not report.ok:
        failed = ", ".join(g.name for g in report.failed)
        out.error(
            f"data-quality gate(s) failed: {failed}",
            "collect more snapshots, or lower the thresholds with the --min-*/--max-* flags",
        )
        raise typer.Exit(EXIT_GATE)


def _render(console: Console, report, verbose: bool) -> None:  # noqa: ANN001 - ValidationReport, lazily imported
    from rich import box
    from rich.table import Table

    s = report.stats
    console.print(
        f"[bold]{report.db}[/]: {s.snapshot_count:,} snapshots, {s.process_count:,} process rows, "
        f"{s.group_count:,} app-group rows; {s.unique_process_instances:,} process instances; "
        f"{s.time_range.start} → {s.time_range.end} ({s.time_range.span_s:,.0f} s)",
        highlight=False,
    )
    if report.rows_per_query:
        q = report.rows_per_query
        console.print(
            f"Dataset: {report.rows:,} rows in {q.queries:,} snapshots; app groups per snapshot "
            f"min {q.min}, median {q.median:g}, max {q.max}",
            highlight=False,
        )
    if report.labels:
        lab = report.labels
        dist = ", ".join(f"{k} {v:,}" for k, v in lab.distribution.items())
        console.print(
            f"Labels: {lab.source} (asked: {lab.requested}); {lab.queries_with_signal:,} snapshots with "
            f"signal ({lab.signal_ratio:.0%}); {dist}",
            highlight=False,
        )
    cpu = f"{report.cached_cpu_zero_rate:.0%}" if report.cached_cpu_zero_rate is not None else "-"
    console.print(
        f"PSI unit: {report.psi_unit}; snapshots with all CPU fractions 0 (metrics cache): {cpu}", highlight=False
    )
    if report.features and verbose:
        table = Table(title="features", title_justify="left", box=box.SIMPLE_HEAD)
        for col, justify in (
            ("#", "right"),
            ("name", "left"),
            ("kind", "left"),
            ("NULL", "right"),
            ("distinct", "right"),
            ("min", "right"),
            ("max", "right"),
        ):
            table.add_column(col, justify=justify, no_wrap=True)
        table.add_column("note", overflow="fold", min_width=24)
        for f in report.features:
            table.add_row(
                str(f.index),
                f.name + (" *" if f.key else ""),
                f.kind,
                f"{f.null_ratio:.1%}",
                f"{f.distinct:,}",
                f"{f.min:g}",
                f"{f.max:g}",
                f.warning or "",
            )
        console.print(table)
        console.print("  * key feature: its NULL share is gated", highlight=False)
    elif report.features:
        notes: dict[str, list[str]] = {}
        for f in report.features:
            if f.warning:
                notes.setdefault(f.warning, []).append(f"{f.name} ({f.index})")
        for warning, names in notes.items():
            console.print(f"  [dim]features[/] {', '.join(names)}: {warning}", highlight=False)
        console.print("  (--verbose lists every feature with its NULL share and range)", highlight=False)
    gates = Table(title="gates", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("gate", "measured", "threshold", "result"):
        gates.add_column(col, justify="left" if col == "gate" else "right")
    for g in report.gates:
        gates.add_row(g.name, f"{g.measured:g}", f"{g.threshold:g}", "[green]ok[/]" if g.passed else "[red]FAILED[/]")
    console.print(gates)
    if report.features_out:
        console.print(f"Training matrix written to {report.features_out}", highlight=False)
