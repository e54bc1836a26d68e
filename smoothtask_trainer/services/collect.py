"""`collect`: ingest snapshot logs (JSONL, JSONL.gz, daemon SQLite, rotated SQLite .gz, stdin) into one store.

Each source file is one transaction: it lands whole or not at all, with a bookkeeping row (sha256, size,
counts) committed in the same transaction, so a re-run skips what is already in and Ctrl-C never leaves half
a file behind. JSONL is decoded in a second process while this one writes (see `ingest.parse`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from smoothtask_trainer import __version__, contract, store
from smoothtask_trainer.errors import (
    ConfigError,
    IngestFailed,
    InputFormatError,
    Interrupted,
    OutputPathError,
)
from smoothtask_trainer.files import sha256_file
from smoothtask_trainer.ingest import reader as rd
from smoothtask_trainer.ingest.parse import Batch, ParserProcess, StreamEnd, parse_file, parse_stream
from smoothtask_trainer.ingest.sqlite_source import attached, copy_attached, gunzipped
from smoothtask_trainer.schemas.collect import CollectResult, FileReport, SkippedRecord, StoreTotals
from smoothtask_trainer.settings import CollectSettings

#: on_progress(source label, bytes done, bytes total or None, records done)
ProgressFn = Callable[[str, int, "int | None", int], None]

_INSERT = {t: contract.insert_sql(t) for t in contract.TABLES}
#: Below this much JSONL, starting the decoder process (~0.5 s) costs more than decoding in this one.
_PARALLEL_MIN_BYTES = 16 << 20
#: Rough bytes of JSONL per stored process row, to guess whether a load is "bulk" (see `_defer_indexes`).
_BYTES_PER_ROW = 1000


class _FileFailed(Exception):
    """A source failed as a whole (its transaction is rolled back)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def collect(
    sources: Sequence[str | Path],
    db: str | Path,
    settings: CollectSettings | None = None,
    on_progress: ProgressFn | None = None,
) -> CollectResult:
    """Ingest `sources` into the store `db` (created if missing).

    Args:
        sources: Files, directories, glob patterns, or ``"-"`` for stdin.
        db: The SQLite store to create or extend.
        settings: The ``[collect]`` settings (defaults if ``None``).
        on_progress: Called as records are ingested.

    Returns:
        Per-file reports and totals.

    Raises:
        InputNotFoundError: A source does not exist.
        InputFormatError: A named source is not a snapshot log.
        OutputPathError: `db` cannot be written, or is one of the inputs.
        StoreError: `db` exists but is not a SmoothTask store.
        IngestFailed: A file failed (too many bad records, damaged); it was rolled back. `.result` has the report.
        Interrupted: Ctrl-C; the file in progress was rolled back.
    """
    settings = settings or CollectSettings()
    started = time.perf_counter()
    db = Path(db)
    explicit = [str(s) for s in sources]
    if not explicit:
        raise ConfigError("no input given", hint="name one or more snapshot files, directories or '-' for stdin")
    files = _detect(explicit)
    _refuse_input_as_store(db, [s for s in files if not s.is_stdin])
    if sum(1 for s in files if s.is_stdin) > 1:
        raise ConfigError("'-' (stdin) can be given only once")
    created = not db.exists()
    con = store.connect(db)
    reports = [FileReport(source=s.label, kind=s.kind, status="not-attempted", size_bytes=s.size) for s in files]
    before = store.table_counts(con)
    parser: ParserProcess | None = None
    deferred = False
    # Ingest allocates millions of acyclic row tuples; the cyclic collector would rescan them for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        known = _already_ingested(con, files, reports)
        todo = [i for i, s in enumerate(files) if reports[i].status == "not-attempted"]
        deferred = _defer_indexes([files[i] for i in todo], before["processes"])
        parallel_jsonl = [i for i in todo if files[i].kind in (rd.JSONL, rd.JSONL_GZ) and not files[i].is_stdin]
        if settings.parallel and sum(files[i].size or 0 for i in parallel_jsonl) >= _PARALLEL_MIN_BYTES:
            parser = ParserProcess(max_examples=settings.error_examples)
            for i in parallel_jsonl:
                parser.submit(i, files[i].path)
        if deferred:
            store.drop_indexes(con)
        for i in todo:
            src, report = files[i], reports[i]
            t0 = time.perf_counter()
            try:
                if src.kind in (rd.SQLITE, rd.SQLITE_GZ):
                    _ingest_sqlite(con, src, report, known, db.parent, on_progress)
                else:
                    messages = _messages(src, i, parser, settings)
                    _ingest_jsonl(con, src, report, messages, settings, on_progress)
            except _FileFailed as exc:
                report.status, report.note = "failed", str(exc)
                where = f"{src.label}:{exc.line}" if exc.line else src.label
                raise IngestFailed(
                    f"{where}: {exc}; this file was rolled back",
                    result=_result(con, db, reports, before, started, ok=False, error=str(exc)),
                    hint="fix or remove the bad records, or raise --max-errors (omit --strict) to skip them",
                ) from None
            except (InputFormatError, OSError) as exc:
                report.status, report.note = "failed", str(exc)
                message = str(exc) if isinstance(exc, InputFormatError) else f"{src.label}: {exc}"
                raise IngestFailed(
                    f"{message.splitlines()[0]}; this file was rolled back",
                    result=_result(con, db, reports, before, started, ok=False, error=message),
                    hint=getattr(exc, "hint", None) or "check the file; earlier files are committed",
                ) from None
            except (KeyboardInterrupt, Interrupted):
                report.status, report.note = "failed", "interrupted; rolled back"
                done = sum(r.status == "ingested" for r in reports)
                raise Interrupted(
                    f"interrupted while ingesting {src.label}; it was rolled back, {done} earlier file(s) are "
                    f"committed in {db}",
                    hint="run the same command again: files already ingested are skipped",
                ) from None
            finally:
                report.seconds = round(time.perf_counter() - t0, 3)
        result = _result(con, db, reports, before, started, ok=True)
    except BaseException:
        # A store this run created and into which nothing was committed is removed: no empty half-output.
        if created and not any(r.status == "ingested" for r in reports):
            con.close()
            for leftover in (db, Path(f"{db}-journal")):
                leftover.unlink(missing_ok=True)
        raise
    finally:
        if parser is not None:
            parser.close()
        if deferred:
            with contextlib.suppress(sqlite3.Error, KeyboardInterrupt):
                store.create_indexes(con)
        con.close()
        if gc_was_enabled:
            gc.enable()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _detect(items: list[str]) -> list[rd.Source]:
    """Expand inputs and detect each one's kind; files found inside directories that are not logs are left out."""
    out: list[rd.Source] = []
    for item in items:
        expanded = rd.expand_sources([item])
        from_dir = item != rd.STDIN and Path(item).is_dir()
        for path in expanded:
            try:
                out.append(rd.open_source(path))
            except InputFormatError:
                if not from_dir:
                    raise
    seen: set[str] = set()
    unique = []
    for s in out:
        key = s.path if s.is_stdin else os.path.realpath(s.path)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    if not unique:
        raise ConfigError(f"no snapshot logs found in {', '.join(items)}", hint="name the files to ingest")
    return unique


def _refuse_input_as_store(db: Path, files: Iterable[rd.Source]) -> None:
    target = os.path.realpath(db)
    for s in files:
        if os.path.realpath(s.path) == target:
            raise OutputPathError(
                f"--db {db} is also an input; collect never writes into a source",
                hint="choose a new store path, e.g. --db store.db",
            )


def _defer_indexes(files: list[rd.Source], existing_rows: int) -> bool:
    """Drop and rebuild the secondary indexes when the load is larger than the store (cheaper than updating)."""
    incoming = sum((s.size or 0) for s in files) // _BYTES_PER_ROW
    return incoming > existing_rows


def _already_ingested(con: sqlite3.Connection, files: list[rd.Source], reports: list[FileReport]) -> dict[str, str]:
    """Mark files whose exact bytes were ingested before; return {sha256: first source} of the store."""
    known: dict[str, str] = {}
    for sha, source in con.execute(
        f"SELECT sha256, source FROM {store.INGEST_TABLE} WHERE sha256 IS NOT NULL ORDER BY id"
    ):
        known.setdefault(sha, source)
    sizes = {r[0] for r in con.execute(f"SELECT DISTINCT size_bytes FROM {store.INGEST_TABLE}")}
    for s, report in zip(files, reports, strict=True):
        if s.is_stdin or s.size not in sizes:
            continue  # a file of a size never seen cannot have been ingested; its digest comes while reading
        sha = sha256_file(Path(s.path))
        report.sha256 = sha
        if sha in known:
            report.status = "already-ingested"
            report.note = f"same bytes as {known[sha]}, ingested before; nothing to do"
    return known


def _messages(
    src: rd.Source, index: int, parser: ParserProcess | None, settings: CollectSettings
) -> Iterator[Batch | StreamEnd]:
    if src.is_stdin:
        stream = rd.stdin_binary()
        head = stream.peek(4096)[:4096] if hasattr(stream, "peek") else b""
        if rd.classify(head, "<stdin>") in (rd.SQLITE, rd.SQLITE_GZ):
            raise InputFormatError(
                "stdin holds an SQLite database",
                path="<stdin>",
                hint="pass the database's file path instead of '-'",
            )
        return parse_stream(rd.LineReader(stream), max_examples=settings.error_examples)
    if parser is not None:
        return parser.messages(index)
    return parse_file(src.path, max_examples=settings.error_examples)


def _ingest_jsonl(
    con: sqlite3.Connection,
    src: rd.Source,
    report: FileReport,
    messages: Iterator[Batch | StreamEnd],
    settings: CollectSettings,
    on_progress: ProgressFn | None,
) -> None:
    with _file_transaction(con, src, report):
        for msg in messages:
            if isinstance(msg, StreamEnd):
                report.sha256, report.size_bytes = msg.sha256, msg.bytes_read
                report.records_read, report.unknown_keys = msg.records, msg.unknown_keys
                if msg.compressed:
                    report.kind = rd.JSONL_GZ
                break
            report.records_read = msg.records
            _note_skipped(report, msg.errors, msg.error_count, settings)
            _insert_batch(con, msg, report, settings)
            if on_progress:
                on_progress(src.label, msg.bytes_read, src.size, msg.records)
    report.status = "ingested"


def _note_skipped(
    report: FileReport, errors: list[tuple[int | None, str]], count: int, settings: CollectSettings
) -> None:
    report.skipped_records += count
    room = settings.error_examples - len(report.first_skipped)
    for line, reason in errors[: max(room, 0)]:
        report.first_skipped.append(SkippedRecord(line=line, reason=reason))
    limit = settings.max_errors
    if limit is not None and report.skipped_records > limit:
        first = report.first_skipped[0] if report.first_skipped else None
        reason = f"{first.reason} " if first else ""
        raise _FileFailed(
            f"{reason}({report.skipped_records} bad record(s) so far, more than the {limit} allowed by --max-errors)",
            line=first.line if first else None,
        )


def _insert_batch(con: sqlite3.Connection, batch: Batch, report: FileReport, settings: CollectSettings) -> None:
    items = batch.items
    if not items:
        return
    ids = [it[1] for it in items]
    existing: set[int] = set()
    for start in range(0, len(ids), 900):
        part = ids[start : start + 900]
        existing.update(
            r[0]
            for r in con.execute(
                f"SELECT snapshot_id FROM snapshots WHERE snapshot_id IN ({','.join('?' * len(part))})", part
            )
        )
    snaps, procs, groups = [], [], []
    kept = []
    for item in items:
        sid = item[1]
        if sid in existing:
            report.duplicate_snapshots += 1
            continue
        existing.add(sid)
        kept.append(item)
        snaps.append(item[2])
        procs.extend(item[3])
        groups.extend(item[4])
    con.execute("SAVEPOINT smoothtask_batch")
    try:
        con.executemany(_INSERT["snapshots"], snaps)
        con.executemany(_INSERT["processes"], procs)
        con.executemany(_INSERT["app_groups"], groups)
    except (sqlite3.Error, OverflowError, ValueError):
        # Something the decoder let through that SQLite refuses: find the record, skip it, keep the rest.
        con.execute("ROLLBACK TO smoothtask_batch")
        con.execute("RELEASE smoothtask_batch")
        for item in kept:
            _insert_one(con, item, report, settings)
        return
    con.execute("RELEASE smoothtask_batch")
    report.snapshots_inserted += len(snaps)
    report.processes_inserted += len(procs)
    report.app_groups_inserted += len(groups)


def _insert_one(con: sqlite3.Connection, item: tuple, report: FileReport, settings: CollectSettings) -> None:
    line, _sid, snap, procs, groups = item
    con.execute("SAVEPOINT smoothtask_one")
    try:
        con.execute(_INSERT["snapshots"], snap)
        con.executemany(_INSERT["processes"], procs)
        con.executemany(_INSERT["app_groups"], groups)
    except (sqlite3.Error, OverflowError, ValueError) as exc:
        con.execute("ROLLBACK TO smoothtask_one")
        con.execute("RELEASE smoothtask_one")
        _note_skipped(report, [(line, f"the store refused the record: {exc}")], 1, settings)
        return
    con.execute("RELEASE smoothtask_one")
    report.snapshots_inserted += 1
    report.processes_inserted += len(procs)
    report.app_groups_inserted += len(groups)


def _ingest_sqlite(
    con: sqlite3.Connection,
    src: rd.Source,
    report: FileReport,
    known: dict[str, str],
    workdir: Path,
    on_progress: ProgressFn | None,
) -> None:
    path = Path(src.path)

    def progress(done: int) -> None:
        if on_progress:
            on_progress(src.label, done, src.size, 0)

    if src.kind == rd.SQLITE_GZ:
        ctx = gunzipped(path, workdir, progress)
    else:
        ctx = contextlib.nullcontext((path, report.sha256 or sha256_file(path, progress)))
    with ctx as (dbfile, sha):
        report.sha256 = sha
        with attached(con, dbfile, src.label), _file_transaction(con, src, report):
            counts = copy_attached(con, src.label)
            report.records_read = counts.records
            report.snapshots_inserted = counts.snapshots
            report.processes_inserted = counts.processes
            report.app_groups_inserted = counts.app_groups
            report.duplicate_snapshots = counts.duplicates
            report.skipped_records = counts.orphans + counts.invalid
            if counts.orphans:
                report.first_skipped.append(
                    SkippedRecord(line=None, reason=f"{counts.orphans} process/group rows reference no snapshot")
                )
            if counts.invalid:
                report.first_skipped.append(
                    SkippedRecord(line=None, reason=f"{counts.invalid} snapshot rows have no id or timestamp")
                )
    if sha in known:
        report.note = f"same bytes as {known[sha]}, ingested before"
    report.status = "ingested"


@contextlib.contextmanager
def _file_transaction(con: sqlite3.Connection, src: rd.Source, report: FileReport) -> Iterator[None]:
    """One file = one transaction, committed together with its bookkeeping row, or rolled back whole."""
    con.execute("BEGIN")
    try:
        yield
        _record_file(con, src, report)
        con.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        _reset_counts(report)
        raise


def _record_file(con: sqlite3.Connection, src: rd.Source, report: FileReport) -> None:
    con.execute(
        f"INSERT INTO {store.INGEST_TABLE} (source, kind, sha256, size_bytes, records_read, snapshots_inserted,"
        " processes_inserted, app_groups_inserted, duplicate_snapshots, skipped_records, tool_version)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            src.label if src.is_stdin else os.path.abspath(src.path),
            report.kind,
            report.sha256,
            report.size_bytes,
            report.records_read,
            report.snapshots_inserted,
            report.processes_inserted,
            report.app_groups_inserted,
            report.duplicate_snapshots,
            report.skipped_records,
            __version__,
        ),
    )


def _reset_counts(report: FileReport) -> None:
    report.snapshots_inserted = report.processes_inserted = report.app_groups_inserted = 0


def _result(
    con: sqlite3.Connection,
    db: Path,
    reports: list[FileReport],
    before: dict[str, int],
    started: float,
    *,
    ok: bool,
    error: str | None = None,
) -> CollectResult:
    inserted = StoreTotals(
        snapshots=sum(r.snapshots_inserted for r in reports),
        processes=sum(r.processes_inserted for r in reports),
        app_groups=sum(r.app_groups_inserted for r in reports),
    )
    try:
        now = store.table_counts(con)
    except sqlite3.Error:
        now = {t: before[t] + getattr(inserted, t) for t in contract.TABLES}
    return CollectResult(
        db=str(db),
        ok=ok,
        files=reports,
        inserted=inserted,
        store=StoreTotals(**now),
        seconds=round(time.perf_counter() - started, 3),
        error=error,
    )
