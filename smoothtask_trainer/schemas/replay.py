"""What `replay` reports: the daemon's decisions on a store, summarised."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from smoothtask_trainer.schemas.focus import FocusEvaluation


class FlagCheck(BaseModel):
    """A snapshot flag recomputed under the thresholds, against the logged value."""

    recomputed_true: int
    logged_true: int
    compared: int = Field(description="snapshots where the logged value is not NULL")
    mismatches: int = Field(description="a non-zero count at the logging config means another config was active")


class Unreachable(BaseModel):
    rules: list[str]
    reason: str


class TeacherAgreement(BaseModel):
    """The replayed classes against the store's teacher classes (synthetic or hand-labelled stores only)."""

    rows: int
    exact: float = Field(description="share of rows whose replayed class is the teacher's")
    mean_class_distance: float = Field(description="mean |replayed grade - teacher grade| (IDLE 0 … CRIT 4)")
    confusion: dict[str, dict[str, int]] = Field(description="teacher class -> replayed class -> rows")


class ChurnLag(BaseModel):
    """Class changes and focus-to-interactive lag, per the most stable group identity of the store."""

    key: str = Field(description="the identity used: app_group_id, or app_name+root_pid")
    key_stability: float = Field(description="mean Jaccard similarity of consecutive snapshots' key sets")
    group_hours: float = Field(description="time the keys were observed (gaps over 10 intervals left out)")
    class_changes: int
    churn_per_group_hour: float | None = None
    focus_gains: int
    lag_median_s: float | None = Field(None, description="focus gain -> INTERACTIVE or higher, median seconds")
    lag_p95_s: float | None = None
    focus_gains_never_interactive: int = Field(description="focus gains that lost focus before reaching it")


class AppliedCheck(BaseModel):
    """The replayed class against the actuator's (nice, ionice) signature logged at the process's next snapshot."""

    process_rows_with_signature: int = Field(description="process rows carrying one of the 5 class signatures")
    compared: int
    matches: int
    match_rate: float | None = Field(None, description="low on logs of another policy, dry-run, or failed applies")


class Outcomes(BaseModel):
    """What the log itself measured, whatever the replay decides: the figures an A/B of two configs compares."""

    snapshots: int
    observed_hours: float = Field(description="logged time, gaps of more than 3 polling intervals left out")
    harm_latency_ms: float = Field(description="policy.harm_latency_ms: a sched latency p99 above it is harm")
    harm_horizon_s: float = Field(description="policy.harm_horizon_s")
    harm_events: int = Field(description="snapshots with p99 above the bar or xruns (not after a gap)")
    harm_event_share: float
    harm_followed_share: float = Field(description="snapshots followed by a harm event within the horizon")
    xruns_per_hour: float | None = None
    sched_p99_median_ms: float | None = None
    sched_p99_p95_ms: float | None = None
    psi_cpu_mean: float | None = Field(None, description="mean psi_cpu_some_avg10, in the kernel's percent")


class DiffRow(BaseModel):
    snapshot_id: int
    app_group_id: str
    this: str
    this_reason: str
    against: str
    against_reason: str


class PolicyDiff(BaseModel):
    """Where two policies decide differently on the same snapshots."""

    differing: int
    share: float
    transitions: dict[str, dict[str, int]] = Field(description="this policy's class -> the other's -> decisions")
    sample: list[DiffRow] = Field(default_factory=list, description="differing decisions spread over the store")


class ReplayReport(BaseModel):
    db: str
    ranker: Literal["none", "stub", "model"]
    model: str | None = None
    policy_mode: Literal["rules-only", "hybrid"]
    ncpu: int = Field(description="CPU count for the load level (not in the log; this machine's unless given)")
    thresholds: dict[str, float | None]
    config_problems: list[str] = Field(
        default_factory=list, description="what the daemon would reject in the given daemon config"
    )
    snapshots: int
    groups: int = Field(description="(snapshot, app group) decisions")
    class_mix: dict[str, int]
    ranker_class_mix: dict[str, int] = Field(description="classes of the groups no rule caught (rule M)")
    decisions_by_rule: dict[str, int] = Field(description="G1, G2, R1-R5, M (ranker) or D (default)")
    load_categories: dict[str, int] = Field(description="snapshots per load category")
    scaled: int = Field(description="decisions changed by dynamic scaling")
    held: int = Field(description="decisions where the scaler's hysteresis kept an earlier class")
    bad_responsiveness: FlagCheck
    unreachable: list[Unreachable] = Field(default_factory=list, description="rules these logs cannot fire")
    teacher: TeacherAgreement | None = None
    churn: ChurnLag | None = None
    applied: AppliedCheck | None = None
    outcomes: Outcomes | None = Field(None, description="what the log measured (not the replay): for A/B periods")
    focus: FocusEvaluation | None = Field(
        None,
        description="label-free: NDCG@5 of future focus over the whole store, for the replayed model (None with the "
        "stub ranker or no ranker), the daemon's stub ranker and random order",
    )
    against: ReplayReport | None = Field(None, description="the second policy of a comparison")
    diff: PolicyDiff | None = None
    classes_out: str | None = None
    seconds: float = 0.0
    report: str | None = Field(None, description="the HTML report of this part, when asked for")
