"""Daemon SQLite logs (plain, or rotated and gzipped) → the store, set-wise inside SQLite.

The source is attached read-only and copied with `INSERT … SELECT` over the contract's column lists, in the
source's rowid order (the daemon's insertion order, which decides each app group's representative process).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from smoothtask_trainer import contract
from smoothtask_trainer.errors import InputFormatError

CHUNK = 1 << 20
SRC = "smoothtask_src"


@dataclass
class CopyCounts:
    """What one SQLite source contributed."""

    records: int
    snapshots: int
    processes: int
    app_groups: int
    duplicates: int
    orphans: int  # process / group rows whose snapshot is missing from the source
    invalid: int = 0  # snapshot rows without an id or a timestamp (skipped)


@contextlib.contextmanager
def gunzipped(path: Path, workdir: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[Path, str]]:
    """Decompress a gzipped SQLite file next to the store; yield (temporary path, sha256 of the .gz bytes).

    The temporary file is removed on exit, whatever happens.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=".smoothtask-src-", suffix=".db", dir=workdir)
    tmp = Path(tmp_name)
    h = hashlib.sha256()
    done = 0
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb", buffering=0) as src:
            dec = zlib.decompressobj(wbits=31)
            while chunk := src.read(CHUNK):
                h.update(chunk)
                done += len(chunk)
                try:
                    out.write(dec.decompress(chunk))
                except zlib.error as exc:
                    raise InputFormatError(f"damaged gzip data ({exc})", path=path) from None
                while dec.eof and dec.unused_data.strip(b"\x00"):
                    rest = dec.unused_data
                    dec = zlib.decompressobj(wbits=31)
                    out.write(dec.decompress(rest))
                if on_bytes:
                    on_bytes(done)
            if not dec.eof:
                raise InputFormatError(
                    "the gzip stream is truncated (the file ends mid-stream)",
                    path=path,
                    hint="the rotated log was cut short; recover it with `gzip -dc FILE > out.db` and pass out.db",
                )
        yield tmp, h.hexdigest()
    finally:
        tmp.unlink(missing_ok=True)
        for suffix in ("-journal", "-wal", "-shm"):
            Path(str(tmp) + suffix).unlink(missing_ok=True)


def _source_columns(con: sqlite3.Connection, label: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table in contract.TABLES:
        cols = {row[1] for row in con.execute(f"PRAGMA {SRC}.table_info({table})")}
        if not cols:
            raise InputFormatError(
                f"SQLite file has no {table!r} table, so it is not a SmoothTask snapshot log",
                path=label,
                hint="pass the daemon's snapshots.sqlite (paths.snapshot_db_path in its YAML)",
            )
        required = set(contract.PRIMARY_KEYS[table])
        if not required <= cols:
            raise InputFormatError(f"table {table!r} lacks its key columns {sorted(required - cols)}", path=label)
        found[table] = cols
    return found


def _select_list(table: str, present: set[str], alias: str) -> str:
    # Columns an older daemon did not write are NULL, exactly as a missing Option would be.
    return ", ".join(f"{alias}.{c}" if c in present else "NULL" for c in contract.column_names(table))


@contextlib.contextmanager
def attached(con: sqlite3.Connection, path: Path, label: str) -> Iterator[None]:
    """Attach `path` read-only as the copy source (SQLite forbids ATTACH inside a transaction)."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        con.execute(f"ATTACH DATABASE ? AS {SRC}", (uri,))
    except sqlite3.DatabaseError as exc:
        raise InputFormatError(f"cannot open as SQLite: {exc}", path=label) from None
    try:
        yield
    finally:
        with contextlib.suppress(sqlite3.Error):
            con.execute(f"DETACH DATABASE {SRC}")


def copy_attached(con: sqlite3.Connection, label: str) -> CopyCounts:
    """Copy the attached daemon database into the store inside the caller's open transaction.

    Snapshots whose id the store already holds are skipped (counted as duplicates), never overwritten.
    """
    try:
        present = _source_columns(con, label)
        total = con.execute(f"SELECT COUNT(*) FROM {SRC}.snapshots").fetchone()[0]
        invalid = con.execute(
            f"SELECT COUNT(*) FROM {SRC}.snapshots WHERE snapshot_id IS NULL OR timestamp IS NULL"
        ).fetchone()[0]
        con.execute("CREATE TEMP TABLE IF NOT EXISTS smoothtask_new_ids (snapshot_id INTEGER PRIMARY KEY)")
        con.execute("DELETE FROM temp.smoothtask_new_ids")
        con.execute(
            f"INSERT INTO temp.smoothtask_new_ids SELECT s.snapshot_id FROM {SRC}.snapshots s "
            "WHERE s.snapshot_id IS NOT NULL AND s.timestamp IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM main.snapshots m WHERE m.snapshot_id = s.snapshot_id)"
        )
        counts = {}
        for table in contract.TABLES:
            cols = ", ".join(contract.column_names(table))
            select = _select_list(table, present[table], "t")
            cur = con.execute(
                f"INSERT INTO main.{table} ({cols}) SELECT {select} FROM {SRC}.{table} t "
                "WHERE t.snapshot_id IN (SELECT snapshot_id FROM temp.smoothtask_new_ids) ORDER BY t.rowid"
            )
            counts[table] = cur.rowcount
        orphans = 0
        for table in ("processes", "app_groups"):
            orphans += con.execute(
                f"SELECT COUNT(*) FROM {SRC}.{table} t WHERE NOT EXISTS "
                f"(SELECT 1 FROM {SRC}.snapshots s WHERE s.snapshot_id = t.snapshot_id)"
            ).fetchone()[0]
        con.execute("DELETE FROM temp.smoothtask_new_ids")
    except sqlite3.DatabaseError as exc:
        raise InputFormatError(f"cannot read the snapshot tables: {exc}", path=label) from None
    return CopyCounts(
        records=total,
        snapshots=counts["snapshots"],
        processes=counts["processes"],
        app_groups=counts["app_groups"],
        duplicates=total - invalid - counts["snapshots"],
        orphans=orphans,
        invalid=invalid,
    )
