"""What `tune` reports: per threshold key, its value before and after, why, and the objective's figures."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Objective(BaseModel):
    name: str
    tuning: float = Field(description="the best value on the tuning window")
    heldout: dict[str, float] = Field(description="before (input value) and after (tuned value) on the held-out window")


class KnobReport(BaseModel):
    before: Any
    after: Any
    status: Literal["tuned", "unchanged", "not-tunable"]
    reason: str
    objective: Objective | None = None


class TuneReport(BaseModel):
    db: str
    fingerprint: str = Field("", description="a short identity of what was tuned (the store's, or the sources')")
    snapshots: int
    tuning_snapshots: int
    holdout_snapshots: int
    ncpu: int
    ranker: str = Field("none", description="the ranker replayed: none (rules-only), stub or model")
    model: str | None = None
    knobs: dict[str, KnobReport]
    hysteresis_curve: list[dict[str, float | None]] = Field(
        default_factory=list, description="churn and lag per priority_hysteresis_stable_sec"
    )
    output: str | None = None
    seconds: float = 0.0
    report: str | None = Field(None, description="the HTML report of this part, when asked for")
