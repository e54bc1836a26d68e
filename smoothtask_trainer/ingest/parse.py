"""JSONL sources → batches of row tuples, in this process or in a child process.

`parse_stream` is the whole decoding job for one stream. `ParserProcess` runs it for a list of files in a child
process (`ingest.worker`, started with ``python -m``), so that decoding (this module) and writing the store (the
caller) use both cores; stdin is decoded in the calling process. Messages are plain tuples and dataclasses,
marshalled over the child's pipes (`ingest.frames`).
"""

from __future__ import annotations

import contextlib
import marshal
import os
import pickle
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from smoothtask_trainer.ingest import frames
from smoothtask_trainer.ingest.reader import MAX_LINE_BYTES, CorruptInput, LineReader, LineTooLong, TruncatedInput
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

    Bad lines never stop the stream: each is reported in a batch's `errors` with its line number and reason. A line
    longer than the reader's `max_line_bytes` is one of them. A stream whose every non-blank line is bad carries
    no decoded item in any batch (`records > 0`, no items): the caller decides whether that fails it.
    """
    unknown: Counter[str] = Counter()
    items: list[Item] = []
    errors: list[tuple[int, str]] = []
    error_count = 0
    rows = 0
    records = 0
    try:
        for line_no, line in reader:
            if line.__class__ is LineTooLong:
                records += 1
                error_count += 1
                if len(errors) < max_examples:
                    errors.append((line_no, str(line)))
                continue
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


def parse_file(path: str, *, max_line_bytes: int = MAX_LINE_BYTES, **kwargs: Any) -> Iterator[Batch | StreamEnd]:
    """`parse_stream` over a file path; lines longer than `max_line_bytes` are bad records."""
    with open(path, "rb", buffering=0) as raw:
        yield from parse_stream(LineReader(raw, max_line_bytes), **kwargs)


#: Bytes the kernel may buffer in the child's stdout pipe (Linux; the unprivileged maximum by default).
_PIPE_BYTES = 1 << 20


class DecoderDied(RuntimeError):
    """The decoder child process exited (or was killed) while files were still being decoded."""


class ParserProcess:
    """A child process that decodes JSONL files in order and hands back batches over a pipe.

    The child is a plain ``python -m smoothtask_trainer.ingest.worker`` (see that module): it never imports or
    re-runs the caller's ``__main__``, so it works the same from a script without a ``__main__`` guard, from
    ``python -``, ``python -c`` or a notebook. It never outlives the thread that created it (Linux) nor the pipe
    to this object. Keyword arguments are forwarded to `parse_file`.
    """

    def __init__(self, **kwargs: Any) -> None:
        if not sys.executable:
            raise RuntimeError("cannot start the decoder process: sys.executable is not set")
        command = [sys.executable, "-P", "-m", "smoothtask_trainer.ingest.worker", str(os.getpid())]
        self._closed = False
        self._proc = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=_child_env(), bufsize=0, close_fds=True
        )
        self._in = self._proc.stdin.fileno()  # type: ignore[union-attr]
        self._out = self._proc.stdout.fileno()  # type: ignore[union-attr]
        with contextlib.suppress(ImportError, AttributeError, OSError):  # a larger pipe: fewer wake-ups per batch
            import fcntl

            fcntl.fcntl(self._out, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
        self._send(pickle.dumps(kwargs))

    def _send(self, payload: bytes) -> None:
        if self._closed:
            raise RuntimeError("the decoder process was closed")
        with contextlib.suppress(OSError):  # the child is gone: messages() says so, with its exit status
            frames.write_frame(self._in, payload)

    def submit(self, index: int, path: str) -> None:
        """Queue `path` for decoding; its messages are tagged with `index`."""
        self._send(pickle.dumps((index, os.fspath(path))))

    def messages(self, index: int) -> Iterator[Batch | StreamEnd]:
        """The messages for file `index`, up to and including its `StreamEnd`.

        Raises:
            OSError: The child could not read the file.
            RuntimeError: The decoder failed on the file; `DecoderDied` if the child process exited.
        """
        while True:
            if self._closed:
                raise RuntimeError("the decoder process was closed")
            try:
                frame = frames.read_frame(self._out)
            except (frames.ChannelClosed, OSError):
                raise DecoderDied(f"the decoder process exited unexpectedly ({self._exit_status()})") from None
            tag, got_index, *payload = marshal.loads(frame)
            if got_index != index:  # pragma: no cover - files are processed strictly in order
                raise RuntimeError(f"decoder out of order: got file {got_index}, expected {index}")
            if tag == frames.BATCH:
                yield Batch(*payload)
            elif tag == frames.END:
                yield StreamEnd(*payload)
                return
            elif tag == frames.OS_ERROR:
                raise OSError(*payload)
            else:
                raise RuntimeError(f"the decoder process failed:\n{payload[0]}")

    def _exit_status(self) -> str:
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "it closed its output but is still running"
        if code < 0:
            with contextlib.suppress(ValueError):
                return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def close(self) -> None:
        """Stop the child promptly, whatever it is doing, and reap it.

        Closing its stdin ends it within milliseconds; if it has not exited after a second (stopped, say), it is
        killed. Safe to call more than once.
        """
        proc = self._proc
        self._closed = True
        for pipe in (proc.stdin, proc.stdout):
            with contextlib.suppress(OSError):
                pipe.close()  # type: ignore[union-attr]
        try:
            proc.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except BaseException:  # Ctrl-C while waiting: do not leave it running
            proc.kill()
            proc.wait()
            raise

    def __enter__(self) -> ParserProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _child_env() -> dict[str, str]:
    """The environment for the child: this one, with this package importable whichever way it was found here."""
    env = dict(os.environ)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    paths = [package_parent, *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    env.pop("PYTHONINSPECT", None)  # would leave the child waiting at an interactive prompt
    return env
