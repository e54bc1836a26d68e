"""One unit of `features` work, run on a Dask worker: a source file -> Parquet shards, with the single-machine code.

The worker ingests the source into a private temporary store with `collect` (the same parser, checks and
bookkeeping; a scratch store: on tmpfs when it fits, never flushed, without secondary indexes), builds the rows with
`build_dataset` (the rows `validate` writes as its feature matrix from that store), joins the per-group and
per-snapshot columns `replay` and `tune` read (`features_columns`: the values of `replay_load.load`), and writes one
Parquet file per UTC day under a temporary name, renamed into place. Nothing here depends on another source, so
shards can be built anywhere, in any order, and again.

Plain dicts go in and out: they cross process and machine boundaries (pickled by Dask).
"""

from __future__ import annotations

import os
import resource
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import contract, store
from smoothtask_trainer.errors import ConfigError, SmoothtaskError, report_text
from smoothtask_trainer.files import fsync, sha256_file, temp_beside
from smoothtask_trainer.ingest import reader as rd
from smoothtask_trainer.ingest.sqlite_source import source_digest
from smoothtask_trainer.services.features_columns import (  # noqa: F401 - the shard's replay columns, named here
    EXTRA_COLUMNS,
    GROUP_COLUMNS,
    SNAPSHOT_COLUMNS,
)

#: Bumped when the shard's columns or their meaning change; a dataset of another format is rebuilt.
SHARD_FORMAT = "1"
#: Every key of `DatasetSettings` that changes a row's values; the others (window, sample) apply when reading.
ROW_SETTINGS = ("labels", "attention_horizon_s", "responsiveness_correction")


#: tmpfs directories a task's private store goes to when one has room for it and no ``TMPDIR`` is set.
SCRATCH_DIRS = ("/dev/shm",)
#: Upper bounds of store bytes per source byte, by kind: JSONL shrinks about 3x into SQLite, gzip expands it.
_STORE_PER_BYTE = {rd.JSONL: 0.5, rd.JSONL_GZ: 8.0, rd.SQLITE: 1.5, rd.SQLITE_GZ: 8.0}


def digest(path: Path, kind: str) -> str:
    """The source's sha256 as `collect` records it (an SQLite source's includes its -wal and hot -journal)."""
    return source_digest(path) if kind == rd.SQLITE else sha256_file(path)


def scratch_dir(size: int, kind: str) -> str | None:
    """Where a task's store goes: the worker's ``TMPDIR`` when set, else a tmpfs directory with room for the store
    of a `size`-byte source of `kind` that leaves three quarters of its free space to the machine's other workers;
    None: the system's temporary directory."""
    if os.environ.get("TMPDIR"):
        return None
    need = size * _STORE_PER_BYTE.get(kind, 8.0) + (64 << 20)
    for path in SCRATCH_DIRS:
        try:
            fs = os.statvfs(path)
        except OSError:
            continue
        if os.access(path, os.W_OK | os.X_OK) and need * 4 <= fs.f_bavail * fs.f_frsize:
            return path
    return None


def build_shard(job: dict[str, Any]) -> dict[str, Any]:
    """Build the shards of one source; never raises for a bad source (the report says why it failed).

    `job`: ``source``, ``kind``, ``host``, ``out`` (the dataset directory), ``known_sha`` (the manifest's digest
    of this source, or None), ``dataset`` (the `ROW_SETTINGS` values) and ``collect`` (`[collect]` settings).
    """
    started = time.perf_counter()
    source = Path(job["source"])
    report: dict[str, Any] = {"source": job["source"], "kind": job["kind"], "host": job["host"], "status": "failed"}
    if job.get("range"):
        report["part"] = job["range"][2]
    report["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    try:
        report["size_bytes"] = source.stat().st_size
        if job.get("known_sha") is not None:
            report["sha256"] = job.get("sha256") or digest(source, job["kind"])
            if report["sha256"] == job["known_sha"]:
                report["status"] = "already-built"
                return report
        where = scratch_dir(report["size_bytes"], job["kind"])
        with tempfile.TemporaryDirectory(prefix="smoothtask-shard-", dir=where) as tmp:
            table = _build(job, Path(tmp) / "source.db", report)
        # the store is gone (its memory too, on tmpfs) before the shards are written
        tag = job["range"][2] if job.get("range") else ""
        report["shards"] = write_shards(table, Path(job["out"]), job["host"], report["sha256"], tag)
        report["status"] = "built"
    except SmoothtaskError as exc:
        text = report_text(exc.raw_message)
        report["error"] = text + (f" (hint: {report_text(exc.raw_hint)})" if exc.raw_hint else "")
    except OSError as exc:
        report["error"] = f"{source}: {exc.strerror or exc}"
    finally:
        report["seconds"] = round(time.perf_counter() - started, 3)
        report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return report


def _build(job: dict[str, Any], db: Path, report: dict[str, Any]) -> Any:
    from smoothtask_trainer.services import features_range as fr
    from smoothtask_trainer.services import validate as v
    from smoothtask_trainer.services.collect import collect
    from smoothtask_trainer.services.validate_signals import unfilled_signals
    from smoothtask_trainer.settings import CollectSettings, DatasetSettings

    settings = CollectSettings(**{**job["collect"], "parallel": False})  # one process per task: no decoder process
    source, rng = job["source"], job.get("range")
    if rng:  # a time range of a large daemon database: its window, in a private copy
        source = str(db.with_name("window.db"))
        after = int(job["dataset"]["attention_horizon_s"] * 1000) + fr.MARGIN_MS
        fr.copy_window(Path(job["source"]), rng[0], rng[1], after, Path(source), db.parent)
    result = collect([source], db, settings, scratch=True)
    (file,) = result.files
    report["sha256"] = job["sha256"] if rng else file.sha256
    report["skipped_records"] = file.skipped_records
    report["warnings"] = file.skipped_lines()
    dataset = DatasetSettings(**job["dataset"])
    con = store.open_readonly(db)
    try:
        try:
            table, ds = shard_table(con, db, dataset)
        except ConfigError as exc:
            if exc.setting is not None:  # a label setting this source cannot serve: as the store path says
                raise
            raise ConfigError(
                f"no training rows in this log ({exc.raw_message})",
                hint="check that it holds snapshots with app groups; the other sources are built without it",
            ) from None
    finally:
        con.close()
    if rng:  # the range's own rows and figures, without the window's margins
        table = fr.keep_range(table, rng[0], rng[1])
        fr.drop_outside(db, rng[0], rng[1])
    con = store.open_readonly(db)
    try:
        report["store_stats"] = v.store_stats(con).model_dump()
        report["snapshot_checks"] = v.snapshot_checks(con)
        report["unfilled"] = [u.signal for u in unfilled_signals(con)]
    finally:
        con.close()
    report["label_source"] = ds.label_source
    report["null_counts"] = ds.null_counts
    report["stats"] = {k: val for k, val in ds.stats.items() if k in ("rule_hits", "rule_signals")}
    return table


def _row_index(sid: np.ndarray, gid: np.ndarray, into_sid: np.ndarray, into_gid: np.ndarray) -> np.ndarray | None:
    """For each (snapshot, group) key, its row in the `into` keys (-1: absent); None: the same keys, same order."""
    if sid.size == into_sid.size and np.array_equal(sid, into_sid) and np.array_equal(gid, into_gid):
        return None
    import pandas as pd

    into = pd.MultiIndex.from_arrays([into_sid, into_gid])
    return into.get_indexer(pd.MultiIndex.from_arrays([sid, gid]))


def shard_table(con: Any, db: Path, dataset: Any) -> tuple[Any, Any]:
    """Every app-group row of a one-source store, in the dataset's order: keys, the 51 features, the label (NaN
    where the label mode gives the row none), `pos` (its place among the training rows, -1: none), and the
    replay columns. Returns the Arrow table and the dataset `build_dataset` made with `dataset`."""
    import pyarrow as pa

    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.features_columns import replay_columns

    ds = build_dataset(db, dataset, con=con)
    replay = replay_columns(con)
    X, query, gid, ts, pos = ds.all_rows()  # the rows the label mode left out keep their features
    n = pos.size
    columns: dict[str, Any] = {"snapshot_id": query, "app_group_id": gid.astype(str), "ts_ms": ts}
    for i, name in enumerate(contract.FEATURE_NAMES):
        columns[name] = X[:, i]
    columns["label"] = np.full(n, np.nan, dtype=ds.y.dtype)
    columns["label"][pos >= 0] = ds.y
    columns["pos"] = pos
    at = _row_index(query, gid, replay["snapshot_id"], replay["app_group_id"])
    if at is not None and (at < 0).any():  # a row whose snapshot is not in the store: empty replay columns
        return _merged(columns, replay), ds
    for name, values in replay.items():
        if name not in ("snapshot_id", "app_group_id"):
            columns[name] = values if at is None else values[at]
    table = pa.table({name: _arrow(values) for name, values in columns.items()})
    return table, ds


def _arrow(values: np.ndarray) -> Any:
    """A column as pyarrow converts it from pandas: strings as large_string (a column of NULLs only: null)."""
    import pyarrow as pa

    if values.dtype.kind in "OU" and any(v is not None for v in values):
        return pa.array(values, type=pa.large_string())
    return pa.array(values)


def _merged(columns: dict[str, Any], replay: dict[str, np.ndarray]) -> Any:
    """The rows joined to the replay columns by key, NULL where a row has none (`group_rank` -1)."""
    import pandas as pd
    import pyarrow as pa

    frame = pd.DataFrame(columns).merge(
        pd.DataFrame(replay), on=["snapshot_id", "app_group_id"], how="left", sort=False, validate="one_to_one"
    )
    frame["group_rank"] = frame["group_rank"].fillna(-1).astype(np.int32)
    return pa.Table.from_pandas(frame, preserve_index=False)


def write_shards(table: Any, out: Path, host: str, sha: str, tag: str = "") -> list[dict[str, Any]]:
    """One Parquet file per UTC day of `table` under ``host=H/day=D/``, each written under a temporary name,
    flushed and renamed: a shard either exists whole or not at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ts_all = table["ts_ms"].to_numpy()
    days = (ts_all // 86_400_000).astype(np.int64)
    unique = np.unique(days)
    shards = []
    for day in unique:
        mask = days == day
        part = table if unique.size == 1 else table.filter(pa.array(mask))
        name = time.strftime("%Y-%m-%d", time.gmtime(int(day) * 86_400))
        suffix = f"-{tag}" if tag else ""
        rel = Path(f"host={host}") / f"day={name}" / f"part-{sha[:16]}{suffix}.parquet"
        target = out / rel
        tmp = temp_beside(target)
        try:
            part = part.replace_schema_metadata({"smoothtask.shard_format": SHARD_FORMAT, "source_sha256": sha})
            pq.write_table(part, tmp, compression="zstd")
            fsync(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        ts = ts_all[mask]
        shards.append(
            {
                "path": rel.as_posix(),
                "day": name,
                "rows": int(mask.sum()),
                "training_rows": int((table["pos"].to_numpy()[mask] >= 0).sum()),
                "snapshots": int(np.unique(table["snapshot_id"].to_numpy()[mask]).size),
                "ts_min_ms": int(ts.min()),
                "ts_max_ms": int(ts.max()),
            }
        )
    return shards


def feature_columns() -> list[str]:
    """The 51 feature columns, in the contract's order."""
    return list(contract.FEATURE_NAMES)
