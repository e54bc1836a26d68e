"""A store's snapshots and app groups as the replay engine's arrays, in the daemon's order, and the ranker's scores.

Groups come in `app_groups` rowid order within each snapshot: the order the daemon's ranker saw (its ties keep it),
which `collect` preserves from every source. Member facts the rules need (a system process, an audio client with
an active stream, a terminal) are aggregated inside SQLite.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smoothtask_trainer.contract import policy
from smoothtask_trainer.errors import InputFormatError
from smoothtask_trainer.services.replay_engine import Groups, Snapshots

if TYPE_CHECKING:
    from smoothtask_trainer.services.dataset import Dataset

_SNAPSHOT_COLUMNS = (
    "snapshot_id",
    "psi_cpu_some_avg10",
    "psi_io_some_avg10",
    "psi_mem_some_avg10",
    "sched_latency_p99_ms",
    "ui_loop_p95_ms",
    "audio_xruns_delta",
    "time_since_last_input_ms",
    "user_active",
    "load_avg_one",
    "mem_total_kb",
    "mem_available_kb",
    "bad_responsiveness",
)


def _system_sql() -> str:
    """G1's member test in SQL: lower-cased exe contains a marker, or a case-sensitive cgroup prefix and marker."""
    exe = " OR ".join(f"instr(lower(coalesce(exe, '')), '{m}') > 0" for m in policy.SYSTEM_EXE_MARKERS)
    prefix = " OR ".join(f"substr(cgroup_path, 1, {len(p)}) = '{p}'" for p in policy.SYSTEM_CGROUP_PREFIXES)
    marker = " OR ".join(f"instr(cgroup_path, '{m}') > 0" for m in policy.SYSTEM_CGROUP_MARKERS)
    return f"(({exe}) OR (cgroup_path IS NOT NULL AND ({prefix}) AND ({marker})))"


_TEACHER_GRADE = " ".join(f"WHEN '{name}' THEN {grade}" for name, grade in policy.GRADE.items())
MEMBERS_SQL = (
    f"SELECT snapshot_id, app_group_id, MAX({_system_sql()}), "
    "MAX(coalesce(is_audio_client, 0) = 1 AND coalesce(has_active_stream, 0) = 1), "
    "MAX(coalesce(has_tty, 0) = 1 AND env_term IS NOT NULL), "
    f"coalesce(MAX(CASE teacher_priority_class {_TEACHER_GRADE} END), -1) "
    # storage order: faster than the primary key's (the grouping sorts anyway), and a task's store has no other index
    "FROM processes NOT INDEXED WHERE app_group_id IS NOT NULL GROUP BY snapshot_id, app_group_id"
)
GROUPS_SQL = (
    "SELECT snapshot_id, app_group_id, coalesce(is_focused_group, 0), coalesce(has_gui_window, 0), total_cpu_share, "
    "instr(coalesce(tags, ''), '\"game\"') > 0, "
    + " OR ".join(f"instr(coalesce(tags, ''), '\"{t}\"') > 0" for t in sorted(policy.BACKGROUND_TAGS))
    + ", app_name, root_pid FROM app_groups ORDER BY snapshot_id, rowid"
)


def _f(rows: list[tuple], i: int) -> np.ndarray:
    return np.array([np.nan if r[i] is None else r[i] for r in rows], dtype=float)


def load(con: sqlite3.Connection) -> tuple[Groups, Snapshots, dict[str, np.ndarray]]:
    """(groups, snapshots, extra) from a store; `extra` holds the logged flags and each group's name and root pid."""
    snaps = con.execute(f"SELECT {', '.join(_SNAPSHOT_COLUMNS)} FROM snapshots ORDER BY snapshot_id").fetchall()
    s = Snapshots(
        snapshot_id=np.array([r[0] for r in snaps], dtype=np.int64),
        psi_cpu=_f(snaps, 1),
        psi_io=_f(snaps, 2),
        psi_mem=_f(snaps, 3),
        sched_p99=_f(snaps, 4),
        ui_p95=_f(snaps, 5),
        xruns=_f(snaps, 6),
        tsli=_f(snaps, 7),
        user_active=np.array([bool(r[8]) for r in snaps]),
        load_avg_one=_f(snaps, 9),
        mem_total_kb=_f(snaps, 10),
        mem_available_kb=_f(snaps, 11),
    )
    logged_bad = _f(snaps, 12)
    index = {sid: i for i, sid in enumerate(s.snapshot_id.tolist())}
    rows = [r for r in con.execute(GROUPS_SQL) if r[0] in index]
    members = {(r[0], r[1]): r[2:] for r in con.execute(MEMBERS_SQL)}
    per_row = np.array([members.get((r[0], r[1]), (0, 0, 0, -1)) for r in rows], dtype=np.int64).reshape(-1, 4)
    facts = per_row[:, :3].astype(bool)
    g = Groups(
        snap=np.array([index[r[0]] for r in rows], dtype=np.int64),
        app_group_id=np.array([r[1] for r in rows], dtype=object),
        focused=np.array([bool(r[2]) for r in rows]),
        gui=np.array([bool(r[3]) for r in rows]),
        total_cpu_share=_f(rows, 4),
        tag_game=np.array([bool(r[5]) for r in rows]),
        tag_background=np.array([bool(r[6]) for r in rows]),
        any_system=facts[:, 0],
        any_audio_stream=facts[:, 1],
        any_tty_term=facts[:, 2],
    )
    g.keys()  # the hysteresis key codes, computed once with the load
    extra = {
        "logged_bad": logged_bad,
        "app_name": np.array([r[7] for r in rows], dtype=object),
        "root_pid": np.array([-1 if r[8] is None else r[8] for r in rows], dtype=np.int64),
        "teacher_grade": per_row[:, 3],  # the best teacher class of the members, -1 where none
    }
    return g, s, extra


def model_scores(db: Path, model: Path, g: Groups, s: Snapshots, ds: Dataset | None = None) -> np.ndarray:
    """The ONNX model's score per row, fed the contract's 51 features as the daemon feeds them (NaN: no vector,
    which the daemon scores 0.5). `ds`: the store's dataset when the caller built it (any labels; its unlabelled
    rows count too), used when it covers every group row; else one is built here."""
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    session = _session(model)
    X, query, gid = _rows(ds)
    if X.shape[0] != g.snap.size:  # a window of the store, or no dataset: build one over every snapshot
        X, query, gid = _rows(build_dataset(db, DatasetSettings(labels="rules")))
    out = _run(session, X)
    by_key = {(int(q), i): v for q, i, v in zip(query, gid, out, strict=True)}
    sids = s.snapshot_id[g.snap]
    return np.array([by_key.get((int(sid), gid), np.nan) for sid, gid in zip(sids, g.app_group_id, strict=True)])


def onnx_scores(model: Path, X: np.ndarray) -> np.ndarray:
    """The ONNX model's score of each row of the 51 features `X`."""
    return _run(_session(model), X)


def _session(model: Path) -> Any:
    import onnxruntime as ort

    try:
        return ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for unreadable files
        raise InputFormatError(
            f"{model} is not an ONNX model onnxruntime can load: {exc}",
            hint="pass the .onnx file that train or export wrote",
        ) from exc


def _run(session: Any, X: np.ndarray) -> np.ndarray:
    name = session.get_inputs()[0].name
    X = np.ascontiguousarray(X, dtype=np.float32)
    try:
        return np.asarray(session.run(None, {name: X})[0], dtype=np.float64).reshape(len(X), -1)[:, 0]
    except Exception:  # noqa: BLE001 - a model with a fixed batch of 1: one group at a time, as the daemon runs it
        return np.array([float(np.ravel(session.run(None, {name: X[i : i + 1]})[0])[0]) for i in range(len(X))])


def _stat(path: str | Path) -> tuple[str, int, int]:
    p = Path(path).resolve()
    st = p.stat()
    return str(p), st.st_mtime_ns, st.st_size


#: The last store loaded and the last (store, model) scored, keyed by the files' path, mtime and size: `pipeline`
#: tunes and then reports on the same pair, and a report replays it with two sets of thresholds.
_LOADED: dict[tuple, tuple[Groups, Snapshots, dict[str, np.ndarray]]] = {}
_SCORED: dict[tuple, np.ndarray] = {}


def load_store(con: sqlite3.Connection, db: str | Path) -> tuple[Groups, Snapshots, dict[str, np.ndarray]]:
    """`load(con)` of the store file `db`, reused while the file is unchanged (callers must not modify the arrays)."""
    key = _stat(db)
    hit = _LOADED.get(key)
    if hit is None:
        hit = load(con)
        _LOADED.clear()
        _LOADED[key] = hit
    return hit


def _rows(ds: Dataset | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(X, query, app_group_id) of every row of `ds`, labelled or not (empty without a dataset)."""
    if ds is None:
        return np.zeros((0, 0), np.float32), np.zeros(0, np.int64), np.zeros(0, object)
    return ds.all_rows()[:3]


def read_store(db: str | Path) -> tuple[Groups, Snapshots, dict[str, np.ndarray]]:
    """`load_store` of the store file `db`, opened read-only for it."""
    from smoothtask_trainer import store
    from smoothtask_trainer.sqlite_errors import translated

    con = store.open_readonly(db)
    try:
        with translated(db, "reading"):
            return load_store(con, db)
    finally:
        con.close()


def cached_model_scores(db: str | Path, model: Path, g: Groups, s: Snapshots, ds: Dataset | None = None) -> np.ndarray:
    """`model_scores`, reused while neither file changes; a copy the caller may modify."""
    key = (_stat(db), _stat(model))
    hit = _SCORED.get(key)
    if hit is None or hit.size != g.snap.size:
        hit = model_scores(Path(db), model, g, s, ds)
        _SCORED.clear()
        _SCORED[key] = hit
    return hit.copy()
