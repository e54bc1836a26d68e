"""A model against the simulator's ground truth: what only a simulated store can tell (no Typer or rich here).

A model trained the way real logs allow (rules, attention, combined: no teacher columns) is judged on the store's
teacher labels, which the simulator writes from the hidden state of the desktop and no real daemon log has. The
held-out window is the one `train` uses (the latest `train.eval_fraction` of snapshots), so the figure is directly
comparable with the one `train` printed against its own labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smoothtask_trainer import metrics
from smoothtask_trainer.schemas.pipeline import GroundTruth
from smoothtask_trainer.settings import DatasetSettings, TrainSettings


def onnx_scores(model: Path, X: np.ndarray) -> np.ndarray:
    """The ONNX model's score per row of the contract's 51 features."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    out = session.run(None, {name: np.ascontiguousarray(X, dtype=np.float32)})[0]
    return np.asarray(out, dtype=np.float64).reshape(len(X), -1)[:, 0]


def against_ground_truth(db: str | Path, model: Path, train: TrainSettings, dataset: DatasetSettings) -> GroundTruth:
    """Held-out NDCG@5 of the model, the daemon's stub ranker and random order against the store's teacher."""
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.train import time_split

    truth = build_dataset(db, dataset.model_copy(update={"labels": "teacher"}))
    _, held = time_split(truth, train.eval_fraction)
    X, y, q = truth.X[held], truth.y[held], truth.query[held]
    figures = {
        "model": metrics.ndcg(y, onnx_scores(model, X), q)["ndcg@5"],
        "stub_ranker": metrics.ndcg(y, metrics.stub_scores(X), q)["ndcg@5"],
        "random": metrics.ndcg(y, metrics.random_scores(len(y)), q)["ndcg@5"],
    }
    return GroundTruth(snapshots=int(np.unique(q).size), ndcg5=figures)
