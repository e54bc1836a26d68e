"""Labels for app groups: the teacher columns when a log has them, else a documented rule teacher.

Real daemon logs never fill `teacher_score` / `teacher_priority_class` (contract §3.4), so a principled label is
derived from the daemon's own policy rules (§4.2) plus heuristics for what they leave open, and optionally a
responsiveness correction that pushes down the groups that hold the CPU or the disk while the system is
unresponsive. Every rule is listed in docs/labels.md; the label is the class grade (IDLE 0 … CRIT_INTERACTIVE 4).
All functions are vectorised over group rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smoothtask_trainer.contract import policy

#: The class grades (`contract.policy`: IDLE 0 … CRIT_INTERACTIVE 4), as the rules use them.
IDLE, BACKGROUND, NORMAL, INTERACTIVE, CRIT = (policy.GRADE[name] for name in policy.CLASSES)
#: teacher_score stand-ins for groups that only carry a teacher class, by grade (`policy.CLASS_SCORE`).
GRADE_SCORE = np.array([policy.CLASS_SCORE[name] for name in policy.CLASSES], dtype=np.float32)
#: Group tags of work nobody waits for (heuristic H3).
BATCH_TAGS = frozenset({"batch", "batch_heavy", "build_tool", "torrent", "container"})
#: Group tags of interactive desktop software (heuristic H1).
DESKTOP_TAGS = frozenset({"browser", "ide", "terminal", "gui_interactive", "player", "video", "audio"})


@dataclass
class RuleInputs:
    """Per group row: what the rules look at (arrays of equal length; flags as bool)."""

    focused: np.ndarray
    group_gui: np.ndarray
    tags: list[frozenset[str]]
    user_active: np.ndarray
    idle_ms: np.ndarray  # time_since_last_input_ms, NaN when unknown
    bad_responsiveness: np.ndarray
    total_cpu_share: np.ndarray  # NaN when NULL (always, in production)
    xruns: np.ndarray  # the snapshot's audio_xruns_delta, NaN when unknown
    audio_active: np.ndarray  # a member is an audio client with an active stream
    tty_term: np.ndarray  # a member has a tty and a TERM
    system: np.ndarray  # a member looks like a system process (exe or cgroup markers)
    nice: np.ndarray  # of the representative process (NaN when none)
    ionice_class: np.ndarray  # of the representative process (NaN when unset)
    cpu_pressure: np.ndarray | None = None  # group activity while unresponsive (see `responsiveness_correction`)


def rule_grades(r: RuleInputs, thresholds: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class grade per group, and the number of the rule that decided it (first match wins).

    Rules R1–R7 are the daemon's (contract §4.2), in its order; H1–H5 are heuristics for what they leave open.
    """
    t = {**policy.DEFAULT_THRESHOLDS, **(thresholds or {})}
    n = len(r.focused)
    has_tag = lambda names: np.fromiter((not tags.isdisjoint(names) for tags in r.tags), bool, n)  # noqa: E731
    game = has_tag({policy.GAME_TAG})
    background_tag = has_tag(policy.BACKGROUND_TAGS)
    batch = has_tag(BATCH_TAGS)
    desktop = has_tag(DESKTOP_TAGS)
    active = r.user_active.astype(bool)
    recent_input = np.nan_to_num(r.idle_ms, nan=np.inf) <= t["user_idle_timeout_sec"] * 1000.0
    noisy = np.nan_to_num(r.total_cpu_share, nan=0.0) > t["noisy_neighbour_cpu_share"]
    rules = [
        # (rule id, condition, grade)
        (1, r.system, NORMAL),  # R1 guardrail: system groups stay NORMAL
        (2, (np.nan_to_num(r.xruns) > 0) & r.audio_active, INTERACTIVE),  # R2 guardrail: audio with xruns
        (3, r.focused & (r.audio_active | game), CRIT),  # R3 focused and playing, or a focused game
        (4, r.focused & r.group_gui, INTERACTIVE),  # R4 focused GUI
        (5, active & recent_input & r.tty_term, INTERACTIVE),  # R5 active terminal
        (6, active & background_tag, BACKGROUND),  # R6 updater / indexer / maintenance while the user works
        (7, r.bad_responsiveness.astype(bool) & noisy & ~r.focused, BACKGROUND),  # R7 noisy neighbour
        (8, r.audio_active, INTERACTIVE),  # H1 playing audio without focus: must not stutter
        (9, np.nan_to_num(r.ionice_class) == 3, IDLE),  # H2 already in the idle IO class
        (10, (np.nan_to_num(r.nice) >= 10) | batch | background_tag, BACKGROUND),  # H3 work nobody waits for
        (11, r.group_gui | desktop, NORMAL),  # H4 other desktop software
        (12, np.ones(n, bool), NORMAL),  # H5 default: no rule matched
    ]
    grade = np.full(n, NORMAL, dtype=np.int8)
    rule = np.zeros(n, dtype=np.int8)
    undecided = np.ones(n, bool)
    for rule_id, cond, g in rules:
        hit = undecided & cond
        grade[hit] = g
        rule[hit] = rule_id
        undecided &= ~hit
    return grade, rule


def responsiveness_correction(grades: np.ndarray, r: RuleInputs, top_fraction: float = 0.1) -> np.ndarray:
    """Push down one class the groups that hold the CPU or IO while the snapshot is unresponsive.

    In a snapshot with `bad_responsiveness`, a group whose activity rank (`r.cpu_pressure`: the larger of its
    members' new involuntary context switches and new IO bytes since the previous snapshot, ranked within the
    snapshot, 1.0 = the most active) is in the top `top_fraction` loses one grade (not below IDLE), unless it is
    a system group, focused, or playing audio.
    """
    if r.cpu_pressure is None:
        return grades
    out = grades.copy()
    protected = r.focused | r.audio_active | r.system
    culprit = r.bad_responsiveness.astype(bool) & ~protected & (r.cpu_pressure > 1.0 - top_fraction)
    out[culprit] = np.maximum(out[culprit] - 1, IDLE)
    return out
