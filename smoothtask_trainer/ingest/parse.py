"""JSONL sources → batches of row tuples, in this process or in a helper process.

`parse_stream` is the whole decoding job for one stream. `ParserProcess` runs it for a list of files in a second
process, so that decoding (this module) and writing the store (the caller) use both cores; stdin is decoded in
the calling process. Messages are plain tuples and dataclasses, cheap to pickle.
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing as mp
import queue
import signal
import traceback
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from smoothtask_trainer.ingest.reader import CorruptInput, LineReader, TruncatedInput
from smoothtask_trainer.ingest.records import RecordError, decode_record

#: A decoded record: (line, snapshot_id, snapshot row, process rows, app-group rows).
Item = tuple[int, int, tuple, list, list]


@dataclass
class Batch:
    """Consecutive records of one stream."""

    items: list[Item]
    errors: list[tuple[int, str]]  # the first few per batch: (line, reason)
    error_count: int  # all skipped lines in this batch
    bytes_read: int  # raw bytes consumed so far (compressed for .gz)
    records: int  # non-blank lines so far


@dataclass
class StreamEnd:
    """The end of one stream: its digest and what was seen along the way."""

    sha256: str
    bytes_read: int
    records: int
    compressed: bool = False
    unknown_keys: dict[str, int] = field(default_factory=dict)


def parse_stream(
    reader: LineReader, *, batch_rows: int = 20_000, max_examples: int = 20
) -> Iterator[Batch | StreamEnd]:
    """Decode every line of `reader`, yielding a `Batch` about every `batch_rows` process rows, then a `StreamEnd`.

    Bad lines never stop the stream: each is reported in a batch's `errors` with its line number and reason.
    """
    unknown: Counter[str] = Counter()
    items: list[Item] = []
    errors: list[tuple[int, str]] = []
    error_count = 0
    rows = 0
    records = 0
    try:
        for line_no, line in reader:
            if not line.strip():
                continue
            records += 1
            try:
                sid, snap, procs, groups = decode_record(line, unknown)
            except RecordError as exc:
                error_count += 1
                if len(errors) < max_examples:
                    errors.append((line_no, str(exc)))
                continue
            items.append((line_no, sid, snap, procs, groups))
            rows += len(procs) + len(groups) + 1
            if rows >= batch_rows:
                yield Batch(items, errors, error_count, reader.bytes_read, records)
                items, errors, error_count, rows = [], [], 0, 0
    except (TruncatedInput, CorruptInput) as exc:
        records += 1
        error_count += 1
        errors.append((reader.line_no + 1, str(exc)))
    yield Batch(items, errors, error_count, reader.bytes_read, records)
    yield StreamEnd(reader.sha256, reader.bytes_read, records, reader.compressed, dict(unknown))


def parse_file(path: str, **kwargs: Any) -> Iterator[Batch | StreamEnd]:
    """`parse_stream` over a file path."""
    with open(path, "rb", buffering=0) as raw:
        yield from parse_stream(LineReader(raw), **kwargs)


def _worker(tasks: Any, results: Any, kwargs: dict[str, Any]) -> None:
    # Ctrl-C reaches the whole process group; the parent decides what happens, so the helper ignores it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Decoding allocates millions of acyclic tuples; the cyclic collector would only rescan them over and over.
    gc.disable()
    while True:
        task = tasks.get()
        if task is None:
            return
        index, path = task
        try:
            for message in parse_file(path, **kwargs):
                if isinstance(message, Batch):
                    # marshal is several times faster than pickle for plain tuples of scalars
                    message = marshal.dumps(
                        (
                            message.items,
                            message.errors,
                            message.error_count,
                            message.bytes_read,
                            message.records,
                        )
                    )
                results.put((index, message))
        except OSError as exc:
            results.put((index, OSError(exc.errno, exc.strerror, path)))
        except Exception:  # noqa: BLE001 - report, never hang the parent
            results.put((index, RuntimeError(traceback.format_exc())))


class ParserProcess:
    """A second process that decodes JSONL files in order and hands back batches through a bounded queue."""

    def __init__(self, **kwargs: Any) -> None:
        ctx = mp.get_context("spawn")  # no fork: the parent may run threads (progress display)
        self._tasks = ctx.Queue()
        self._results = ctx.Queue(maxsize=6)  # bounds memory: a few batches in flight
        self._proc = ctx.Process(target=_worker, args=(self._tasks, self._results, kwargs), daemon=True)
        self._proc.start()

    def submit(self, index: int, path: str) -> None:
        """Queue `path` for decoding; its messages are tagged with `index`."""
        self._tasks.put((index, path))

    def messages(self, index: int) -> Iterator[Batch | StreamEnd]:
        """The messages for file `index`, up to and including its `StreamEnd`.

        Raises:
            OSError / RuntimeError: The helper could not read the file, or failed.
        """
        while True:
            try:
                got_index, message = self._results.get(timeout=1.0)
            except queue.Empty:
                if not self._proc.is_alive():
                    raise RuntimeError(
                        f"the decoder process exited unexpectedly (code {self._proc.exitcode})"
                    ) from None
                continue
            if got_index != index:  # pragma: no cover - files are processed strictly in order
                raise RuntimeError(f"decoder out of order: got file {got_index}, expected {index}")
            if isinstance(message, BaseException):
                raise message
            if isinstance(message, bytes):
                message = Batch(*marshal.loads(message))
            yield message
            if isinstance(message, StreamEnd):
                return

    def close(self) -> None:
        """Stop the helper (immediately if it is still working)."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=5)
        self._tasks.close()
        self._results.close()
        self._tasks.cancel_join_thread()
        self._results.cancel_join_thread()
