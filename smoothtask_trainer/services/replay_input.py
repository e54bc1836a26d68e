"""What `replay` and `tune` replay: a store (`--db`), or one host of a feature dataset (`--features DATASET/`).

Both give the replay engine the same arrays: the snapshots in time order and their app groups in the daemon's
order, with the member facts the rules read. A store also answers what needs its process rows (the applied-class
check); a feature dataset carries the 51 features of every group row instead, so a model scores them directly, and
its labels (the rule teacher's, when it was built with `labels = rules`). No Typer or rich here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ConfigError, opt
from smoothtask_trainer.services import replay_load
from smoothtask_trainer.services.replay_engine import Groups, Snapshots


@dataclass
class ReplayInput:
    """The arrays to replay and where they came from."""

    name: str  #: the store, or ``DATASET (host H)``
    g: Groups
    s: Snapshots
    extra: dict[str, np.ndarray]
    db: Path | None = None  #: the store (None: a feature dataset)
    X: np.ndarray | None = None  #: a feature dataset's 51 features per group row
    labels: np.ndarray | None = None  #: a feature dataset's label per group row (NaN: none)
    label_mode: str | None = None  #: the label mode the feature dataset was built with
    fingerprint: str = ""

    def model_scores(self, model: Path) -> np.ndarray:
        """The ONNX model's score per group row, as the daemon computes it."""
        if self.db is not None:
            return replay_load.cached_model_scores(self.db, model, self.g, self.s)
        return replay_load.onnx_scores(model, self.X)  # type: ignore[arg-type]

    def rule_teacher_grades(self) -> np.ndarray | None:
        """The rule teacher's class grade per group row (-1: none); None when this input cannot tell them."""
        if self.db is not None:
            from smoothtask_trainer.services.tune_cutoffs import rule_teacher_grades

            return rule_teacher_grades(self.db, self.g, self.s)
        if self.label_mode != "rules" or self.labels is None:
            return None
        return np.where(np.isnan(self.labels), -1, self.labels).astype(np.int64)


def from_store(db: str | Path) -> ReplayInput:
    from smoothtask_trainer.services.tune import store_fingerprint

    g, s, extra = replay_load.read_store(db)
    return ReplayInput(str(db), g, s, extra, db=Path(db), fingerprint=store_fingerprint(db))


def from_features(path: str | Path, host: str | None) -> ReplayInput:
    """One host's rows of a feature dataset, every one of them (labelled or not), in the daemon's order."""
    import pyarrow.dataset as pds

    from smoothtask_trainer.services import features_manifest as mf
    from smoothtask_trainer.services.features_read import open_arrow, read_manifest_checked

    out, manifest = read_manifest_checked(path)
    hosts = sorted({e.host for e in mf.entries(manifest)})
    if host is None and len(hosts) == 1:
        host = hosts[0]
    if host not in hosts:
        raise ConfigError(
            f"{out} holds the hosts {', '.join(hosts) or '(none)'}: a replay is one machine's timeline"
            + ("" if host is None else f", and {host} is not one of them"),
            hint=f"choose one with {opt('host')}",
        )
    mf.check_shards(out, manifest, {host})
    frame = open_arrow(out, manifest, {host}).to_table(filter=pds.field("host") == host).to_pandas()
    frame = frame.sort_values(["ts_ms", "snapshot_id", "group_rank"], kind="stable")
    frame = frame.drop_duplicates(["snapshot_id", "app_group_id"]).reset_index(drop=True)  # overlapping files
    g, s, extra = _arrays(frame)
    labels = frame["label"].to_numpy(dtype=np.float64)
    X = np.ascontiguousarray(frame[list(contract.FEATURE_NAMES)].to_numpy(dtype=np.float32))
    digests = sorted(e.sha256 or "" for e in mf.entries(manifest) if e.host == host)
    fingerprint = hashlib.sha256("|".join(digests).encode()).hexdigest()[:16]
    mode = (manifest.get("row_settings") or {}).get("labels")
    return ReplayInput(f"{out} (host {host})", g, s, extra, X=X, labels=labels, label_mode=mode,
                       fingerprint=fingerprint)  # fmt: skip


def _arrays(frame: Any) -> tuple[Groups, Snapshots, dict[str, np.ndarray]]:
    sid = frame["snapshot_id"].to_numpy(dtype=np.int64)
    first = np.r_[True, sid[1:] != sid[:-1]] if sid.size else np.zeros(0, bool)
    snap = np.cumsum(first) - 1
    at = np.flatnonzero(first)

    def col(name: str, dtype: Any = np.float64) -> np.ndarray:
        return frame[f"snap_{name}"].to_numpy(dtype=dtype)[at]

    s = Snapshots(
        snapshot_id=sid[at], psi_cpu=col("psi_cpu"), psi_io=col("psi_io"), psi_mem=col("psi_mem"),
        sched_p99=col("sched_p99"), ui_p95=col("ui_p95"), xruns=col("xruns"), tsli=col("tsli"),
        user_active=col("user_active", bool), load_avg_one=col("load_avg_one"), mem_total_kb=col("mem_total_kb"),
        mem_available_kb=col("mem_available_kb"),
    )  # fmt: skip
    names = ("focused", "gui", "tag_game", "tag_background", "any_system", "any_audio_stream", "any_tty_term")
    flags = {name: frame[f"g_{name}"].to_numpy(dtype=bool) for name in names}
    g = Groups(
        snap=snap.astype(np.int64), app_group_id=frame["app_group_id"].to_numpy(dtype=object),
        total_cpu_share=frame["g_total_cpu_share"].to_numpy(dtype=np.float64), **flags,
    )  # fmt: skip
    g.keys()
    extra = {
        "logged_bad": col("logged_bad"),
        "app_name": frame["g_app_name"].to_numpy(dtype=object),
        "root_pid": frame["g_root_pid"].to_numpy(dtype=np.int64),
        "teacher_grade": frame["g_teacher_grade"].to_numpy(dtype=np.int64),
    }
    return g, s, extra
