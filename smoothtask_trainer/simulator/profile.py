"""The two daemon profiles: what the stock daemon leaves empty, and what a fixed daemon would fill.

The simulated desktop is the same in both profiles (the extra signals of `full` draw from their own random
stream), so the same seed gives the same processes, groups and teacher labels; only the logged columns differ.

stock (policy-replay.md §5): `user_active` 0 and `time_since_last_input_ms` NULL (the input tracker is never
fed), `has_active_stream` false for every PipeWire client, group `tags` `[]` (classified before the group id is
assigned), CPU shares NULL (never computed), `frame_jank_ratio` NULL, `ui_loop_p95_ms` a copy of
`sched_latency_p95_ms`, `app_group_id` renumbered every snapshot.

full: the input tracker's values, active streams, group tags as the union of the members' tags, CPU shares
(`cpu_share_1s` / `cpu_share_10s`: share of the whole machine over the last 1 s / 10 s, exponentially averaged;
`total_cpu_share` the members' maximum of the 10 s share, as the grouper defines it), a UI-loop p95 and frame
jank of the focused window, and group ids keyed by the root pid, stable while the app lives.
"""

from __future__ import annotations

import math
from typing import get_args

import numpy as np

from smoothtask_trainer.schemas.simulate import DaemonProfile
from smoothtask_trainer.simulator.procs import ProcessTable

PROFILES: tuple[DaemonProfile, ...] = get_args(DaemonProfile)
#: A frame slower than this misses a 60 Hz refresh.
FRAME_MS = 1000.0 / 60.0


class CpuShares:
    """Per-process CPU share of the whole machine, averaged over ~1 s and ~10 s (the full profile's columns)."""

    def __init__(self) -> None:
        self.pid = np.zeros(0, dtype=np.int64)
        self.s1 = np.zeros(0)
        self.s10 = np.zeros(0)

    def update(self, table: ProcessTable, live: np.ndarray, got: np.ndarray, dt: float, ncpu: int) -> None:
        """Fold in one interval: `got` is the cores each live slot used."""
        if self.pid.size < table.capacity:
            grow = table.capacity - self.pid.size
            self.pid = np.r_[self.pid, np.full(grow, -1, dtype=np.int64)]
            self.s1, self.s10 = np.r_[self.s1, np.zeros(grow)], np.r_[self.s10, np.zeros(grow)]
        share = got / ncpu
        fresh = self.pid[live] != table.pid[live]  # a new process in a reused slot starts from its first interval
        self.pid[live] = table.pid[live]
        for avg, tau in ((self.s1, 1.0), (self.s10, 10.0)):
            alpha = 1.0 - math.exp(-dt / tau)
            old = np.where(fresh, share, avg[live])
            avg[live] = old + alpha * (share - old)

    def of(self, listed: np.ndarray) -> tuple[list[float], list[float]]:
        """`cpu_share_1s` and `cpu_share_10s` of the listed slots, rounded as a float column would be logged."""
        return np.round(self.s1[listed], 6).tolist(), np.round(self.s10[listed], 6).tolist()


def group_max(values: list[float], positions: list[np.ndarray]) -> list[float | None]:
    """The grouper's `total_cpu_share`: the largest member share of each group."""
    arr = np.asarray(values, dtype=np.float64)
    return [float(arr[pos].max()) if pos.size else None for pos in positions]


def ui_loop(
    rng: np.random.Generator, p95: float | None, focus_level: float | None, cpu_pressure: float
) -> tuple[float | None, float | None]:
    """UI-loop p95 (ms) and frame-jank ratio of the focused window; NULL without a focused window or samples.

    The focused app's own work and the CPU contention it meets add to the scheduling delay its main loop sees.
    """
    if p95 is None or focus_level is None:
        return None, None
    base = 3.0 + 5.0 * focus_level + 0.8 * p95 + 0.25 * cpu_pressure
    ui = base * float(rng.lognormal(0.0, 0.2))
    jank = min(1.0, max(0.0, (ui - FRAME_MS) / 60.0 + float(rng.normal(0.0, 0.01))))
    return round(ui, 3), round(jank, 4)


def stable_ids(member_group: list[str], positions: list[np.ndarray], root_pids: list[int]) -> list[str]:
    """Group ids keyed by the root pid (`app-<pid>`), in group order; rewrites `member_group` in place."""
    ids = [f"app-{pid}" for pid in root_pids]
    for gid, pos in zip(ids, positions, strict=True):
        for p in pos.tolist():
            member_group[p] = gid
    return ids
