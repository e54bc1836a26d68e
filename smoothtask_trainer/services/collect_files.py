"""How one source file goes into the store: one transaction per file, bad records skipped and counted.

`ingest_jsonl` writes the batches a decoder hands over; `ingest_sqlite` copies a daemon database inside SQLite.
Both commit the file together with its bookkeeping row (`store.INGEST_TABLE`) or roll it back whole.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

from smoothtask_trainer import __version__, contract, store
from smoothtask_trainer.errors import opt
from smoothtask_trainer.ingest import reader as rd
from smoothtask_trainer.ingest.parse import Batch, StreamEnd
from smoothtask_trainer.ingest.sqlite_source import attached, copy_attached, gunzipped, source_digest
from smoothtask_trainer.schemas.collect import FileReport, SkippedRecord
from smoothtask_trainer.settings import CollectSettings
from smoothtask_trainer.sqlite_errors import is_data_error

#: on_progress(source label, bytes done, bytes total or None, records done)
ProgressFn = Callable[[str, int, "int | None", int], None]

_INSERT = {t: contract.insert_sql(t) for t in contract.TABLES}


class FileFailed(Exception):
    """A source failed as a whole (its transaction is rolled back).

    Its text and `raw_hint` may name options as ``{opt:NAME}`` (`errors.opt`), as a `SmoothtaskError`'s raw text.
    """

    def __init__(self, message: str, line: int | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.raw_hint = hint


def ingest_jsonl(
    con: sqlite3.Connection,
    src: rd.Source,
    report: FileReport,
    messages: Iterator[Batch | StreamEnd],
    settings: CollectSettings,
    on_progress: ProgressFn | None,
) -> None:
    decoded = 0
    with _file_transaction(con, src, report):
        for msg in messages:
            if isinstance(msg, StreamEnd):
                report.sha256, report.size_bytes = msg.sha256, msg.bytes_read
                report.records_read, report.unknown_keys = msg.records, msg.unknown_keys
                if msg.compressed:
                    report.kind = rd.JSONL_GZ
                break
            report.records_read = msg.records
            decoded += len(msg.items)
            _note_skipped(report, msg.errors, msg.error_count, settings)
            _insert_batch(con, msg, report, settings)
            if on_progress:
                on_progress(src.label, msg.bytes_read, src.size, msg.records)
        if report.records_read and not decoded:
            first = report.first_skipped[0] if report.first_skipped else None
            raise FileFailed(
                f"not one of its {report.records_read} record(s) is a snapshot"
                + (f" (first: {first.reason})" if first else ""),
                line=first.line if first else None,
                hint="is this a SmoothTask snapshot log? each line must be one snapshot object (see docs/collect.md)",
            )
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
        raise FileFailed(
            f"{reason}({report.skipped_records} bad record(s) so far, more than the {limit} allowed by "
            f"{opt('collect.max_errors')})",
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
    if _insert_rows(con, "smoothtask_batch", snaps, procs, groups, report) is not None:
        # Something the decoder let through that SQLite refuses: find the record, skip it, keep the rest.
        for line, _sid, snap, procs_one, groups_one in kept:
            refused = _insert_rows(con, "smoothtask_one", [snap], procs_one, groups_one, report)
            if refused is not None:
                _note_skipped(report, [(line, f"the store refused the record: {refused}")], 1, settings)


def _insert_rows(
    con: sqlite3.Connection, savepoint: str, snaps: list, procs: list, groups: list, report: FileReport
) -> Exception | None:
    """Insert the rows under a savepoint and count them; a value SQLite refuses rolls them back and is returned."""
    con.execute(f"SAVEPOINT {savepoint}")
    try:
        con.executemany(_INSERT["snapshots"], snaps)
        con.executemany(_INSERT["processes"], procs)
        con.executemany(_INSERT["app_groups"], groups)
    except Exception as exc:
        if not is_data_error(exc):
            raise  # the store failed (disk full, I/O): SQLite may have rolled back already; no savepoint left
        con.execute(f"ROLLBACK TO {savepoint}")
        con.execute(f"RELEASE {savepoint}")
        return exc
    con.execute(f"RELEASE {savepoint}")
    report.snapshots_inserted += len(snaps)
    report.processes_inserted += len(procs)
    report.app_groups_inserted += len(groups)
    return None


def ingest_sqlite(
    con: sqlite3.Connection,
    src: rd.Source,
    report: FileReport,
    known: dict[str, str],
    workdir: Path,
    on_progress: ProgressFn | None,
    settings: CollectSettings | None = None,
) -> None:
    """Copy one daemon database; snapshots with ill-typed rows, orphan rows and id-less rows are skipped records.

    The source is only ever read: one that SQLite must recover first is recovered on a private copy in
    `workdir` (see `sqlite_source.attached`). `settings.max_errors` applies as for JSONL.
    """
    settings = settings or CollectSettings()
    path = Path(src.path)

    def progress(done: int) -> None:
        if on_progress:
            on_progress(src.label, done, src.size, 0)

    if src.kind == rd.SQLITE_GZ:
        ctx = gunzipped(path, workdir, progress)
    else:
        # Digest before reading: rows written meanwhile are read now and make the next run read the file again.
        ctx = contextlib.nullcontext((path, report.sha256 or source_digest(path, progress)))
    with ctx as (dbfile, sha):
        report.sha256 = sha
        recover_in = workdir if src.kind == rd.SQLITE else None  # a decompressed copy is ours already
        with attached(con, dbfile, src.label, recover_in) as recovered, _file_transaction(con, src, report):
            counts = copy_attached(con, src.label, settings.error_examples)
            report.records_read = counts.records
            report.snapshots_inserted = counts.snapshots
            report.processes_inserted = counts.processes
            report.app_groups_inserted = counts.app_groups
            report.duplicate_snapshots = counts.duplicates
            report.skipped_records = 0
            report.first_skipped.clear()
            reasons: list[tuple[int | None, str]] = []
            if counts.orphans:
                reasons.append((None, f"{counts.orphans} process/group rows reference no snapshot"))
            if counts.invalid:
                reasons.append((None, f"{counts.invalid} snapshot rows have no id or timestamp"))
            reasons += [(None, example) for example in counts.examples]
            _note_skipped(report, reasons, counts.orphans + counts.invalid + counts.bad, settings)
        report.note = recovered
    if sha in known:
        report.note = f"same bytes as {known[sha]}, ingested before"
    report.status = "ingested"


@contextlib.contextmanager
def _file_transaction(con: sqlite3.Connection, src: rd.Source, report: FileReport) -> Iterator[None]:
    """One file = one transaction, committed together with its bookkeeping row, or rolled back whole.

    IMMEDIATE: the write lock is taken (waiting for another writer up to the busy timeout) before anything is
    read, so two writers never deadlock on a read lock that SQLite cannot wait out.
    """
    con.execute("BEGIN IMMEDIATE")
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
