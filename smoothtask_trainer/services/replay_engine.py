"""The daemon's policy, vectorised over snapshots and groups (the semantics: `contract.replay`, policy-replay.md §2).

Flags, rules, the ranker's stable descending sort, the f32 percentile cut-offs and the scaler's hysteresis (a state
machine keyed by `app_group_id`, which reduces to a grouped forward-fill) are numpy expressions over every
(snapshot, group) row at once. The tests hold the decisions equal to the scalar reference, on random snapshots and
on simulated stores.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from smoothtask_trainer.contract import policy
from smoothtask_trainer.contract import replay as ref

#: Rule ids in the daemon's order; code 0 is "no rule" (the ranker or the default decides).
RULE_IDS = ("G1", "G2", "R1", "R2", "R3", "R4", "R5")
NO_RULE, RANKER, DEFAULT = 0, len(RULE_IDS) + 1, len(RULE_IDS) + 2
GRADES = np.array([policy.GRADE[c] for c in policy.CLASSES])
_RULE_GRADE = np.array([0] + [policy.GRADE[ref.RULES[r][0]] for r in RULE_IDS] + [0, policy.GRADE[policy.NORMAL]])
#: grade -> grade under Medium and High load (the scaling map as arrays).
_SCALE = {
    cat: np.array([policy.GRADE[mapping.get(c, c)] for c in policy.CLASSES]) for cat, mapping in ref.SCALE_MAP.items()
}
#: Load categories by index (`Decisions.category`).
CATEGORIES = ("Low", "Normal", "Medium", "High")


@dataclass
class Snapshots:
    """Per snapshot, in ascending snapshot_id; NULL is NaN (ints as float)."""

    snapshot_id: np.ndarray
    psi_cpu: np.ndarray
    psi_io: np.ndarray
    psi_mem: np.ndarray
    sched_p99: np.ndarray
    ui_p95: np.ndarray
    xruns: np.ndarray
    tsli: np.ndarray
    user_active: np.ndarray
    load_avg_one: np.ndarray
    mem_total_kb: np.ndarray
    mem_available_kb: np.ndarray


@dataclass
class Groups:
    """Per (snapshot, group) row, ordered by snapshot then the logged (rowid) order of the groups."""

    snap: np.ndarray  #: index into `Snapshots`
    app_group_id: np.ndarray  #: object array of str: the hysteresis key, as the daemon keys it
    focused: np.ndarray
    gui: np.ndarray
    total_cpu_share: np.ndarray  #: NaN when NULL
    tag_game: np.ndarray
    tag_background: np.ndarray
    any_system: np.ndarray  #: a member matches G1's exe/cgroup test
    any_audio_stream: np.ndarray  #: a member is an audio client with an active stream
    any_tty_term: np.ndarray  #: a member has a tty and TERM
    key: np.ndarray | None = None  #: `app_group_id` as integer codes (computed from it when not given)

    def keys(self) -> np.ndarray:
        if self.key is None:
            self.key = group_keys(self.app_group_id)
        return self.key


def group_keys(ids: np.ndarray) -> np.ndarray:
    """Integer codes for the `app_group_id` strings (equal ids, equal codes)."""
    codes: dict[str, int] = {}
    return np.fromiter((codes.setdefault(x, len(codes)) for x in ids.tolist()), dtype=np.int64, count=len(ids))


@dataclass
class Decisions:
    """The replay's output per row of `Groups`."""

    grade: np.ndarray  #: final class grade (IDLE 0 … CRIT_INTERACTIVE 4)
    base_grade: np.ndarray  #: before dynamic scaling
    rule: np.ndarray  #: 1..7 RULE_IDS, RANKER or DEFAULT
    percentile: np.ndarray  #: NaN where no ranker
    score: np.ndarray
    rank: np.ndarray
    load: np.ndarray  #: per snapshot
    category: np.ndarray  #: per snapshot, index into ("Low", "Normal", "Medium", "High")
    bad_responsiveness: np.ndarray  #: per snapshot, recomputed
    user_active: np.ndarray  #: per snapshot, recomputed
    held: np.ndarray  #: per row: the hysteresis kept an earlier class
    snap: np.ndarray  #: per row: its snapshot's index (for `load` and `category`)

    def classes(self) -> np.ndarray:
        return np.asarray(policy.CLASSES, dtype=object)[self.grade]

    def reasons(self) -> list[str]:
        """The daemon's reason string per row."""
        names = np.asarray(policy.CLASSES, dtype=object)
        out = []
        for i in range(self.grade.size):
            r = int(self.rule[i])
            if r == RANKER:
                reason = ref.ml_reason(float(self.percentile[i]), float(self.score[i]), int(self.rank[i]))
            elif r == DEFAULT:
                reason = ref.REASON_DEFAULT
            else:
                reason = ref.RULES[RULE_IDS[r - 1]][1]
            if self.grade[i] != self.base_grade[i]:
                load = float(self.load[self.snap[i]])
                reason = ref.scaled_reason(reason, names[self.base_grade[i]], names[self.grade[i]], load)
            out.append(reason)
        return out


def _f32(x: float) -> float:
    return float(np.float32(x))


def flags(s: Snapshots, t: Mapping[str, float | None]) -> tuple[np.ndarray, np.ndarray]:
    """(bad_responsiveness, user_active) per snapshot under `t` (NaN terms compare False, i.e. are skipped)."""
    with np.errstate(invalid="ignore"):
        bad = (
            (s.psi_cpu > _f32(t["psi_cpu_some_high"]))  # type: ignore[arg-type]
            | (s.psi_io > _f32(t["psi_io_some_high"]))  # type: ignore[arg-type]
            | (s.sched_p99 > t["sched_latency_p99_threshold_ms"])
            | (s.xruns > 0)
            | (s.ui_p95 > t["ui_loop_p95_threshold_ms"])
        )
        active = np.where(np.isnan(s.tsli), s.user_active.astype(bool), s.tsli <= t["user_idle_timeout_sec"] * 1000)  # type: ignore[operator]
    return bad, active


def rules(g: Groups, s: Snapshots, bad: np.ndarray, active: np.ndarray, t: Mapping[str, float | None]) -> np.ndarray:
    """The first rule that catches each row (1..7), or NO_RULE."""
    with np.errstate(invalid="ignore"):
        late = s.tsli > t["user_idle_timeout_sec"] * 1000  # type: ignore[operator]  # NaN (NULL): False
        noisy = g.total_cpu_share > _f32(t["noisy_neighbour_cpu_share"])  # type: ignore[arg-type]  # NaN: False
    # per snapshot first, then one gather per row
    xr, terminal, bg, loud = (x[g.snap] for x in (s.xruns > 0, active & ~late, active, bad))
    tests = [
        g.any_system,
        xr & g.any_audio_stream,
        g.focused & (g.any_audio_stream | g.tag_game),
        g.focused & g.gui,
        terminal & g.any_tty_term,
        bg & g.tag_background,
        loud & noisy & ~g.focused,
    ]
    return np.select(tests, list(range(1, len(RULE_IDS) + 1)), NO_RULE).astype(np.int8)


def stub_scores(g: Groups) -> np.ndarray:
    """The StubRanker, in the daemon's f64 order of additions, then clamp."""
    score = np.full(g.snap.size, 0.5)
    score = np.where(g.focused, score + 0.4, score)
    score = np.where(g.gui, score + 0.2, score)
    with np.errstate(invalid="ignore"):
        score = np.where(~np.isnan(g.total_cpu_share) & (g.total_cpu_share > 0.3), score + 0.1, score)
    return np.clip(score, 0.0, 1.0)


def rank(g: Groups, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(percentile, score, rank) per row: stable descending sort within each snapshot, ties in logged order."""
    s = np.clip(np.where(np.isnan(scores), 0.5, scores), 0.0, 1.0)
    order = np.lexsort((-s, g.snap))  # lexsort is stable: ties keep the logged order
    counts = np.bincount(g.snap)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    idx = np.empty(g.snap.size, dtype=np.int64)
    idx[order] = np.arange(g.snap.size) - starts[g.snap]  # rows are in snapshot order, so snap[order] == snap
    n = counts[g.snap]
    percentile = np.where(n == 1, 1.0, 1.0 - idx / np.maximum(n - 1, 1))
    return percentile, s, idx + 1


def percentile_grades(p: np.ndarray, t: Mapping[str, float | None]) -> np.ndarray:
    """Rule M's class per percentile, with f32 cut-offs; the first cut-off (from CRIT down) that `p` reaches."""
    keys = ("background_percentile", "normal_percentile", "interactive_percentile", "crit_interactive_percentile")
    cut = np.array([_f32(t[k]) for k in keys])  # type: ignore[arg-type]
    if np.all(np.diff(cut) >= 0):  # the daemon's validated order: the grade is how many cut-offs p reaches
        return np.searchsorted(cut, p, side="right").astype(np.int8)
    return np.select([p >= cut[3], p >= cut[2], p >= cut[1], p >= cut[0]], [4, 3, 2, 1], 0).astype(np.int8)


def load_levels(s: Snapshots, ncpu: int) -> np.ndarray:
    psi = [np.minimum(np.nan_to_num(x), 1.0) for x in (s.psi_cpu, s.psi_io, s.psi_mem)]
    total = np.nan_to_num(s.mem_total_kb)
    used = total - np.nan_to_num(s.mem_available_kb)
    mem = np.divide(used, total, out=np.zeros_like(total, dtype=float), where=total != 0)
    level = np.nan_to_num(s.load_avg_one) / ncpu * 0.4 + psi[0] * 0.2 + psi[1] * 0.2 + psi[2] * 0.2
    return np.clip(level + np.minimum(mem, 1.0) * 0.2, 0.0, 1.0)


def replay(
    g: Groups,
    s: Snapshots,
    thresholds: Mapping[str, float | None] | None = None,
    *,
    scores: np.ndarray | None,
    ncpu: int,
) -> Decisions:
    """The daemon's decision for every row. `scores` None: no ranker (rules-only, or a model the daemon would not
    load); else the ranker's score per row (NaN: the daemon's per-group fallback 0.5)."""
    t = ref.thresholds_of(thresholds)
    bad, active = flags(s, t)
    rule = rules(g, s, bad, active, t)
    nan = np.full(g.snap.size, np.nan)
    percentile, score, rank_ = nan, nan, np.zeros(g.snap.size, dtype=np.int64)
    free = rule == NO_RULE
    if scores is not None:
        percentile, score, rank_ = rank(g, scores)
        rule = np.where(free, RANKER, rule).astype(np.int8)
        base = np.where(free, percentile_grades(percentile, t), _RULE_GRADE[rule]).astype(np.int8)
    else:
        rule = np.where(free, DEFAULT, rule).astype(np.int8)
        base = _RULE_GRADE[rule].astype(np.int8)
    level = load_levels(s, ncpu)
    cat = np.select([level >= 0.8, level >= 0.6, level >= 0.4], [3, 2, 1], 0)
    final, held = _scale(g, s, base, cat, t)
    return Decisions(
        grade=final,
        base_grade=base,
        rule=rule,
        percentile=percentile,
        score=score,
        rank=rank_,
        load=level,
        category=cat,
        bad_responsiveness=bad,
        user_active=active,
        held=held,
        snap=g.snap,
    )


def _scale(
    g: Groups, s: Snapshots, base: np.ndarray, cat: np.ndarray, t: Mapping[str, float | None]
) -> tuple[np.ndarray, np.ndarray]:
    """Dynamic scaling and its hysteresis over the rows of loaded (Medium/High) snapshots.

    Every loaded row writes its key's state, so for a key's k-th loaded row the stored time is that of its
    (k-1)-th: the state resets (the scaled class is output) at the key's first loaded row, after a gap of at least
    `stable` or a clock going back; otherwise the class is the previous output, i.e. the scaled class of the key's
    last reset. That makes the state machine a grouped forward-fill, computed without a loop.
    """
    final = base.copy()
    held = np.zeros(base.size, dtype=bool)
    rows = np.flatnonzero(cat[g.snap] >= 2)
    if rows.size == 0:
        return final, held
    scaled = np.where(cat[g.snap[rows]] == 3, _SCALE["High"][base[rows]], _SCALE["Medium"][base[rows]])
    stable = t.get("priority_hysteresis_stable_sec")
    stable_ms = (ref.DEFAULT_STABLE_S if stable is None else stable) * 1000
    key = g.keys()[rows]
    if key.size and key.max() < 1 << 16:
        key = key.astype(np.uint16)  # a radix sort
    order = np.argsort(key, kind="stable")  # rows are in time order already: stable keeps it within a key
    k, now, sc = key[order], s.snapshot_id[g.snap[rows[order]]], scaled[order]
    first = np.ones(k.size, dtype=bool)
    first[1:] = k[1:] != k[:-1]
    elapsed = np.zeros(k.size, dtype=np.int64)
    elapsed[1:] = now[1:] - now[:-1]
    reset = first | (elapsed < 0) | (elapsed >= stable_ms)
    last_reset = np.maximum.accumulate(np.where(reset, np.arange(k.size), 0))
    out = sc[last_reset]
    final[rows[order]] = out
    held[rows[order]] = out != sc
    return final, held


__all__ = ["CATEGORIES", "Decisions", "Groups", "Snapshots", "replay", "stub_scores"]
