"""`validate`: can this store train a good ranker? Store statistics, the dataset's features and labels, gates.

Gates come from the `[validation]` settings; a failed gate is part of the report (the CLI exits 3), so the
report is always complete. `require_ranking_signal` is the check training runs before it starts.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import numpy as np

from smoothtask_trainer import contract, store
from smoothtask_trainer.contract import features as cf
from smoothtask_trainer.errors import ConfigError, ValidationFailed, opt
from smoothtask_trainer.schemas.validate import (
    FeatureStat,
    Gate,
    LabelStats,
    QuerySizes,
    StoreStats,
    TimeRange,
    ValidationReport,
)
from smoothtask_trainer.services import focus
from smoothtask_trainer.services.dataset import Dataset, build_dataset
from smoothtask_trainer.services.tables import check_table_output, write_table
from smoothtask_trainer.services.validate_signals import unfilled_signals
from smoothtask_trainer.settings import DatasetSettings, ValidationSettings
from smoothtask_trainer.sqlite_errors import translated


def validate(
    db: str | Path,
    validation: ValidationSettings | None = None,
    dataset: DatasetSettings | None = None,
    features_out: str | Path | None = None,
) -> ValidationReport:
    """Measure a store and apply the data-quality gates (see `validate_and_build`)."""
    return validate_and_build(db, validation, dataset, features_out)[0]


def validate_and_build(
    db: str | Path,
    validation: ValidationSettings | None = None,
    dataset: DatasetSettings | None = None,
    features_out: str | Path | None = None,
) -> tuple[ValidationReport, Dataset | None]:
    """Measure a store and apply the data-quality gates; also return the dataset it built (for training).

    Args:
        db: The store.
        validation: Gate thresholds (`[validation]`).
        dataset: Window and label settings (`[dataset]`).
        features_out: Write the training matrix with keys and labels here (.csv or .parquet).

    Returns:
        The report (`report.ok` is False when a gate failed), and the dataset when one could be built.

    Raises:
        InputNotFoundError / StoreError: No usable store. ConfigError: a bad `features_out` or label mode.
    """
    started = time.perf_counter()
    validation = validation or ValidationSettings()
    dataset = dataset or DatasetSettings()
    out_path = _check_features_out(features_out, db)
    con = store.open_readonly(db)
    try:
        with translated(db, "reading"):
            stats = store_stats(con)
            snaps = snapshot_checks(con)
            unfilled = unfilled_signals(con)
        ds: Dataset | None = None
        build_error: str | None = None
        try:
            ds = build_dataset(db, dataset, con=con)
        except ConfigError as exc:
            if is_label_choice_error(exc, dataset.labels):
                raise
            build_error = f"nothing to train on: {exc.message}; {COLLECT_HINT}"
    finally:
        con.close()
    report = ValidationReport(db=str(db), ok=True, stats=stats, window_snapshots=0, rows=0, unfilled=unfilled, **snaps)
    return finish_report(report, ds, build_error, validation, dataset, out_path, started), ds


def finish_report(
    report: ValidationReport,
    ds: Dataset | None,
    build_error: str | None,
    validation: ValidationSettings,
    dataset: DatasetSettings,
    out_path: Path | None,
    started: float,
) -> ValidationReport:
    """Describe the dataset, write the training matrix, apply the gates (a store's or a feature dataset's)."""
    if ds is not None:
        describe_dataset(report, ds, dataset.labels)
        report.focus = focus.of_dataset(ds, None, dataset.attention_horizon_s, {}, FOCUS_WINDOW)
        if out_path is not None:
            write_features(ds, out_path)
            report.features_out = str(out_path)
    elif build_error:
        report.warnings.append(build_error)
    report.gates = apply_gates(report, validation, ds)
    report.ok = all(g.passed for g in report.gates)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


#: What `validate` evaluates the stub ranker's future focus on: every snapshot of the dataset (no model, no split).
FOCUS_WINDOW = "every snapshot of the dataset window"


def store_stats(con: sqlite3.Connection) -> StoreStats:
    one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
    first = one(
        "SELECT timestamp, julianday(timestamp) FROM snapshots WHERE julianday(timestamp) IS NOT NULL "
        "ORDER BY julianday(timestamp) LIMIT 1"
    )
    last = one(
        "SELECT timestamp, julianday(timestamp) FROM snapshots WHERE julianday(timestamp) IS NOT NULL "
        "ORDER BY julianday(timestamp) DESC LIMIT 1"
    )
    span = (last[1] - first[1]) * 86400.0 if first and last else 0.0
    return StoreStats(
        snapshot_count=one("SELECT COUNT(*) FROM snapshots")[0],
        process_count=one("SELECT COUNT(*) FROM processes")[0],
        group_count=one("SELECT COUNT(*) FROM app_groups")[0],
        unique_processes=one("SELECT COUNT(DISTINCT pid) FROM processes")[0],
        unique_process_instances=one("SELECT COUNT(*) FROM (SELECT DISTINCT pid, start_time FROM processes)")[0],
        unique_groups=one("SELECT COUNT(DISTINCT app_group_id) FROM app_groups")[0],
        time_range=TimeRange(start=first[0] if first else None, end=last[0] if last else None, span_s=round(span, 3)),
    )


def snapshot_checks(con: sqlite3.Connection) -> dict[str, object]:
    """PSI units and the daemon's cached-CPU zeros, from the snapshot table."""
    n, psi_max, zeros = con.execute(
        "SELECT COUNT(*), MAX(psi_cpu_some_avg10), SUM(COALESCE(cpu_user, 0) = 0 AND COALESCE(cpu_system, 0) = 0 "
        "AND COALESCE(cpu_idle, 0) = 0 AND COALESCE(cpu_iowait, 0) = 0) FROM snapshots"
    ).fetchone()
    # The kernel reports percent, so a value above 1 settles it. When every value is <= 1 it cannot be told
    # apart: a calm machine in percent looks like a busy one logged as a 0-1 fraction.
    unit = "percent" if psi_max is not None and psi_max > 1.0 else "unknown"
    return {
        "psi_unit": unit,
        "psi_cpu_max": psi_max,
        "cached_cpu_zero_rate": round((zeros or 0) / n, 4) if n else None,
    }


def describe_dataset(report: ValidationReport, ds: Dataset, requested: str) -> None:
    report.window_snapshots = int(ds.stats.get("snapshots_in_window", ds.n_queries))
    report.rows = ds.n_rows
    sizes = ds.query_sizes()
    report.rows_per_query = QuerySizes(
        queries=int(sizes.size),
        min=int(sizes.min()),
        median=float(np.median(sizes)),
        mean=round(float(sizes.mean()), 3),
        max=int(sizes.max()),
        with_two_or_more=int((sizes >= 2).sum()),
    )
    signal, _ = ranking_signal(ds)
    if ds.label_source in ("teacher_score", "attention", "combined"):  # scores in [0, 1]
        bins = np.clip(np.floor(ds.y * 10) / 10, 0, 1)
        values, counts = np.unique(bins, return_counts=True)
        dist = {f"{v:.1f}": int(c) for v, c in zip(values, counts, strict=True)}
    else:
        values, counts = np.unique(ds.y, return_counts=True)
        dist = {contract.CLASSES[int(v)]: int(c) for v, c in zip(values, counts, strict=True)}
    rule_hits = {str(k): v for k, v in (ds.stats.get("rule_hits") or {}).items()}
    report.labels = LabelStats(
        source=ds.label_source,
        requested=requested,
        distribution=dist,
        queries_with_signal=signal,
        signal_ratio=round(signal / max(ds.n_queries, 1), 4),
        rule_hits=rule_hits,
        rule_signals=dict(ds.stats.get("rule_signals") or {}),
    )
    n = max(ds.n_rows, 1)
    for f in cf.FEATURES:
        column = ds.X[:, f.index]
        lo, hi = float(column.min()), float(column.max())
        stat = FeatureStat(
            index=f.index,
            name=f.name,
            kind=f.kind,
            null_ratio=round(ds.null_counts.get(f.name, 0) / n, 4),
            constant=lo == hi,
            min=lo,
            max=hi,
            distinct=int(np.unique(column).size),
            key=f.key,
        )
        if f.name in cf.DEAD_FEATURES:
            stat.warning = "never computed by the daemon: constant 0 in production" + (
                "" if stat.constant and lo == 0 else "; NOT 0 here, so training would learn what production lacks"
            )
        elif f.name in cf.FORCED_UNKNOWN:
            stat.warning = "a label-like slot: always 'unknown' in training, as in production"
        elif stat.constant:
            stat.warning = "constant in this data: the model cannot use it"
        report.features.append(stat)
    if report.psi_unit == "unknown" and report.psi_cpu_max is not None:
        report.warnings.append(
            f"PSI never exceeds 1 (max psi_cpu_some_avg10 {report.psi_cpu_max:g}): a calm machine in percent, or a "
            "writer that logged 0-1 fractions; the daemon logs raw kernel percent (0-100)"
        )
    dead_live = [s.name for s in report.features if s.name in cf.DEAD_FEATURES and not (s.constant and s.max == 0)]
    if dead_live:
        report.warnings.append(f"features {dead_live} are never computed by the daemon but vary here")


def ranking_signal(ds: Dataset) -> tuple[int, int]:
    """(queries whose labels are not all equal, queries with at least 2 rows)."""
    order_sizes = ds.query_sizes()
    starts = np.concatenate([[0], np.cumsum(order_sizes)[:-1]])
    lo = np.minimum.reduceat(ds.y, starts) if ds.n_rows else np.array([])
    hi = np.maximum.reduceat(ds.y, starts) if ds.n_rows else np.array([])
    return int((hi > lo).sum()), int((order_sizes >= 2).sum())


#: What to run when a store holds nothing to train on.
COLLECT_HINT = (
    "ingest the daemon's snapshot logs first: smoothtask-trainer collect LOGS... --db STORE "
    "(or smoothtask-trainer pipeline --snapshots LOGS...)"
)


def is_label_choice_error(exc: ConfigError, labels: str) -> bool:
    """`labels=teacher` on a store without teacher labels, or `labels=attention` on one that never records a
    focused window: a usage error (exit 2), not missing data."""
    return labels in ("teacher", "attention") and exc.setting == "dataset.labels"


def nothing_to_train(db: str | Path, exc: ConfigError, dataset: DatasetSettings) -> ValidationFailed:
    """`build_dataset`'s "no snapshots" / "no app groups" as what it is: a failed data-quality gate (exit 3)."""
    window = dataset.since is not None or dataset.until is not None
    return ValidationFailed(
        f"nothing to train on in {db}: {exc.raw_message}",
        hint=(f"widen {opt('dataset.since')}/{opt('dataset.until')}, or " if window else "") + COLLECT_HINT,
    )


def gates_hint(report: ValidationReport) -> str:
    """What to do about failed gates: collect first when the store is empty."""
    if report.stats.snapshot_count == 0:
        return f"the store holds no snapshots: {COLLECT_HINT}"
    failed = ", ".join(opt(f"validation.{g.name}") for g in report.failed)
    return f"collect more snapshots, or lower the thresholds ({failed}; the [validation] settings)"


def require_ranking_signal(ds: Dataset) -> None:
    """Refuse to train on labels that cannot rank: every query constant, or no query with 2 or more groups.

    Raises:
        ValidationFailed: With what was found and what to do.
    """
    signal, multi = ranking_signal(ds)
    if multi == 0:
        raise ValidationFailed(
            f"no snapshot has 2 or more app groups ({ds.n_queries} snapshots): a ranker learns an order within a "
            "snapshot, so there is nothing to learn",
            hint="collect snapshots of a real desktop (many app groups each); check `smoothtask-trainer validate`",
        )
    if signal == 0:
        raise ValidationFailed(
            f"the {ds.label_source} labels are constant within every snapshot ({ds.n_queries} snapshots): "
            "they carry no ranking signal",
            hint=f"set {opt('dataset.labels')} to combined, attention or rules (docs/labels.md) if the teacher "
            "columns are uninformative",
        )


def apply_gates(report: ValidationReport, v: ValidationSettings, ds: Dataset | None) -> list[Gate]:
    s = report.stats
    median = report.rows_per_query.median if report.rows_per_query else 0.0
    signal = report.labels.signal_ratio if report.labels else 0.0
    gates = [
        ("min_snapshots", v.min_snapshots, s.snapshot_count, ">=", "snapshots in the store"),
        ("min_processes", v.min_processes, s.process_count, ">=", "process rows in the store"),
        ("min_groups", v.min_groups, s.group_count, ">=", "app-group rows in the store"),
        ("min_groups_per_query", v.min_groups_per_query, median, ">=", "median app groups per snapshot"),
        ("min_label_signal", v.min_label_signal, signal, ">=", "share of snapshots whose labels differ"),
        ("min_time_span_s", v.min_time_span_s, s.time_range.span_s, ">=", "seconds covered by the snapshots"),
    ]
    key_nulls = [(f.null_ratio, f.name) for f in report.features if f.key]
    worst = max(key_nulls) if key_nulls else (1.0 if ds is None else 0.0, "all")
    gates.append(
        ("max_null_ratio", v.max_null_ratio, worst[0], "<=", f"largest NULL share of a key feature ({worst[1]})")
    )
    out = []
    for name, threshold, measured, op, what in gates:
        passed = measured >= threshold if op == ">=" else measured <= threshold
        verdict = "ok" if passed else "FAILED"
        out.append(
            Gate(
                name=name,
                threshold=float(threshold),
                measured=float(measured),
                passed=passed,
                message=f"{what}: {measured:g} (needs {op} {threshold:g}) {verdict}",
            )
        )
    return out


def _check_features_out(path: str | Path | None, db: str | Path) -> Path | None:
    return check_table_output(path, db, "features_out", "features output")


def write_features(ds: Dataset, out: Path) -> None:
    """The training matrix with keys and labels, written atomically (temporary name, then rename)."""
    write_table(ds.to_frame(), out)


def raise_for_gates(report: ValidationReport) -> None:
    """ValidationFailed listing every failed gate (the seed API's ValueError)."""
    failed = report.failed
    if failed:
        raise ValidationFailed(
            "the dataset does not pass validation: " + "; ".join(f"{g.name}: {g.message}" for g in failed),
            report=report,
            hint=gates_hint(report),
        )
