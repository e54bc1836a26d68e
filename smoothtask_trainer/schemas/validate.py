"""The `validate` report: what is in a store, and whether it can train a good ranker."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from smoothtask_trainer.schemas.focus import FocusEvaluation


class TimeRange(BaseModel):
    start: str | None = Field(description="earliest snapshot timestamp, as stored")
    end: str | None = Field(description="latest snapshot timestamp, as stored")
    span_s: float = Field(0.0, description="seconds between them")


class StoreStats(BaseModel):
    """The seed's statistics (row counts over the whole store)."""

    snapshot_count: int
    process_count: int = Field(description="process rows")
    group_count: int = Field(description="app-group rows")
    unique_processes: int = Field(description="distinct pids (pids are reused: an upper bound of nothing)")
    unique_process_instances: int = Field(description="distinct (pid, start_time)")
    unique_groups: int = Field(description="distinct app_group_id values (they are not stable across snapshots)")
    time_range: TimeRange


class FeatureStat(BaseModel):
    """One of the 51 features over the dataset: NULL share, range, and whether the daemon fills it."""

    index: int = Field(description="position in the daemon's feature vector (0-50)")
    name: str = Field(description="the contract's name of the feature")
    kind: str = Field(description="numeric, bool or categorical (hashed)")
    null_ratio: float = Field(description="share of rows whose source value is NULL (before the daemon's default)")
    constant: bool = Field(description="one value in every row (after defaults)")
    min: float
    max: float
    distinct: int = Field(description="distinct values (after defaults and hashing)")
    key: bool = Field(description="a value the daemon fills in normal operation (its NULL ratio is gated)")
    warning: str | None = None


class QuerySizes(BaseModel):
    """App groups per snapshot (the ranking's query sizes)."""

    queries: int
    min: int
    median: float
    mean: float
    max: int
    with_two_or_more: int = Field(description="queries (snapshots) with at least 2 app groups")


class LabelStats(BaseModel):
    """Where the labels came from, and how many snapshots they can rank."""

    source: Literal["teacher_score", "teacher_class", "rules", "attention", "combined"]
    requested: str
    distribution: dict[str, int] = Field(description="rows per label value (scores in 0.1-wide bins)")
    queries_with_signal: int = Field(description="queries whose labels are not all equal")
    signal_ratio: float
    rule_hits: dict[str, int] = Field(default_factory=dict, description="rows decided by each rule (rules only)")
    rule_signals: dict[str, str] = Field(
        default_factory=dict, description="rules only: the signal each rule family could use on this store"
    )


class Gate(BaseModel):
    """One data-quality gate: its threshold, what was measured, and the verdict."""

    name: str
    threshold: float
    measured: float
    passed: bool
    message: str


class UnfilledSignal(BaseModel):
    """A signal the store never carries, and what that does to the daemon's policy."""

    signal: str
    consequence: str


class ValidationReport(BaseModel):
    """Everything `validate` measured, and which gates failed."""

    db: str
    ok: bool
    stats: StoreStats
    window_snapshots: int = Field(description="snapshots in the dataset window")
    rows: int = Field(description="dataset rows (snapshot x app group)")
    rows_per_query: QuerySizes | None = None
    labels: LabelStats | None = None
    features: list[FeatureStat] = Field(default_factory=list)
    psi_unit: Literal["percent", "unknown"] = Field(
        "unknown", description="percent once any value exceeds 1; unknown while every value is <= 1"
    )
    psi_cpu_max: float | None = None
    cached_cpu_zero_rate: float | None = Field(
        None, description="share of snapshots whose four CPU fractions are all 0 (the daemon's metrics cache)"
    )
    focus: FocusEvaluation | None = Field(
        None,
        description="label-free: how well the daemon's stub ranker and random order predict the app focused next "
        "(NDCG@5 of future focus) over the dataset window: how much signal the log holds for it",
    )
    gates: list[Gate] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)
    unfilled: list[UnfilledSignal] = Field(
        default_factory=list, description="signals never filled in this store (a stock daemon never fills them)"
    )
    features_out: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> list[Gate]:
        return [g for g in self.gates if not g.passed]
