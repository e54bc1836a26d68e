"""The pipe protocol between `ParserProcess` and its decoder child (`ingest.worker`).

Each message is one frame: an 8-byte little-endian length, then that many bytes. Parent → child: the first frame
is the pickled keyword arguments for `parse_file`, then one pickled ``(index, path)`` per file to decode. Child →
parent: marshalled tuples (marshal is several times faster than pickle for plain tuples of scalars), tagged by
their first element:

- ``(BATCH, index, *Batch fields)``
- ``(END, index, *StreamEnd fields)``
- ``(OS_ERROR, index, errno, strerror, path)``: the file could not be read
- ``(FAILED, index, traceback text)``: the decoder failed on that file

The child exits when its stdin reaches end of file, so closing the pipe is how the parent stops it.
"""

from __future__ import annotations

import os
import struct

BATCH, END, OS_ERROR, FAILED = "batch", "end", "os-error", "failed"

_HEADER = struct.Struct("<Q")


class ChannelClosed(EOFError):
    """The other end closed the pipe (at a frame boundary or in the middle of a frame)."""


def write_frame(fd: int, payload: bytes) -> None:
    """Write one frame to the file descriptor `fd` (blocking until all of it is in the pipe)."""
    _write_all(fd, _HEADER.pack(len(payload)))
    _write_all(fd, payload)


def read_frame(fd: int) -> bytearray:
    """Read one frame's payload from the file descriptor `fd`.

    Raises:
        ChannelClosed: The writer closed its end before a whole frame arrived.
    """
    (size,) = _HEADER.unpack(_read_exactly(fd, _HEADER.size))
    return _read_exactly(fd, size)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exactly(fd: int, size: int) -> bytearray:
    buf = bytearray(size)
    view = memoryview(buf)
    got = 0
    while got < size:
        n = os.readv(fd, [view[got:]])
        if n == 0:
            raise ChannelClosed(f"pipe closed after {got} of {size} bytes")
        got += n
    return buf
