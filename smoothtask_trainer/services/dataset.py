"""The training dataset: one row per (snapshot, app group), built the daemon's way, set-wise in SQLite.

Rows carry the 51 features of `contract.FEATURES` (float32, the daemon's raw values, NULL -> 0 / "unknown" ->
hash), the label, and keys (`snapshot_id`, `app_group_id`, `ts_ms`) for splitting and inspection. The ranking
query is the snapshot; rows are ordered by time, then snapshot id, then app group id. Snapshot-level values are
read once per snapshot and broadcast; group rows are streamed in chunks, so memory is the float32 matrix plus a
bounded working set.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from smoothtask_trainer import contract, store
from smoothtask_trainer import labels as lb
from smoothtask_trainer import labels_attention as la
from smoothtask_trainer.attention import stable_keys
from smoothtask_trainer.contract import features as cf
from smoothtask_trainer.errors import ConfigError, opt
from smoothtask_trainer.services import dataset_rows as q
from smoothtask_trainer.settings import DatasetSettings
from smoothtask_trainer.sqlite_errors import translated

CHUNK = 8192


@dataclass
class Dataset:
    """The ranking dataset. `X[:, i]` is `contract.FEATURES[i]`; rows of one query are contiguous."""

    X: np.ndarray  # float32 (rows, 51)
    y: np.ndarray  # float32 (rows,)
    query: np.ndarray  # int64 snapshot_id per row
    app_group_id: np.ndarray  # object (str) per row
    ts_ms: np.ndarray  # int64 epoch milliseconds per row
    label_source: str  # "teacher_score", "teacher_class", "rules", "attention" or "combined"
    key: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # stable identity per row
    null_counts: dict[str, int] = field(default_factory=dict)  # raw NULLs per feature before defaults
    stats: dict[str, object] = field(default_factory=dict)  # timings, windows, rule counts
    #: (X, query, app_group_id, ts_ms, their places among all rows) of the window's rows left out for want of a
    #: label: a replay scores them too, and a feature shard keeps them (`all_rows`)
    unlabeled: tuple[np.ndarray, ...] | None = field(default=None, repr=False)

    def all_rows(self) -> tuple[np.ndarray, ...]:
        """(X, query, app_group_id, ts_ms, pos) of every row of the window, labelled or not, in the dataset's order;
        `pos` is a row's place among the labelled rows (-1: none)."""
        if self.unlabeled is None:
            return self.X, self.query, self.app_group_id, self.ts_ms, np.arange(self.n_rows, dtype=np.int64)
        parts, where = self.unlabeled[:4], self.unlabeled[4]
        n = self.n_rows + where.size
        kept = np.ones(n, dtype=bool)
        kept[where] = False
        out = []
        for mine, theirs in zip((self.X, self.query, self.app_group_id, self.ts_ms), parts, strict=True):
            full = np.empty((n, *mine.shape[1:]), dtype=mine.dtype)
            full[kept], full[where] = mine, theirs
            out.append(full)
        pos = np.full(n, -1, dtype=np.int64)
        pos[kept] = np.arange(self.n_rows, dtype=np.int64)
        return (*out, pos)

    @property
    def n_rows(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_queries(self) -> int:
        return int(np.unique(self.query).size)

    def query_sizes(self) -> np.ndarray:
        """Rows per query, in row order."""
        _, starts, counts = np.unique(self.query, return_index=True, return_counts=True)
        return counts[np.argsort(starts)]

    def to_frame(self):  # noqa: ANN201 - pandas is imported lazily
        """One DataFrame: the keys, the 51 features in contract order, and the label."""
        import pandas as pd

        frame = pd.DataFrame(self.X, columns=list(contract.FEATURE_NAMES), copy=False)
        frame.insert(0, "ts_ms", self.ts_ms)
        frame.insert(0, "app_group_id", self.app_group_id)
        frame.insert(0, "snapshot_id", self.query)
        frame["label"] = self.y
        return frame


def resolve_label_source(con: sqlite3.Connection, requested: str) -> str:
    """`teacher_score`, `teacher_class`, `rules`, `attention` or `combined` for the requested mode (`auto`,
    `teacher`, `rules`, `attention`, `combined`); `auto` is the teacher where the store has teacher data, else
    `combined`."""
    if requested in ("rules", *la.SOURCES):
        return requested
    has_score = con.execute("SELECT 1 FROM processes WHERE teacher_score IS NOT NULL LIMIT 1").fetchone()
    if has_score:
        return "teacher_score"
    has_class = con.execute("SELECT 1 FROM processes WHERE teacher_priority_class IS NOT NULL LIMIT 1").fetchone()
    if has_class:
        return "teacher_class"
    if requested == "teacher":
        raise ConfigError(
            "the store has no teacher labels (teacher_score and teacher_priority_class are NULL everywhere, as in "
            "every real daemon log)",
            hint=f"set {opt('dataset.labels')} to combined, attention or rules (docs/labels.md), or auto",
            setting="dataset.labels",
        )
    return "combined"


def _select_snapshots(con: sqlite3.Connection, opts: DatasetSettings) -> tuple[np.ndarray, np.ndarray, int]:
    """(snapshot ids, epoch ms) of the window, in time order; and how many were left out for a bad timestamp."""
    where, args = [], []
    if opts.since is not None:
        where.append("julianday(timestamp) >= julianday(?)")
        args.append(opts.since.isoformat())
    if opts.until is not None:
        where.append("julianday(timestamp) < julianday(?)")
        args.append(opts.until.isoformat())
    sql = f"SELECT snapshot_id, {q.TS_MS} FROM snapshots" + (f" WHERE {' AND '.join(where)}" if where else "")
    rows = con.execute(sql, args).fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ts = np.fromiter((r[1] if r[1] is not None else -1 for r in rows), dtype=np.int64, count=len(rows))
    bad = int((ts < 0).sum())
    keep = ts >= 0
    ids, ts = ids[keep], ts[keep]
    order = np.lexsort((ids, ts))
    ids, ts = ids[order], ts[order]
    n = opts.max_snapshots
    if n is not None and ids.size > n:
        if opts.sample == "latest":
            ids, ts = ids[-n:], ts[-n:]
        else:
            pick = np.sort(np.random.default_rng(opts.sample_seed).choice(ids.size, size=n, replace=False))
            ids, ts = ids[pick], ts[pick]
    return ids, ts, bad


def build_dataset(
    db: str | Path, opts: DatasetSettings | None = None, *, con: sqlite3.Connection | None = None
) -> Dataset:
    """Build the ranking dataset from a store.

    Args:
        db: The store (ignored when `con` is given).
        opts: Window and label settings (`[dataset]`).
        con: An open connection to reuse.

    Raises:
        InputNotFoundError / StoreError: No usable store.
        ConfigError: `labels=teacher` on a store without teacher data; an empty window.
    """
    opts = opts or DatasetSettings()
    started = time.perf_counter()
    own = con is None
    con = con or store.open_readonly(db)
    try:
        with translated(db, "reading"):
            source = resolve_label_source(con, opts.labels)
            ids, ts, bad_ts = _select_snapshots(con, opts)
            if ids.size == 0:
                windowed_note = " in the chosen window" if opts.since or opts.until else ""
                raise ConfigError(
                    "no snapshots to build a dataset from" + windowed_note,
                    hint="collect snapshot logs into the store first, or widen "
                    f"{opt('dataset.since')}/{opt('dataset.until')}",
                )
            windowed = ids.size < con.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]
            ruled = source in ("rules", *la.SOURCES)  # the behavioural labels read the rule teacher's columns too
            rows = q.GroupRows(
                source="rules" if ruled else source, correction=source == "rules" and opts.responsiveness_correction
            )
            cols = q.Columns(keep_tag_sets=ruled)
            with _window_table(con, ids, windowed):
                snap = {r[0]: r[1:] for r in con.execute(q.snapshot_sql(windowed))}
                cur = con.execute(rows.sql(windowed))
                while chunk := cur.fetchmany(CHUNK):
                    cols.add(chunk, len(rows.numeric))
                if source == "teacher_score":
                    _fill_class_grades(con, cols, rows, windowed)
    finally:
        if own:
            con.close()
    ds = _assemble(cols, rows, snap, ids, ts, source, opts.attention_horizon_s)
    ds.stats.update(
        seconds=round(time.perf_counter() - started, 3),
        snapshots_in_window=int(ids.size),
        snapshots_bad_timestamp=bad_ts,
    )
    return ds


def _fill_class_grades(con: sqlite3.Connection, cols: q.Columns, rows: q.GroupRows, windowed: bool) -> None:
    """Give groups without a teacher_score the grade of their best teacher class (only when there are some)."""
    t_score = rows.numeric.index("t_score")
    if not any(np.isnan(part[:, t_score]).any() for part in cols.numeric):
        return
    grades = {(sid, gid): grade for sid, gid, grade in con.execute(q.class_grades_sql(windowed))}
    if not grades:
        return
    t_grade = rows.numeric.index("t_grade")
    start = 0
    for sids, part in zip(cols.sid, cols.numeric, strict=True):
        for i in np.flatnonzero(np.isnan(part[:, t_score])):
            grade = grades.get((int(sids[i]), cols.gid[start + i]))
            if grade is not None:
                part[i, t_grade] = grade
        start += len(sids)


def _assemble(
    cols: q.Columns,
    rows: q.GroupRows,
    snap: dict[int, tuple],
    ids: np.ndarray,
    ts: np.ndarray,
    source: str,
    horizon_s: float = 120.0,
) -> Dataset:
    if not cols.sid:
        raise ConfigError("the snapshots hold no app groups", hint="collect snapshot logs that list app_groups")
    sid = np.concatenate(cols.sid)
    num = np.concatenate(cols.numeric)
    cols.numeric.clear()
    gid = np.array(cols.gid, dtype=object)
    cols.gid.clear()
    codes = {slot: np.concatenate(parts) for slot, parts in cols.codes.items()}
    tag_sets, member_sets, app_names = cols.tag_sets, cols.member_sets, cols.app_names
    # Snapshot-level values, read once per snapshot, broadcast to its rows.
    n_snap_cols = len(q.SNAPSHOT_FEATURES) + len(q.SNAPSHOT_EXTRA)
    snap_matrix = np.array([snap.get(int(i), (None,) * n_snap_cols) for i in ids], dtype=np.float64)
    by_id = np.argsort(ids, kind="stable")
    snap_idx = by_id[np.searchsorted(ids[by_id], sid)]
    order = np.argsort(snap_idx, kind="stable")  # time order; within a snapshot, the store's order of groups
    if not np.array_equal(order, np.arange(order.size)):
        sid, num, gid, snap_idx = sid[order], num[order], gid[order], snap_idx[order]
        codes = {k: v[order] for k, v in codes.items()}
        tag_sets = [tag_sets[i] for i in order] if tag_sets else tag_sets
        member_sets = [member_sets[i] for i in order] if member_sets else member_sets
        app_names = [app_names[i] for i in order] if app_names else app_names
    col = {name: i for i, name in enumerate(rows.numeric)}
    snap_col = {f.name: i for i, f in enumerate(q.SNAPSHOT_FEATURES)}
    X = np.empty((sid.size, cf.N_FEATURES), dtype=np.float32)
    nulls: dict[str, int] = {}
    for f in cf.FEATURES:
        if f.kind == "categorical":
            if f.name in cf.FORCED_UNKNOWN:
                X[:, f.index] = cf.category_hash(cf.UNKNOWN)
            else:
                X[:, f.index] = codes[f.name]
                nulls[f.name] = cols.nulls[f.name]
            continue
        values = snap_matrix[snap_idx, snap_col[f.name]] if f.origin == "snapshot" else num[:, col[f.name]]
        missing = np.isnan(values)
        nulls[f.name] = int(missing.sum())
        X[:, f.index] = np.where(missing, 0.0, values)
    key = stable_keys(codes["app_name"], num[:, col["root_pid"]])
    members = lb.MemberSignals(member_sets, app_names)
    att = _attention(source, num, col, X, sid, ts[snap_idx], key, horizon_s)
    y, keep, extra = _labels(source, num, col, X, tag_sets, snap_matrix[snap_idx], sid, members, att)
    unlabeled = None
    if not keep.all():
        unlabeled = (X[~keep], sid[~keep], gid[~keep], ts[snap_idx][~keep], np.flatnonzero(~keep))
        X, y, sid, gid, snap_idx, key = X[keep], y[keep], sid[keep], gid[keep], snap_idx[keep], key[keep]
    ds = Dataset(
        X=X, y=y, query=sid, app_group_id=gid, ts_ms=ts[snap_idx], label_source=source, key=key, null_counts=nulls,
        unlabeled=unlabeled,
    )  # fmt: skip
    ds.stats.update(extra, unlabeled_rows=int((~keep).sum()))
    return ds


def _labels(
    source: str,
    num: np.ndarray,
    col: dict[str, int],
    X: np.ndarray,
    tag_sets: list[frozenset[str]],
    snap_rows: np.ndarray,
    sid: np.ndarray,
    members: lb.MemberSignals | None = None,
    att: la.Attention | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, object]]:
    """Labels per row, which rows have one, and stats about how they were made."""
    if source == "attention" and att is not None:
        return la.attention_labels(att)
    if source == "teacher_score":
        y = num[:, col["t_score"]].copy()
        grade = num[:, col["t_grade"]]
        fill = np.isnan(y) & ~np.isnan(grade)
        y[fill] = lb.GRADE_SCORE[grade[fill].astype(int)]
        keep = ~np.isnan(y)
        return y.astype(np.float32), keep, {"rows_labelled_from_class": int(fill.sum())}
    if source == "teacher_class":
        y = num[:, col["t_grade"]]
        return y.astype(np.float32), ~np.isnan(y), {}
    idx = {f.name: f.index for f in cf.FEATURES}
    extra_col = len(q.SNAPSHOT_FEATURES)  # audio_xruns_delta follows the snapshot features
    inputs = lb.RuleInputs(
        focused=X[:, idx["is_focused_group"]] > 0,
        group_gui=X[:, idx["has_gui_window_group"]] > 0,
        tags=tag_sets,
        user_active=X[:, idx["user_active"]] > 0,
        idle_ms=snap_rows[:, q.SNAPSHOT_FEATURES.index(cf.FEATURES[idx["time_since_last_input_ms"]])],
        bad_responsiveness=X[:, idx["bad_responsiveness"]] > 0,
        total_cpu_share=np.where(X[:, idx["total_cpu_share"]] > 0, X[:, idx["total_cpu_share"]], np.nan),
        xruns=snap_rows[:, extra_col],
        audio_active=np.nan_to_num(num[:, col["audio_active"]]) > 0,
        tty_term=np.nan_to_num(num[:, col["tty_term"]]) > 0,
        system=np.nan_to_num(num[:, col["system_group"]]) > 0,
        nice=X[:, idx["nice"]],
        ionice_class=X[:, idx["ionice_class"]],
        members=members,
        audio_client=np.nan_to_num(num[:, col["audio_client"]]) > 0 if "audio_client" in col else None,
    )
    grades, rule = lb.rule_grades(inputs)
    hit_ids, hit_counts = np.unique(rule, return_counts=True)
    stats: dict[str, object] = {
        "rule_hits": {int(k): int(v) for k, v in zip(hit_ids, hit_counts, strict=True)},
        "rule_signals": lb.signal_report(inputs),
    }
    if "inv_delta" in col:
        inputs.cpu_pressure = _activity_rank(num[:, col["inv_delta"]], num[:, col["io_delta"]], sid)
        corrected = lb.responsiveness_correction(grades, inputs)
        stats["responsiveness_demoted"] = int((corrected < grades).sum())
        grades = corrected
    if source == "combined" and att is not None:
        y, keep, more = la.combined_labels(grades, rule, att)
        return y, keep, {**stats, **more}
    return grades.astype(np.float32), np.ones(grades.size, bool), stats


def _attention(
    source: str,
    num: np.ndarray,
    col: dict[str, int],
    X: np.ndarray,
    sid: np.ndarray,
    ts_ms: np.ndarray,
    key: np.ndarray,
    horizon_s: float,
) -> la.Attention | None:
    """The behavioural teacher's view of the rows (`labels_attention`), for the labels that use it."""
    if source not in la.SOURCES:
        return None
    idx = {f.name: f.index for f in cf.FEATURES}
    behaviour = la.Behaviour(
        query=sid,
        ts_ms=ts_ms,
        key=key,
        focused=X[:, idx["is_focused_group"]] > 0,
        audio_client=np.nan_to_num(num[:, col["audio_client"]]) > 0,
        user_active=X[:, idx["user_active"]] > 0,
    )
    if source == "attention" and not behaviour.focused.any():
        raise ConfigError(
            "the store never records a focused window, so there is no behaviour to read the attention labels from "
            "(the daemon fills focus only where an X11/Wayland introspector runs)",
            hint=f"set {opt('dataset.labels')} to combined or rules (docs/labels.md)",
            setting="dataset.labels",
        )
    att = la.attention(behaviour, horizon_s)
    if not att.known.any():
        raise ConfigError(
            f"no snapshot has a later one in its logging session: the {source} labels read what the user did next",
            hint=f"collect a longer log (or set {opt('dataset.labels')} to rules)",
        )
    return att


def _activity_rank(inv: np.ndarray, io: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Per row, the larger of its CPU and IO activity percentile ranks within its snapshot (0 when idle)."""
    inv, io = np.nan_to_num(inv), np.nan_to_num(io)
    return np.maximum(np.where(inv > 0, _pct_rank(inv, query), 0.0), np.where(io > 0, _pct_rank(io, query), 0.0))


def _pct_rank(values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Percentile rank of each value within its query (ties take the highest rank, as pandas' method="max")."""
    order = np.lexsort((values, query))
    v, q = values[order], query[order]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    sizes = np.diff(np.r_[starts, q.size])
    group = np.repeat(np.arange(starts.size), sizes)
    position = np.arange(q.size) - starts[group] + 1
    new_run = np.r_[True, (q[1:] != q[:-1]) | (v[1:] != v[:-1])]
    run = np.cumsum(new_run) - 1
    run_end = np.r_[np.flatnonzero(new_run)[1:], q.size] - 1
    ranks = np.empty(q.size)
    ranks[order] = position[run_end[run]] / sizes[group]
    return ranks


@contextlib.contextmanager
def _window_table(con: sqlite3.Connection, ids: np.ndarray, windowed: bool) -> Iterator[None]:
    if not windowed:
        yield
        return
    con.execute("CREATE TEMP TABLE IF NOT EXISTS ds_window (snapshot_id INTEGER PRIMARY KEY)")
    con.execute("DELETE FROM temp.ds_window")
    con.executemany("INSERT INTO temp.ds_window VALUES (?)", ((int(i),) for i in ids))
    try:
        yield
    finally:
        con.execute("DELETE FROM temp.ds_window")


#: Opening a store lives in `store.py`; this is the name this module exported before it moved there.
open_store_readonly = store.open_readonly

__all__ = ["Dataset", "build_dataset", "open_store_readonly", "resolve_label_source"]
