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
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from smoothtask_trainer import contract, store
from smoothtask_trainer.errors import (
    ConfigError,
    IngestFailed,
    InputFormatError,
    Interrupted,
    opt,
    report_text,
)
from smoothtask_trainer.files import refuse_same_files, sha256_file
from smoothtask_trainer.ingest import reader as rd
from smoothtask_trainer.ingest.parse import Batch, ParserProcess, StreamEnd, parse_file, parse_stream
from smoothtask_trainer.ingest.sqlite_source import source_digest
from smoothtask_trainer.schemas.collect import CollectResult, FileReport, StoreTotals
from smoothtask_trainer.services.collect_files import FileFailed, ProgressFn, ingest_jsonl, ingest_sqlite
from smoothtask_trainer.settings import CollectSettings
from smoothtask_trainer.sqlite_errors import translate, translated

#: Below this much JSONL, starting the decoder process (~0.5 s) costs more than decoding in this one.
_PARALLEL_MIN_BYTES = 16 << 20
#: The kind of a file found in an input directory that cannot be read: it fails in its turn, like a bad file.
UNREADABLE = "unreadable"
#: Rough bytes of JSONL per stored process row, to guess whether a load is "bulk" (see `_defer_indexes`).
_BYTES_PER_ROW = 1000


def collect(
    sources: Sequence[str | Path],
    db: str | Path,
    settings: CollectSettings | None = None,
    on_progress: ProgressFn | None = None,
    *,
    scratch: bool = False,
) -> CollectResult:
    """Ingest `sources` into the store `db` (created if missing).

    Args:
        sources: Files, directories, glob patterns, or ``"-"`` for stdin.
        db: The SQLite store to create or extend.
        settings: The ``[collect]`` settings (defaults if ``None``).
        on_progress: Called as records are ingested.
        scratch: `db` is a throwaway store read once by the caller (a `features` task): nothing is flushed to disk
            (`store.connect`) and the daemon's secondary indexes are not built (the rows are read by full scans).

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
    writer = store.open_for_writing(db, lock_timeout_s=settings.lock_timeout_s, scratch=scratch)
    con = writer.con
    reports = [FileReport(source=s.label, kind=s.kind, status="not-attempted", size_bytes=s.size) for s in files]
    parser: ParserProcess | None = None
    failed = True
    # Ingest allocates millions of acyclic row tuples; the cyclic collector would rescan them for nothing.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        with translated(db, "writing"):
            before = store.table_counts(con)
            known = _already_ingested(con, files, reports)
            todo = [i for i, s in enumerate(files) if reports[i].status == "not-attempted"]
            if _defer_indexes([files[i] for i in todo], before["processes"]):
                store.drop_indexes(con)
        parallel_jsonl = [i for i in todo if files[i].kind in (rd.JSONL, rd.JSONL_GZ) and not files[i].is_stdin]
        if settings.parallel and sum(files[i].size or 0 for i in parallel_jsonl) >= _PARALLEL_MIN_BYTES:
            parser = ParserProcess(max_examples=settings.error_examples, max_line_bytes=settings.max_line_bytes)
            for i in parallel_jsonl:
                parser.submit(i, files[i].path)
        for i in todo:
            _ingest_one(con, db, files[i], i, reports, known, parser, settings, on_progress, before, started)
        if not scratch:
            with translated(db, "indexing"):
                # Always (cheap when present): a run whose rebuild failed (disk full) is repaired by the next one.
                store.create_indexes(con)
        result = _result(con, db, reports, before, started, ok=True)
        failed = False
    finally:
        if parser is not None:
            parser.close()
        if failed and not scratch:
            with contextlib.suppress(sqlite3.Error, KeyboardInterrupt):
                store.create_indexes(con)  # the files committed before the failure keep their indexes
        # A store this run created and into which nothing was committed, by it or anyone else, is removed.
        store.close_writer(writer, remove_if_unused=failed)
        if gc_was_enabled:
            gc.enable()
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _ingest_one(
    con: sqlite3.Connection,
    db: Path,
    src: rd.Source,
    i: int,
    reports: list[FileReport],
    known: dict[str, str],
    parser: ParserProcess | None,
    settings: CollectSettings,
    on_progress: ProgressFn | None,
    before: dict[str, int],
    started: float,
) -> None:
    """Ingest source `i` as one transaction; on failure raise the error the caller reports (its file rolled back)."""
    report = reports[i]
    t0 = time.perf_counter()
    try:
        if src.kind == UNREADABLE:
            raise OSError(_unreadable(src.path) or "cannot be read")
        if src.kind in (rd.SQLITE, rd.SQLITE_GZ):
            ingest_sqlite(con, src, report, known, db.parent, on_progress, settings)
        else:
            messages = _messages(src, i, parser, settings)
            ingest_jsonl(con, src, report, messages, settings, on_progress)
    except FileFailed as exc:  # its text names options as {opt:...}: kept for the error, keys in the report
        note = report_text(str(exc))
        report.status, report.note = "failed", note
        where = f"{src.label}:{exc.line}" if exc.line else src.label
        raise IngestFailed(
            f"{where}: {exc}; this file was rolled back",
            result=_result(con, db, reports, before, started, ok=False, error=note),
            hint=exc.raw_hint or f"fix or remove the bad records, or raise {opt('collect.max_errors')} to skip them",
        ) from None
    except sqlite3.Error as exc:
        report.status = "failed"
        error = translate(exc, db, f"writing {src.label} into")
        report.note = error.message
        raise IngestFailed(
            error.raw_message,
            result=_result(con, db, reports, before, started, ok=False, error=error.message),
            hint=error.raw_hint,
        ) from None
    except (InputFormatError, OSError) as exc:
        report.status, report.note = "failed", str(exc)
        message = str(exc) if isinstance(exc, InputFormatError) else f"{src.label}: {exc}"
        raw = exc.raw_message if isinstance(exc, InputFormatError) else message
        raise IngestFailed(
            f"{raw.splitlines()[0]}; this file was rolled back",
            result=_result(con, db, reports, before, started, ok=False, error=message),
            hint=getattr(exc, "raw_hint", None) or "check the file; earlier files are committed",
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


def _detect(items: list[str]) -> list[rd.Source]:
    """Expand inputs and detect each one's kind; files found inside directories that are not logs are left out."""
    out: list[rd.Source] = []
    for item in items:
        expanded = rd.expand_sources([item])
        from_dir = item != rd.STDIN and Path(item).is_dir()
        for path in expanded:
            problem = _unreadable(path) if from_dir else None
            if problem is not None:
                out.append(rd.Source(path, UNREADABLE, None))
                continue
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


#: Expand and detect inputs as `collect` does (used by `features`, which splits them across workers).
detect_sources = _detect


def _unreadable(path: str) -> str | None:
    """Why a file found in an input directory cannot be read (None: it can)."""
    try:
        with open(path, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None


def _refuse_input_as_store(db: Path, files: Iterable[rd.Source]) -> None:
    refuse_same_files([("snapshot log", s.path) for s in files], [("store", db)])


def _defer_indexes(files: list[rd.Source], existing_rows: int) -> bool:
    """Drop and rebuild the secondary indexes when the load is larger than the store (cheaper than updating)."""
    incoming = sum((s.size or 0) for s in files) // _BYTES_PER_ROW
    return incoming > existing_rows


def _already_ingested(con: sqlite3.Connection, files: list[rd.Source], reports: list[FileReport]) -> dict[str, str]:
    """Mark files whose exact bytes were ingested before; return {sha256: first source} of the store.

    An SQLite source's bytes include its `-wal` and hot `-journal` (`source_digest`): rows that reached only the
    WAL make it another file. Its main file's size still rules it out when no earlier file had that size.
    """
    known: dict[str, str] = {}
    for sha, source in con.execute(
        f"SELECT sha256, source FROM {store.INGEST_TABLE} WHERE sha256 IS NOT NULL ORDER BY id"
    ):
        known.setdefault(sha, source)
    sizes = {r[0] for r in con.execute(f"SELECT DISTINCT size_bytes FROM {store.INGEST_TABLE}")}
    for s, report in zip(files, reports, strict=True):
        if s.is_stdin or s.kind == UNREADABLE or s.size not in sizes:
            continue  # a file of a size never seen cannot have been ingested; its digest comes while reading
        sha = source_digest(Path(s.path)) if s.kind == rd.SQLITE else sha256_file(Path(s.path))
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
        return parse_stream(rd.LineReader(stream, settings.max_line_bytes), max_examples=settings.error_examples)
    if parser is not None:
        return parser.messages(index)
    return parse_file(src.path, max_examples=settings.error_examples, max_line_bytes=settings.max_line_bytes)


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
