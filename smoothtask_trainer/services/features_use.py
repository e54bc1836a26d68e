"""`validate` and `train` on a feature dataset (`--features DATASET/`) instead of a store.

The dataset is read (`features_read`: window pushed down, sample uniform per host) into the same `Dataset` the
store path builds, then the store path's own code describes, gates and trains it. The store-wide facts `validate`
reports (row counts, time range, PSI unit, cached-CPU zeros, unfilled signals) come from the manifest, which holds
each source's, measured on its store by the worker; like a store's, they describe every source read, not only the
window.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.schemas.features import SourceReport
from smoothtask_trainer.schemas.validate import StoreStats, TimeRange, UnfilledSignal, ValidationReport
from smoothtask_trainer.services import features_read
from smoothtask_trainer.services.dataset import Dataset
from smoothtask_trainer.services.tables import check_table_output
from smoothtask_trainer.services.validate import COLLECT_HINT, finish_report, is_label_choice_error
from smoothtask_trainer.services.validate_signals import CHECKS
from smoothtask_trainer.settings import DatasetSettings, TrainSettings, ValidationSettings


def validate_features(
    features: str | Path,
    validation: ValidationSettings | None = None,
    dataset: DatasetSettings | None = None,
    features_out: str | Path | None = None,
) -> tuple[ValidationReport, Dataset | None]:
    """`validate_and_build` of a feature dataset: the same report, gates and training matrix."""
    started = time.perf_counter()
    validation, dataset = validation or ValidationSettings(), dataset or DatasetSettings()
    out_path = check_table_output(features_out, features, "features_out", "features output")
    ds: Dataset | None = None
    build_error = None
    try:
        frame, sources = features_read.read_rows(features, dataset)
        ds = features_read.dataset_of(frame, sources)
    except ConfigError as exc:
        if is_label_choice_error(exc, dataset.labels) or exc.setting is not None:
            raise
        build_error = f"nothing to train on: {exc.message}; {COLLECT_HINT}"
        from smoothtask_trainer.services import features_manifest as mf

        sources = mf.entries(mf.open_dataset_manifest(features)[1])
    report = ValidationReport(
        db=str(features), ok=True, stats=_stats(sources), window_snapshots=0, rows=0, unfilled=_unfilled(sources)
    )
    for key, value in _snapshot_checks(sources).items():
        setattr(report, key, value)
    return finish_report(report, ds, build_error, validation, dataset, out_path, started), ds


def train_features(
    features: str | Path,
    outputs: dict[str, Path | None],
    settings: TrainSettings | None = None,
    dataset: DatasetSettings | None = None,
    on_progress: Any = None,
) -> Any:
    """`train` on a feature dataset's (sampled) rows: one machine, CatBoost, the store path's checks and files."""
    from smoothtask_trainer.services.train import train

    dataset = dataset or DatasetSettings()
    ds, _ = features_read.load_dataset(features, dataset)
    return train(features, outputs, settings, dataset, on_progress=on_progress, prebuilt=ds)


def _stats(sources: list[SourceReport]) -> StoreStats:
    parts = [StoreStats.model_validate(s.store_stats) for s in sources if s.store_stats]
    if len(parts) == 1:
        return parts[0]
    total = {k: sum(getattr(p, k) for p in parts) for k in StoreStats.model_fields if k != "time_range"}
    shards = [sh for s in sources for sh in s.shards]
    first = min(parts, key=lambda p: p.time_range.start or "~", default=None)
    last = max(parts, key=lambda p: p.time_range.end or "", default=None)
    span = (max(sh.ts_max_ms for sh in shards) - min(sh.ts_min_ms for sh in shards)) / 1000 if shards else 0.0
    return StoreStats(
        **total,
        time_range=TimeRange(
            start=first.time_range.start if first else None, end=last.time_range.end if last else None, span_s=span
        ),
    )


def _snapshot_checks(sources: list[SourceReport]) -> dict[str, Any]:
    checks = [(s.snapshot_checks, s.store_stats.get("snapshot_count", 0)) for s in sources if s.snapshot_checks]
    if len(checks) == 1:
        return checks[0][0]
    psi = [c["psi_cpu_max"] for c, _ in checks if c.get("psi_cpu_max") is not None]
    rated = [(c["cached_cpu_zero_rate"], n) for c, n in checks if c.get("cached_cpu_zero_rate") is not None]
    snapshots = sum(n for _, n in rated)
    return {
        "psi_unit": "percent" if psi and max(psi) > 1.0 else "unknown",
        "psi_cpu_max": max(psi) if psi else None,
        "cached_cpu_zero_rate": round(sum(r * n for r, n in rated) / snapshots, 4) if snapshots else None,
    }


def _unfilled(sources: list[SourceReport]) -> list[UnfilledSignal]:
    """The signals no source carries."""
    if not sources:
        return []
    never = set.intersection(*(set(s.unfilled) for s in sources))
    return [UnfilledSignal(signal=sig, consequence=why) for sig, _, why in CHECKS if sig in never]
