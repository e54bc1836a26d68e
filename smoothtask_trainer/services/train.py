"""`train`: a CatBoostRanker on the daemon's feature contract, evaluated on the latest snapshots, exported.

The dataset is the one `validate` describes (one row per snapshot and app group, the 51 features). The latest
`eval_fraction` of snapshots (by time, never shuffled) is held out for early stopping and the report, which
compares the model with the daemon's StubRanker and random order on the same snapshots: by the labels, and by
what the user focused next (`services.focus`, no label). A model must beat the stub ranker on each measure that
could be computed to be written as ready.
"""

from __future__ import annotations

import hashlib
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import __version__, contract, metrics
from smoothtask_trainer.errors import ConfigError, TrainingError, ValidationFailed, opt
from smoothtask_trainer.files import ensure_parent
from smoothtask_trainer.schemas.focus import FocusEvaluation
from smoothtask_trainer.schemas.model import ExportMetadata
from smoothtask_trainer.schemas.train import SplitInfo, TrainReport
from smoothtask_trainer.services import focus as focus_eval
from smoothtask_trainer.services.artifacts import check_targets
from smoothtask_trainer.services.dataset import Dataset, build_dataset
from smoothtask_trainer.services.train_figures import training_figures
from smoothtask_trainer.services.validate import is_label_choice_error, nothing_to_train, require_ranking_signal
from smoothtask_trainer.settings import DatasetSettings, TrainSettings

#: on_progress(iteration, total iterations, current held-out metric or None)
ProgressFn = Callable[[int, int, "float | None"], None]
#: A model is presented as ready only when its held-out NDCG@5 is strictly above the daemon's stub ranker's by
#: more than STUB_MARGIN, both as reported (rounded to 6 decimals): a tie is not better. This holds for each of the
#: two measures that could be computed: by the labels, and by future focus (label-free; it needs
#: `focus.MIN_JUDGING_SNAPSHOTS` judging snapshots). Otherwise `train` refuses (exit 3) and writes nothing, unless
#: `allow_worse_than_stub`.
STUB_METRIC = "ndcg@5"
STUB_MARGIN = 0.0
#: The two measures, as named in the report's `better_than_stub_by` and the metadata.
BY_LABELS, BY_FOCUS = "labels", "future_focus"
_REFUSED_HINT = (
    "collect more (and more varied) snapshots with smoothtask-trainer collect, or try other labels or more "
    f"iterations; {opt('train.allow_worse_than_stub')} writes the model anyway, marked as such"
)


def check_outputs(
    outputs: dict[str, Path | None],
    settings: TrainSettings,
    inputs: Sequence[tuple[str, str | Path | None]] = (),
) -> dict[str, Path]:
    """The requested model files, checked before any training starts.

    `inputs` are ``(role, path)`` of the files the run reads (the store, snapshot logs): no model file or its
    metadata sidecar may be one of them, or another output.
    """
    targets = {fmt: Path(p) for fmt, p in outputs.items() if p is not None}
    if not targets:
        raise ConfigError("no output file given", hint=f"name at least one of {opt('outputs')}")
    check_targets(targets, inputs)  # suffixes, directories, sidecars, inputs: before minutes of training
    if "onnx" in targets and settings.categorical == "native":
        raise ConfigError(
            f"{opt('model_onnx')} with {opt('train.categorical')} native: the daemon feeds the 6 categorical slots as "
            "hashed floats, and CatBoost cannot export categorical features to ONNX",
            hint=f"use the default {opt('train.categorical')} hashed (the daemon's own encoding) for a model the "
            "daemon can load",
            setting="train.categorical",
        )
    for path in targets.values():
        ensure_parent(path)
    return targets


def time_split(ds: Dataset, eval_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks (train, eval): the latest `eval_fraction` of the queries, by time, are held out."""
    queries = np.unique(ds.query, return_index=True)[1]
    order = ds.query[np.sort(queries)]  # queries in row order, which is time order
    n_eval = int(round(order.size * eval_fraction)) if eval_fraction > 0 else 0
    if n_eval == 0 or n_eval >= order.size:
        return np.ones(ds.n_rows, bool), np.zeros(ds.n_rows, bool)
    held = np.isin(ds.query, order[-n_eval:])
    return ~held, held


def fingerprint(ds: Dataset) -> str:
    """sha256 of what the model was trained on: the float32 matrix, the labels and the query ids."""
    h = hashlib.sha256()
    for array in (ds.X, ds.y, ds.query):
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def catboost_params(s: TrainSettings, train_dir: str, with_eval: bool) -> dict[str, Any]:
    params: dict[str, Any] = {
        "loss_function": s.loss,
        "iterations": s.iterations,
        "depth": s.depth,
        "learning_rate": s.learning_rate,
        "random_seed": s.seed,
        "thread_count": s.threads or -1,
        "train_dir": train_dir,
        "verbose": False,
    }
    if s.border_count is not None:
        params["border_count"] = s.border_count
    if with_eval:
        params["eval_metric"] = s.eval_metric
        params["use_best_model"] = True
        if s.early_stopping_rounds is not None:
            params["od_type"] = "Iter"
            params["od_wait"] = s.early_stopping_rounds
    return params


class _Progress:
    """A CatBoost callback reporting each iteration (and the held-out metric) to `on_progress`."""

    def __init__(self, total: int, on_progress: ProgressFn | None) -> None:
        self.total, self.on_progress = total, on_progress

    def after_iteration(self, info: Any) -> bool:
        if self.on_progress is not None:
            value = None
            validation = info.metrics.get("validation") or {}
            for series in validation.values():
                value = series[-1] if series else None
                break
            self.on_progress(info.iteration, self.total, value)
        return True


def _pool(ds: Dataset, mask: np.ndarray, native: bool) -> Any:
    from catboost import Pool

    X = ds.X[mask]
    if native:
        import pandas as pd

        frame = pd.DataFrame(X, columns=list(contract.FEATURE_NAMES))
        for i in contract.CAT_FEATURE_INDICES:
            frame.iloc[:, i] = frame.iloc[:, i].astype(np.int64)
        frame = frame.astype({contract.FEATURE_NAMES[i]: np.int64 for i in contract.CAT_FEATURE_INDICES})
        return Pool(frame, ds.y[mask], group_id=ds.query[mask], cat_features=list(contract.CAT_FEATURE_INDICES))
    return Pool(X, ds.y[mask], group_id=ds.query[mask], feature_names=list(contract.FEATURE_NAMES))


def train(
    db: str | Path,
    outputs: dict[str, Path | None],
    settings: TrainSettings | None = None,
    dataset: DatasetSettings | None = None,
    on_progress: ProgressFn | None = None,
    metadata: dict[str, Any] | None = None,
    prebuilt: Dataset | None = None,
) -> TrainReport:
    """Train a ranker on the store `db` and write the requested model files.

    Args:
        db: The store.
        outputs: ``{"json": path | None, "onnx": path | None, "cbm": path | None}``; at least one path.
        settings: `[train]` settings. dataset: `[dataset]` settings (window, labels).
        on_progress: Called after each boosting iteration.
        metadata: Extra metadata keys for the exported files (never mutated).
        prebuilt: The dataset of `db` with these `dataset` settings, already built (by `validate`), so the store
            is not read twice.

    Raises:
        ConfigError / OutputPathError: Bad outputs or options (before any work).
        ValidationFailed: Nothing to train on (an empty store or window), labels that cannot rank, or a model
            that is not better than the daemon's stub ranker on the held-out snapshots, or cannot be compared
            with it (too few snapshots to hold any out); `.report` is the TrainReport when there is one. Exit 3;
            no model file is written. The last two are allowed by `settings.allow_worse_than_stub`.
        TrainingError: CatBoost failed.
    """
    from catboost import CatBoostError, CatBoostRanker
    from catboost import __version__ as catboost_version

    from smoothtask_trainer.services.export import daemon_config_hint, write_artifacts

    settings = settings or TrainSettings()
    dataset = dataset or DatasetSettings()
    targets = check_outputs(outputs, settings, inputs=[("store", db)])
    t0 = time.perf_counter()
    try:
        ds = prebuilt if prebuilt is not None else build_dataset(db, dataset)
    except ConfigError as exc:
        if is_label_choice_error(exc, dataset.labels):
            raise
        raise nothing_to_train(db, exc, dataset) from exc
    require_ranking_signal(ds)
    train_mask, eval_mask = time_split(ds, settings.eval_fraction)
    with_eval = bool(eval_mask.any())
    unjudged = not with_eval and settings.eval_fraction > 0  # asked to hold out, but too few snapshots
    if unjudged and not settings.allow_worse_than_stub:
        raise ValidationFailed(
            f"{ds.n_queries} snapshot(s) are too few to hold out the latest {settings.eval_fraction:.0%} and still "
            "train: the model could not be compared with the daemon's stub ranker; no model file was written",
            hint=f"collect more snapshots with smoothtask-trainer collect (or change {opt('train.eval_fraction')}); "
            f"{opt('train.allow_worse_than_stub')} writes the model anyway, marked as not compared",
        )
    t_data = time.perf_counter()
    native = settings.categorical == "native"
    with tempfile.TemporaryDirectory(prefix="smoothtask-catboost-") as train_dir:
        params = catboost_params(settings, train_dir, with_eval)
        model = CatBoostRanker(**params)
        try:
            model.fit(
                _pool(ds, train_mask, native),
                eval_set=_pool(ds, eval_mask, native) if with_eval else None,
                callbacks=[_Progress(settings.iterations, on_progress)],
            )
        except CatBoostError as exc:
            raise TrainingError(
                f"CatBoost could not train: {exc}", hint="check the data with `smoothtask-trainer validate`"
            ) from exc
    t_fit = time.perf_counter()
    report = TrainReport(
        db=str(db),
        label_source=ds.label_source,
        params={k: v for k, v in params.items() if k not in ("train_dir", "verbose")},
        train=_split_info(ds, train_mask),
        eval=_split_info(ds, eval_mask) if with_eval else None,
        data_fingerprint=fingerprint(ds),
        trees=int(model.tree_count_),
        best_iteration=model.get_best_iteration() if with_eval else None,
    )
    better, raw = None, None
    if with_eval:
        report.metrics, raw = _evaluate(model, ds, eval_mask, native)
        window = f"the held-out latest {settings.eval_fraction:.0%} of snapshots"
        report.focus = focus_eval.of_dataset(ds, eval_mask, dataset.attention_horizon_s, {"model": raw}, window)
        report.better_than_stub_by = stub_comparison(report.metrics, report.focus)
        better = better_than_stub(report.metrics, report.focus)
        if not better:
            verdict = not_better_message(report.metrics, report.focus)
            if not settings.allow_worse_than_stub:
                report.ok = False
                report.warnings.append(verdict)
                raise ValidationFailed(f"{verdict}; no model file was written", report=report, hint=_REFUSED_HINT)
            report.warnings.append(f"{verdict}; written anyway (train.allow_worse_than_stub): NOT ready for the daemon")
    elif unjudged:
        report.warnings.append(
            "too few snapshots to hold any out: the model was NOT compared with the daemon's stub ranker; written "
            "anyway (train.allow_worse_than_stub): NOT shown to be ready for the daemon"
        )
    else:
        report.warnings.append(
            "no held-out snapshots (train.eval_fraction = 0): no quality figures; the model was not compared with the "
            "daemon's "
            "stub ranker"
        )
    figures = training_figures(
        model, settings.eval_metric, report.best_iteration, raw, ds.y[eval_mask] if with_eval else None
    )
    report.feature_importance = [(name, round(value, 3)) for name, value in figures["feature_importance"][:10]]
    meta = ExportMetadata(
        **{
            "dataset_size": ds.n_rows,
            "features": list(contract.FEATURE_NAMES),
            "training_date": datetime.now(UTC).isoformat(timespec="seconds"),
            "trainer_version": __version__,
            "catboost_version": catboost_version,
            "python_version": platform.python_version(),
            "contract_version": contract.CONTRACT_VERSION,
            "n_features": contract.N_FEATURES,
            "categorical_mode": settings.categorical,
            "cat_feature_indices": list(contract.CAT_FEATURE_INDICES) if native else [],
            "label_source": ds.label_source,
            "params": report.params,
            "metrics": {
                "held_out": report.metrics,
                "future_focus": report.focus.model_dump() if report.focus else None,  # label-free, held out
                "best_iteration": report.best_iteration,
                "better_than_stub_ranker": better,  # None: not compared (nothing held out)
                "better_than_stub_ranker_by": report.better_than_stub_by,  # per measure; None: not computed
            },
            "data_fingerprint": report.data_fingerprint,
            "figures": figures,  # what the report draws: learning curve, importances, held-out score spread
            "dataset": {
                "db": str(db),
                "rows": ds.n_rows,
                "queries": ds.n_queries,
                "first_ts_ms": int(ds.ts_ms[0]),
                "last_ts_ms": int(ds.ts_ms[-1]),
            },
            **(metadata or {}),
        }
    )
    check_rows = ds.X[eval_mask if with_eval else train_mask][:2000]
    try:
        report.artifacts = write_artifacts(model, targets, meta, check_rows)
    except CatBoostError as exc:
        raise TrainingError(f"CatBoost could not save the model: {exc}") from exc
    t_export = time.perf_counter()
    if "onnx" in targets:
        report.daemon_config = daemon_config_hint(targets["onnx"])
    report.seconds = {
        "dataset": round(t_data - t0, 3),
        "fit": round(t_fit - t_data, 3),
        "export": round(t_export - t_fit, 3),
        "total": round(t_export - t0, 3),
    }
    return report


def stub_comparison(
    metrics: dict[str, dict[str, float]], focus: FocusEvaluation | None = None
) -> dict[str, bool | None]:
    """Per measure, whether the model beats the daemon's stub ranker on the held-out snapshots (None: that
    measure could not be computed); empty when nothing was held out."""
    if not metrics:
        return {}
    by: dict[str, bool | None] = {
        BY_LABELS: metrics["model"][STUB_METRIC] > metrics["stub_ranker"][STUB_METRIC] + STUB_MARGIN
    }
    by[BY_FOCUS] = None
    if focus is not None and focus.model is not None and focus.stub_ranker is not None:
        by[BY_FOCUS] = focus.model > focus.stub_ranker + STUB_MARGIN
    return by


def better_than_stub(metrics: dict[str, dict[str, float]], focus: FocusEvaluation | None = None) -> bool | None:
    """Whether the model beats the daemon's stub ranker on the held-out snapshots on every measure that could be
    computed: the labels' NDCG@5, and the label-free future-focus NDCG@5 (None: no figures)."""
    if not metrics:
        return None
    return all(v for v in stub_comparison(metrics, focus).values() if v is not None)


def comparison_parts(
    metrics: dict[str, dict[str, float]], focus: FocusEvaluation | None = None
) -> list[tuple[str, bool]]:
    """(model vs stub ranker figures, the model beats it) per measure that could be computed, losses first."""
    by = stub_comparison(metrics, focus)
    label = metrics["model"][STUB_METRIC], metrics["stub_ranker"][STUB_METRIC]
    parts = [("by the labels: NDCG@5 model {:.4f}, stub ranker {:.4f}".format(*label), bool(by[BY_LABELS]))]
    if focus is not None and by.get(BY_FOCUS) is not None:
        text = f"by future focus, no labels: NDCG@5 model {focus.model:.4f}, stub ranker {focus.stub_ranker:.4f}"
        parts.append((text, bool(by[BY_FOCUS])))
    return sorted(parts, key=lambda p: p[1])  # stable: the labels first among equals


def comparison_figures(metrics: dict[str, dict[str, float]], focus: FocusEvaluation | None = None) -> str:
    """Model vs stub ranker on each measure that could be computed, the ones the model does not win first."""
    parts = comparison_parts(metrics, focus)
    lost = [text for text, beats in parts if not beats]
    won = [text for text, beats in parts if beats]
    return "; ".join(lost + ([f"it does beat it {' and '.join(won)}"] if lost and won else won))


def not_better_message(metrics: dict[str, dict[str, float]], focus: FocusEvaluation | None = None) -> str:
    """What `train` says when the model does not beat the stub ranker: which measure, with the figures."""
    return (
        "the model is not better than the daemon's stub ranker on the held-out snapshots: "
        f"{comparison_figures(metrics, focus)} (it must be strictly higher on each measure that could be computed)"
    )


def _split_info(ds: Dataset, mask: np.ndarray) -> SplitInfo:
    ts = ds.ts_ms[mask]
    return SplitInfo(
        rows=int(mask.sum()),
        queries=int(np.unique(ds.query[mask]).size),
        first_ts_ms=int(ts.min()) if ts.size else None,
        last_ts_ms=int(ts.max()) if ts.size else None,
    )


def _evaluate(model: Any, ds: Dataset, mask: np.ndarray, native: bool) -> tuple[dict[str, dict[str, float]], Any]:
    """NDCG@k of the model, the daemon's stub ranker and random order on the held-out snapshots; and the model's
    scores of those rows."""
    X, y, q = ds.X[mask], ds.y[mask], ds.query[mask]
    raw = model.predict(_pool(ds, mask, native))
    return {
        "model": metrics.ndcg(y, raw, q),
        "stub_ranker": metrics.ndcg(y, metrics.stub_scores(X), q),
        "random": metrics.ndcg(y, metrics.random_scores(len(y)), q),
    }, raw
