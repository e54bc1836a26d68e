"""Byte-level file helpers shared by every writer and reader: digests, temporary files, atomic writes.

No heavy imports: the ingest worker and the CLI start-up use this module too.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable
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


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to a temporary file beside `path` and rename it into place: no half-written output."""
    tmp = temp_beside(path)
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def fsync(path: Path) -> None:
    """Flush a finished file to disk before it is renamed into place (a crash leaves the old file, not zeros)."""
    with path.open("rb") as fh:
        os.fsync(fh.fileno())


def _identity(path: Path) -> tuple:
    """What makes two paths the same file: device and inode when it exists (symlinks and hard links resolve to
    it), else the fully resolved path (an output not written yet)."""
    try:
        st = os.stat(path)
    except OSError:
        return ("path", os.path.realpath(path))
    return ("inode", st.st_dev, st.st_ino)


def refuse_same_files(
    inputs: Iterable[tuple[str, Path | str | None]], outputs: Iterable[tuple[str, Path | str | None]]
) -> None:
    """Refuse any output that is the same file as an input or as another output.

    Files are compared as files — device and inode after following symlinks — so a symlink or a hard link to an
    input is caught as surely as the same spelling. Each entry is ``(role, path)``; ``None`` paths are ignored.

    Raises:
        OutputPathError: An output would replace an input, or two outputs would replace each other.
    """
    seen: dict[tuple, tuple[str, str, Path]] = {}
    for role, path in inputs:
        if path is not None:
            seen.setdefault(_identity(Path(path)), ("input", role, Path(path)))
    for role, path in outputs:
        if path is None:
            continue
        key = _identity(Path(path))
        if key in seen:
            kind, other_role, other = seen[key]
            linked = os.path.abspath(other) != os.path.abspath(path)
            raise OutputPathError(
                f"{role} {path} is the same file as the {kind} {other_role} {other}"
                f"{' (one is a link to the other)' if linked else ''}; "
                f"an output never replaces an {kind}",
                hint="choose another output path",
            )
        seen[key] = ("output", role, Path(path))


def ensure_parent(path: Path) -> None:
    """Create the missing directories above an output file (every command does: `mkdir -p` of its parent).

    Raises:
        OutputPathError: A directory cannot be created, or a parent is a file.
    """
    parent = path.parent if str(path.parent) else Path(".")
    if parent.is_dir():
        return
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputPathError(
            f"cannot create the directory {parent} for {path}: {exc.strerror or exc}",
            hint="choose an output path in a directory you can write",
        ) from exc
