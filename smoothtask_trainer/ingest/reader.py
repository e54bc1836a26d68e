"""Sources: what a path holds (detected by its bytes, not its name), and a streaming line reader.

The reader hashes the bytes exactly as stored (compressed bytes for `.gz`), so a file's sha256 costs no second
pass. Its memory is bounded whatever the input: one chunk of raw and of decompressed bytes, plus at most one
line of up to `max_line_bytes`; a longer line is skipped (and reported) without ever being held.
"""

from __future__ import annotations

import glob
import hashlib
import itertools
import os
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from smoothtask_trainer.errors import InputFormatError, InputNotFoundError
from smoothtask_trainer.files import SQLITE_MAGIC

GZIP_MAGIC = b"\x1f\x8b"
UTF8_BOM = b"\xef\xbb\xbf"
STDIN = "-"
CHUNK = 1 << 20
#: The default longest line (see `CollectSettings.max_line_bytes`).
MAX_LINE_BYTES = 64 << 20
#: How much of a decompressed stream `classify` looks at.
_SNIFF_BYTES = 4096

#: Source kinds.
JSONL, JSONL_GZ, SQLITE, SQLITE_GZ = "jsonl", "jsonl.gz", "sqlite", "sqlite.gz"


class TruncatedInput(Exception):
    """The input ended in the middle of a compressed stream."""


class CorruptInput(Exception):
    """The compressed stream is damaged."""


@dataclass(frozen=True)
class Source:
    """One input: a file path, or stdin (`path == "-"`)."""

    path: str
    kind: str
    size: int | None

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN

    @property
    def label(self) -> str:
        return "<stdin>" if self.is_stdin else self.path


class LineTooLong:
    """Stands for a line longer than the reader's limit, which was skipped up to its newline, never held."""

    __slots__ = ("length", "limit")

    def __init__(self, length: int, limit: int) -> None:
        self.length = length
        self.limit = limit

    def __str__(self) -> str:
        return (
            f"line is longer than {self.limit:,} bytes ({self.length:,} bytes, skipped up to the next newline; "
            "the limit is collect.max_line_bytes)"
        )


def _sniff_gzip(head: bytes) -> bytes | None:
    """The first decompressed bytes of a gzip stream starting with `head` (may be short; None: not inflatable)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(head, _SNIFF_BYTES)
    except zlib.error:
        return None


def _is_jsonl_head(head: bytes) -> bool:
    body = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    stripped = body.lstrip()
    return not stripped or stripped.startswith(b"{")


def classify(head: bytes, label: str) -> str:
    """The kind of source whose first bytes are `head`; a gzip stream is judged by its decompressed bytes.

    Raises:
        InputFormatError: The (decompressed) bytes are neither SQLite nor a JSON object per line.
    """
    if head.startswith(SQLITE_MAGIC):
        return SQLITE
    inner, where = head, ""
    if head.startswith(GZIP_MAGIC):
        sniffed = _sniff_gzip(head)
        if sniffed is None:  # damaged from the start: the reader reports where and how, with the file's line
            return JSONL_GZ
        if sniffed.startswith(SQLITE_MAGIC):
            return SQLITE_GZ
        inner, where = sniffed, " inside the gzip data"
    if _is_jsonl_head(inner):
        return JSONL_GZ if where else JSONL
    preview = inner.lstrip()[:24].decode("utf-8", "replace")
    raise InputFormatError(
        f"not a snapshot log: expected a JSON object per line, a SQLite database or gzip, found {preview!r}{where}",
        path=label,
        line=1,
        hint="pass JSONL (.jsonl/.jsonl.gz) snapshot logs or the daemon's snapshots.sqlite (plain or rotated .gz)",
    )


def expand_sources(items: list[str]) -> list[str]:
    """Expand directories (their files, sorted, recursively) and globs; keep `-` and plain files.

    Raises:
        InputNotFoundError: An item matches nothing.
    """
    out: list[str] = []
    for item in items:
        if item == STDIN:
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(str(p) for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
            out.extend(files)
            continue
        if path.exists():
            out.append(item)
            continue
        if glob.has_magic(item):
            matches = sorted(m for m in glob.glob(item, recursive=True) if Path(m).is_file())
            if matches:
                out.extend(matches)
                continue
        raise InputNotFoundError(
            f"input {item} does not exist",
            hint="check the path; directories and glob patterns are accepted too",
        )
    seen: set[str] = set()
    unique = []
    for item in out:
        key = item if item == STDIN else os.path.realpath(item)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def open_source(path: str) -> Source:
    """Detect what `path` holds. Directories and globs must be expanded first."""
    if path == STDIN:
        return Source(path, JSONL, None)  # refined by the reader, which sniffs the stream
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputNotFoundError(f"input {path} does not exist", hint="check the path") from None
    except OSError as exc:
        raise InputFormatError(f"cannot read: {exc.strerror}", path=path, hint="check its permissions") from None
    return Source(path, classify(head, path), size)


class LineReader:
    """Iterate `(line_number, line_bytes)` over a JSONL stream, plain or gzip (detected from its bytes).

    A UTF-8 BOM at the very start of the (decompressed) stream is dropped. A line longer than `max_line_bytes` is
    yielded as a `LineTooLong` instead of bytes: it is skipped up to its newline in linear time without being held,
    and the line numbers after it stay exact. `bytes_read` counts raw (compressed) bytes for progress; `sha256` is
    the digest of every raw byte, complete after iteration. A stream that ends inside a gzip member raises
    `TruncatedInput` once every complete line has been yielded; a damaged one raises `CorruptInput`.
    """

    def __init__(self, raw: BinaryIO, max_line_bytes: int = MAX_LINE_BYTES) -> None:
        self._raw = raw
        self.max_line_bytes = max_line_bytes
        self.bytes_read = 0
        self.line_no = 0
        self._hash = hashlib.sha256()
        self.compressed = False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _raw_chunks(self) -> Iterator[bytes]:
        read, update = self._raw.read, self._hash.update
        while chunk := read(CHUNK):
            self.bytes_read += len(chunk)
            update(chunk)
            yield chunk

    def _chunks(self) -> Iterator[bytes]:
        """The decompressed stream in pieces of at most about `CHUNK` bytes, its leading BOM removed."""
        raw = self._raw_chunks()
        first = next(raw, b"")
        if not first.startswith(GZIP_MAGIC):
            yield from _without_bom(itertools.chain((first,), raw))
            return
        self.compressed = True
        yield from _without_bom(self._inflate(first, raw))

    def _inflate(self, data: bytes, raw: Iterator[bytes]) -> Iterator[bytes]:
        dec = zlib.decompressobj(wbits=31)
        while True:
            try:
                # bounded output: a megabyte of compressed zeros must not become a gigabyte in one piece
                out = dec.decompress(data, CHUNK)
            except zlib.error as exc:
                raise CorruptInput(f"damaged gzip data ({exc})") from None
            if out:
                yield out
            if dec.eof and dec.unused_data.strip(b"\x00"):
                # another gzip member follows (concatenated .gz files are valid)
                data = dec.unused_data
                dec = zlib.decompressobj(wbits=31)
                continue
            data = dec.unconsumed_tail
            if data:
                continue
            if len(out) == CHUNK and not dec.eof:
                continue  # more output may be waiting inside the decompressor for no further input
            data = next(raw, b"")
            if not data:
                break
        if not dec.eof:
            raise TruncatedInput("the gzip stream is truncated (the file ends mid-stream)")

    def __iter__(self) -> Iterator[tuple[int, bytes | LineTooLong]]:
        limit = self.max_line_bytes
        parts: list[bytes] = []  # the pieces of the unfinished line (at most `limit` bytes in all)
        held = 0
        skipping = -1  # >= 0: the unfinished line is over the limit; its length so far (nothing of it is held)
        for chunk in self._chunks():
            start = 0
            if parts or skipping >= 0:
                nl = chunk.find(b"\n")
                if nl < 0:
                    if skipping >= 0:
                        skipping += len(chunk)
                    elif held + len(chunk) > limit:
                        skipping, parts, held = held + len(chunk), [], 0
                    else:
                        parts.append(chunk)
                        held += len(chunk)
                    continue
                self.line_no += 1
                if skipping >= 0:
                    yield self.line_no, LineTooLong(skipping + nl, limit)
                elif held + nl > limit:
                    yield self.line_no, LineTooLong(held + nl, limit)
                else:
                    parts.append(chunk[:nl])
                    yield self.line_no, b"".join(parts)
                parts, held, skipping = [], 0, -1
                start = nl + 1
            lines = (chunk[start:] if start else chunk).split(b"\n")
            tail = lines.pop()
            for line in lines:
                self.line_no += 1
                yield self.line_no, line if len(line) <= limit else LineTooLong(len(line), limit)
            if tail:
                if len(tail) > limit:
                    skipping = len(tail)
                else:
                    parts, held = [tail], len(tail)
        if skipping >= 0:
            self.line_no += 1
            yield self.line_no, LineTooLong(skipping, limit)
        elif parts:
            self.line_no += 1
            yield self.line_no, b"".join(parts)


def _without_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` without a UTF-8 BOM at the very start of the stream (however the first bytes are split)."""
    head = b""
    for chunk in chunks:
        head += chunk
        if len(head) >= len(UTF8_BOM):
            break
    yield head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    yield from chunks


def stdin_binary() -> BinaryIO:
    """Standard input as bytes."""
    return sys.stdin.buffer
