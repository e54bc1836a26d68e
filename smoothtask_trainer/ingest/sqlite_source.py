"""Daemon SQLite logs (plain, or rotated and gzipped) → the store, set-wise inside SQLite.

The source is attached read-only and copied with `INSERT … SELECT` over the contract's column lists, in the
source's rowid order (the daemon's insertion order, which decides each app group's representative process).
Its rows are type-checked first (`ingest.sqlite_checks`); a snapshot with an ill-typed row is skipped whole.

A source is never written to. What SQLite would have to write to read it (rolling back a hot `-journal` left by an
interrupted write, recovering a `-wal` that has no `-shm`) is done on a private copy beside the store instead.
A source's identity (`source_digest`) covers its `-wal` and hot `-journal`, whose rows are part of its content.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from smoothtask_trainer import contract
from smoothtask_trainer.errors import InputFormatError
from smoothtask_trainer.files import sha256_file
from smoothtask_trainer.ingest import sqlite_checks

CHUNK = 1 << 20
SRC = "smoothtask_src"
TMP_PREFIX = ".smoothtask-src-"
#: The first bytes of a rollback journal that SQLite may roll back (a zeroed or truncated one is inert).
JOURNAL_MAGIC = bytes.fromhex("d9d505f920a163d7")
#: Primary result codes after which a read-only open is retried on a private copy (READONLY, CANTOPEN, PERM).
_RECOVERABLE = {8, 14, 3}


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
    bad: int = 0  # snapshots skipped because one of their rows holds a value of the wrong type
    examples: list[str] = field(default_factory=list)  # the first offending values, for the report


@contextlib.contextmanager
def gunzipped(path: Path, workdir: Path, on_bytes: Callable[[int], None] | None = None) -> Iterator[tuple[Path, str]]:
    """Decompress a gzipped SQLite file next to the store; yield (temporary path, sha256 of the .gz bytes).

    The temporary file is removed on exit, whatever happens.
    """
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".db", dir=workdir)
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
        _remove(tmp)


def _remove(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    for suffix in ("-journal", "-wal", "-shm"):
        Path(str(tmp) + suffix).unlink(missing_ok=True)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def sidecars(path: Path) -> list[Path]:
    """The files beside `path` that hold part of its content: a non-empty `-wal`, a `-journal` SQLite may roll back.

    `-shm` is only an index of the `-wal` and is never part of the content.
    """
    out = []
    wal = Path(f"{path}-wal")
    if _size(wal) > 0:
        out.append(wal)
    journal = Path(f"{path}-journal")
    if _size(journal) > 0:
        try:
            with journal.open("rb") as fh:
                hot = fh.read(len(JOURNAL_MAGIC)) == JOURNAL_MAGIC
        except OSError:
            hot = True  # unreadable: count it, so that a change of the journal is never missed
        if hot:
            out.append(journal)
    return out


def source_digest(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """The identity of an SQLite source: sha256 of its bytes, and of its `-wal` / hot `-journal` when present.

    A file without such sidecars has the sha256 of its bytes (what earlier versions recorded), so a re-run still
    recognises it; one whose `-wal` gained rows has another identity and is read again.
    """
    extra = sidecars(path)
    if not extra:
        return sha256_file(path, on_bytes)
    h = hashlib.sha256()
    done, total = 0, _size(path)
    for part in (path, *extra):
        try:
            fh = part.open("rb", buffering=0)
        except FileNotFoundError:
            if part == path:
                raise
            continue  # a checkpoint or a commit removed it meanwhile: its rows are in the main file now
        h.update(f"\0smoothtask-part {part.name[len(path.name) :] or 'main'}\0".encode())
        with fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)
                done += len(chunk)
                if on_bytes:
                    on_bytes(min(done, total))  # progress is measured against the main file's size
    return h.hexdigest()


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


def _uri(path: Path) -> str:
    # quote() escapes '%', '#', '?' and spaces, which a URI would otherwise read as escapes, fragment and query.
    return f"file:{quote(str(path.resolve()))}?mode=ro"


def _attach(con: sqlite3.Connection, path: Path) -> None:
    """Attach read-only and read the schema at once: a hot journal or a missing `-shm` fails here, not mid-copy."""
    con.execute(f"ATTACH DATABASE ? AS {SRC}", (_uri(path),))
    try:
        con.execute(f"SELECT COUNT(*) FROM {SRC}.sqlite_master").fetchone()
    except sqlite3.Error:
        with contextlib.suppress(sqlite3.Error):
            con.execute(f"DETACH DATABASE {SRC}")
        raise


def _wal_mode(path: Path) -> bool:
    """Whether the file's header says WAL mode (bytes 18-19 are 2): reading it needs a `-shm` beside it."""
    try:
        with path.open("rb") as fh:
            head = fh.read(20)
    except OSError:
        return False
    return len(head) == 20 and head[18] == 2 and head[19] == 2


def _recovery_reason(path: Path) -> str:
    if Path(f"{path}-journal") in sidecars(path):
        return f"it has a hot journal ({path.name}-journal, left by an interrupted write)"
    if _wal_mode(path):
        return f"it is in WAL mode without a {path.name}-shm beside it"
    return "it cannot be opened read-only in place"


@contextlib.contextmanager
def _private_copy(path: Path, workdir: Path, label: str, why: str) -> Iterator[Path]:
    """Copy `path` with its `-wal` / `-journal` into `workdir` and let SQLite recover the copy, never the source."""
    fd, tmp_name = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".db", dir=workdir)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            shutil.copyfile(path, tmp)
            for suffix in ("-wal", "-journal"):
                side = Path(f"{path}{suffix}")
                if side.exists():
                    shutil.copyfile(side, f"{tmp}{suffix}")
            rec = sqlite3.connect(tmp, isolation_level=None)
            try:
                # Reading rolls a hot journal back / replays the WAL; DELETE mode folds the WAL into the copy.
                rec.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                rec.execute("PRAGMA journal_mode=DELETE").fetchone()
            finally:
                rec.close()
        except (OSError, sqlite3.Error) as exc:
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            need = sum(_size(Path(f"{path}{suffix}")) for suffix in ("", "-wal", "-journal"))
            raise InputFormatError(
                f"cannot be read: {why}, and recovering a private copy in {workdir} failed ({detail}); "
                "the file was left as it is",
                path=label,
                hint=f"free space in {workdir} (a copy needs about {max(1, -(-need >> 20))} MiB), or copy {path.name} "
                "together with its -journal / -wal into a directory you can write, open the copy once with "
                "`sqlite3 COPY 'PRAGMA quick_check'` so that SQLite recovers it, and collect the copy",
            ) from None
        yield tmp
    finally:
        _remove(tmp)


@contextlib.contextmanager
def attached(con: sqlite3.Connection, path: Path, label: str, workdir: Path | None = None) -> Iterator[str | None]:
    """Attach `path` read-only as the copy source (SQLite forbids ATTACH inside a transaction).

    With `workdir`, a source that SQLite cannot read without writing (a hot journal; a WAL-mode file without its
    `-shm`, which SQLite would create beside it) is read from a recovered private copy in `workdir`; the source
    and its journal stay byte-identical. Yields a note when that happened, else None.
    """
    with contextlib.ExitStack() as stack:
        note = None
        target = path
        if workdir is not None and _wal_mode(path) and not Path(f"{path}-shm").exists():
            why = _recovery_reason(path)
            target = stack.enter_context(_private_copy(path, workdir, label, why))
            note = f"read from a recovered private copy: {why}"
        try:
            _attach(con, target)
        except sqlite3.Error as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if workdir is None or target != path or code not in _RECOVERABLE:
                raise InputFormatError(f"cannot open as SQLite: {exc}", path=label) from None
            why = _recovery_reason(path)
            target = stack.enter_context(_private_copy(path, workdir, label, why))
            try:
                _attach(con, target)
            except sqlite3.Error as exc2:
                raise InputFormatError(f"cannot open as SQLite: {exc2}", path=label) from None
            note = f"read from a recovered private copy: {why}"
        stack.callback(_detach, con)
        yield note


def _detach(con: sqlite3.Connection) -> None:
    with contextlib.suppress(sqlite3.Error):
        con.execute(f"DETACH DATABASE {SRC}")


def copy_attached(con: sqlite3.Connection, label: str, max_examples: int = 5) -> CopyCounts:
    """Copy the attached daemon database into the store inside the caller's open transaction.

    Snapshots whose id the store already holds are skipped (counted as duplicates), never overwritten; snapshots
    with a value of the wrong type in any of their rows are skipped whole (counted in `bad`).
    """
    try:
        present = _source_columns(con, label)
        total = con.execute(f"SELECT COUNT(*) FROM {SRC}.snapshots").fetchone()[0]
        invalid = con.execute(
            f"SELECT COUNT(*) FROM {SRC}.snapshots WHERE snapshot_id IS NULL OR timestamp IS NULL"
        ).fetchone()[0]
        bad = sqlite_checks.find_bad_rows(con, SRC, present, max_examples)
        con.execute("CREATE TEMP TABLE IF NOT EXISTS smoothtask_new_ids (snapshot_id INTEGER PRIMARY KEY)")
        con.execute("DELETE FROM temp.smoothtask_new_ids")
        con.execute(
            f"INSERT INTO temp.smoothtask_new_ids SELECT s.snapshot_id FROM {SRC}.snapshots s "
            "WHERE s.snapshot_id IS NOT NULL AND s.timestamp IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM main.snapshots m WHERE m.snapshot_id = s.snapshot_id)"
            + (f" AND {sqlite_checks.exclusion('s')}" if bad.snapshots else "")
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
        sqlite_checks.clear(con)
    except sqlite3.DatabaseError as exc:
        raise InputFormatError(f"cannot read the snapshot tables: {exc}", path=label) from None
    return CopyCounts(
        records=total,
        snapshots=counts["snapshots"],
        processes=counts["processes"],
        app_groups=counts["app_groups"],
        duplicates=total - invalid - bad.snapshots - counts["snapshots"],
        orphans=orphans,
        invalid=invalid,
        bad=bad.snapshots,
        examples=bad.examples,
    )
