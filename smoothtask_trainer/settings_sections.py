"""The settings sections, one per concern: what each command's options and the config file's tables hold.

`settings.py` assembles them into `TrainerSettings` and loads them (flags, environment, TOML file); every name here
is also importable from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smoothtask_trainer.class_mix import normalise_class_mix
from smoothtask_trainer.flag import Flag


class Section(BaseModel):
    """Base of every settings section: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    #: The help panel of the section's command-line options.
    panel: ClassVar[str | None] = None


class CollectSettings(Section):
    """`collect`: how snapshot logs are ingested into the store."""

    max_errors: Annotated[
        int | None,
        Flag(unset="no limit", shorthand=("--strict", 0, "Fail a file on its first bad record (= --max-errors 0).")),
    ] = Field(
        default=None,
        ge=0,
        description="Skipped records allowed per file before the file fails and is rolled back (0: strict).",
    )
    error_examples: int = Field(
        default=5, ge=0, le=1000, description="How many skipped-record locations each file report lists."
    )
    parallel: Annotated[bool, Flag()] = Field(
        default=True,
        description="Decode JSONL in a second process while this one writes the store.",
    )
    lock_timeout_s: float = Field(
        default=120.0,
        ge=0,
        le=86400,
        description="Seconds to wait for another process's write to the same store (another collect, one file "
        "at a time) before failing; everything committed is kept either way.",
    )
    max_line_bytes: int = Field(
        default=64 << 20,
        ge=1024,
        le=1 << 40,
        description="Longest JSONL line (bytes) decoded; a longer one is skipped as a bad record without being held "
        "in memory. A real snapshot, even with thousands of processes, is a few MB at most; 64 MiB leaves a wide "
        "margin and keeps memory bounded on a corrupt file (a crash's tail of NUL bytes has no newline).",
    )


class DatasetSettings(Section):
    """`dataset`: which snapshots become training rows, and where their labels come from."""

    panel: ClassVar[str | None] = "Dataset"

    labels: Annotated[Literal["auto", "teacher", "rules", "attention", "combined"], Flag()] = Field(
        default="auto",
        description="label source (docs/labels.md): teacher (the log's columns), rules (the rule teacher), attention "
        "(what the user did next), combined (rules' guardrails, attention for the rest), auto (teacher, else combined)",
    )
    attention_horizon_s: Annotated[float, Flag()] = Field(
        default=120.0,
        gt=0,
        le=86_400,
        description="future focus (attention labels, the label-free focus NDCG): how far ahead of each snapshot "
        "the log is read",
    )
    responsiveness_correction: Annotated[bool, Flag()] = Field(
        default=True, description="rule teacher: push down groups that hold CPU/IO while the system is unresponsive"
    )
    max_snapshots: Annotated[int | None, Flag(unset="all")] = Field(
        default=None, ge=1, description="use at most this many snapshots (see sample)"
    )
    sample: Annotated[Literal["latest", "uniform"], Flag()] = Field(
        default="latest", description="with max_snapshots: the latest ones, or a uniform random sample"
    )
    sample_seed: Annotated[int, Flag()] = Field(default=42, description="random seed of the uniform sample")
    since: Annotated[datetime | None, Flag(unset="no limit")] = Field(
        default=None, description="only snapshots at or after this time (ISO 8601, UTC if no offset)"
    )
    until: Annotated[datetime | None, Flag(unset="no limit")] = Field(
        default=None, description="only snapshots before this time (ISO 8601, UTC if no offset)"
    )


class ValidationSettings(Section):
    """`validation`: the data-quality gates `validate` (and `pipeline`) apply."""

    panel: ClassVar[str | None] = "Gates"

    min_snapshots: Annotated[int, Flag()] = Field(default=1, ge=0, description="fewest snapshot rows in the store")
    min_processes: Annotated[int, Flag()] = Field(default=10, ge=0, description="fewest process rows in the store")
    min_groups: Annotated[int, Flag()] = Field(default=1, ge=0, description="fewest app-group rows in the store")
    min_groups_per_query: Annotated[float, Flag()] = Field(
        default=2.0, ge=0, description="smallest median of app groups per snapshot (a ranking needs at least 2)"
    )
    min_label_signal: Annotated[float, Flag()] = Field(
        default=0.5, ge=0, le=1, description="smallest share of snapshots whose labels are not all equal"
    )
    min_time_span_s: Annotated[float, Flag("--min-time-span")] = Field(
        default=0.0, ge=0, description="fewest seconds between the first and last snapshot"
    )
    max_null_ratio: Annotated[float, Flag()] = Field(
        default=0.5, ge=0, le=1, description="largest share of NULLs allowed in a key feature (see docs/features.md)"
    )


RankingLoss = Literal[
    "YetiRank", "YetiRankPairwise", "PairLogit", "PairLogitPairwise", "QueryRMSE", "QuerySoftMax", "LambdaMart"
]


#: CatBoost metrics that rank within groups (usable as eval_metric for a CatBoostRanker).
RANKING_METRICS = (
    *("NDCG", "DCG", "PFound", "MAP", "MRR", "ERR", "AverageGain", "PrecisionAt", "RecallAt"),
    *("QueryRMSE", "QueryAUC", "PairAccuracy", "FilteredDCG"),
)


class TrainSettings(Section):
    """`train`: the CatBoostRanker and how it is evaluated."""

    panel: ClassVar[str | None] = "Training"

    loss: Annotated[RankingLoss, Flag()] = Field(default="YetiRank", description="CatBoost ranking loss function")
    iterations: Annotated[int, Flag()] = Field(default=500, ge=1, le=100_000, description="maximum number of trees")
    depth: Annotated[int, Flag()] = Field(default=6, ge=1, le=16, description="tree depth")
    learning_rate: Annotated[float, Flag()] = Field(default=0.1, gt=0, le=1, description="boosting learning rate")
    seed: Annotated[int, Flag()] = Field(
        default=42, ge=0, description="random seed (the same data and seed give the same model)"
    )
    threads: Annotated[int | None, Flag(unset="all cores")] = Field(default=None, ge=1, description="CPU threads")
    border_count: Annotated[int | None, Flag(unset="CatBoost's, 254")] = Field(
        default=None, ge=1, le=65535, description="borders per float feature"
    )
    eval_fraction: Annotated[
        float, Flag(shorthand=("--no-eval", 0.0, "Train on every snapshot, hold none out (= --eval-fraction 0)."))
    ] = Field(
        default=0.2,
        ge=0,
        lt=1,
        description="latest share of snapshots held out for evaluation and early stopping (0: train on everything)",
    )
    early_stopping_rounds: Annotated[int | None, Flag(unset="never")] = Field(
        default=50, ge=1, description="stop after this many iterations without a better held-out NDCG"
    )
    eval_metric: str = Field(default="NDCG:top=5", description="CatBoost metric for early stopping")
    categorical: Annotated[Literal["hashed", "native"], Flag()] = Field(
        default="hashed",
        description="the six categorical features as hashed, the daemon's hash codes as numbers "
        "(ONNX-exportable), or native, CatBoost categorical features (JSON/CBM only)",
    )
    allow_worse_than_stub: Annotated[bool, Flag(negatable=False)] = Field(
        default=False,
        description="write the model even when its held-out NDCG@5 is not strictly above the daemon's stub "
        "ranker's, or when too few snapshots are held out to compare them (it is then reported as not ready; "
        "without it, nothing is written and the exit code is 3)",
    )

    @field_validator("eval_metric")
    @classmethod
    def _ranking_metric(cls, value: str) -> str:
        if value.split(":", 1)[0] not in RANKING_METRICS:
            raise ValueError(
                f"{value!r} is not a CatBoost ranking metric; use one of {', '.join(RANKING_METRICS)}, optionally "
                "with parameters such as NDCG:top=5"
            )
        return value


class ExportSettings(Section):
    """`export`: model export (filled in by the `export` command)."""


class PolicySettings(Section):
    """`policy`: replaying the daemon's policy (and, later, tuning its thresholds)."""

    panel: ClassVar[str | None] = "Policy"

    ncpu: Annotated[int | None, Flag(unset="this machine's CPU count")] = Field(
        default=None,
        ge=1,
        le=4096,
        description="CPU count of the machine that wrote the logs: the load level divides load_avg_one by it, and "
        "the log does not record it",
    )
    holdout_fraction: Annotated[float, Flag()] = Field(
        default=0.2, gt=0, lt=1, description="tune: the latest share of snapshots kept out to judge the tuned values"
    )
    harm_horizon_s: Annotated[float, Flag()] = Field(
        default=10.0, gt=0, le=3600, description="tune: harm counts when it follows within this many seconds"
    )
    harm_latency_ms: Annotated[float, Flag()] = Field(
        default=50.0, gt=0, le=10_000, description="tune: a scheduling latency p99 above this is harm"
    )
    harm_beta: Annotated[float, Flag()] = Field(
        default=1.0, gt=0, le=10, description="tune: the beta of the F-beta score of the PSI flag against harm"
    )
    max_churn_per_group_hour: Annotated[float | None, Flag(unset="10 % above the curve's lowest")] = Field(
        default=None, gt=0, description="tune: the churn budget priority_hysteresis_stable_sec must meet"
    )
    class_mix: Annotated[str | None, Flag(unset="no budget: the cut-offs follow the store's labels")] = Field(
        default=None,
        description="tune: the wanted share of ranker-decided groups per class, as "
        "idle=0.1,background=0.15,normal=0.5,interactive=0.2,crit=0.05 (or a TOML table); shares in [0, 1] "
        "summing to 1, a class left out wants 0; when set, the four percentile cut-offs are tuned to meet it",
    )
    idle_gap_quantile: Annotated[float, Flag()] = Field(
        default=0.95,
        gt=0,
        le=1,
        description="tune: user_idle_timeout_sec becomes the shortest timeout within which input resumes after "
        "this share of the input pauses",
    )
    trials: Annotated[int, Flag()] = Field(default=200, ge=1, le=100_000, description="tune: search trials per knob")
    tune_seed: Annotated[int, Flag("--seed")] = Field(
        default=42, ge=0, description="tune: seed of the search (the same seed and store give the same result)"
    )

    @field_validator("class_mix", mode="before")
    @classmethod
    def _class_mix(cls, value: object) -> str | None:
        return normalise_class_mix(value)


class FeaturesSettings(Section):
    """`features`: building the Parquet feature dataset on a Dask cluster (docs/scale.md)."""

    panel: ClassVar[str | None] = "Cluster"

    workers: Annotated[int | None, Flag(unset="one per CPU, at most one per source")] = Field(
        default=None, ge=1, le=1024, description="worker processes of the local Dask cluster"
    )
    scheduler: Annotated[str | None, Flag(unset="a local cluster")] = Field(
        default=None,
        min_length=1,
        description="address of an existing Dask scheduler (tcp://HOST:8786) to run on instead of a local cluster",
    )
    host_from: Annotated[Literal["file", "directory"], Flag()] = Field(
        default="file", description="a source's host: its file name without extensions, or its directory's name"
    )
    worker_memory_mb: int = Field(default=2048, ge=256, description="memory limit of each local Dask worker (MB)")
    range_snapshots: Annotated[int | None, Flag(unset="never split")] = Field(
        default=100_000,
        ge=2,
        description="split a daemon database of more snapshots into time ranges of this many, one task each",
    )
