"""The daemon's `thresholds:` block: its keys, types and `Thresholds::validate` rules (policy-replay.md §6.1).

The daemon stops at the first error; `validate_thresholds` reports all of them, in the daemon's order, so that a
user fixes a file once. Types follow serde: integers are accepted for float keys, booleans are not; the u64 keys
take non-negative integers only (not 120.0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

from smoothtask_trainer.contract.policy import DEFAULT_THRESHOLDS, f32

PERCENTILES: Final = (
    "crit_interactive_percentile",
    "interactive_percentile",
    "normal_percentile",
    "background_percentile",
)
FLOAT32_KEYS: Final = (*PERCENTILES, "psi_cpu_some_high", "psi_io_some_high", "noisy_neighbour_cpu_share")
U64_KEYS: Final = ("user_idle_timeout_sec", "interactive_build_grace_sec")
FLOAT64_KEYS: Final = ("sched_latency_p99_threshold_ms", "ui_loop_p95_threshold_ms")
#: Keys without a serde default: a file without them does not load.
REQUIRED: Final = (*FLOAT32_KEYS, *U64_KEYS)
#: After the percentiles and their order, in the daemon's order: (key, low, high, low bound excluded).
RANGES: Final = (
    ("psi_cpu_some_high", 0.0, 1.0, False),
    ("psi_io_some_high", 0.0, 1.0, False),
    ("noisy_neighbour_cpu_share", 0.0, 1.0, True),
    ("user_idle_timeout_sec", 0, 86400, True),
    ("interactive_build_grace_sec", 0, 3600, True),
    ("sched_latency_p99_threshold_ms", 0.0, 1000.0, True),
    ("ui_loop_p95_threshold_ms", 0.0, 1000.0, True),
)
#: The daemon's defaults for every key (`priority_hysteresis_stable_sec: null` means 30).
DEFAULTS: Final[dict[str, Any]] = {
    **DEFAULT_THRESHOLDS,
    "interactive_build_grace_sec": 10,
    "priority_hysteresis_stable_sec": 30,
}


def type_problem(key: str, value: Any) -> str | None:
    """serde's view of the value's type, or None when it parses."""
    if key in U64_KEYS or key == "priority_hysteresis_stable_sec":
        if key == "priority_hysteresis_stable_sec" and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{key}: {value!r} is not a non-negative integer (the daemon cannot parse it)"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{key}: {value!r} is not a number (the daemon cannot parse it)"
    return None


def _range(key: str, value: float, low: float, high: float, *, low_open: bool = False) -> str | None:
    ok = not math.isnan(value) and (value > low if low_open else value >= low) and value <= high
    if ok:
        return None
    bound = f"in ({low}, {high}]" if low_open else f"in [{low}, {high}]"
    return f"{key} must be {bound}, got {value}"


def validate_thresholds(thresholds: Mapping[str, Any]) -> list[str]:
    """Every problem the daemon would find in a `thresholds:` mapping (its first one stops it), in its order."""
    problems = [f"{key}: missing (the daemon requires it)" for key in REQUIRED if key not in thresholds]
    typed = {}
    for key, value in thresholds.items():
        if key not in DEFAULTS:
            continue  # serde ignores unknown keys
        problem = type_problem(key, value)
        if problem:
            problems.append(problem)
        else:
            typed[key] = value
    if problems:
        return problems  # a file that does not parse is never validated
    t = {**DEFAULTS, **typed}
    pct = {k: f32(float(t[k])) for k in PERCENTILES}
    problems += [p for k in PERCENTILES if (p := _range(k, pct[k], 0.0, 1.0))]
    order = [pct["background_percentile"], pct["normal_percentile"]]
    order += [pct["interactive_percentile"], pct["crit_interactive_percentile"]]
    if not all(a <= b for a, b in zip(order, order[1:], strict=False)):
        problems.append(
            "the percentiles must satisfy background <= normal <= interactive <= crit_interactive, got "
            + " <= ".join(f"{v:g}" for v in order)
        )
    for key, low, high, low_open in RANGES:
        value = f32(float(t[key])) if key in FLOAT32_KEYS else float(t[key])
        problem = _range(key, value, low, high, low_open=low_open)
        if problem:
            problems.append(problem)
    if not float(t["sched_latency_p99_threshold_ms"]) >= float(t["ui_loop_p95_threshold_ms"]):
        problems.append(
            f"sched_latency_p99_threshold_ms ({t['sched_latency_p99_threshold_ms']}) must be >= "
            f"ui_loop_p95_threshold_ms ({t['ui_loop_p95_threshold_ms']})"
        )
    return problems
