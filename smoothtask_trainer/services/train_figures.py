"""What a trained model records for the report: its learning curve, every feature's importance and how its scores
spread over each label class on the held-out snapshots. Small enough to travel in the model's metadata.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from smoothtask_trainer.contract import features as contract

#: A label with more distinct values than this is binned into LABEL_BINS equal-width classes for the score spread.
MAX_LABEL_CLASSES = 8
LABEL_BINS = 5
#: The quantiles of a class's scores that the report draws as a box (whiskers at the outer two).
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


def _pick(names: list[str], wanted: str) -> str:
    """CatBoost's key for the metric `wanted` ("NDCG:top=5" may be reported as "NDCG:top=5;type=Base")."""
    for ok in (
        lambda n: n == wanted,
        lambda n: n.startswith(wanted + ";"),
        lambda n: n.split(":")[0] == wanted.split(":")[0],
    ):
        found = [n for n in names if ok(n)]
        if found:
            return found[0]
    return names[0]


def learning_curve(model: Any, best_iteration: int | None, eval_metric: str) -> dict[str, Any] | None:
    """The held-out (and, when CatBoost computed it, training) value of `eval_metric` per iteration."""
    evals = model.get_evals_result() or {}
    held = evals.get("validation") or {}
    if not held:
        return None
    metric = _pick(list(held), eval_metric)
    values = held[metric]
    learn = (evals.get("learn") or {}).get(metric)
    return {
        "metric": metric,
        "held_out": [round(float(v), 5) for v in values],
        "learn": [round(float(v), 5) for v in learn] if learn else None,
        "best_iteration": best_iteration,
    }


def importances(model: Any) -> list[list[Any]]:
    """Every feature's PredictionValuesChange importance (they sum to 100), largest first."""
    values = model.get_feature_importance(type="PredictionValuesChange")
    order = np.argsort(-values, kind="stable")
    return [[contract.FEATURE_NAMES[i], round(float(values[i]), 4)] for i in order]


def _label_classes(y: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Each row's label class (index) and the class names: the distinct values, or equal-width bins of many."""
    values = np.unique(y)
    if values.size <= MAX_LABEL_CLASSES:
        return np.searchsorted(values, y), [f"{v:g}" for v in values]
    edges = np.linspace(values[0], values[-1], LABEL_BINS + 1)
    idx = np.clip(np.searchsorted(edges, y, side="right") - 1, 0, LABEL_BINS - 1)
    return idx, [f"{edges[i]:.2g}–{edges[i + 1]:.2g}" for i in range(LABEL_BINS)]


def score_spread(raw: np.ndarray, y: np.ndarray) -> dict[str, Any] | None:
    """Per label class: rows and the quantiles of the score the daemon sees (the sigmoid of the raw score)."""
    if raw.size == 0:
        return None
    score = 1.0 / (1.0 + np.exp(-np.asarray(raw, dtype=np.float64)))
    idx, names = _label_classes(np.asarray(y, dtype=np.float64))
    classes = []
    for i, name in enumerate(names):
        part = score[idx == i]
        if part.size:
            q = np.quantile(part, QUANTILES)
            classes.append({"label": name, "rows": int(part.size), "quantiles": [round(float(v), 5) for v in q]})
    return {"score": "sigmoid(raw), as the daemon sees it", "quantiles": list(QUANTILES), "classes": classes}


def training_figures(
    model: Any, eval_metric: str, best_iteration: int | None, raw: np.ndarray | None, y: np.ndarray | None
) -> dict[str, Any]:
    """The report's model figures: `raw` and `y` are the held-out scores and labels (None: nothing held out)."""
    return {
        "learning_curve": learning_curve(model, best_iteration, eval_metric),
        "feature_importance": importances(model),
        "score_spread": score_spread(raw, y) if raw is not None and y is not None else None,
    }
