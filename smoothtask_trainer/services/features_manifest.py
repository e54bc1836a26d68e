"""The feature dataset's directory: its manifest, its shard files, and what a run may leave behind.

Layout (docs/scale.md)::

    DATASET/_manifest.json                               what is in the dataset (written last, atomically)
    DATASET/host=H/day=YYYY-MM-DD/part-<sha16>.parquet   one source's rows of one day

The manifest records, per source, its sha256, its shards and the facts `validate` reports. Names starting with
``_`` or ``.`` are not data for pyarrow's dataset discovery, so the manifest and temporary files are never read as
rows.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import InputFormatError, InputNotFoundError, OutputPathError, opt
from smoothtask_trainer.files import atomic_write_text
from smoothtask_trainer.schemas.features import SourceReport

MANIFEST = "_manifest.json"
DATASET_FORMAT = "1"
_SUFFIXES = (".gz", ".jsonl", ".ndjson", ".json", ".sqlite", ".sqlite3", ".db")


def raw_host_of(path: str, host_from: str) -> str:
    """The name a source's host comes from: its file name without the log suffixes, or its directory's name."""
    p = Path(path)
    if host_from == "directory":
        return p.parent.name
    name = p.name
    while Path(name).suffix.lower() in _SUFFIXES:
        name = name[: -len(Path(name).suffix)]
    return name


def host_of(path: str, host_from: str) -> str:
    """The host a source belongs to: `raw_host_of`, each character a partition name cannot hold replaced by _."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", raw_host_of(path, host_from)).strip(".") or "unknown"


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of an existing dataset directory, or a new one.

    Raises:
        OutputPathError: `out` is a file, or a non-empty directory that is not a feature dataset.
        InputFormatError: The manifest is damaged.
    """
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out} is a file, not a dataset directory", hint="name a new or existing directory")
    path = out / MANIFEST
    if not path.exists():
        if out.is_dir() and any(p for p in out.iterdir() if not p.name.startswith(".")):
            raise OutputPathError(
                f"{out} is not empty and holds no {MANIFEST}: it is not a feature dataset",
                hint="name a new directory, or a dataset an earlier run wrote",
            )
        return {"format": DATASET_FORMAT, "row_settings": None, "sources": {}}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        _check(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputFormatError(
            f"damaged manifest: {exc}", path=path, hint=f"remove {out} and build the dataset again"
        ) from None
    return data


#: A shard's place in the dataset, as `features` names it: never absolute, never outside the directory.
_SHARD_PATH = re.compile(r"host=[A-Za-z0-9._-]+/day=\d{4}-\d{2}-\d{2}/part-[0-9a-f]+(-[0-9a-z]+)?\.parquet")


def _check(data: Any) -> None:
    """What a manifest must hold to be read: the format this version writes, and per source an entry whose
    shards are named as `features` names them. Raises ValueError saying what is wrong."""
    from pydantic import ValidationError

    if not isinstance(data, dict) or not isinstance(data.get("sources"), dict):
        raise ValueError("no 'sources' table")
    if data.get("format") != DATASET_FORMAT:
        raise ValueError(f"format {data.get('format')!r}, this version reads format {DATASET_FORMAT!r}")
    for source, entry in data["sources"].items():
        try:
            report = SourceReport.model_validate(entry)
        except ValidationError as exc:
            raise ValueError(f"the entry of {source} is not a source report ({exc.error_count()} error(s))") from None
        for shard in report.shards:
            if not _SHARD_PATH.fullmatch(str(shard.path)):
                raise ValueError(f"the entry of {source} names the shard {shard.path!r}, not one of the dataset's")


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def open_dataset_manifest(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """A dataset to read: its directory and manifest.

    Raises:
        InputNotFoundError: No such directory, or no manifest (not a dataset `features` wrote).
    """
    out = Path(path)
    if not out.is_dir():
        raise InputNotFoundError(
            f"feature dataset {out} does not exist", hint="build it with: smoothtask-trainer features LOGS... --out DIR"
        )
    if not (out / MANIFEST).is_file():
        raise InputNotFoundError(
            f"{out} holds no {MANIFEST}: it is not a feature dataset",
            hint="build it with: smoothtask-trainer features LOGS... --out DIR",
        )
    return out, read_manifest(out)


def entries(manifest: dict[str, Any]) -> list[SourceReport]:
    return [SourceReport.model_validate(e) for e in manifest["sources"].values()]


def shard_files(manifest: dict[str, Any]) -> set[str]:
    return {s["path"] for e in manifest["sources"].values() for s in e.get("shards", [])}


def complete(out: Path, entry: dict[str, Any]) -> bool:
    """All of an entry's shards exist and are whole Parquet files (their magic bytes at both ends)."""
    return bool(entry.get("shards")) and all(whole(out / s["path"]) for s in entry["shards"])


def whole(path: Path) -> bool:
    """A Parquet file that was not cut short: `PAR1` at its start and its end."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            return head == b"PAR1" and fh.read(4) == b"PAR1"
    except OSError:
        return False


def check_shards(out: Path, manifest: dict[str, Any], hosts: set[str] | None = None) -> None:
    """Before reading: every shard of the chosen hosts is there and whole, or the error names it and the fix."""
    for entry in entries(manifest):
        if hosts is not None and entry.host not in hosts:
            continue
        for shard in entry.shards:
            if not whole(out / shard.path):
                state = "is missing" if not (out / shard.path).exists() else "is damaged (cut short)"
                raise InputFormatError(
                    f"the shard {shard.path} of {entry.source} {state}",
                    path=out,
                    hint=f"run smoothtask-trainer features again with {entry.source} and {opt('out')} {out}: it "
                    "rebuilds it",
                )


def sweep(out: Path, keep: set[str]) -> int:
    """Remove what no manifest entry names: temporary files of an interrupted or killed run, shards of a source
    that changed or failed, and the directories left empty. Returns how many files were removed."""
    removed = 0
    for path in sorted(out.glob("host=*/day=*/*"), reverse=True):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and rel not in keep and (path.name.startswith(".") or path.suffix == ".parquet"):
            path.unlink(missing_ok=True)
            removed += 1
    for tmp in out.glob(f".{MANIFEST}.*"):
        tmp.unlink(missing_ok=True)
    for directory in sorted(out.glob("host=*/day=*"), reverse=True) + sorted(out.glob("host=*"), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            os.rmdir(directory)
    return removed
