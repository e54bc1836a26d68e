"""Reading a feature dataset (`--features DATASET/`): pyarrow's dataset API, the time window pushed down to the
Parquet files, and a sample of snapshots, uniform per host, so that training fits one machine's memory.

The rows read are the training rows (those with a label), ordered as `build_dataset` orders a store's rows: by
time, then snapshot id, then the store's order of groups. The label mode is the one the dataset was built with.
"""

from __future__ import annotations

from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import contract
from smoothtask_trainer.attention import stable_keys
from smoothtask_trainer.contract import features as cf
from smoothtask_trainer.errors import ConfigError, InputFormatError, opt
from smoothtask_trainer.schemas.features import SourceReport
from smoothtask_trainer.services import features_manifest as mf
from smoothtask_trainer.services.dataset import Dataset
from smoothtask_trainer.services.features_shard import SHARD_FORMAT
from smoothtask_trainer.settings import DatasetSettings

_PARTITIONS = (("host", "string"), ("day", "string"))
_KEYS = ["host", "snapshot_id", "ts_ms"]


def open_arrow(out: Path, manifest: dict[str, Any], hosts: set[str] | None = None) -> Any:
    """The manifest's shards (of `hosts`, default all) as one pyarrow dataset with the hive partition columns host
    and day."""
    import pyarrow as pa
    import pyarrow.dataset as pds

    chosen = [e for e in mf.entries(manifest) if hosts is None or e.host in hosts]
    files = sorted(str(out / sh.path) for e in chosen for sh in e.shards)
    partitioning = pds.partitioning(pa.schema([(n, getattr(pa, t)()) for n, t in _PARTITIONS]), flavor="hive")
    return pds.dataset(files, format="parquet", partitioning=partitioning, partition_base_dir=str(out))


def window_filter(opts: DatasetSettings, training: bool = True) -> Any:
    """The pushed-down filter: training rows, and the time window on the day partitions and on ts_ms."""
    import pyarrow.dataset as pds

    expr = pds.field("pos") >= 0 if training else pds.scalar(True)
    for bound, op in ((opts.since, "ge"), (opts.until, "lt")):
        if bound is None:
            continue
        moment = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
        ms = int(round(moment.timestamp() * 1000))
        day = moment.astimezone(UTC).strftime("%Y-%m-%d")
        ts, d = pds.field("ts_ms"), pds.field("day")
        expr &= (ts >= ms) & (d >= day) if op == "ge" else (ts < ms) & (d <= day)
    return expr


def sample_snapshots(keys: Any, opts: DatasetSettings) -> dict[str, np.ndarray]:
    """Per host, the snapshot ids to read: all of them, or `max_snapshots` in all, shared among the hosts in
    proportion to their snapshots and taken within each host as `sample` says (latest, or uniform at random)."""
    hosts = keys["host"].to_numpy(zero_copy_only=False).astype(str)
    sids = keys["snapshot_id"].to_numpy()
    ts = keys["ts_ms"].to_numpy()
    per_host: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for host in np.unique(hosts):
        mine = hosts == host
        uniq, first = np.unique(sids[mine], return_index=True)
        order = np.lexsort((uniq, ts[mine][first]))
        per_host[str(host)] = (uniq[order], ts[mine][first][order])
    total = sum(ids.size for ids, _ in per_host.values())
    n = opts.max_snapshots
    if n is None or total <= n:
        return {h: ids for h, (ids, _) in per_host.items()}
    names = sorted(per_host)
    share = np.array([per_host[h][0].size for h in names], dtype=np.float64) * n / total
    quota = np.floor(share).astype(np.int64)
    for i in np.argsort(-(share - quota), kind="stable")[: n - int(quota.sum())]:
        quota[i] += 1
    rng = np.random.default_rng(opts.sample_seed)
    picked = {}
    for host, k in zip(names, quota.tolist(), strict=True):
        ids = per_host[host][0]
        if opts.sample == "latest":
            picked[host] = ids[ids.size - k :] if k else ids[:0]
        else:
            picked[host] = ids[np.sort(rng.choice(ids.size, size=k, replace=False))]
    return picked


def read_rows(path: str | Path, opts: DatasetSettings | None = None, training: bool = True) -> tuple[Any, list]:
    """The rows of the window and sample as a pandas DataFrame in dataset order, and the manifest entries of the
    sources they come from.

    Raises:
        InputNotFoundError: Not a feature dataset. ConfigError: nothing in the window.
    """
    import pyarrow.dataset as pds

    opts = opts or DatasetSettings()
    out, manifest = read_manifest_checked(path)
    check_label_settings(manifest, opts)
    mf.check_shards(out, manifest)
    arrow = open_arrow(out, manifest)
    keys = arrow.to_table(columns=_KEYS, filter=window_filter(opts, training=False))
    expr = window_filter(opts, training)
    picked = sample_snapshots(keys, opts)  # among every snapshot of the window, as a store's are sampled
    picked = {h: ids for h, ids in picked.items() if ids.size}
    if not picked:
        windowed = " in the chosen window" if opts.since or opts.until else ""
        raise ConfigError(
            f"no snapshots to build a dataset from{windowed} in {out}",
            hint=f"widen {opt('dataset.since')}/{opt('dataset.until')}, or add sources with the features command",
        )
    if opts.max_snapshots is not None:
        chosen = None
        for host, ids in picked.items():
            term = (pds.field("host") == host) & pds.field("snapshot_id").isin(ids)
            chosen = term if chosen is None else chosen | term
        expr &= chosen
    frame = arrow.to_table(filter=expr).to_pandas()
    frame["host"] = frame["host"].astype(str)
    frame = frame.sort_values(["ts_ms", "host", "snapshot_id", "pos", "group_rank"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame.attrs["snapshots_in_window"] = int(sum(ids.size for ids in picked.values()))
    used = set(frame["host"].unique())
    sources = [e for e in mf.entries(manifest) if e.host in used]
    return frame, sources


def read_manifest_checked(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The dataset directory and its manifest, whose shards this version can read."""
    out, manifest = mf.open_dataset_manifest(path)
    built = (manifest.get("row_settings") or {}).get("shard_format")
    if built != SHARD_FORMAT:
        raise InputFormatError(
            f"shards of format {built}, this version reads format {SHARD_FORMAT}",
            path=out / mf.MANIFEST,
            hint=f"build it again: smoothtask-trainer features LOGS... --out {out}",
        )
    return out, manifest


def check_label_settings(manifest: dict[str, Any], opts: DatasetSettings) -> None:
    """A label setting given when reading must be the one the dataset was built with (labels live in its rows)."""
    built = manifest.get("row_settings") or {}
    default = DatasetSettings()
    for key in ("labels", "attention_horizon_s", "responsiveness_correction"):
        wanted = getattr(opts, key)
        if key in built and wanted != getattr(default, key) and wanted != built[key]:
            raise ConfigError(
                f"the feature dataset was built with {key} = {built[key]}, not {wanted}: its labels are in its rows",
                hint=f"build another dataset with the features command and {opt('dataset.' + key)} {wanted}",
                setting=f"dataset.{key}",
            )


def load_dataset(path: str | Path, opts: DatasetSettings | None = None) -> tuple[Dataset, list[SourceReport]]:
    """The training dataset of a feature dataset: what `build_dataset` gives for a store of the same source.

    With one host, the query is the daemon's snapshot id; with several, snapshot ids (milliseconds) can coincide
    across hosts, so each (host, snapshot) gets its own number in time order.
    """
    frame, sources = read_rows(path, opts)
    return dataset_of(frame, sources), sources


def dataset_of(frame: Any, sources: list[SourceReport]) -> Dataset:
    kinds = sorted({s.label_source for s in sources if s.label_source})
    if len(kinds) > 1:
        raise ConfigError(
            f"the sources of this feature dataset carry different label sources ({', '.join(kinds)}): their labels "
            "are on different scales",
            hint=f"build the dataset with one {opt('dataset.labels')} mode (rules, attention or combined)",
        )
    X = np.ascontiguousarray(frame[list(contract.FEATURE_NAMES)].to_numpy(dtype=np.float32))
    query = frame["snapshot_id"].to_numpy(dtype=np.int64)
    hosts = frame["host"].to_numpy()
    if np.unique(hosts).size > 1:
        new = np.r_[True, (query[1:] != query[:-1]) | (hosts[1:] != hosts[:-1])]
        query = np.cumsum(new).astype(np.int64) - 1
    app_name = X[:, _index("app_name")]
    ds = Dataset(
        X=X,
        y=frame["label"].to_numpy(dtype=np.float32),
        query=query,
        app_group_id=frame["app_group_id"].to_numpy(dtype=object),
        ts_ms=frame["ts_ms"].to_numpy(dtype=np.int64),
        label_source=kinds[0] if kinds else "rules",
        key=stable_keys(app_name, frame["g_root_pid"].to_numpy(dtype=np.float64)),
        null_counts=_sum_counts(s.null_counts for s in sources),
    )
    hits = _sum_counts((s.stats.get("rule_hits") or {}) for s in sources)
    ds.stats.update(snapshots_in_window=frame.attrs.get("snapshots_in_window", ds.n_queries))
    if hits:
        ds.stats["rule_hits"] = {int(k): v for k, v in hits.items()}
        ds.stats["rule_signals"] = next((s.stats["rule_signals"] for s in sources if s.stats.get("rule_signals")), {})
    return ds


def _index(name: str) -> int:
    return next(f.index for f in cf.FEATURES if f.name == name)


def _sum_counts(parts: Any) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + int(v)
    return total
