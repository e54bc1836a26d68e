"""The columns `replay` reads, per app-group row of a one-source store, for a `features` shard.

The values are `replay_load.load`'s (the same SQL, member tests and NULL handling), kept as plain columns.
"""

from __future__ import annotations

import sqlite3

import numpy as np

from smoothtask_trainer.services import replay_load

#: Per-group columns, stored as ``g_NAME`` (some features have the same names).
GROUP_COLUMNS = (
    "focused",
    "gui",
    "total_cpu_share",
    "tag_game",
    "tag_background",
    "any_system",
    "any_audio_stream",
    "any_tty_term",
)
EXTRA_COLUMNS = ("app_name", "root_pid", "teacher_grade")
#: Per-snapshot columns, repeated on each group row as ``snap_NAME``; `replay_load`'s field for each.
SNAPSHOT_COLUMNS = (
    "psi_cpu",
    "psi_io",
    "psi_mem",
    "sched_p99",
    "ui_p95",
    "xruns",
    "tsli",
    "user_active",
    "load_avg_one",
    "mem_total_kb",
    "mem_available_kb",
    "logged_bad",
)


def replay_columns(con: sqlite3.Connection) -> dict[str, np.ndarray]:
    """``snapshot_id``, ``app_group_id``, ``group_rank`` and the ``g_*`` and ``snap_*`` columns of every group row
    whose snapshot is in the store, in the daemon's order (snapshot, then the group's rowid): `replay_load.load`'s
    arrays, one column each."""
    g, s, extra = replay_load.load(con)
    n = g.snap.size
    first = np.r_[True, g.snap[1:] != g.snap[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    out: dict[str, np.ndarray] = {
        "snapshot_id": s.snapshot_id[g.snap],
        "app_group_id": g.app_group_id,
        "group_rank": (np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))).astype(np.int32),
        **{f"g_{name}": getattr(g, name) for name in GROUP_COLUMNS},
        **{f"g_{name}": extra[name] for name in EXTRA_COLUMNS},
    }
    for name in SNAPSHOT_COLUMNS:
        out[f"snap_{name}"] = (extra[name] if name == "logged_bad" else getattr(s, name))[g.snap]
    return out
