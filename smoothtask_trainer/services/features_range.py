"""A large daemon database in time ranges: several `features` tasks instead of one (no Typer or rich here).

A range task owns the snapshots ``lo <= snapshot_id < hi`` (the daemon's snapshot id is its timestamp in
milliseconds). Its rows need a little of the database around them: the snapshot before the range (the rule
teacher's per-process deltas) and `attention_horizon_s` after it (the attention labels look ahead), so the task
copies that window, in the daemon's own schema, into a private database that `collect` reads like any daemon
database, builds the rows and keeps its own. The rule teacher also switches on facts of the whole store (group
tags all empty, no active stream ever flagged): the ranges of a database must agree on them, or the database is
built again as one task, so the rows always equal those of one task over the whole file.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer.ingest.sqlite_source import SRC, attached

#: Extra look-ahead copied after a range, beyond the attention horizon (a late snapshot, timestamp jitter).
MARGIN_MS = 60_000


def snapshot_ids(source: Path, workdir: Path) -> np.ndarray:
    """The database's snapshot ids, in order."""
    con = sqlite3.connect(":memory:")
    try:
        with attached(con, source, str(source), workdir):
            rows = con.execute(f"SELECT snapshot_id FROM {SRC}.snapshots WHERE snapshot_id IS NOT NULL "
                               "ORDER BY snapshot_id").fetchall()  # fmt: skip
    finally:
        con.close()
    return np.array([r[0] for r in rows], dtype=np.int64)


def plan(ids: np.ndarray, per_range: int | None) -> list[tuple[int, int | None]]:
    """The ranges ``(lo, hi)`` of about `per_range` snapshots each (hi None: to the end); one range for a database
    that is not larger than that."""
    if per_range is None or ids.size <= per_range:
        return [(int(ids[0]) if ids.size else 0, None)]
    starts = [int(x) for x in ids[::per_range]]
    return [(lo, starts[i + 1] if i + 1 < len(starts) else None) for i, lo in enumerate(starts)]


def copy_window(source: Path, lo: int, hi: int | None, after_ms: int, target: Path, workdir: Path) -> None:
    """The rows of the snapshots from the one before `lo` to `after_ms` past `hi`, in the source's own schema."""
    con = sqlite3.connect(target)
    try:
        with attached(con, source, str(source), workdir):
            tables = con.execute(
                f"SELECT name, sql FROM {SRC}.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            ).fetchall()
            sql = f"SELECT MAX(snapshot_id) FROM {SRC}.snapshots WHERE snapshot_id < ?"
            before = con.execute(sql, (lo,)).fetchone()[0]
            start = before if before is not None else lo
            where, args = "snapshot_id >= ?", [start]
            if hi is not None:
                where, args = where + " AND snapshot_id < ?", [start, hi + after_ms]
            for name, sql in tables:
                con.execute(sql)
                columns = {r[1] for r in con.execute(f'PRAGMA {SRC}.table_info("{name}")')}
                cond = f" WHERE {where}" if "snapshot_id" in columns else ""
                # in the source's row order: the daemon's order of groups within a snapshot is its rowid order
                con.execute(f'INSERT INTO main."{name}" SELECT * FROM {SRC}."{name}"{cond} ORDER BY rowid',
                            args if cond else [])  # fmt: skip
            con.commit()
    finally:
        con.close()


def keep_range(table: Any, lo: int, hi: int | None) -> Any:
    """The rows of `table` (Arrow) whose snapshot is in the range."""
    import pyarrow as pa

    sid = table["snapshot_id"].to_numpy()
    mask = (sid >= lo) & (sid < hi) if hi is not None else sid >= lo
    return table.filter(pa.array(mask))


def drop_outside(db: Path, lo: int, hi: int | None) -> None:
    """Remove the window's margin snapshots from the task's store, so its figures are the range's own."""
    con = sqlite3.connect(db)
    try:
        outside = "snapshot_id < ?" + (" OR snapshot_id >= ?" if hi is not None else "")
        args = [lo, hi] if hi is not None else [lo]
        for table in ("processes", "app_groups", "snapshots"):
            con.execute(f"DELETE FROM {table} WHERE {outside}", args)
        con.commit()
    finally:
        con.close()
