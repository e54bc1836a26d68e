"""The JSONL decoder's child process: ``python -m smoothtask_trainer.ingest.worker PARENT_PID``.

`ingest.parse.ParserProcess` starts this module as a plain child process (never `multiprocessing`, so the user's
own script is never imported or run again) and talks to it over stdin/stdout with the frames of `ingest.frames`.

Three threads keep decoding and writing overlapped while memory stays bounded:

- the main thread decodes one file after the other (`parse_file`) and encodes each message;
- a writer thread sends encoded messages to the parent from a small bounded queue, so the next batch is decoded
  while the parent still reads the previous one;
- a reader thread takes file names from stdin; end of file on stdin (the parent closed the pipe, or died) ends
  the process at once, whatever it was doing.

The child never outlives its parent: on Linux it asks the kernel for SIGKILL when the parent dies
(``PR_SET_PDEATHSIG``), and everywhere it exits on end of file on stdin or a broken stdout. It ignores SIGINT:
Ctrl-C reaches the whole process group, and the parent decides what happens.
"""

from __future__ import annotations

import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux), and exit now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
        except (OSError, AttributeError):  # pragma: no cover - no prctl: end of file on stdin still ends us
            pass
    if os.getppid() != parent_pid:  # the parent died before the request above was made
        os._exit(0)


if __name__ == "__main__":  # first of all, before the heavier imports below
    die_with_parent(int(sys.argv[1]))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C is the parent's to handle

import gc  # noqa: E402
import marshal  # noqa: E402
import pickle  # noqa: E402
import queue  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from dataclasses import fields  # noqa: E402
from typing import Any  # noqa: E402

from smoothtask_trainer.ingest import frames  # noqa: E402
from smoothtask_trainer.ingest.parse import Batch, StreamEnd, parse_file  # noqa: E402

#: Encoded messages waiting for the pipe: with the pipe's own buffer and the parent's current batch, this bounds
#: how many batches are in flight.
QUEUE_FRAMES = 4


def encode(index: int, message: Batch | StreamEnd) -> bytes:
    """One message for the parent: ``(tag, index, *fields)`` marshalled."""
    tag = frames.BATCH if isinstance(message, Batch) else frames.END
    return marshal.dumps((tag, index, *(getattr(message, f.name) for f in fields(message))))


def decode_files(tasks: queue.Queue, out: queue.Queue, kwargs: dict[str, Any]) -> None:
    """Decode each ``(index, path)`` from `tasks` in turn, putting the encoded messages (or its error) on `out`."""
    while True:
        index, path = tasks.get()
        try:
            for message in parse_file(path, **kwargs):
                out.put(encode(index, message))
        except OSError as exc:
            out.put(marshal.dumps((frames.OS_ERROR, index, exc.errno, exc.strerror, path)))
        except Exception:  # noqa: BLE001 - report it to the parent, never hang it
            out.put(marshal.dumps((frames.FAILED, index, traceback.format_exc())))


def _read_tasks(fd: int, tasks: queue.Queue) -> None:
    """Queue every file the parent submits; end of file (or any read error) ends the process."""
    try:
        while True:
            tasks.put(pickle.loads(frames.read_frame(fd)))
    except BaseException:  # noqa: BLE001 - the parent closed the pipe or is gone: nothing left to do
        pass
    os._exit(0)


def _send(fd: int, out: queue.Queue) -> None:
    """Write queued messages to the parent; a closed pipe (the parent stopped reading) ends the process."""
    try:
        while True:
            frames.write_frame(fd, out.get())
    except BaseException:  # noqa: BLE001 - broken pipe: the parent is gone or closed us
        pass
    os._exit(0)


def main() -> None:
    """Serve the parent (named on the command line, see `die_with_parent` above) until it closes stdin."""
    # Decoding allocates millions of acyclic tuples; the cyclic collector would only rescan them over and over.
    gc.disable()
    # The pipes are the protocol: keep private descriptors, and send anything printed by accident to stderr.
    in_fd, out_fd = os.dup(0), os.dup(1)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    try:
        kwargs = pickle.loads(frames.read_frame(in_fd))
    except frames.ChannelClosed:
        os._exit(0)
    tasks: queue.Queue = queue.Queue()
    out: queue.Queue = queue.Queue(maxsize=QUEUE_FRAMES)
    threading.Thread(target=_read_tasks, args=(in_fd, tasks), name="tasks", daemon=True).start()
    threading.Thread(target=_send, args=(out_fd, out), name="send", daemon=True).start()
    decode_files(tasks, out, kwargs)


if __name__ == "__main__":
    main()
