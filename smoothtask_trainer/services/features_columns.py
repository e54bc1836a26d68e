"""The columns `replay` reads, per app-group row of a one-source store, for a `features` shard.

The values are those of `replay_load.load` (the same SQL, so the same member tests and NULL handling), read in one
pass over each table and kept as plain columns: a shard needs no hysteresis keys, and the processes table is
scanned in storage order rather than through its primary key (a task's store has no other index).
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
#: `replay_load.MEMBERS_SQL` with the processes table read in storage order (the same rows and values).
MEMBERS_SQL = replay_load.MEMBERS_SQL.replace("FROM processes WHERE", "FROM processes NOT INDEXED WHERE", 1)


def _floats(values: tuple) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _bools(values: tuple) -> np.ndarray:
    return np.fromiter(map(bool, values), dtype=bool, count=len(values))


def replay_columns(con: sqlite3.Connection) -> dict[str, np.ndarray]:
    """``snapshot_id``, ``app_group_id``, ``group_rank`` and the ``g_*`` and ``snap_*`` columns of every group row
    whose snapshot is in the store, in the daemon's order (snapshot, then the group's rowid)."""
    snaps = con.execute(
        f"SELECT {', '.join(replay_load._SNAPSHOT_COLUMNS)} FROM snapshots ORDER BY snapshot_id"  # noqa: SLF001
    ).fetchall()
    s = list(zip(*snaps, strict=True)) or [()] * 13
    sid_index = {sid: i for i, sid in enumerate(s[0])}
    snap_values = {
        "psi_cpu": _floats(s[1]),
        "psi_io": _floats(s[2]),
        "psi_mem": _floats(s[3]),
        "sched_p99": _floats(s[4]),
        "ui_p95": _floats(s[5]),
        "xruns": _floats(s[6]),
        "tsli": _floats(s[7]),
        "user_active": _bools(s[8]),
        "load_avg_one": _floats(s[9]),
        "mem_total_kb": _floats(s[10]),
        "mem_available_kb": _floats(s[11]),
        "logged_bad": _floats(s[12]),
    }
    del snaps, s
    rows = [r for r in con.execute(replay_load.GROUPS_SQL) if r[0] in sid_index]
    n = len(rows)
    g = list(zip(*rows, strict=True)) or [()] * 9
    del rows
    snap = np.fromiter((sid_index[x] for x in g[0]), dtype=np.int64, count=n)
    members = {(r[0], r[1]): r[2:] for r in con.execute(MEMBERS_SQL)}
    none = (0, 0, 0, -1)
    facts = np.array([members.get(key, none) for key in zip(g[0], g[1], strict=True)], dtype=np.int64).reshape(-1, 4)
    del members
    first = np.r_[True, snap[1:] != snap[:-1]] if n else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    out: dict[str, np.ndarray] = {
        "snapshot_id": np.fromiter(g[0], dtype=np.int64, count=n),
        "app_group_id": np.array(g[1], dtype=object),
        "group_rank": (np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))).astype(np.int32),
        "g_focused": _bools(g[2]),
        "g_gui": _bools(g[3]),
        "g_total_cpu_share": _floats(g[4]),
        "g_tag_game": _bools(g[5]),
        "g_tag_background": _bools(g[6]),
        "g_any_system": facts[:, 0].astype(bool),
        "g_any_audio_stream": facts[:, 1].astype(bool),
        "g_any_tty_term": facts[:, 2].astype(bool),
        "g_app_name": np.array(g[7], dtype=object),
        "g_root_pid": np.array([-1 if x is None else x for x in g[8]], dtype=np.int64),
        "g_teacher_grade": facts[:, 3].copy(),
    }
    for name in SNAPSHOT_COLUMNS:
        out[f"snap_{name}"] = snap_values[name][snap]
    return out
