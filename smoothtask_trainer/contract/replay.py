"""The daemon's policy step by step (policy-replay.md §2), written the plain way: one snapshot, one group at a time.

This is the reference: every detail of the daemon's semantics is spelled out here in scalar code (f32 cut-offs,
the stable descending sort, rules in order, the scaling map and its freeze-like hysteresis, the exact reason
strings). `services.replay_engine` computes the same decisions vectorised, and the tests hold the two equal.
Nothing here imports numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from smoothtask_trainer.contract.policy import (
    BACKGROUND,
    BACKGROUND_TAGS,
    CRIT_INTERACTIVE,
    DEFAULT_THRESHOLDS,
    GAME_TAG,
    IDLE,
    INTERACTIVE,
    NORMAL,
    SYSTEM_CGROUP_MARKERS,
    SYSTEM_CGROUP_PREFIXES,
    SYSTEM_EXE_MARKERS,
    f32,
    percentile_class,
)

#: The daemon's reason strings (§2 step 4), verbatim.
REASON_SYSTEM = "guardrail: system process, leaving unchanged"
REASON_XRUN = "guardrail: audio client with XRUN, protecting"
REASON_FOCUSED_AUDIO_GAME = "semantic: focused group with audio/game"
REASON_FOCUSED_GUI = "semantic: focused GUI group"
REASON_TERMINAL = "semantic: active terminal with recent input"
REASON_UPDATER = "semantic: updater/indexer with active user"
REASON_NOISY = "semantic: noisy neighbour throttling"
REASON_DEFAULT = "default: no rules matched"
#: Rule id -> (class, reason); M (the ranker) has its own reason format.
RULES: dict[str, tuple[str, str]] = {
    "G1": (NORMAL, REASON_SYSTEM),
    "G2": (INTERACTIVE, REASON_XRUN),
    "R1": (CRIT_INTERACTIVE, REASON_FOCUSED_AUDIO_GAME),
    "R2": (INTERACTIVE, REASON_FOCUSED_GUI),
    "R3": (INTERACTIVE, REASON_TERMINAL),
    "R4": (BACKGROUND, REASON_UPDATER),
    "R5": (BACKGROUND, REASON_NOISY),
    "D": (NORMAL, REASON_DEFAULT),
}
#: Dynamic scaling (§2 step 5): the class map per load category; classes not listed are kept.
SCALE_MAP: dict[str, dict[str, str]] = {
    "Medium": {NORMAL: BACKGROUND, BACKGROUND: IDLE},
    "High": {NORMAL: BACKGROUND, BACKGROUND: IDLE, INTERACTIVE: NORMAL},
}
#: `priority_hysteresis_stable_sec: null` means this.
DEFAULT_STABLE_S = 30


def ml_reason(percentile: float, score: float, rank: int) -> str:
    return f"ml-ranker: percentile={percentile:.3f}, score={score:.3f}, rank={rank}"


def scaled_reason(reason: str, base: str, final: str, load: float) -> str:
    return f"{reason}. dynamic-scaling: {base} -> {final} (load={load:.3f})"


@dataclass
class Member:
    """The process columns the rules read."""

    exe: str | None = None
    cgroup_path: str | None = None
    is_audio_client: bool = False
    has_active_stream: bool = False
    has_tty: bool = False
    env_term: str | None = None


@dataclass
class Group:
    """One app group of a snapshot, in the logged order (its rowid order)."""

    app_group_id: str
    is_focused_group: bool = False
    has_gui_window: bool = False
    total_cpu_share: float | None = None
    tags: Sequence[str] = ()
    members: Sequence[Member] = ()
    score: float | None = None  #: the ranker's score (the stub's when the ranker is "stub")


@dataclass
class Snapshot:
    """The snapshot columns the policy reads (NULL as None)."""

    snapshot_id: int
    groups: Sequence[Group] = ()
    psi_cpu_some_avg10: float | None = None
    psi_io_some_avg10: float | None = None
    psi_mem_some_avg10: float | None = None
    sched_latency_p99_ms: float | None = None
    ui_loop_p95_ms: float | None = None
    audio_xruns_delta: int | None = None
    time_since_last_input_ms: int | None = None
    user_active: bool = False
    load_avg_one: float = 0.0
    mem_total_kb: int = 0
    mem_available_kb: int = 0


@dataclass
class HysteresisState:
    """The scaler's state: held class and last loaded time per `app_group_id`."""

    last: dict[str, str] = field(default_factory=dict)
    when_ms: dict[str, int] = field(default_factory=dict)


def thresholds_of(overrides: Mapping[str, float | None] | None = None) -> dict[str, float | None]:
    out: dict[str, float | None] = {**DEFAULT_THRESHOLDS, "priority_hysteresis_stable_sec": DEFAULT_STABLE_S}
    out.update(overrides or {})
    return out


def flags(s: Snapshot, t: Mapping[str, float | None]) -> tuple[bool, bool]:
    """(bad_responsiveness, user_active) recomputed under thresholds `t` (§2 step 1); NULL terms are skipped."""
    terms = [
        s.psi_cpu_some_avg10 is not None and s.psi_cpu_some_avg10 > f32(t["psi_cpu_some_high"]),  # type: ignore[arg-type]
        s.psi_io_some_avg10 is not None and s.psi_io_some_avg10 > f32(t["psi_io_some_high"]),  # type: ignore[arg-type]
        s.sched_latency_p99_ms is not None and s.sched_latency_p99_ms > t["sched_latency_p99_threshold_ms"],  # type: ignore[operator]
        s.audio_xruns_delta is not None and s.audio_xruns_delta > 0,
        s.ui_loop_p95_ms is not None and s.ui_loop_p95_ms > t["ui_loop_p95_threshold_ms"],  # type: ignore[operator]
    ]
    tsli = s.time_since_last_input_ms
    active = s.user_active if tsli is None else tsli <= t["user_idle_timeout_sec"] * 1000  # type: ignore[operator]
    return any(terms), bool(active)


def stub_score(g: Group) -> float:
    """The daemon's StubRanker: f64, in this order, then clamp (§2 step 3)."""
    score = 0.5
    if g.is_focused_group:
        score += 0.4
    if g.has_gui_window:
        score += 0.2
    if g.total_cpu_share is not None and g.total_cpu_share > 0.3:
        score += 0.1
    return min(1.0, max(0.0, score))


def rank_groups(groups: Sequence[Group]) -> dict[int, tuple[float, float, int]]:
    """Index in the snapshot -> (percentile, score, rank): stable descending sort, ties in logged order."""
    scores = [0.5 if g.score is None or math.isnan(g.score) else g.score for g in groups]
    order = sorted(range(len(groups)), key=lambda i: -scores[i])  # sorted() is stable
    n = len(groups)
    return {i: (1.0 if n == 1 else 1.0 - idx / (n - 1), scores[i], idx + 1) for idx, i in enumerate(order)}


def is_system(m: Member) -> bool:
    exe = (m.exe or "").lower()
    if any(marker in exe for marker in SYSTEM_EXE_MARKERS):
        return True
    cg = m.cgroup_path or ""
    return cg.startswith(SYSTEM_CGROUP_PREFIXES) and any(marker in cg for marker in SYSTEM_CGROUP_MARKERS)


def rule_of(g: Group, s: Snapshot, bad: bool, active: bool, t: Mapping[str, float | None]) -> str | None:
    """The first rule (G1 … R5) that catches `g`, or None (§2 step 4)."""
    audio = any(m.is_audio_client and m.has_active_stream for m in g.members)
    tags = set(g.tags)
    tsli = s.time_since_last_input_ms
    if any(is_system(m) for m in g.members):
        return "G1"
    if (s.audio_xruns_delta or 0) > 0 and audio:
        return "G2"
    if g.is_focused_group and (audio or GAME_TAG in tags):
        return "R1"
    if g.is_focused_group and g.has_gui_window:
        return "R2"
    idle_ms = t["user_idle_timeout_sec"] * 1000  # type: ignore[operator]
    if active and not (tsli is not None and tsli > idle_ms) and any(m.has_tty and m.env_term for m in g.members):
        return "R3"
    if active and tags & BACKGROUND_TAGS:
        return "R4"
    noisy = f32(t["noisy_neighbour_cpu_share"])  # type: ignore[arg-type]
    if bad and g.total_cpu_share is not None and g.total_cpu_share > noisy and not g.is_focused_group:
        return "R5"
    return None


def load_level(s: Snapshot, ncpu: int) -> float:
    """§2 step 5: NULL PSI counts as 0; PSI is in percent, so each PSI term saturates at 1 %."""
    psi = [min(x or 0.0, 1.0) for x in (s.psi_cpu_some_avg10, s.psi_io_some_avg10, s.psi_mem_some_avg10)]
    total = s.mem_total_kb or 0
    mem = (total - (s.mem_available_kb or 0)) / total if total else 0.0
    level = s.load_avg_one / ncpu * 0.4 + psi[0] * 0.2 + psi[1] * 0.2 + psi[2] * 0.2 + min(mem, 1.0) * 0.2
    return min(1.0, max(0.0, level))


def category(level: float) -> str:
    return "High" if level >= 0.8 else "Medium" if level >= 0.6 else "Normal" if level >= 0.4 else "Low"


def evaluate(
    s: Snapshot,
    t: Mapping[str, float | None],
    *,
    ranked: bool,
    ncpu: int,
    state: HysteresisState,
) -> list[tuple[str, str]]:
    """(class, reason) per group of `s`, in the logged order; `state` carries the scaler's hysteresis."""
    bad, active = flags(s, t)
    ranks = rank_groups(s.groups) if ranked else {}
    base: list[tuple[str, str]] = []
    for i, g in enumerate(s.groups):
        rule = rule_of(g, s, bad, active, t)
        if rule is not None:
            base.append(RULES[rule])
        elif ranked:
            p, score, rank = ranks[i]
            base.append((percentile_class(p, t), ml_reason(p, score, rank)))
        else:
            base.append(RULES["D"])
    level = load_level(s, ncpu)
    cat = category(level)
    if cat not in SCALE_MAP:
        return base
    stable = t.get("priority_hysteresis_stable_sec")
    stable_ms = (DEFAULT_STABLE_S if stable is None else stable) * 1000
    out = []
    for g, (cls, reason) in zip(s.groups, base, strict=True):
        scaled = SCALE_MAP[cat].get(cls, cls)
        cur = state.last.get(g.app_group_id, cls)
        when = state.when_ms.get(g.app_group_id)
        elapsed = None if when is None else s.snapshot_id - when
        final = scaled if cur == scaled or elapsed is None or elapsed < 0 or elapsed >= stable_ms else cur
        state.last[g.app_group_id], state.when_ms[g.app_group_id] = final, s.snapshot_id
        out.append((final, scaled_reason(reason, cls, final, level) if final != cls else reason))
    return out


def replay(
    snapshots: Sequence[Snapshot],
    thresholds: Mapping[str, float | None] | None = None,
    *,
    ranked: bool,
    ncpu: int,
) -> list[list[tuple[str, str]]]:
    """Every snapshot in ascending `snapshot_id`, one group at a time: the slow, obvious reference."""
    t = thresholds_of(thresholds)
    state = HysteresisState()
    return [
        evaluate(s, t, ranked=ranked, ncpu=ncpu, state=state) for s in sorted(snapshots, key=lambda x: x.snapshot_id)
    ]
