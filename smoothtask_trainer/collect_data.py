"""The seed's `collect_data` API (collect, validate, load), kept for scripts written against it.

Each function is a thin wrapper over a service; none has logic of its own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

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


def validate_dataset(
    db_path: str | Path,
    min_snapshots: int | None = None,
    min_processes: int | None = None,
    min_groups: int | None = None,
    **gates: float,
) -> dict[str, Any]:
    """Check a store against the data-quality gates and return the seed's statistics.

    Args:
        db_path: The store (str or Path).
        min_snapshots, min_processes, min_groups: The seed's thresholds (row counts); None keeps the
            `[validation]` settings (defaults 1, 10, 1).
        **gates: Other `[validation]` thresholds, e.g. ``min_groups_per_query=2``.

    Returns:
        ``snapshot_count``, ``process_count``, ``group_count``, ``unique_processes``, ``unique_groups``,
        ``time_range`` (``{"start", "end"}``), ``validation_passed`` and the full ``report`` (a dict).

    Raises:
        FileNotFoundError: The store does not exist.
        ValueError: Not a store, or one or more gates failed (all are listed in the message).
    """
    from smoothtask_trainer.services.validate import raise_for_gates, validate
    from smoothtask_trainer.settings import load_settings

    overrides = {"min_snapshots": min_snapshots, "min_processes": min_processes, "min_groups": min_groups, **gates}
    settings = load_settings(None, {"validation": overrides})
    report = validate(db_path, settings.validation, settings.dataset)
    raise_for_gates(report)
    s = report.stats
    return {
        "snapshot_count": s.snapshot_count,
        "process_count": s.process_count,
        "group_count": s.group_count,
        "unique_processes": s.unique_processes,
        "unique_groups": s.unique_groups,
        "time_range": {"start": s.time_range.start, "end": s.time_range.end},
        "validation_passed": True,
        "report": report.model_dump(mode="json"),
    }


def load_dataset(db_path: str | Path, validate: bool = True, **gates: float):  # noqa: ANN201 - a DataFrame
    """The training dataset as one DataFrame: keys, the daemon's 51 features in order, and the label.

    Columns: ``snapshot_id``, ``app_group_id``, ``ts_ms``, the 51 names of `contract.FEATURE_NAMES` (float32;
    categoricals as the daemon's hash codes), ``label``. One row per (snapshot, app group).

    Args:
        db_path: The store (str or Path).
        validate: Run `validate_dataset` first (with `gates` as its thresholds).

    Raises:
        FileNotFoundError / ValueError: As `validate_dataset`.
    """
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import load_settings

    if validate:
        validate_dataset(db_path, **gates)
    return build_dataset(db_path, load_settings().dataset).to_frame()
