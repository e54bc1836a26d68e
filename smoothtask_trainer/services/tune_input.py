"""`user_idle_timeout_sec` from the input pauses, `noisy_neighbour_cpu_share` against harm that follows.

Both are inert with the stock daemon, which never fills `time_since_last_input_ms` nor `total_cpu_share`
(policy-replay.md §5): on its logs they stay as they are, reported as not tunable with the figure. Where a daemon
fills them (a fixed input tracker, CPU shares):

- `user_idle_timeout_sec` (`user_active = tsli <= T*1000`): the shortest whole-second T within which input resumes
  after at least `policy.idle_gap_quantile` of the input pauses of the tuning window. A pause ends where tsli falls
  (an input came); its length is the idle time tsli had reached at the snapshot before, so the daemon's own
  comparison decides whether the user stayed active through it. Only pauses within a logging session, and longer
  than both one polling interval and the daemon's shortest timeout (1 s), count: shorter pauses end before any
  timeout could expire, and the log sees them only by chance. Judged on the held-out pauses by how far the share
  they cover lies from the target quantile. The pauses are measured input, not computed from the timeout.
- `noisy_neighbour_cpu_share` (R5): "some unfocused group has `total_cpu_share > f32(x)`" should predict harm that
  follows (the PSI objective's harm: latency p99 or xruns, measured independently of CPU shares); F-beta,
  `policy.harm_beta`; every threshold in (0, 1] that flags a different set of snapshots is tried.

`interactive_build_grace_sec` is read nowhere by the daemon. No typer or rich here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from smoothtask_trainer.contract.policy import f32
from smoothtask_trainer.schemas.tune import KnobReport, Objective
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.tune_common import exhaustive, f_beta, harm, kept, session_breaks, short_cut
from smoothtask_trainer.settings import PolicySettings

IDLE, NOISY, GRACE = "user_idle_timeout_sec", "noisy_neighbour_cpu_share", "interactive_build_grace_sec"
#: The daemon's range for user_idle_timeout_sec: whole seconds in (0, 86400].
IDLE_MAX_S = 86_400
#: Fewest input pauses in the tuning window to fit the timeout to.
MIN_PAUSES = 10


def input_pauses(s: eng.Snapshots) -> tuple[np.ndarray, np.ndarray]:
    """(length in ms, index of the snapshot where input resumed) of every counted input pause, in time order."""
    if s.tsli.size < 2:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    t = s.snapshot_id.astype(np.int64)
    interval = float(np.median(np.diff(t)))
    prev, cur = s.tsli[:-1], s.tsli[1:]
    with np.errstate(invalid="ignore"):  # NaN (no input seen yet, e.g. after a restart) breaks the chain
        resumed = ~session_breaks(t)[1:] & (cur < prev) & (prev > max(interval, 1000.0))
    at = np.flatnonzero(resumed) + 1
    return prev[resumed], at


def coverage(pauses: np.ndarray, timeout_s: float) -> float:
    """Share of the pauses through which the user stays active (`tsli <= T*1000`, as the daemon compares)."""
    return float((pauses <= timeout_s * 1000).mean()) if pauses.size else 0.0


def tune_idle_timeout(
    s: eng.Snapshots, cut: int, t_in: Mapping[str, Any], p: PolicySettings, force: bool
) -> KnobReport:
    filled = int((~np.isnan(s.tsli)).sum())
    n = s.tsli.size
    if filled == 0:
        return kept(
            [IDLE],
            t_in,
            f"time_since_last_input_ms is NULL in all {n:,} snapshots (the stock daemon never fills it): there are "
            "no input gaps to learn from",
            "not-tunable",
        )[IDLE]
    pauses, at = input_pauses(s)
    tuning, hold = pauses[at < cut], pauses[at >= cut]
    if tuning.size < MIN_PAUSES:
        return kept(
            [IDLE],
            t_in,
            f"{filled:,} of {n:,} snapshots carry time_since_last_input_ms, but the tuning window holds "
            f"{tuning.size} input pause(s) longer than 1 s and one polling interval (at least {MIN_PAUSES} needed)",
        )[IDLE]
    q = p.idle_gap_quantile
    ordered = np.sort(tuning)
    grid = np.arange(1, IDLE_MAX_S + 1)  # every whole second the daemon accepts
    share = np.searchsorted(ordered, grid * 1000, side="right") / ordered.size
    meets = np.flatnonzero(share >= q - 1e-12)
    note = ""
    if meets.size:
        value = int(grid[meets[0]])
    else:
        value = IDLE_MAX_S
        note = f"; the daemon's range binds: even {IDLE_MAX_S:,} s covers only {share[-1]:.3f} of the pauses"
    before, after = coverage(hold, float(t_in[IDLE])), coverage(hold, value)
    objective = Objective(
        name=f"share of input pauses that end within the timeout (target {q:g}, policy.idle_gap_quantile)",
        tuning=round(float(share[value - 1]), 4),
        heldout={"before": round(before, 4), "after": round(after, 4)},
    )
    status = "tuned"
    reason = f"the shortest timeout within which input resumes after {q:g} of the {tuning.size:,} pauses" + note
    if hold.size == 0:
        reason = (
            f"the tuning window's {tuning.size:,} pauses give {value} s, but no input pause in the held-out "
            "snapshots judges it"
        )
        if not force:
            return KnobReport(before=t_in[IDLE], after=t_in[IDLE], status="unchanged", reason=reason + "; input kept")
        return KnobReport(before=t_in[IDLE], after=value, status="tuned", reason=reason + "; kept because forced")
    if abs(after - q) > abs(before - q) + 1e-12:
        status, reason = "unchanged", f"further from the target on the held-out pauses ({after:.4f} vs {before:.4f})"
    if status == "unchanged" and force:
        status, reason = "tuned", reason + "; kept because forced"
    elif status == "unchanged":
        value = t_in[IDLE]
    return KnobReport(before=t_in[IDLE], after=value, status=status, reason=reason, objective=objective)


def unfocused_peak(g: eng.Groups, n_snapshots: int) -> np.ndarray:
    """Per snapshot, the largest total_cpu_share of an unfocused group (NaN where none is logged)."""
    peak = np.full(n_snapshots, np.nan)
    rows = ~np.isnan(g.total_cpu_share) & ~g.focused
    np.fmax.at(peak, g.snap[rows], g.total_cpu_share[rows])
    return peak


def share_candidates(peaks: np.ndarray) -> np.ndarray:
    """Every x in (0, 1] that flags a different set of these peaks (one between each two distinct values, one
    below the smallest, and 1.0), ascending."""
    levels = np.unique(peaks[peaks > 0])
    inner = [short_cut(0.0, float(levels[0]), above=False)] if levels.size else []
    inner += [
        short_cut(float(a), float(b), above=False) for a, b in zip(levels[:-1], levels[1:], strict=True) if b <= 1
    ]
    return np.unique(np.r_[[c for c in inner if 0 < c <= 1], 1.0])


def noisy_flag(peak: np.ndarray, x: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return peak > f32(x)  # NaN: no share, no flag


def tune_noisy_neighbour(
    g: eng.Groups, s: eng.Snapshots, cut: int, t_in: Mapping[str, Any], p: PolicySettings, force: bool
) -> KnobReport:
    filled = int((~np.isnan(g.total_cpu_share)).sum())
    if filled == 0:
        return kept(
            [NOISY],
            t_in,
            f"total_cpu_share is NULL in all {g.snap.size:,} group rows (the stock daemon never fills it): nothing "
            "tells a noisy group apart",
            "not-tunable",
        )[NOISY]
    truth = harm(s, p.harm_horizon_s, p.harm_latency_ms)
    tuning = np.arange(s.snapshot_id.size) < cut
    if not truth[tuning].any():
        return kept(
            [NOISY],
            t_in,
            f"no harm (latency p99 > {p.harm_latency_ms:g} ms or xruns) in the tuning window to predict",
        )[NOISY]
    peak = unfocused_peak(g, s.snapshot_id.size)
    candidates = share_candidates(peak[tuning & ~np.isnan(peak)])

    def score(x: float, mask: np.ndarray) -> float:
        return f_beta(noisy_flag(peak, x)[mask], truth[mask], p.harm_beta)

    name = f"F{p.harm_beta:g} of 'an unfocused group's CPU share > x' against harm within {p.harm_horizon_s:g} s"
    value, objective = exhaustive(candidates, score, tuning, t_in[NOISY], name)
    before, after = objective.heldout["before"], objective.heldout["after"]
    status, reason = (
        "tuned",
        f"best F-beta on the tuning window ({filled:,} of {g.snap.size:,} group rows carry a share)",
    )
    if after < before:
        status, reason = "unchanged", f"worse on the held-out snapshots ({after:.4f} < {before:.4f})"
        if force:
            status, reason = "tuned", reason + "; kept because forced"
        else:
            value = t_in[NOISY]
    return KnobReport(before=t_in[NOISY], after=value, status=status, reason=reason, objective=objective)


def grace(t_in: Mapping[str, Any]) -> KnobReport:
    return kept([GRACE], t_in, "the daemon reads this key nowhere", "not-tunable")[GRACE]
