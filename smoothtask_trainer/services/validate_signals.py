"""The signals a store never carries, and what that means for the daemon's policy (policy-replay.md §5).

A stock daemon never fills some columns; on its logs some rules can never fire and some thresholds do nothing.
`validate` names them with the figure, so a user knows what a model or a tuner can and cannot learn from these logs.
"""

from __future__ import annotations

import sqlite3

from smoothtask_trainer.schemas.validate import UnfilledSignal

#: (signal, SQL that is true when the store never carries it, consequence)
CHECKS = (
    (
        "user_active / time_since_last_input_ms",
        "SELECT coalesce(MAX(user_active), 0) = 0 AND COUNT(time_since_last_input_ms) = 0 FROM snapshots",
        "rules R3 (active terminal) and R4 (updater with an active user) never fire; features 19 and 33 are "
        "constant; user_idle_timeout_sec does nothing",
    ),
    (
        "processes.has_active_stream",
        "SELECT coalesce(MAX(has_active_stream), 0) = 0 FROM processes",
        "G2 (audio client with xruns) and the audio half of R1 never fire; feature 42 is constant",
    ),
    (
        "app_groups.tags",
        "SELECT COUNT(*) = 0 FROM app_groups WHERE tags IS NOT NULL AND tags NOT IN ('[]', '')",
        "the game half of R1 and all of R4 never fire; feature 50 is always 'unknown'",
    ),
    (
        "app_groups.total_cpu_share",
        "SELECT COUNT(total_cpu_share) = 0 FROM app_groups",
        "R5 (noisy neighbour) never fires, the stub ranker's +0.1 never applies, noisy_neighbour_cpu_share does "
        "nothing",
    ),
    (
        "snapshots.frame_jank_ratio",
        "SELECT COUNT(frame_jank_ratio) = 0 FROM snapshots",
        "no UI-jank signal: ui_loop_p95_threshold_ms can only be tuned as a latency threshold",
    ),
)


def unfilled_signals(con: sqlite3.Connection) -> list[UnfilledSignal]:
    """The signals this store never carries (empty tables carry nothing and are reported by the gates instead)."""
    if con.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0] == 0:
        return []
    return [
        UnfilledSignal(signal=signal, consequence=consequence)
        for signal, sql, consequence in CHECKS
        if con.execute(sql).fetchone()[0]
    ]
