"""`smoothtask-trainer validate`: parse options, call `services.validate.validate`, render the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import DbInOpt, FeaturesOpt, examples, one_input, option
from smoothtask_trainer.cli.reports import focus_line, line, table
from smoothtask_trainer.cli.state import AppState
from smoothtask_trainer.errors import EXIT_GATE

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer validate --db store.db",
    "smoothtask-trainer validate --db store.db --min-snapshots 500 --labels rules --json",
    "smoothtask-trainer validate --db store.db --max-snapshots 1000 --features-out features.parquet",
    "smoothtask-trainer validate --features features/ --since 2026-01-01 --max-snapshots 100000",
)


@command("validation", "dataset")
def validate(
    state: AppState,
    overrides: dict,
    db: DbInOpt = None,
    features: FeaturesOpt = None,
    features_out: Annotated[
        Path | None,
        option(
            "--features-out",
            help="Also write the training matrix (keys, 51 features, label) to a .csv or .parquet file.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Check that a store can train a good ranker (exit 3 when a gate fails).

    Reports the store's statistics, the rows per snapshot, each feature's NULL share and constant-ness (the
    daemon's dead features flagged), the label source and its distribution, PSI units and the daemon's
    cached-CPU zeros, then applies the gates.
    """
    one_input(db, features)
    out = state.out
    settings = state.settings(overrides)
    if features is not None:
        from smoothtask_trainer.services.features_use import validate_features

        report = validate_features(features, settings.validation, settings.dataset, features_out)[0]
    else:
        from smoothtask_trainer.services.validate import validate as run_validate

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
    s, span = report.stats, report.stats.time_range
    line(
        console,
        f"[bold]{report.db}[/]: {s.snapshot_count:,} snapshots, {s.process_count:,} process rows, "
        f"{s.group_count:,} app-group rows; {s.unique_process_instances:,} process instances; "
        f"{span.start} → {span.end} ({span.span_s:,.0f} s)",
    )
    if q := report.rows_per_query:
        line(
            console,
            f"Dataset: {report.rows:,} rows in {q.queries:,} snapshots; app groups per snapshot "
            f"min {q.min}, median {q.median:g}, max {q.max}",
        )
    if lab := report.labels:
        dist = ", ".join(f"{k} {v:,}" for k, v in lab.distribution.items())
        line(
            console,
            f"Labels: {lab.source} (asked: {lab.requested}); {lab.queries_with_signal:,} snapshots with "
            f"signal ({lab.signal_ratio:.0%}); {dist}",
        )
        for family, signal in lab.rule_signals.items():
            line(console, f"  rule teacher, {family}: {signal}")
    if report.focus is not None:
        line(console, focus_line(report.focus))
    cpu = f"{report.cached_cpu_zero_rate:.0%}" if report.cached_cpu_zero_rate is not None else "-"
    line(console, f"PSI unit: {report.psi_unit}; snapshots with all CPU fractions 0 (metrics cache): {cpu}")
    if report.features and verbose:
        cols = ("#", "name", "kind", "NULL", "distinct", "min", "max", "note")
        rows = [
            (f.index, f.name + (" *" if f.key else ""), f.kind, f"{f.null_ratio:.1%}", f"{f.distinct:,}")
            + (f"{f.min:g}", f"{f.max:g}", f.warning or "")
            for f in report.features
        ]
        table(console, "features", cols, rows, right=("#", "NULL", "distinct", "min", "max"))
        line(console, "  * key feature: its NULL share is gated")
    elif report.features:
        notes: dict[str, list[str]] = {}
        for f in report.features:
            if f.warning:
                notes.setdefault(f.warning, []).append(f"{f.name} ({f.index})")
        for warning, names in notes.items():
            line(console, f"  [dim]features[/] {', '.join(names)}: {warning}")
        line(console, "  (--verbose lists every feature with its NULL share and range)")
    verdict = {True: "[green]ok[/]", False: "[red]FAILED[/]"}
    rows = [(g.name, f"{g.measured:g}", f"{g.threshold:g}", verdict[g.passed]) for g in report.gates]
    table(
        console, "gates", ("gate", "measured", "threshold", "result"), rows, right=("measured", "threshold", "result")
    )
    for u in report.unfilled:
        line(console, f"  [yellow]never filled[/] {u.signal}: {u.consequence}")
    if report.features_out:
        line(console, f"Training matrix written to {report.features_out}")
