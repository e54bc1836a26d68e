"""Sources: what a path holds (detected by its bytes, not its name), and a streaming line reader.

The reader hashes the bytes exactly as stored (compressed bytes for `.gz`), so a file's sha256 costs no second
pass, and it never holds more than one chunk of a file in memory.
"""

from __future__ import annotations

import glob
import hashlib
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


def _sniff_gzip(head: bytes) -> bytes:
    """The first decompressed bytes of a gzip stream starting with `head` (may be short)."""
    try:
        return zlib.decompressobj(wbits=31).decompress(head, 64)
    except zlib.error:
        return b""


def classify(head: bytes, label: str) -> str:
    """The kind of source whose first bytes are `head`.

    Raises:
        InputFormatError: The bytes are neither SQLite, gzip, nor a JSON object per line.
    """
    if head.startswith(SQLITE_MAGIC):
        return SQLITE
    if head.startswith(GZIP_MAGIC):
        inner = _sniff_gzip(head)
        return SQLITE_GZ if inner.startswith(SQLITE_MAGIC) else JSONL_GZ
    body = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
    stripped = body.lstrip()
    if not stripped or stripped.startswith(b"{"):
        return JSONL
    preview = stripped[:24].decode("utf-8", "replace")
    raise InputFormatError(
        f"not a snapshot log: expected a JSON object per line, a SQLite database or gzip, found {preview!r}",
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

    `bytes_read` counts raw (compressed) bytes for progress; `sha256` is the digest of the raw bytes, complete
    after iteration. A stream that ends inside a gzip member raises `TruncatedInput` once every complete line
    has been yielded; a damaged one raises `CorruptInput`.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.bytes_read = 0
        self.line_no = 0
        self._hash = hashlib.sha256()
        self.compressed = False

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _chunks(self) -> Iterator[bytes]:
        read, update = self._raw.read, self._hash.update
        first = read(CHUNK)
        self.bytes_read += len(first)
        update(first)
        if not first.startswith(GZIP_MAGIC):
            if first.startswith(UTF8_BOM):
                first = first[len(UTF8_BOM) :]
            yield first
            while chunk := read(CHUNK):
                self.bytes_read += len(chunk)
                update(chunk)
                yield chunk
            return
        self.compressed = True
        dec = zlib.decompressobj(wbits=31)
        data = first
        while True:
            try:
                out = dec.decompress(data)
            except zlib.error as exc:
                raise CorruptInput(f"damaged gzip data ({exc})") from None
            if out:
                yield out
            if dec.eof:
                rest = dec.unused_data
                if rest.strip(b"\x00"):  # another gzip member follows (concatenated .gz files are valid)
                    dec = zlib.decompressobj(wbits=31)
                    data = rest
                    continue
            data = read(CHUNK)
            if not data:
                break
            self.bytes_read += len(data)
            update(data)
        if not dec.eof:
            raise TruncatedInput("the gzip stream is truncated (the file ends mid-stream)")

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        tail = b""
        for chunk in self._chunks():
            lines = (tail + chunk).split(b"\n") if tail else chunk.split(b"\n")
            tail = lines.pop()
            for line in lines:
                self.line_no += 1
                yield self.line_no, line
        if tail:
            self.line_no += 1
            yield self.line_no, tail


def stdin_binary() -> BinaryIO:
    """Standard input as bytes."""
    return sys.stdin.buffer
