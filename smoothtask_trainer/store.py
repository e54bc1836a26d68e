"""The SQLite store: the daemon's three tables, exactly, plus this tool's bookkeeping.

A store is either new (created here) or one this tool or the daemon made; anything else is refused rather than
"repaired". The bookkeeping tables never collide with the daemon's names (prefix ``smoothtask_``).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from smoothtask_trainer import __version__, contract
from smoothtask_trainer.errors import InputNotFoundError, OutputPathError, StoreError, opt
from smoothtask_trainer.files import SQLITE_MAGIC, ensure_parent
from smoothtask_trainer.sqlite_errors import translate, translated

# CPython's sqlite3 looks for an adapter for every parameter that is not an exact int/float/str/bytearray,
# None included, and a lookup that finds nothing raises and clears two AttributeErrors. Snapshot rows are full of
# NULLs (the daemon's Option fields), so this lookup alone doubled bulk-insert time. Registering a C-level
# identity-to-None adapter for NoneType keeps NULL binding exactly as it was, without the failed lookups.
sqlite3.register_adapter(type(None), {}.get)

STORE_FORMAT = "1"
#: SQLite page cache of a scratch store's writer (KiB): its file is in memory (tmpfs) or the OS page cache, so a
#: small cache costs little time and keeps a `features` worker's memory down.
SCRATCH_CACHE_KB = 16384

INGEST_TABLE = "smoothtask_ingest_files"
META_TABLE = "smoothtask_meta"

BOOKKEEPING_DDL = (
    f"""CREATE TABLE IF NOT EXISTS {INGEST_TABLE} (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        kind TEXT NOT NULL,
        sha256 TEXT,
        size_bytes INTEGER,
        ingested_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        records_read INTEGER NOT NULL,
        snapshots_inserted INTEGER NOT NULL,
        processes_inserted INTEGER NOT NULL,
        app_groups_inserted INTEGER NOT NULL,
        duplicate_snapshots INTEGER NOT NULL,
        skipped_records INTEGER NOT NULL,
        tool_version TEXT NOT NULL
    )""",
    f"CREATE INDEX IF NOT EXISTS idx_{INGEST_TABLE}_sha256 ON {INGEST_TABLE}(sha256)",
    f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
)


def is_sqlite_file(path: Path) -> bool:
    """Whether `path` starts with the SQLite header."""
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def check_writable_target(path: Path) -> None:
    """Fail early, with the fix, when `path` cannot be a store file."""
    if path.is_dir():
        raise OutputPathError(
            f"{path} is a directory, not a store file",
            hint=f"name a file inside it, e.g. {path / 'snapshots.db'}",
        )
    ensure_parent(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.exists() and not os.access(path, os.W_OK):
        hint = f"check its permissions or choose another {opt('db')}"
        raise OutputPathError(f"store {path} is not writable", hint=hint)
    if not path.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"cannot create store {path}: directory {parent} is not writable",
            hint=f"choose a {opt('db')} path in a directory you can write",
        )


def schema_problems(con: sqlite3.Connection, schema: str = "main") -> list[str]:
    """Differences between the daemon's tables and those in `schema` (empty list: it matches)."""
    problems: list[str] = []
    for table, columns in contract.TABLES.items():
        info = con.execute(f"PRAGMA {schema}.table_info({table})").fetchall()
        if not info:
            problems.append(f"table {table!r} is missing")
            continue
        found = [(row[1], (row[2] or "").upper()) for row in info]
        if found != list(columns):
            expected_names = [c for c, _ in columns]
            found_names = [c for c, _ in found]
            missing = [c for c in expected_names if c not in found_names]
            extra = [c for c in found_names if c not in expected_names]
            detail = []
            if missing:
                detail.append(f"missing columns {missing}")
            if extra:
                detail.append(f"unexpected columns {extra}")
            if not detail:
                wrong = [f"{n} {t}" for (n, t), exp in zip(found, columns, strict=False) if (n, t) != exp]
                detail.append(f"columns differ in order or type: {wrong[:5]}")
            problems.append(f"table {table!r}: " + "; ".join(detail))
            continue
        pk = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        if pk != contract.PRIMARY_KEYS[table]:
            problems.append(f"table {table!r}: primary key {pk} instead of {contract.PRIMARY_KEYS[table]}")
    return problems


def connect(
    path: Path, *, create: bool = True, lock_timeout_s: float = 5.0, scratch: bool = False
) -> sqlite3.Connection:
    """Open (and if needed create) a store at `path`, checking that it is one.

    Args:
        path: The store file.
        create: Create the file and tables when they do not exist.
        lock_timeout_s: How long to wait for another process's write lock before giving up.
        scratch: A throwaway store that one process reads once and removes (a `features` task's): its rollback
            journal is kept in memory and nothing is flushed to disk, so a crash loses it (it is rebuilt anyway).

    Raises:
        OutputPathError: The path cannot hold a store.
        StoreError: The file is not SQLite, is damaged, or its tables are not the daemon's.
    """
    check_writable_target(path)
    existed = path.exists() and path.stat().st_size > 0
    if existed and not is_sqlite_file(path):
        raise StoreError(
            f"{path} exists and is not an SQLite database",
            hint=f"choose a new {opt('db')} path; this tool never overwrites a file it did not create",
        )
    if not existed and not create:
        raise StoreError(f"store {path} does not exist", hint="create it with `smoothtask-trainer collect`")
    try:
        con = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        con.execute(f"PRAGMA journal_mode={'MEMORY' if scratch else 'DELETE'}")
        con.execute(f"PRAGMA synchronous={'OFF' if scratch else 'NORMAL'}")
        con.execute(f"PRAGMA cache_size={-SCRATCH_CACHE_KB if scratch else -65536}")
        con.execute(f"PRAGMA busy_timeout={int(lock_timeout_s * 1000)}")
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path, "opening") from exc
    try:
        if existed:
            check_integrity(con, path)
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if tables & set(contract.TABLES):
                problems = schema_problems(con)
                if problems:
                    raise StoreError(
                        f"{path} does not have the SmoothTask snapshot schema: " + "; ".join(problems),
                        hint=f"use a new {opt('db')} path; a store with another schema is refused, never altered",
                    )
            elif tables - {INGEST_TABLE, META_TABLE}:
                raise StoreError(
                    f"{path} is an SQLite database with other tables ({', '.join(sorted(tables)[:5])})",
                    hint=f"use a new {opt('db')} path; this tool only writes SmoothTask stores",
                )
        con.execute("BEGIN IMMEDIATE")
        for table in contract.TABLES:
            con.execute(contract.create_table_sql(table))
        for ddl in BOOKKEEPING_DDL:
            con.execute(ddl)
        con.execute(
            f"INSERT OR IGNORE INTO {META_TABLE} (key, value) VALUES ('store_format', ?), ('contract_version', ?),"
            " ('created_by', ?)",
            (STORE_FORMAT, contract.CONTRACT_VERSION, f"smoothtask-trainer {__version__}"),
        )
        con.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        con.close()
        raise translate(exc, path, "opening") from exc
    except BaseException:
        con.close()
        raise
    return con


def check_integrity(con: sqlite3.Connection, path: Path) -> None:
    """Refuse a damaged store before anything is appended to it (`PRAGMA quick_check`, see docs/performance.md).

    Raises:
        StoreError: SQLite finds the file damaged.
    """
    try:
        problems = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
    except sqlite3.DatabaseError as exc:
        raise translate(exc, path, "checking") from exc
    if problems != ["ok"]:
        raise StoreError(
            f"{path} is damaged (SQLite's quick_check: {'; '.join(problems)[:300]}); nothing was written to it",
            hint=f"restore it from a backup, or collect the snapshot logs into a new store ({opt('db')} NEW.db)",
        )


def readonly_uri(path: Path, *, immutable: bool = False) -> str:
    """A read-only SQLite URI for `path`, escaped so that `%`, `#`, `?` and spaces in names mean themselves."""
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file:{quote(str(path.resolve()))}?{query}"


def table_counts(con: sqlite3.Connection, schema: str = "main") -> dict[str, int]:
    """Row counts of the daemon's three tables."""
    return {t: con.execute(f"SELECT COUNT(*) FROM {schema}.{t}").fetchone()[0] for t in contract.TABLES}


def drop_indexes(con: sqlite3.Connection) -> None:
    """Drop the daemon's secondary indexes (bulk loads rebuild them once at the end, which is faster)."""
    for name, _table, _col in contract.INDEXES:
        con.execute(f"DROP INDEX IF EXISTS {name}")


def create_indexes(con: sqlite3.Connection) -> None:
    """Create the daemon's secondary indexes where missing."""
    for ddl in contract.create_index_sql():
        con.execute(ddl)


@dataclass
class Writer:
    """A store open for writing by this process (see `open_for_writing`)."""

    path: Path
    con: sqlite3.Connection
    created: bool
    fd: int


def _claim(path: Path) -> tuple[int, bool]:
    """Open (creating exclusively if missing) `path` and hold a shared flock on it; (fd, created by us).

    The shared lock tells a process that created the store and wants to remove it again that someone else uses it.
    A process that finds the file was removed while it waited for the lock starts over (it then creates it).
    """
    for _ in range(100):
        created = False
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            created = True
        except FileExistsError:
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # removed between the two opens
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd, created
        os.close(fd)  # it was removed while we waited: its creator gave up on it
    raise StoreError(f"{path} keeps being created and removed by other processes; try again")


def open_for_writing(path: Path, *, lock_timeout_s: float, scratch: bool = False) -> Writer:
    """Open the store `path` for appending, creating it when missing (`scratch`: see `connect`).

    Concurrent writers are safe: each file is one transaction, and a writer waits up to `lock_timeout_s` for the
    other's transaction to end (then fails with the fix, keeping everything committed).

    Raises:
        OutputPathError / StoreError: as `connect`.
    """
    check_writable_target(path)
    try:
        fd, created = _claim(path)
    except OSError as exc:
        raise OutputPathError(f"cannot open store {path}: {exc.strerror}", hint="check its permissions") from exc
    try:
        con = connect(path, lock_timeout_s=lock_timeout_s, scratch=scratch)
    except BaseException:
        _release(path, fd, created, None)
        raise
    return Writer(path, con, created, fd)


def close_writer(writer: Writer, *, remove_if_unused: bool) -> bool:
    """Close `writer`; with `remove_if_unused`, remove a store this process created if nobody wrote into it.

    A store is removed only by the process that created it, only while no other process holds it open (an
    exclusive flock that nobody else's shared lock blocks) and only when it holds no committed file. Returns
    whether it was removed.
    """
    return _release(writer.path, writer.fd, writer.created and remove_if_unused, writer.con)


def _release(path: Path, fd: int, may_remove: bool, con: sqlite3.Connection | None) -> bool:
    removed = False
    try:
        if may_remove:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another process uses the store: it is theirs now too
            else:
                if _unused(con):
                    for leftover in (path, Path(f"{path}-journal")):
                        leftover.unlink(missing_ok=True)
                    removed = True
    finally:
        if con is not None:
            con.close()
        os.close(fd)  # after the connection: closing a descriptor drops the process's SQLite locks on the file
    return removed


def _unused(con: sqlite3.Connection | None) -> bool:
    if con is None:
        return True
    try:
        return con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {INGEST_TABLE})").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def open_readonly(db: str | Path) -> sqlite3.Connection:
    """A read-only connection to an existing store whose tables are the daemon's."""
    path = Path(db)
    if not path.exists():
        raise InputNotFoundError(f"store {path} does not exist", hint="create it with `smoothtask-trainer collect`")
    if path.is_dir() or not is_sqlite_file(path):
        raise StoreError(f"{path} is not an SQLite database", hint="pass the store written by `collect`")
    with translated(path, "opening"):
        con = sqlite3.connect(readonly_uri(path), uri=True, check_same_thread=False)
        con.execute("PRAGMA cache_size=-16384")
        problems = schema_problems(con)
    if problems:
        con.close()
        raise StoreError(f"{path} does not have the SmoothTask snapshot schema: " + "; ".join(problems))
    return con
