"""The daemon's policy (contract §4): classes, their order, the YAML thresholds and the rule inputs.

These are the daemon's hard-coded values; the rule teacher (`smoothtask_trainer.labels`) and the policy tuner
build on them.
"""

from __future__ import annotations

from typing import Final

#: Priority classes from lowest to highest; the index is the class's grade (IDLE 0 … CRIT_INTERACTIVE 4).
CLASSES: Final[tuple[str, ...]] = ("IDLE", "BACKGROUND", "NORMAL", "INTERACTIVE", "CRIT_INTERACTIVE")
IDLE, BACKGROUND, NORMAL, INTERACTIVE, CRIT_INTERACTIVE = CLASSES
GRADE: Final[dict[str, int]] = {name: grade for grade, name in enumerate(CLASSES)}
#: The teacher_score that stands for each class: the centre of its band (IDLE 0.1 … CRIT_INTERACTIVE 0.9).
CLASS_SCORE: Final[dict[str, float]] = dict(zip(CLASSES, (0.1, 0.3, 0.5, 0.7, 0.9), strict=True))

#: The YAML `thresholds:` defaults the daemon ships (§4.3).
DEFAULT_THRESHOLDS: Final[dict[str, float]] = {
    "crit_interactive_percentile": 0.9,
    "interactive_percentile": 0.6,
    "normal_percentile": 0.3,
    "background_percentile": 0.1,
    "psi_cpu_some_high": 0.6,
    "psi_io_some_high": 0.4,
    "sched_latency_p99_threshold_ms": 20.0,
    "ui_loop_p95_threshold_ms": 16.67,
    "user_idle_timeout_sec": 120,
    "noisy_neighbour_cpu_share": 0.7,
}

#: Guardrail: a group is a system group when a member's exe contains one of these …
SYSTEM_EXE_MARKERS: Final[tuple[str, ...]] = ("systemd", "journald", "udevd", "kernel")
#: … or its cgroup starts with one of these prefixes and contains one of the markers below.
SYSTEM_CGROUP_PREFIXES: Final[tuple[str, ...]] = ("/system.slice", "/sys/fs/cgroup")
SYSTEM_CGROUP_MARKERS: Final[tuple[str, ...]] = ("systemd", "kernel")
#: user_active && one of these group tags -> BACKGROUND.
BACKGROUND_TAGS: Final[frozenset[str]] = frozenset({"updater", "indexer", "maintenance"})
#: focused && this tag -> CRIT_INTERACTIVE.
GAME_TAG: Final = "game"


def percentile_class(percentile: float, thresholds: dict[str, float] | None = None) -> str:
    """The daemon's `map_percentile_to_class` (§2.3)."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    if percentile >= t["crit_interactive_percentile"]:
        return "CRIT_INTERACTIVE"
    if percentile >= t["interactive_percentile"]:
        return "INTERACTIVE"
    if percentile >= t["normal_percentile"]:
        return "NORMAL"
    if percentile >= t["background_percentile"]:
        return "BACKGROUND"
    return "IDLE"
