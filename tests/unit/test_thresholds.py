"""The daemon's `Thresholds::validate`, every rule, all errors reported (the daemon stops at the first)."""

from __future__ import annotations

import pytest

from smoothtask_trainer.contract.thresholds import DEFAULTS, validate_thresholds


def with_(**changes) -> dict:
    return {**DEFAULTS, **changes}


def test_the_defaults_pass_and_equal_percentiles_are_allowed() -> None:
    assert validate_thresholds(DEFAULTS) == []
    assert validate_thresholds(with_(normal_percentile=0.6, interactive_percentile=0.6)) == []
    assert validate_thresholds(with_(priority_hysteresis_stable_sec=None)) == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"crit_interactive_percentile": 1.5}, "crit_interactive_percentile must be in [0.0, 1.0]"),
        ({"background_percentile": -0.1}, "background_percentile must be in [0.0, 1.0]"),
        ({"normal_percentile": 0.7}, "background <= normal <= interactive <= crit_interactive"),
        ({"psi_cpu_some_high": 1.2}, "psi_cpu_some_high must be in [0.0, 1.0]"),
        ({"psi_io_some_high": float("nan")}, "psi_io_some_high must be in"),
        ({"noisy_neighbour_cpu_share": 0.0}, "noisy_neighbour_cpu_share must be in (0.0, 1.0]"),
        ({"user_idle_timeout_sec": 0}, "user_idle_timeout_sec must be in (0, 86400]"),
        ({"user_idle_timeout_sec": 86401}, "user_idle_timeout_sec must be in (0, 86400]"),
        ({"interactive_build_grace_sec": 3601}, "interactive_build_grace_sec must be in (0, 3600]"),
        ({"sched_latency_p99_threshold_ms": 0.0}, "sched_latency_p99_threshold_ms must be in (0.0, 1000.0]"),
        ({"ui_loop_p95_threshold_ms": 30.0}, "must be >= ui_loop_p95_threshold_ms"),
        ({"user_idle_timeout_sec": 120.0}, "is not a non-negative integer"),
        ({"priority_hysteresis_stable_sec": -1}, "is not a non-negative integer"),
        ({"psi_cpu_some_high": True}, "is not a number"),
    ],
)
def test_each_rule(changes: dict, says: str) -> None:
    problems = validate_thresholds(with_(**changes))
    assert any(says in p for p in problems), problems


def test_all_errors_are_reported_in_order_and_missing_keys_named() -> None:
    problems = validate_thresholds(with_(crit_interactive_percentile=2.0, psi_cpu_some_high=5.0))
    assert [p.split(" ")[0] for p in problems][:1] == ["crit_interactive_percentile"] and len(problems) == 2
    missing = dict(DEFAULTS)
    del missing["normal_percentile"]
    assert validate_thresholds(missing) == ["normal_percentile: missing (the daemon requires it)"]
    assert validate_thresholds(with_(sched_latency_p99_threshold_ms=5)) != []  # an int is a number: ui 16.67 > 5
