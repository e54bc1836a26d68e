"""The `train` report."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from smoothtask_trainer.schemas.focus import FocusEvaluation
from smoothtask_trainer.schemas.model import ArtifactEntry


class SplitInfo(BaseModel):
    rows: int
    queries: int
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None


class TrainReport(BaseModel):
    """What was trained, how well it ranks held-out snapshots, and what was written."""

    db: str
    ok: bool = True
    label_source: str
    params: dict[str, Any] = Field(description="the resolved CatBoost parameters")
    train: SplitInfo
    eval: SplitInfo | None = Field(
        None, description="the latest snapshots, held out (None when train.eval_fraction is 0)"
    )
    metrics: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="NDCG@1/3/5/10 on the held-out snapshots: model, stub ranker, random order"
    )
    focus: FocusEvaluation | None = Field(
        None,
        description="label-free: NDCG@5 of future focus among the focusable groups not focused, on the held-out "
        "snapshots, for the model, the stub ranker and random order (None when nothing is held out)",
    )
    better_than_stub_by: dict[str, bool | None] = Field(
        default_factory=dict,
        description="per measure (labels, future_focus): the model beats the stub ranker on the held-out "
        "snapshots; None where the measure could not be computed; empty when nothing is held out",
    )
    best_iteration: int | None = None
    trees: int = 0
    feature_importance: list[tuple[str, float]] = Field(default_factory=list, description="top features")
    data_fingerprint: str
    seconds: dict[str, float] = Field(default_factory=dict, description="dataset, fit, export, total")
    artifacts: list[ArtifactEntry] = Field(default_factory=list)
    daemon_config: str | None = Field(None, description="what to put in the daemon's YAML (ONNX only)")
    warnings: list[str] = Field(default_factory=list)
    report: str | None = Field(None, description="the HTML report of this part, when asked for")
