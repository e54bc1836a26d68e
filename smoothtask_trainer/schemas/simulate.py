"""Options and result of `simulate` (the workload simulator's service)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from smoothtask_trainer.flag import Flag

SimulateFormat = Literal["jsonl", "jsonl-nested", "sqlite"]
#: Which daemon writes the log: `stock` leaves empty what the stock daemon never fills, `full` fills it.
DaemonProfile = Literal["stock", "full"]

#: The first snapshot's timestamp unless told otherwise: fixed, so that output never depends on the clock.
DEFAULT_START = datetime(2025, 12, 12, 6, 33, 51, tzinfo=UTC)


class SimulateOptions(BaseModel):
    """What to simulate and where to write it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    output: Annotated[Path, Flag(short="-o")] = Field(
        description="file to write; a name ending in .gz is gzip-compressed (SQLite too)"
    )
    format: Annotated[SimulateFormat, Flag()] = Field(
        "jsonl",
        description="what to write: jsonl (the flat seed shape), jsonl-nested (the daemon's serde shape) or "
        "sqlite (a daemon-schema database)",
    )
    snapshots: Annotated[int, Flag()] = Field(2000, ge=1, description="number of snapshots (daemon loop iterations)")
    seed: Annotated[int, Flag()] = Field(
        42, description="random seed; the same seed and options give byte-identical output"
    )
    interval_ms: Annotated[int, Flag()] = Field(
        500, ge=1, description="time between snapshots (the daemon's polling_interval_ms)"
    )
    labels: Annotated[bool, Flag()] = Field(
        True, description="write the ground-truth teacher labels (off: NULLs, as the real daemon writes)"
    )
    daemon_profile: Annotated[DaemonProfile, Flag()] = Field(
        "stock",
        description="stock: what the stock daemon logs (user_active 0, time_since_last_input_ms, CPU shares and "
        "frame_jank_ratio NULL, has_active_stream false, group tags [], ui_loop_p95_ms a copy of the sched p95, "
        "app_group_id renumbered every snapshot); full: all of it filled, as a fixed daemon would",
    )
    start: datetime = Field(DEFAULT_START, description="timestamp of the first snapshot (naive means UTC)")
    scale: Annotated[float, Flag()] = Field(
        1.0, ge=0.05, le=16, description="desktop size: 1.0 is ~40 app groups, ~190 processes"
    )
    overwrite: Annotated[bool, Flag(negatable=False)] = Field(False, description="replace an existing output file")

    @field_validator("start")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SimulateResult(BaseModel):
    """What `simulate` wrote."""

    output: Path
    format: SimulateFormat
    compressed: bool = Field(description="the file is gzip-compressed")
    snapshots: int
    processes: int = Field(description="process rows written")
    app_groups: int = Field(description="app-group rows written")
    bytes_written: int = Field(description="size of the finished file on disk")
    seconds: float
    labels: bool
    daemon_profile: DaemonProfile
    seed: int
    scale: float
    interval_ms: int
