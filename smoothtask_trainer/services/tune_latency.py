"""`sched_latency_p99_threshold_ms` against its one independent target: audio xruns (PipeWire data).

Latency spikes are what the threshold thresholds, so scoring it against them would be circular; xruns are measured
by PipeWire, independently. The flag `sched_latency_p99_ms > x` should predict xruns that follow; the space is
one-dimensional, so the candidates are searched exhaustively (every distinct logged p99, in range). Without xruns in
the tuning window the key stays as it is, with that reason; `ui_loop_p95_threshold_ms` is kept at or below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from smoothtask_trainer.schemas.tune import KnobReport
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.tune_common import exhaustive, f_beta
from smoothtask_trainer.settings import PolicySettings

SCHED, UI = "sched_latency_p99_threshold_ms", "ui_loop_p95_threshold_ms"
#: The daemon's range for both keys: (0, 1000] ms.
LOW, HIGH = 0.0, 1000.0


def xrun_harm(s: eng.Snapshots, horizon_s: float) -> np.ndarray:
    """Xruns (not in the first snapshot after a gap, whose count is cumulative) in (t, t + horizon]."""
    t = s.snapshot_id.astype(np.int64)
    interval = float(np.median(np.diff(t))) if t.size > 1 else 1000.0
    after_gap = np.r_[True, np.diff(t) > 3 * interval]
    with np.errstate(invalid="ignore"):
        times = t[(s.xruns > 0) & ~after_gap]
    return np.searchsorted(times, t + int(horizon_s * 1000), side="right") > np.searchsorted(times, t, side="right")


def tune_sched_latency(
    s: eng.Snapshots, cut: int, t_in: Mapping[str, Any], p: PolicySettings, force: bool
) -> dict[str, KnobReport]:
    truth = xrun_harm(s, p.harm_horizon_s)
    tuning = np.arange(s.snapshot_id.size) < cut
    keep = {
        k: KnobReport(
            before=t_in[k],
            after=t_in[k],
            status="unchanged",
            reason="no xruns in the tuning window (no PipeWire data, or none happened): latency spikes are what it "
            "thresholds, so tuning it against them would be circular",
        )
        for k in (SCHED, UI)
    }
    candidates = np.unique(s.sched_p99[tuning & ~np.isnan(s.sched_p99)])
    candidates = candidates[(candidates > LOW) & (candidates <= HIGH)]
    if not truth[tuning].any() or candidates.size == 0:
        return keep

    def score(x: float, mask: np.ndarray) -> float:
        with np.errstate(invalid="ignore"):
            return f_beta((s.sched_p99 > x)[mask], truth[mask], p.harm_beta)

    name = f"F{p.harm_beta:g} of latency p99 > x against xruns within {p.harm_horizon_s:g} s"
    best, objective = exhaustive(candidates, score, tuning, t_in[SCHED], name)
    before, after = objective.heldout["before"], objective.heldout["after"]
    if after < before and not force:
        keep[SCHED] = KnobReport(
            before=t_in[SCHED],
            after=t_in[SCHED],
            status="unchanged",
            reason=f"worse on the held-out snapshots ({after:.4f} < {before:.4f})",
            objective=objective,
        )
        return keep
    keep[SCHED] = KnobReport(
        before=t_in[SCHED],
        after=best,
        status="tuned",
        reason="best F-beta against xruns that follow",
        objective=objective,
    )
    if float(t_in[UI]) > best:  # the daemon requires sched_latency_p99_threshold_ms >= ui_loop_p95_threshold_ms
        keep[UI] = KnobReport(
            before=t_in[UI], after=best, status="tuned", reason=f"lowered to stay at or below {SCHED} ({best:g})"
        )
    return keep
