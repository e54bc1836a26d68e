"""One unit of `features` work, run on a Dask worker: a source file -> Parquet shards, with the single-machine code.

The worker ingests the source into a private temporary store with `collect` (the same parser, checks and
bookkeeping), builds the rows with `build_dataset` (the rows `validate --features-out` writes from that store),
joins the per-group and per-snapshot columns `replay` and `tune` read (`replay_load.load`), and writes one Parquet
file per UTC day under a temporary name, renamed into place. Nothing here depends on another source, so shards can
be built anywhere, in any order, and again.

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
from smoothtask_trainer.errors import SmoothtaskError, report_text
from smoothtask_trainer.files import fsync, sha256_file, temp_beside
from smoothtask_trainer.ingest import reader as rd
from smoothtask_trainer.ingest.sqlite_source import source_digest

#: Bumped when the shard's columns or their meaning change; a dataset of another format is rebuilt.
SHARD_FORMAT = "1"
#: Per-group columns of `replay_load.load` (Groups fields and extras), stored as ``g_NAME`` (some features
#: have the same names).
GROUP_COLUMNS = (
    "focused",
    "gui",
    "total_cpu_share",
    "tag_game",
    "tag_background",
    "any_system",
    "any_audio_stream",
    "any_tty_term",
)
EXTRA_COLUMNS = ("app_name", "root_pid", "teacher_grade")
#: Per-snapshot columns of `replay_load.load` (Snapshots fields and the logged flag), repeated on each group row.
SNAPSHOT_COLUMNS = (
    "psi_cpu",
    "psi_io",
    "psi_mem",
    "sched_p99",
    "ui_p95",
    "xruns",
    "tsli",
    "user_active",
    "load_avg_one",
    "mem_total_kb",
    "mem_available_kb",
    "logged_bad",
)
#: Every key of `DatasetSettings` that changes a row's values; the others (window, sample) apply when reading.
ROW_SETTINGS = ("labels", "attention_horizon_s", "responsiveness_correction")


def digest(path: Path, kind: str) -> str:
    """The source's sha256 as `collect` records it (an SQLite source's includes its -wal and hot -journal)."""
    return source_digest(path) if kind == rd.SQLITE else sha256_file(path)


def build_shard(job: dict[str, Any]) -> dict[str, Any]:
    """Build the shards of one source; never raises for a bad source (the report says why it failed).

    `job`: ``source``, ``kind``, ``host``, ``out`` (the dataset directory), ``known_sha`` (the manifest's digest
    of this source, or None), ``dataset`` (the `ROW_SETTINGS` values) and ``collect`` (`[collect]` settings).
    """
    started = time.perf_counter()
    source = Path(job["source"])
    report: dict[str, Any] = {"source": job["source"], "kind": job["kind"], "host": job["host"], "status": "failed"}
    report["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    try:
        report["size_bytes"] = source.stat().st_size
        if job.get("known_sha") is not None:
            report["sha256"] = digest(source, job["kind"])
            if report["sha256"] == job["known_sha"]:
                report["status"] = "already-built"
                return report
        with tempfile.TemporaryDirectory(prefix="smoothtask-shard-") as tmp:
            _build(job, Path(tmp) / "source.db", report)
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


def _build(job: dict[str, Any], db: Path, report: dict[str, Any]) -> None:
    from smoothtask_trainer.services import validate as v
    from smoothtask_trainer.services.collect import collect
    from smoothtask_trainer.services.validate_signals import unfilled_signals
    from smoothtask_trainer.settings import CollectSettings, DatasetSettings

    result = collect([job["source"]], db, CollectSettings(**{**job["collect"], "parallel": False}))
    (file,) = result.files
    report["sha256"] = file.sha256
    report["skipped_records"] = file.skipped_records
    report["warnings"] = file.skipped_lines()
    dataset = DatasetSettings(**job["dataset"])
    con = store.open_readonly(db)
    try:
        report["store_stats"] = v.store_stats(con).model_dump()
        report["snapshot_checks"] = v.snapshot_checks(con)
        report["unfilled"] = [u.signal for u in unfilled_signals(con)]
        frame, ds = shard_frame(con, db, dataset)
    finally:
        con.close()
    report["label_source"] = ds.label_source
    report["null_counts"] = ds.null_counts
    report["stats"] = {k: val for k, val in ds.stats.items() if k in ("rule_hits", "rule_signals")}
    report["shards"] = write_shards(frame, Path(job["out"]), job["host"], report["sha256"])


def shard_frame(con: Any, db: Path, dataset: Any) -> tuple[Any, Any]:
    """Every app-group row of a one-source store, in the dataset's order: keys, the 51 features, the label (NaN
    where the label mode gives the row none), `pos` (its place among the training rows, -1: none), and the
    replay columns. Returns the frame and the dataset `build_dataset` made with `dataset`."""
    import pandas as pd

    from smoothtask_trainer.services import replay_load
    from smoothtask_trainer.services.dataset import build_dataset

    ds = build_dataset(db, dataset, con=con)
    g, s, extra = replay_load.load(con)
    everything = ds
    if ds.n_rows < g.snap.size:  # the label mode left rows out: their features come from the rule teacher's pass
        everything = build_dataset(db, dataset.model_copy(update={"labels": "rules"}), con=con)
    frame = everything.to_frame()
    frame = frame.drop(columns="label")
    train = pd.DataFrame({"snapshot_id": ds.query, "app_group_id": ds.app_group_id, "label": ds.y})
    train["pos"] = np.arange(ds.n_rows, dtype=np.int64)
    frame = frame.merge(train, on=["snapshot_id", "app_group_id"], how="left", sort=False, validate="one_to_one")
    frame["pos"] = frame["pos"].fillna(-1).astype(np.int64)
    sids = s.snapshot_id[g.snap]
    first = np.r_[True, g.snap[1:] != g.snap[:-1]] if g.snap.size else np.zeros(0, bool)
    starts = np.flatnonzero(first)
    rank = np.arange(g.snap.size) - np.repeat(starts, np.diff(np.r_[starts, g.snap.size]))
    groups = pd.DataFrame({"snapshot_id": sids, "app_group_id": g.app_group_id, "group_rank": rank})
    for name in GROUP_COLUMNS:
        groups[f"g_{name}"] = getattr(g, name)
    for name in EXTRA_COLUMNS:
        groups[f"g_{name}"] = extra[name]
    snap_values = {
        name: (extra["logged_bad"] if name == "logged_bad" else getattr(s, name)) for name in SNAPSHOT_COLUMNS
    }
    for name, values in snap_values.items():
        groups[f"snap_{name}"] = np.asarray(values)[g.snap]
    frame = frame.merge(groups, on=["snapshot_id", "app_group_id"], how="left", sort=False, validate="one_to_one")
    frame["group_rank"] = frame["group_rank"].fillna(-1).astype(np.int32)
    frame["app_group_id"] = frame["app_group_id"].astype(str)
    return frame, ds


def write_shards(frame: Any, out: Path, host: str, sha: str) -> list[dict[str, Any]]:
    """One Parquet file per UTC day of `frame` under ``host=H/day=D/``, each written under a temporary name,
    flushed and renamed: a shard either exists whole or not at all."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    days = (frame["ts_ms"].to_numpy() // 86_400_000).astype(np.int64)
    shards = []
    for day in np.unique(days):
        part = frame[days == day]
        name = time.strftime("%Y-%m-%d", time.gmtime(int(day) * 86_400))
        rel = Path(f"host={host}") / f"day={name}" / f"part-{sha[:16]}.parquet"
        target = out / rel
        tmp = temp_beside(target)
        try:
            table = pa.Table.from_pandas(part, preserve_index=False)
            table = table.replace_schema_metadata({"smoothtask.shard_format": SHARD_FORMAT, "source_sha256": sha})
            pq.write_table(table, tmp, compression="zstd")
            fsync(tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        ts = part["ts_ms"].to_numpy()
        shards.append(
            {
                "path": rel.as_posix(),
                "day": name,
                "rows": len(part),
                "training_rows": int((part["pos"].to_numpy() >= 0).sum()),
                "snapshots": int(part["snapshot_id"].nunique()),
                "ts_min_ms": int(ts.min()),
                "ts_max_ms": int(ts.max()),
            }
        )
    return shards


def feature_columns() -> list[str]:
    """The 51 feature columns, in the contract's order."""
    return list(contract.FEATURE_NAMES)
