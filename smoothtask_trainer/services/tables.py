"""Table outputs (`validate --features-out`, `replay --classes-out`): CSV or Parquet by suffix, checked before any
work, written atomically, never over the store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import ConfigError, OutputPathError, opt
from smoothtask_trainer.files import ensure_parent, refuse_same_files, temp_beside

SUFFIXES = (".csv", ".parquet")


def check_table_output(path: str | Path | None, db: str | Path, option: str, role: str) -> Path | None:
    """The output path, checked: a known suffix, not a directory, not the store; its directory created."""
    if path is None:
        return None
    out = Path(path)
    if out.suffix.lower() not in SUFFIXES:
        raise ConfigError(f"{opt(option)} {out}: unknown format", hint="name a .csv or .parquet file")
    if out.is_dir():
        raise OutputPathError(f"{role} {out} is a directory", hint="name a .csv or .parquet file")
    refuse_same_files([("store", db)], [(role, out)])
    ensure_parent(out)
    return out


def write_table(frame: Any, out: Path) -> None:
    """A pandas DataFrame to `out` (CSV or Parquet by suffix) under a temporary name, then renamed into place."""
    tmp = temp_beside(out)
    try:
        if out.suffix.lower() == ".parquet":
            frame.to_parquet(tmp, index=False)
        else:
            frame.to_csv(tmp, index=False)
        os.replace(tmp, out)
    except OSError as exc:
        raise OutputPathError(f"cannot write {out}: {exc.strerror}") from exc
    finally:
        tmp.unlink(missing_ok=True)
