"""Byte-level file helpers shared by every writer and reader: digests, temporary files, atomic writes.

No heavy imports: the ingest worker and the CLI start-up use this module too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from smoothtask_trainer.errors import OutputPathError

SQLITE_MAGIC = b"SQLite format 3\x00"
CHUNK = 1 << 20


def sha256_file(path: Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """Digest of a file's bytes; `on_bytes(done)` after each chunk for progress."""
    digest = hashlib.sha256()
    done = 0
    with Path(path).open("rb", buffering=0) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            if on_bytes:
                on_bytes(done)
    return digest.hexdigest()


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new empty file ``.<name>.XXXX<suffix>`` in `path`'s directory (same filesystem: os.replace is atomic).

    Raises:
        OutputPathError: The directory cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        raise OutputPathError(
            f"cannot write {path}: {exc.strerror or exc}", hint="choose a directory you can write to"
        ) from exc
    os.close(fd)
    # mkstemp creates 0600 files, and os.replace keeps the mode: give the file the mode an ordinary create would
    # (0666 less the umask), or a daemon running as another user could not read the model.
    os.chmod(name, 0o666 & ~current_umask())
    return Path(name)


def fsync(path: Path) -> None:
    """Flush a finished file to disk before it is renamed into place (a crash leaves the old file, not zeros)."""
    with path.open("rb") as fh:
        os.fsync(fh.fileno())
