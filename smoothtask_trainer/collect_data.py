"""The seed's `collect_data` API, kept for scripts written against it (backed by `services.collect`)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.settings import CollectSettings


def collect_data_from_snapshots(
    snapshot_files: str | Path | Iterable[str | Path],
    output_db: str | Path | None = None,
    use_temp_db: bool = True,
    settings: CollectSettings | None = None,
) -> Path:
    """Ingest snapshot logs into a SQLite store and return the store's path.

    Args:
        snapshot_files: One path or several (str or Path): JSONL, JSONL.gz, daemon SQLite or rotated .gz files,
            directories or glob patterns.
        output_db: The store to create or extend. Without it, a new temporary store is created when
            `use_temp_db` is true; the caller owns (and removes) that file.
        use_temp_db: Allow a temporary store when `output_db` is not given.
        settings: `[collect]` settings (defaults if None).

    Returns:
        The path of the store.

    Raises:
        FileNotFoundError: An input does not exist.
        ValueError: No inputs, an input that is not a snapshot log, or a file that failed.
        PermissionError: The store cannot be written.
    """
    files = [snapshot_files] if isinstance(snapshot_files, str | Path) else list(snapshot_files)
    if not files:
        raise ConfigError("snapshot_files is empty", hint="pass at least one snapshot log")
    if output_db is None:
        if not use_temp_db:
            raise ConfigError("no output_db given and use_temp_db=False", hint="pass output_db=Path('store.db')")
        fd, name = tempfile.mkstemp(prefix="smoothtask-", suffix=".db")
        os.close(fd)
        os.unlink(name)  # the store is created fresh at this path
        output_db = name
    collect([str(f) for f in files], output_db, settings)
    return Path(output_db)
