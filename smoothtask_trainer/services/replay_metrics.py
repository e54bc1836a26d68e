"""What a replay means for a user: churn and lag per stable group identity, and the applied-class check.

- The daemon's `app_group_id` is reshuffled every snapshot in real logs, so churn and lag are measured per a
  stable identity chosen per store: the candidate (`app_group_id`, or `app_name` with the root pid) whose set of
  keys changes least between consecutive snapshots.
- The applied-class check compares the replayed class of a process's group at one snapshot with the
  (nice, ionice_class, ionice_prio) signature the actuator leaves on the process, as logged at its next snapshot
  (policy-replay.md §4): the one outside check of a replay against what the daemon really did.
- The outcomes are what the log itself measured (latency, xruns, harm), whatever the replay decides: the figures
  to compare between two periods run with different configs (an A/B test, docs/tune.md).
- The future focus is the label-free evaluation of the ranker (`services.focus`): how well its order of the
  focusable groups predicts the one the user focuses next, over the whole store (a replay has no held-out split).
"""

from __future__ import annotations

import sqlite3

import numpy as np

from smoothtask_trainer import attention
from smoothtask_trainer.contract import policy
from smoothtask_trainer.schemas.focus import FocusEvaluation
from smoothtask_trainer.schemas.replay import AppliedCheck, ChurnLag, Outcomes
from smoothtask_trainer.services import focus
from smoothtask_trainer.services.replay_engine import Decisions, Groups, Snapshots, group_keys, stub_scores

#: The actuator's (nice, ionice_class, ionice_prio) per class grade (IDLE 0 … CRIT_INTERACTIVE 4).
SIGNATURES = {(10, 3, 0): 0, (5, 2, 6): 1, (0, 2, 4): 2, (-4, 2, 2): 3, (-8, 2, 0): 4}
#: A gap longer than this many median intervals between two appearances of a key is not time spent observed.
GAP_INTERVALS = 10


def _stability(keys: np.ndarray, snap: np.ndarray) -> float:
    """Mean Jaccard similarity of the key sets of consecutive snapshots (1: the same keys throughout)."""
    starts = np.flatnonzero(np.r_[True, snap[1:] != snap[:-1]])
    sets = [set(part.tolist()) for part in np.split(keys, starts[1:])]
    if len(sets) < 2:
        return 1.0
    return float(np.mean([len(a & b) / max(len(a | b), 1) for a, b in zip(sets, sets[1:], strict=False)]))


#: The last `choose_key` answer with the very arrays it was computed from (a curve asks it for one store many times).
_CHOSEN: list[tuple[Groups, np.ndarray, tuple[str, np.ndarray, float]]] = []


def choose_key(g: Groups, extra: dict[str, np.ndarray]) -> tuple[str, np.ndarray, float]:
    """(name, integer key per row, stability) of the most stable identity candidate (threshold-independent)."""
    if _CHOSEN and _CHOSEN[0][0] is g and _CHOSEN[0][1] is extra["app_name"]:
        return _CHOSEN[0][2]
    _CHOSEN[:] = [(g, extra["app_name"], _choose_key(g, extra))]
    return _CHOSEN[0][2]


def _choose_key(g: Groups, extra: dict[str, np.ndarray]) -> tuple[str, np.ndarray, float]:
    names = extra["app_name"].astype(str)
    candidates = {
        "app_group_id": g.keys(),
        "app_name+root_pid": group_keys(np.char.add(np.char.add(names, "|"), extra["root_pid"].astype(str))),
    }
    scored = {name: _stability(k, g.snap) for name, k in candidates.items()}
    best = max(scored, key=lambda n: scored[n])
    return best, candidates[best], round(scored[best], 4)


def churn_and_lag(g: Groups, s: Snapshots, d: Decisions, extra: dict[str, np.ndarray]) -> ChurnLag:
    """Class changes per group-hour, and the time from focus gain to INTERACTIVE or higher, per stable key."""
    name, key, stability = choose_key(g, extra)
    order = np.lexsort((g.snap, key))  # by key, then time
    k, t = key[order], s.snapshot_id[g.snap[order]].astype(np.int64)
    grade, focused = d.grade[order], g.focused[order]
    same = np.r_[False, k[1:] == k[:-1]]
    dt = np.r_[0, np.diff(t)]
    interval = float(np.median(np.diff(s.snapshot_id))) if s.snapshot_id.size > 1 else 0.0
    observed = same & (dt <= GAP_INTERVALS * max(interval, 1.0))
    changes = int((observed & np.r_[False, grade[1:] != grade[:-1]]).sum())
    hours = float(dt[observed].sum()) / 3_600_000
    lags, never = [], 0
    gains = np.flatnonzero(observed & focused & ~np.r_[False, focused[:-1]])
    for i in gains.tolist():
        j = i
        while j < k.size and k[j] == k[i] and focused[j] and grade[j] < policy.GRADE[policy.INTERACTIVE]:
            j += 1
        if j < k.size and k[j] == k[i] and focused[j]:
            lags.append((t[j] - t[i]) / 1000)
        else:
            never += 1
    lag = np.array(lags) if lags else np.array([np.nan])
    return ChurnLag(
        key=name,
        key_stability=stability,
        group_hours=round(hours, 3),
        class_changes=changes,
        churn_per_group_hour=round(changes / hours, 2) if hours else None,
        focus_gains=int(gains.size),
        lag_median_s=None if not lags else round(float(np.median(lag)), 3),
        lag_p95_s=None if not lags else round(float(np.percentile(lag, 95)), 3),
        focus_gains_never_interactive=never,
    )


def applied_check(con: sqlite3.Connection, g: Groups, s: Snapshots, d: Decisions) -> AppliedCheck:
    """How often a process's signature at its next snapshot is the class the replay gave its group."""
    grade_of = {
        (int(sid), gid): int(c) for sid, gid, c in zip(s.snapshot_id[g.snap], g.app_group_id, d.grade, strict=True)
    }
    signature = " OR ".join(f"(n = {a} AND c = {b} AND p = {c})" for a, b, c in SIGNATURES)
    touched = "SELECT DISTINCT pid FROM processes WHERE ionice_class IS NOT NULL"  # untouched: ioprio class none
    rows = con.execute(
        "SELECT snapshot_id, app_group_id, n, c, p FROM (SELECT snapshot_id, app_group_id, "
        "LEAD(nice) OVER w AS n, LEAD(ionice_class) OVER w AS c, LEAD(ionice_prio) OVER w AS p FROM processes "
        f"WHERE pid IN ({touched}) WINDOW w AS (PARTITION BY pid ORDER BY snapshot_id)) "
        f"WHERE app_group_id IS NOT NULL AND ({signature})"
    ).fetchall()
    compared = matched = 0
    for sid, gid, n, c, p in rows:
        replayed = grade_of.get((sid, gid))
        if replayed is not None:
            compared += 1
            matched += int(replayed == SIGNATURES[(n, c, p)])
    with_signature = len(rows)
    return AppliedCheck(
        process_rows_with_signature=with_signature,
        compared=compared,
        matches=matched,
        match_rate=round(matched / compared, 4) if compared else None,
    )


def session_breaks(snapshot_id: np.ndarray) -> np.ndarray:
    """Per snapshot: True where a logging session starts (the first snapshot, or one after a gap of more than
    three median polling intervals)."""
    t = snapshot_id.astype(np.int64)
    interval = float(np.median(np.diff(t))) if t.size > 1 else 1000.0
    return np.r_[True, np.diff(t) > 3 * interval]


def harm_now(s: Snapshots, latency_ms: float, breaks: np.ndarray) -> np.ndarray:
    """A harm event at the snapshot: latency p99 above the bar, or xruns (not at a session start, whose xruns
    are cumulative)."""
    with np.errstate(invalid="ignore"):
        return (s.sched_p99 > latency_ms) | ((s.xruns > 0) & ~breaks)


def harm(s: Snapshots, horizon_s: float, latency_ms: float) -> np.ndarray:
    """Harm at snapshot t: a harm event at a later snapshot within the horizon."""
    t = s.snapshot_id.astype(np.int64)
    bad_times = t[harm_now(s, latency_ms, session_breaks(t))]
    ends = np.searchsorted(bad_times, t + int(horizon_s * 1000), side="right")
    starts = np.searchsorted(bad_times, t, side="right")
    return ends > starts


def outcomes(s: Snapshots, horizon_s: float, latency_ms: float) -> Outcomes:
    """What the log measured, independent of any replayed decision."""
    t = s.snapshot_id.astype(np.int64)
    n = int(t.size)
    breaks = session_breaks(t)
    steps = np.diff(t)
    hours = float(steps[~breaks[1:]].sum()) / 3.6e6 if n > 1 else 0.0
    events = harm_now(s, latency_ms, breaks)
    p99 = s.sched_p99[~np.isnan(s.sched_p99)]
    xruns = float(np.nansum(np.where(breaks, 0.0, s.xruns)))

    def share(mask: np.ndarray) -> float:
        return round(float(mask.mean()), 4) if n else 0.0

    return Outcomes(
        snapshots=n,
        observed_hours=round(hours, 4),
        harm_latency_ms=latency_ms,
        harm_horizon_s=horizon_s,
        harm_events=int(events.sum()),
        harm_event_share=share(events),
        harm_followed_share=share(harm(s, horizon_s, latency_ms)),
        xruns_per_hour=round(xruns / hours, 2) if hours > 0 else None,
        sched_p99_median_ms=round(float(np.median(p99)), 3) if p99.size else None,
        sched_p99_p95_ms=round(float(np.percentile(p99, 95)), 3) if p99.size else None,
        psi_cpu_mean=round(float(np.nanmean(s.psi_cpu)), 3) if np.isfinite(s.psi_cpu).any() else None,
    )


#: What the replay's future focus is evaluated on.
FOCUS_WINDOW = "the whole store, no held-out split"


def future_focus(
    g: Groups, s: Snapshots, extra: dict[str, np.ndarray], model: np.ndarray | None, horizon_s: float
) -> FocusEvaluation:
    """The label-free future-focus NDCG@5 of the replayed model's scores (as the daemon ranks them: no vector is
    0.5, clamped to [0, 1]), the stub ranker and random order; groups followed by app name and root pid."""
    t = s.snapshot_id[g.snap].astype(np.int64)  # the daemon's snapshot id is its epoch milliseconds
    scores = {"stub_ranker": stub_scores(g)}
    if model is not None:
        scores["model"] = np.clip(np.where(np.isnan(model), 0.5, model), 0.0, 1.0)
    key = attention.stable_keys(extra["app_name"], extra["root_pid"])
    return focus.evaluate(t, t, key, g.focused, g.gui, horizon_s, scores, FOCUS_WINDOW)
