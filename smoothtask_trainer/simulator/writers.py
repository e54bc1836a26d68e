"""Write frames to disk: flat JSONL, the daemon's nested JSONL, or a daemon-schema SQLite database.

A name ending in `.gz` is gzip-compressed (for SQLite too, like the daemon's rotated `snapshots.<ts>.gz`).
Output goes to a hidden temporary file next to the target and is renamed into place only when complete, so
an error or an interrupt never leaves a partial file behind. The gzip header carries no timestamp, so the same
frames always give the same bytes.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from smoothtask_trainer import contract
from smoothtask_trainer.errors import OutputPathError, opt
from smoothtask_trainer.files import ensure_parent, temp_beside
from smoothtask_trainer.simulator.engine import Frame
from smoothtask_trainer.simulator.render import SHAPES, SqliteRows

FORMATS = ("jsonl", "jsonl-nested", "sqlite")
FLUSH_BYTES = 4 << 20
GZIP_LEVEL = 6  # gzip's own default: level 9 costs ~3x the time for ~3% less
SQLITE_COMMIT_EVERY = 200

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class WriteStats:
    """What a write produced: rows per table and the size of the finished file."""

    snapshots: int
    processes: int
    app_groups: int
    bytes_written: int


def check_output(path: Path, *, overwrite: bool) -> None:
    """Raise `OutputPathError` unless `path` can be (re)written as a file."""
    if path.is_dir():
        raise OutputPathError(
            f"{path} is a directory, not a file name", hint=f"name a file inside it, e.g. {path / 'snapshots.jsonl'}"
        )
    ensure_parent(path)
    parent = path.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot write {path}: directory {parent} is not writable",
            hint="choose an output path in a directory you can write to",
        )
    if os.path.lexists(path):
        if not overwrite:
            raise OutputPathError(
                f"{path} already exists",
                hint=f"allow replacing it ({opt('overwrite')}) or choose another name",
            )
        _refuse_special(path)


def _refuse_special(path: Path) -> None:
    """`overwrite` replaces regular files only: never a FIFO, socket or device node (as root, /dev/full is one)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # a dangling symlink: the new file replaces the link, nothing else
    if not stat.S_ISREG(mode):
        raise OutputPathError(
            f"{path} is not a regular file (a FIFO, socket or device); {opt('overwrite')} replaces regular files only",
            hint="choose an output file name",
        )


def _finish(tmp: Path, path: Path, overwrite: bool) -> int:
    if os.path.lexists(path) and not overwrite:  # someone created it while we were writing
        raise OutputPathError(
            f"{path} appeared while writing",
            hint=f"allow replacing it ({opt('overwrite')}) or choose another name",
        )
    if overwrite:
        _refuse_special(path)
    os.replace(tmp, path)
    return path.stat().st_size


def _gzip_stream(raw: BinaryIO, path: Path) -> gzip.GzipFile:
    # The header stores the original name and mtime; a fixed name and mtime 0 keep output reproducible.
    return gzip.GzipFile(
        filename=path.name.removesuffix(".gz"), mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0
    )


def write_frames(
    path: Path,
    fmt: str,
    frames: Iterable[Frame],
    total: int,
    *,
    overwrite: bool = False,
    on_progress: Progress | None = None,
    every: int = 25,
) -> WriteStats:
    """Write `frames` (about `total` of them, for progress) to `path` in `fmt`, atomically."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    path = Path(path)
    check_output(path, overwrite=overwrite)
    tmp = temp_beside(path, ".part")
    try:
        if fmt == "sqlite":
            counts = _write_sqlite(tmp, path, frames, total, on_progress, every)
        else:
            counts = _write_jsonl(
                tmp, path, "nested" if fmt == "jsonl-nested" else "flat", frames, total, on_progress, every
            )
        size = _finish(tmp, path, overwrite)
    except BaseException:
        with suppress(OSError):
            tmp.unlink()
        raise
    return WriteStats(*counts, size)


def _tick(on_progress: Progress | None, done: int, total: int, every: int) -> None:
    if on_progress is not None and (done % every == 0 or done == total):
        on_progress(done, total)


def _write_jsonl(
    tmp: Path, path: Path, shape: str, frames: Iterable[Frame], total: int, on_progress: Progress | None, every: int
) -> tuple[int, int, int]:
    record = SHAPES[shape][0]
    encoder = msgspec.json.Encoder()
    n = procs = groups = 0
    buf = bytearray()
    with open(tmp, "wb") as raw:
        out = _gzip_stream(raw, path) if path.name.endswith(".gz") else raw
        try:
            for frame in frames:
                encoder.encode_into(record(frame), buf, -1)
                buf += b"\n"
                n += 1
                procs += frame.n_processes
                groups += frame.n_groups
                if len(buf) >= FLUSH_BYTES:
                    out.write(buf)
                    buf.clear()
                _tick(on_progress, n, total, every)
            out.write(buf)
        finally:
            if out is not raw:
                out.close()
    return n, procs, groups


def _write_sqlite(
    tmp: Path, path: Path, frames: Iterable[Frame], total: int, on_progress: Progress | None, every: int
) -> tuple[int, int, int]:
    gz = path.name.endswith(".gz")
    db = temp_beside(path.with_name(path.name + ".db"), ".part") if gz else tmp
    try:
        counts = _fill_sqlite(db, frames, total, on_progress, every)
        if gz:
            with open(db, "rb") as src, open(tmp, "wb") as raw, _gzip_stream(raw, path) as out:
                shutil.copyfileobj(src, out, 1 << 20)
    finally:
        if gz:
            with suppress(OSError):
                db.unlink()
    return counts


def _fill_sqlite(
    db: Path, frames: Iterable[Frame], total: int, on_progress: Progress | None, every: int
) -> tuple[int, int, int]:
    rows = SqliteRows()
    n = procs = groups = 0
    con = sqlite3.connect(db, isolation_level=None)
    try:
        # Journaling only protects a file we throw away on failure anyway; neither setting is stored in it.
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        for table in contract.TABLES:
            con.execute(contract.create_table_sql(table))
        insert = {table: contract.insert_sql(table) for table in contract.TABLES}
        con.execute("BEGIN")
        for frame in frames:
            con.execute(insert["snapshots"], rows.snapshot(frame))
            # Listed order in, so rowid order within a snapshot is the daemon's list order (rep = MIN(rowid)).
            con.executemany(insert["processes"], rows.processes(frame))
            con.executemany(insert["app_groups"], rows.groups(frame))
            n += 1
            procs += frame.n_processes
            groups += frame.n_groups
            if n % SQLITE_COMMIT_EVERY == 0:
                con.execute("COMMIT")
                con.execute("BEGIN")
            _tick(on_progress, n, total, every)
        con.execute("COMMIT")
        for statement in contract.create_index_sql():  # built once at the end: faster than maintaining them
            con.execute(statement)
    finally:
        con.close()
    return n, procs, groups
