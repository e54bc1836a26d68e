"""SQLite's failures, as messages that name the file and the fix.

SQLite reports every problem as an `sqlite3.Error` with a result code; left alone they surface as "unexpected error:
OperationalError …" or, worse, as a follow-up error ("no such savepoint") after SQLite has already rolled the
transaction back. `translate` maps the primary result code to one of this tool's errors (exit 1); `translated`
does it for a block of code.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from smoothtask_trainer.errors import SmoothtaskError, StoreError, opt

# Primary result codes (https://sqlite.org/rescode.html), the low byte of the extended code.
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY, SQLITE_IOERR = 3, 5, 6, 8, 10
SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_TOOBIG, SQLITE_AUTH, SQLITE_NOTADB = 11, 13, 14, 18, 23, 26

#: Failures of the data, not of the store: a record the store refuses (skipped as a bad record, not fatal).
DATA_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.DataError, OverflowError, ValueError)


def primary_code(exc: sqlite3.Error) -> int | None:
    """The primary result code of `exc` (None when SQLite gave none, e.g. a programming error)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def is_data_error(exc: BaseException) -> bool:
    """Whether `exc` is about one record's values (skip the record) rather than the store (stop)."""
    if isinstance(exc, sqlite3.Error):
        return isinstance(exc, DATA_ERRORS) or primary_code(exc) == SQLITE_TOOBIG
    return isinstance(exc, DATA_ERRORS)


def translate(exc: sqlite3.Error, path: str | Path, action: str = "using") -> SmoothtaskError:
    """The error to show for `exc`, raised while `action` ("writing", "reading", "using") the file `path`."""
    code = primary_code(exc)
    detail = f"(SQLite: {exc})"
    where = f"{action} {path}"
    if code == SQLITE_FULL:
        return StoreError(
            f"disk full while {where} {detail}; the file in progress was rolled back",
            hint=f"free space on the filesystem of {path} (SQLite also needs room for its journal beside it and "
            "for sorting in TMPDIR), then run the same command again",
        )
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StoreError(
            f"{path} is locked by another process and stayed locked longer than the wait allowed {detail}",
            hint="wait for the other run (collect, the daemon) to finish, or raise collect.lock_timeout_s "
            "(SMOOTHTASK_COLLECT__LOCK_TIMEOUT_S) to wait longer",
        )
    if code == SQLITE_READONLY:
        return StoreError(
            f"{path} is read-only {detail}",
            hint="check the permissions of the file and of its directory (SQLite writes a journal beside it), "
            f"or choose another {opt('db')}",
        )
    if code in (SQLITE_PERM, SQLITE_AUTH, SQLITE_CANTOPEN):
        return StoreError(
            f"cannot open {path} {detail}",
            hint="check that its directory exists and that you may read and write there",
        )
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return StoreError(
            f"{path} is damaged {detail}",
            hint=f"restore it from a backup, or collect the snapshot logs into a new store ({opt('db')} NEW.db)",
        )
    if code == SQLITE_IOERR:
        return StoreError(
            f"I/O error while {where} {detail}",
            hint="the disk or filesystem failed (see `dmesg`), or a file-size limit was reached (`ulimit -f`); "
            "fix that and run the command again",
        )
    if code == SQLITE_TOOBIG:
        return StoreError(f"a value is too large for SQLite while {where} {detail}")
    return StoreError(f"SQLite failed while {where} {detail}")


@contextlib.contextmanager
def translated(path: str | Path, action: str = "using") -> Iterator[None]:
    """Turn `sqlite3.Error` raised in the block into this tool's error naming `path`."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc, path, action) from exc
