"""The daemon's policy, vectorised over snapshots and groups (the semantics: `contract.replay`, policy-replay.md §2).

Flags, rules, the ranker's stable descending sort, the f32 percentile cut-offs and the scaler's hysteresis (a state
machine keyed by `app_group_id`, which reduces to a grouped forward-fill) are numpy expressions over every
(snapshot, group) row at once. The tests hold the decisions equal to the scalar reference, on random snapshots and
on simulated stores.

Whatever does not depend on the thresholds (the rules no threshold decides, the ranking, the load categories per
CPU count, the rows of each hysteresis key in time order) is computed once per store and kept on `Groups.cache`
(`Prepared`), so that a tuner replaying one store hundreds of times pays per call only for what the thresholds
change: the snapshot flags, rules R3-R5 on their candidate rows, the cut-offs and the forward-fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
_N = len(policy.CLASSES)
#: (row offset + base grade) -> final grade before the hysteresis: offset 0 unloaded, 5 Medium, 10 High.
_SCALE_TABLE = np.concatenate([np.arange(_N), _SCALE["Medium"], _SCALE["High"]]).astype(np.int8)
#: The rules no threshold decides (G1, G2, R1, R2) as bits 3..0 of a code -> the first that matches (1..4), or 0.
_STATIC_RULE = np.array([5 - c.bit_length() if c else NO_RULE for c in range(16)])


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
    #: `replay`'s threshold-independent work on these very arrays (`Prepared`; recomputed when they are replaced)
    cache: Prepared | None = field(default=None, repr=False, compare=False)

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


def stub_scores(g: Groups) -> np.ndarray:
    """The StubRanker, in the daemon's f64 order of additions, then clamp."""
    score = np.full(g.snap.size, 0.5)
    score = np.where(g.focused, score + 0.4, score)
    score = np.where(g.gui, score + 0.2, score)
    with np.errstate(invalid="ignore"):
        score = np.where(~np.isnan(g.total_cpu_share) & (g.total_cpu_share > 0.3), score + 0.1, score)
    return np.clip(score, 0.0, 1.0)


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


def _frozen(*arrays: np.ndarray) -> None:
    """Cached arrays go out in every `Decisions`: read-only, so that no caller can change them for the next."""
    for a in arrays:
        a.flags.writeable = False


def _sources(g: Groups, s: Snapshots) -> tuple:
    return (*(v for k, v in vars(g).items() if k != "cache"), *vars(s).values())


@dataclass
class Ranking:
    """The ranker's order for one set of scores: per row its percentile, clamped score and rank. The percentile
    depends only on (the snapshot's group count, the row's position), so it is a small `table`, indexed by `code`."""

    percentile: np.ndarray
    score: np.ndarray
    rank: np.ndarray
    table: np.ndarray
    code: np.ndarray


def rank(g: Groups, scores: np.ndarray) -> Ranking:
    """Stable descending sort within each snapshot, ties in logged order (rows come in snapshot order)."""
    s = np.clip(np.where(np.isnan(scores), 0.5, scores), 0.0, 1.0)
    order = np.lexsort((-s, g.snap))  # lexsort is stable: ties keep the logged order
    counts = np.bincount(g.snap)
    starts = np.cumsum(counts) - counts
    rank_ = np.empty(g.snap.size, dtype=np.int64)
    rank_[order] = np.arange(1, g.snap.size + 1) - starts[g.snap]  # snap[order] == snap
    sizes = np.unique(counts[counts > 0])
    first = np.cumsum(sizes) - sizes  # each group count's block in the table
    n, idx = np.repeat(sizes, sizes), np.arange(sizes.sum()) - np.repeat(first, sizes)
    table = np.where(n == 1, 1.0, 1.0 - idx / np.maximum(n - 1, 1))
    code = (first - 1)[np.searchsorted(sizes, counts)][g.snap] + rank_
    return Ranking(table[code], s, rank_, table, code)


class Loaded:
    """Per CPU count: load levels and categories, and the rows of loaded (Medium/High) snapshots sorted by
    hysteresis key, stably, so in time order within a key."""

    def __init__(self, g: Groups, s: Snapshots, ncpu: int) -> None:
        self.level = load_levels(s, ncpu)
        self.category = np.select([self.level >= 0.8, self.level >= 0.6, self.level >= 0.4], [3, 2, 1], 0)
        # into _SCALE_TABLE: 0 below Medium, else the category's block
        self.offset = (np.maximum(self.category - 1, 0) * _N).astype(np.int8)[g.snap]
        rows = np.flatnonzero(self.offset)
        key = g.keys()[rows]
        if key.size and key.max() < 1 << 16:
            key = key.astype(np.uint16)  # a radix sort
        order = np.argsort(key, kind="stable")
        self.rows, k = rows[order], key[order]
        now = s.snapshot_id[g.snap[self.rows]]
        first = np.ones(k.size, dtype=bool)
        first[1:] = k[1:] != k[:-1]
        self.elapsed = np.zeros(k.size, dtype=np.int64)
        self.elapsed[1:] = now[1:] - now[:-1]
        self.hard_reset = first | (self.elapsed < 0)
        self._source: dict[float, np.ndarray] = {}
        _frozen(self.level, self.category)

    def source(self, stable_ms: float) -> np.ndarray:
        """Per row, the row whose scaled class it outputs: itself, or for a held row its key's last reset.

        Every loaded row writes its key's state, so for a key's k-th loaded row the stored time is that of its
        (k-1)-th: the state resets (the scaled class is output) at the key's first loaded row, after a gap of at
        least `stable` or a clock going back; otherwise the class is the previous output, i.e. the scaled class of
        the key's last reset. That makes the state machine a grouped forward-fill.
        """
        src = self._source.get(stable_ms)
        if src is None:
            reset = self.hard_reset | (self.elapsed >= stable_ms)
            last_reset = np.maximum.accumulate(np.where(reset, np.arange(reset.size), 0))
            src = np.arange(self.offset.size)
            src[self.rows] = self.rows[last_reset]
            if len(self._source) >= 8:
                self._source.pop(next(iter(self._source)))
            self._source[stable_ms] = src
        return src

    def scale(self, base: np.ndarray, stable_ms: float) -> tuple[np.ndarray, np.ndarray]:
        """(final grade, held) per row: dynamic scaling and its hysteresis."""
        if self.rows.size == 0:
            return base.copy(), np.zeros(base.size, dtype=bool)
        scaled = _SCALE_TABLE.take(self.offset + base)
        final = scaled.take(self.source(stable_ms))
        return final, final != scaled


class Prepared:
    """`replay`'s work that no threshold changes, for one (groups, snapshots) pair.

    It belongs to the very arrays it was computed from (checked by identity at every call): a `Groups` rebuilt with
    other arrays (a subset, `dataclasses.replace`) gets a new one. Arrays are taken as unchanged once replayed.
    """

    def __init__(self, g: Groups, s: Snapshots) -> None:
        g.keys()
        self.sources = _sources(g, s)
        xr = (s.xruns > 0)[g.snap]  # NaN (NULL): False
        tests = (
            g.any_system,
            xr & g.any_audio_stream,
            g.focused & (g.any_audio_stream | g.tag_game),
            g.focused & g.gui,
        )
        self.code = np.zeros(g.snap.size, dtype=np.int8)  # G1, G2, R1, R2 as bits 3..0
        for bit, test in zip((8, 4, 2, 1), tests, strict=True):
            np.bitwise_or(self.code, bit, out=self.code, where=np.asarray(test, dtype=bool))
        self.caught = self.code != 0
        # R3, R4, R5 can catch only these rows; their snapshot terms are the thresholds' part
        free = ~self.caught
        self.terminal = np.flatnonzero(free & g.any_tty_term)
        self.updater = np.flatnonzero(free & g.tag_background)
        self.noisy = np.flatnonzero(free & ~g.focused & ~np.isnan(g.total_cpu_share))
        self.terminal_snap, self.updater_snap, self.noisy_snap = (
            g.snap[x] for x in (self.terminal, self.updater, self.noisy)
        )
        self.noisy_share = g.total_cpu_share[self.noisy]
        self._templates: dict[bool, tuple[np.ndarray, np.ndarray]] = {}
        self._unranked: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._scores: tuple | None = None
        self._ranking: Ranking | None = None
        self._loaded: dict[int, Loaded] = {}

    def fits(self, g: Groups, s: Snapshots) -> bool:
        now = _sources(g, s)
        return len(now) == len(self.sources) and all(a is b for a, b in zip(now, self.sources, strict=True))

    def template(self, ranked: bool) -> tuple[np.ndarray, np.ndarray]:
        """(rule, grade) per row as G1, G2, R1 and R2 decide it; the other rows get the ranker (grade 0, to be
        filled) or the default."""
        if ranked not in self._templates:
            rule = np.where(_STATIC_RULE == NO_RULE, RANKER if ranked else DEFAULT, _STATIC_RULE).astype(np.int8)
            self._templates[ranked] = (rule[self.code], _RULE_GRADE[rule].astype(np.int8)[self.code])
            _frozen(*self._templates[ranked])
        return self._templates[ranked]

    def unranked(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(percentile, score, rank) without a ranker."""
        if self._unranked is None:
            n = self.code.size
            self._unranked = (np.full(n, np.nan), np.full(n, np.nan), np.zeros(n, dtype=np.int64))
            _frozen(*self._unranked)
        return self._unranked

    def ranking(self, g: Groups, scores: np.ndarray) -> Ranking:
        """The ranking of `scores`, recomputed only when their content differs from the last call's."""
        scores = np.asarray(scores)
        seen = (scores.dtype.str, scores.shape, scores.tobytes())
        if self._ranking is None or seen != self._scores:
            self._ranking, self._scores = rank(g, scores), seen
            _frozen(self._ranking.percentile, self._ranking.score, self._ranking.rank)
        return self._ranking

    def loaded(self, g: Groups, s: Snapshots, ncpu: int) -> Loaded:
        if ncpu not in self._loaded:
            if len(self._loaded) >= 4:
                self._loaded.pop(next(iter(self._loaded)))
            self._loaded[ncpu] = Loaded(g, s, ncpu)
        return self._loaded[ncpu]


def prepare(g: Groups, s: Snapshots) -> Prepared:
    """`g.cache` when it was computed from these arrays, else a new one (stored there)."""
    if g.cache is None or not g.cache.fits(g, s):
        g.cache = Prepared(g, s)
    return g.cache


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
    p = prepare(g, s)
    bad, active = flags(s, t)
    rule, grade = p.template(scores is not None)
    rule = rule.copy()
    if scores is not None:
        r = p.ranking(g, scores)
        base = np.where(p.caught, grade, percentile_grades(r.table, t).take(r.code))
        percentile, score, rank_ = r.percentile, r.score, r.rank
    else:
        base = grade.copy()
        percentile, score, rank_ = p.unranked()
    with np.errstate(invalid="ignore"):
        late = s.tsli > t["user_idle_timeout_sec"] * 1000  # type: ignore[operator]  # NaN (NULL): False
        noisy = p.noisy_share > _f32(t["noisy_neighbour_cpu_share"])  # type: ignore[arg-type]
    # lowest priority first, so that R3 wins over R4 over R5
    for code, rows in (
        (7, p.noisy[bad[p.noisy_snap] & noisy]),
        (6, p.updater[active[p.updater_snap]]),
        (5, p.terminal[(active & ~late)[p.terminal_snap]]),
    ):
        rule[rows], base[rows] = code, _RULE_GRADE[code]
    stable = t.get("priority_hysteresis_stable_sec")
    loaded = p.loaded(g, s, ncpu)
    final, held = loaded.scale(base, (ref.DEFAULT_STABLE_S if stable is None else stable) * 1000)
    return Decisions(
        grade=final,
        base_grade=base,
        rule=rule,
        percentile=percentile,
        score=score,
        rank=rank_,
        load=loaded.level,
        category=loaded.category,
        bad_responsiveness=bad,
        user_active=active,
        held=held,
        snap=g.snap,
    )


__all__ = ["CATEGORIES", "Decisions", "Groups", "Prepared", "Snapshots", "prepare", "replay", "stub_scores"]
