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
#: App names of the desktop's plumbing, which every frame and every sound goes through (heuristic H0): the
#: compositor, the X server for X11 apps, input methods, the audio servers.
PLUMBING_APPS = frozenset({
    "gnome-shell", "kwin_wayland", "kwin_x11", "mutter", "sway", "Hyprland", "weston", "labwc", "wayfire",
    "Xwayland", "Xorg", "ibus-daemon", "fcitx5", "fcitx", "pipewire", "pipewire-pulse", "pulseaudio",
})  # fmt: skip


@dataclass
class MemberSignals:
    """Per group row: what the stock daemon fills about the members where it leaves the group's column empty."""

    sets: list[frozenset[str]]  # the members' process tags and process types
    app_names: list[str | None]


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
    members: MemberSignals | None = None  # process-level fallbacks (see `effective`)
    audio_client: np.ndarray | None = None  # a member is a PipeWire client (filled where streams are not)

    def effective(self) -> tuple[list[frozenset[str]], np.ndarray, str, str]:
        """(tags, audio) the rules use, and where each came from. A store whose group tags are all empty (the
        stock daemon's) uses the members' process tags and types; one that never flags an active stream uses
        the PipeWire client flag (a player stays a client a while after it stops)."""
        tags, tag_source = self.tags, "group tags"
        if self.members is not None and self.members.sets and not any(self.tags):
            tags, tag_source = self.members.sets, "member process tags and types (group tags are empty)"
        audio, audio_source = self.audio_active, "active streams"
        if self.audio_client is not None and not self.audio_active.any() and self.audio_client.any():
            audio, audio_source = self.audio_client, "PipeWire clients (no active stream is ever flagged)"
        return tags, audio, tag_source, audio_source


def signal_report(r: RuleInputs) -> dict[str, str]:
    """Which signal each rule family could use on this store (for validate's report)."""
    _, audio, tag_source, audio_source = r.effective()
    activity = r.user_active.any() or bool(np.isfinite(r.idle_ms).any())
    shares = bool(np.isfinite(r.total_cpu_share).any())
    names = r.members is not None and any(r.members.app_names)
    windows = bool(r.focused.any() or r.group_gui.any())
    return {
        "tags (R3 game, R6, H3, H4)": tag_source,
        "audio (R2, R3, H1)": audio_source if audio.any() else "none: no audio client in the store",
        "user activity (R5, R6)": (
            "user_active / time_since_last_input_ms" if activity else "none: never filled, so R5 and R6 cannot fire"
        ),
        "CPU shares (R7)": "total_cpu_share" if shares else "none: never filled, so R7 cannot fire",
        "app identity (H0)": "app_name" if names else "none",
        "focus and windows (R3, R4, H4)": "is_focused_group / has_gui_window" if windows else "none: no introspector",
    }


def rule_grades(r: RuleInputs, thresholds: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Class grade per group, and the number of the rule that decided it (first match wins).

    Rules R1–R7 are the daemon's (contract §4.2), in its order; H1–H5 are heuristics for what they leave open.
    """
    t = {**policy.DEFAULT_THRESHOLDS, **(thresholds or {})}
    n = len(r.focused)
    tag_sets, audio_active, _, _ = r.effective()
    has_tag = lambda names: np.fromiter((not tags.isdisjoint(names) for tags in tag_sets), bool, n)  # noqa: E731
    plumbing = np.zeros(n, bool)
    if r.members is not None and r.members.app_names:
        plumbing = np.fromiter((name in PLUMBING_APPS for name in r.members.app_names), bool, n)
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
        (2, (np.nan_to_num(r.xruns) > 0) & audio_active, INTERACTIVE),  # R2 guardrail: audio with xruns
        (3, r.focused & (audio_active | game), CRIT),  # R3 focused and playing, or a focused game
        (4, r.focused & r.group_gui, INTERACTIVE),  # R4 focused GUI
        (13, plumbing, INTERACTIVE),  # H0 the desktop's plumbing: compositor, input method, audio server
        (5, active & recent_input & r.tty_term, INTERACTIVE),  # R5 active terminal
        (6, active & background_tag, BACKGROUND),  # R6 updater / indexer / maintenance while the user works
        (7, r.bad_responsiveness.astype(bool) & noisy & ~r.focused, BACKGROUND),  # R7 noisy neighbour
        (8, audio_active, INTERACTIVE),  # H1 playing audio without focus: must not stutter
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
    protected = r.focused | r.effective()[1] | r.system
    culprit = r.bad_responsiveness.astype(bool) & ~protected & (r.cpu_pressure > 1.0 - top_fraction)
    out[culprit] = np.maximum(out[culprit] - 1, IDLE)
    return out
