"""A deterministic simulator of a Linux desktop as the SmoothTask daemon logs it.

The data source for tests, demos and benchmarks: a browser, an IDE, terminals running builds, players, a game,
indexers and updaters, system daemons and containers, with focus changes, idle periods and load-driven
pressure, written with the daemon's quirks (see docs/simulator.md) and, optionally, ground-truth teacher
labels.

    >>> from smoothtask_trainer.simulator import iter_snapshots
    >>> first = next(iter_snapshots(1, seed=7))
    >>> sorted(first)[:3]
    ['app_groups', 'audio_xruns_delta', 'bad_responsiveness']
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from smoothtask_trainer.simulator.engine import DEFAULT_START, PROFILES, Frame, Simulator
from smoothtask_trainer.simulator.render import SHAPES
from smoothtask_trainer.simulator.teacher import CLASSES as TEACHER_CLASSES
from smoothtask_trainer.simulator.writers import FORMATS, Progress, WriteStats, write_frames

__all__ = [
    "DEFAULT_START",
    "FORMATS",
    "PROFILES",
    "TEACHER_CLASSES",
    "Frame",
    "Simulator",
    "WriteStats",
    "iter_frames",
    "iter_snapshots",
    "write_snapshots",
]


def iter_frames(
    count: int,
    *,
    seed: int = 42,
    interval_ms: int = 500,
    labels: bool = True,
    start: datetime = DEFAULT_START,
    scale: float = 1.0,
    daemon_profile: Literal["stock", "full"] = "stock",
) -> Iterator[Frame]:
    """Yield `count` snapshots as column frames (the cheapest form; see `engine.Frame`).

    Arguments are checked at once, not when iteration starts.
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    sim = Simulator(
        seed=seed, interval_ms=interval_ms, start=start, labels=labels, scale=scale, daemon_profile=daemon_profile
    )
    return (sim.step() for _ in range(count))


def iter_snapshots(
    count: int,
    *,
    seed: int = 42,
    interval_ms: int = 500,
    labels: bool = True,
    shape: Literal["flat", "nested"] = "flat",
    start: datetime = DEFAULT_START,
    scale: float = 1.0,
    daemon_profile: Literal["stock", "full"] = "stock",
) -> Iterator[dict[str, Any]]:
    """Yield `count` snapshots as JSON-ready dicts.

    Args:
        count: Number of snapshots (>= 1).
        seed: Random seed; the same arguments always yield the same snapshots.
        interval_ms: Time between snapshots (the daemon's `polling_interval_ms`).
        labels: Fill `teacher_priority_class` / `teacher_score`; False leaves them None as the daemon does.
        shape: "flat" (every snapshot column at the top level) or "nested" (the daemon's serde shape).
        start: Timestamp of the first snapshot (naive means UTC).
        scale: Size of the desktop; 1.0 is ~40 app groups and ~190 processes per snapshot.
        daemon_profile: "stock" leaves empty what the stock daemon never fills (user activity, active streams,
            group tags, CPU shares, frame jank; ui_loop_p95_ms copies the sched p95; group ids are renumbered
            every snapshot); "full" fills all of it, as a fixed daemon would. The simulated desktop is the same.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    render = SHAPES[shape][1]
    frames = iter_frames(
        count,
        seed=seed,
        interval_ms=interval_ms,
        labels=labels,
        start=start,
        scale=scale,
        daemon_profile=daemon_profile,
    )
    for frame in frames:
        yield render(frame)


def write_snapshots(
    path: str | Path,
    format: Literal["jsonl", "jsonl-nested", "sqlite"] = "jsonl",
    *,
    count: int = 2000,
    seed: int = 42,
    interval_ms: int = 500,
    labels: bool = True,
    start: datetime = DEFAULT_START,
    scale: float = 1.0,
    daemon_profile: Literal["stock", "full"] = "stock",
    overwrite: bool = False,
    on_progress: Progress | None = None,
) -> WriteStats:
    """Simulate `count` snapshots and write them to `path` (a `.gz` name is gzip-compressed).

    Raises:
        OutputPathError: `path` is a directory, its directory is missing or read-only, or it exists and
            `overwrite` is False. Nothing is left behind on any error.
        ValueError: An unknown format or daemon profile, or an invalid count, interval or scale.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    frames = iter_frames(
        count,
        seed=seed,
        interval_ms=interval_ms,
        labels=labels,
        start=start,
        scale=scale,
        daemon_profile=daemon_profile,
    )
    return write_frames(Path(path), format, frames, count, overwrite=overwrite, on_progress=on_progress)
