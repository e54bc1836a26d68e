"""Results of `features`: the Parquet feature dataset built from many snapshot logs on a Dask cluster."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

SourceStatus = Literal["built", "already-built", "failed", "not-attempted"]


class Shard(BaseModel):
    """One Parquet file of the dataset: the rows of one source on one day."""

    path: str = Field(description="relative to the dataset directory: host=H/day=YYYY-MM-DD/part-SHA.parquet")
    day: str
    rows: int = Field(description="rows: one per (snapshot, app group)")
    training_rows: int = Field(description="rows with a label (the training rows of the store path)")
    snapshots: int
    ts_min_ms: int
    ts_max_ms: int


class SourceReport(BaseModel):
    """What one source contributed to the dataset, or why it did not."""

    source: str = Field(description="absolute path of the snapshot log")
    part: str | None = Field(None, description="rNNN: one time range of a large daemon database (docs/scale.md)")
    kind: str | None = Field(None, description="jsonl, jsonl.gz, sqlite or sqlite.gz")
    host: str
    status: SourceStatus
    sha256: str | None = None
    size_bytes: int | None = None
    shards: list[Shard] = Field(default_factory=list)
    label_source: str | None = Field(None, description="the label source the rows carry (resolved from the mode)")
    store_stats: dict[str, Any] = Field(default_factory=dict, description="the source's store statistics")
    snapshot_checks: dict[str, Any] = Field(default_factory=dict, description="PSI unit and cached-CPU zeros")
    unfilled: list[str] = Field(default_factory=list, description="signals the source never carries")
    null_counts: dict[str, int] = Field(default_factory=dict, description="raw NULLs per feature, every group row")
    stats: dict[str, Any] = Field(default_factory=dict, description="the dataset builder's statistics (rule hits)")
    skipped_records: int = 0
    warnings: list[str] = Field(default_factory=list)
    worker: str | None = Field(None, description="the Dask worker that built it")
    seconds: float = 0.0
    peak_rss_mb: float | None = Field(None, description="the worker process's peak resident memory after the task")
    error: str | None = Field(None, description="why the source failed")

    @property
    def rows(self) -> int:
        return sum(s.rows for s in self.shards)


class FeaturesResult(BaseModel):
    """The outcome of one `features` run."""

    dataset: str
    ok: bool = Field(description="every source is in the dataset")
    scheduler: str = Field(description="the Dask scheduler's address")
    workers: int = Field(description="Dask workers the run used")
    sources: list[SourceReport]
    rows: int = Field(0, description="rows in the whole dataset after this run")
    snapshots: int = Field(0, description="snapshots in the whole dataset after this run")
    seconds: float = 0.0

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]
