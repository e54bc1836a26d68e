"""The daemon's policy (contract §4): classes, their order, the YAML thresholds and the rule inputs.

These are the daemon's hard-coded values; the rule teacher (`smoothtask_trainer.labels`) and the policy tuner
build on them.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
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


def f32(x: float) -> float:
    """The value a Rust f32 holds for `x`, widened back to f64 (f32(0.6) = 0.6000000238418579)."""
    return struct.unpack("f", struct.pack("f", x))[0]


def percentile_class(percentile: float, thresholds: Mapping[str, float | None] | None = None) -> str:
    """The daemon's `map_percentile_to_class` with its f32 cut-offs (policy-replay.md §8.1): an exact percentile of
    0.6, 0.3 or 0.1 falls to the lower class; 0.9 stays CRIT_INTERACTIVE."""
    t = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    for key, cls in (
        ("crit_interactive_percentile", CRIT_INTERACTIVE),
        ("interactive_percentile", INTERACTIVE),
        ("normal_percentile", NORMAL),
        ("background_percentile", BACKGROUND),
    ):
        if percentile >= f32(t[key]):  # type: ignore[arg-type]
            return cls
    return IDLE
