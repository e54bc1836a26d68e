"""The training dataset, checked against vectors worked out by hand from a small store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ConfigError, InputNotFoundError, StoreError
from smoothtask_trainer.services.dataset import build_dataset
from smoothtask_trainer.settings import DatasetSettings
from tests import factories as F

H = contract.category_hash
COL = {name: i for i, name in enumerate(contract.FEATURE_NAMES)}


def store(tmp_path: Path, records: list[dict], name: str = "store.db") -> Path:
    return F.write_daemon_db(tmp_path / name, records)


def test_hand_worked_vector(tmp_path: Path) -> None:
    """Snapshot 0, group cgroup-0: processes 101 then 100 (listed out of pid order); 101 is the representative."""
    ds = build_dataset(store(tmp_path, [F.snapshot(0)]))
    assert ds.X.shape == (2, 51) and ds.X.dtype == np.float32
    row = list(ds.app_group_id).index("cgroup-0")
    expected = [
        0,
        0,
        4096 * 101,
        1024,
        201,
        0,
        10,
        2,
        0,
        2,
        4,  # rep process 101 (not 100, the lowest pid)
        1.5,
        1.2,
        1.0,
        6_000_000,
        10_000_000,
        16_000_000,
        2_000_000,
        0,
        1200,  # snapshot
        0.25,
        0.05,
        0.68,
        0.02,
        3.5,
        2.0,
        0.4,
        0.0,
        0.0,
        0,
        8192,
        2048,
        300,  # group totals (total_cpu_share NULL -> 0)
        1,
        1,
        0,
        1,
        0,
        1,
        0,
        0,
        0,
        0,  # user_active, bad_responsiveness, rep flags
        1,
        0,  # group has_gui_window, is_focused_group
        672,
        H("app100"),
        514,
        514,
        514,
        24,  # browser, app name, forced unknown x2, no TERM, "browser|media"
    ]
    np.testing.assert_allclose(ds.X[row], np.array(expected, dtype=np.float32))
    assert ds.query.tolist() == [F.BASE_ID, F.BASE_ID]


def test_representative_is_first_stored_row_not_lowest_pid(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    # group cgroup-0: list pid 100 first this time, with a different nice value than 101
    procs = rec["processes"]
    procs[0]["nice"], procs[1]["nice"] = 5, -3  # 101 gets 5, 100 gets -3
    ds = build_dataset(store(tmp_path, [rec]))
    row = list(ds.app_group_id).index("cgroup-0")
    assert ds.X[row, COL["nice"]] == 5  # 101 is stored first
    rec["processes"][0], rec["processes"][1] = rec["processes"][1], rec["processes"][0]
    ds = build_dataset(store(tmp_path, [rec], "b.db"))
    assert ds.X[list(ds.app_group_id).index("cgroup-0"), COL["nice"]] == -3


def test_group_tags_not_process_tags_and_label_slots_never_leak(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    for p in rec["processes"]:
        p["tags"] = ["zzz"]
        p["teacher_priority_class"] = "CRIT_INTERACTIVE"
    rec["app_groups"][0]["tags"] = ["media", "browser"]  # unsorted on purpose
    rec["app_groups"][0]["priority_class"] = "INTERACTIVE"
    rec["app_groups"][1]["tags"] = []
    ds = build_dataset(store(tmp_path, [rec]))
    rows = {g: i for i, g in enumerate(ds.app_group_id)}
    assert ds.X[rows["cgroup-0"], COL["tags_joined"]] == 24  # "browser|media"
    assert ds.X[rows["cgroup-1"], COL["tags_joined"]] == 514  # [] -> "unknown"
    assert set(ds.X[:, COL["priority_class"]]) == {514.0}
    assert set(ds.X[:, COL["teacher_priority_class"]]) == {514.0}


def test_nulls_become_defaults_and_a_group_without_processes(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    rec["psi_cpu_some_avg10"] = None
    rec["processes"][0].update(rss_mb=None, process_type=None, env_term=None, has_tty=None)
    rec["app_groups"].append(F.group("orphan", [999], app_name=None, tags=None, total_rss_mb=None))
    db = store(tmp_path, [rec])
    teacher = build_dataset(db)  # no member, so no teacher label: the row cannot be graded and is left out
    assert "orphan" not in set(teacher.app_group_id) and teacher.stats["unlabeled_rows"] == 1
    ds = build_dataset(db, DatasetSettings(labels="rules"))
    rows = {g: i for i, g in enumerate(ds.app_group_id)}
    r0, orphan = ds.X[rows["cgroup-0"]], ds.X[rows["orphan"]]
    assert r0[COL["rss_mb"]] == 0 and r0[COL["psi_cpu_some_avg10"]] == 0
    assert r0[COL["process_type"]] == 514 and r0[COL["has_tty"]] == 0
    # no process with that group id: every process-level slot takes its default, global ones still filled
    for f in contract.FEATURES:
        if f.origin == "process":
            assert orphan[f.index] == (514 if f.kind == "categorical" else 0), f.name
    assert orphan[COL["load_avg_one"]] == 1.5 and orphan[COL["app_name"]] == 514
    assert ds.null_counts["rss_mb"] == 2 and ds.null_counts["psi_cpu_some_avg10"] == 3
    assert ds.null_counts["app_name"] == 1


def test_rows_in_time_order_with_keys(tmp_path: Path) -> None:
    recs = [F.snapshot(i) for i in range(3)]
    recs[0]["timestamp"] = "2025-12-12T07:00:00Z"  # the lowest id is the latest snapshot
    ds = build_dataset(store(tmp_path, recs))
    assert ds.query.tolist() == [F.BASE_ID + 500] * 2 + [F.BASE_ID + 1000] * 2 + [F.BASE_ID] * 2
    assert (np.diff(ds.ts_ms) >= 0).all()
    assert ds.query_sizes().tolist() == [2, 2, 2]
    frame = ds.to_frame()
    assert list(frame.columns) == ["snapshot_id", "app_group_id", "ts_ms", *contract.FEATURE_NAMES, "label"]


def test_windows(tmp_path: Path) -> None:
    db = store(tmp_path, [F.snapshot(i) for i in range(10)])
    latest = build_dataset(db, DatasetSettings(max_snapshots=3))
    assert sorted(set(latest.query.tolist())) == [F.BASE_ID + 500 * i for i in (7, 8, 9)]
    uniform = build_dataset(db, DatasetSettings(max_snapshots=4, sample="uniform", sample_seed=1))
    again = build_dataset(db, DatasetSettings(max_snapshots=4, sample="uniform", sample_seed=1))
    assert uniform.n_queries == 4 and uniform.query.tolist() == again.query.tolist()
    since = datetime(2025, 12, 12, 6, 33, 5, tzinfo=UTC)
    until = datetime(2025, 12, 12, 6, 33, 8, tzinfo=UTC)
    window = build_dataset(db, DatasetSettings(since=since, until=until))
    assert sorted(set(window.query.tolist())) == [F.BASE_ID + 500 * i for i in (5, 6, 7)]
    with pytest.raises(ConfigError, match="no snapshots"):
        build_dataset(db, DatasetSettings(since=datetime(2030, 1, 1, tzinfo=UTC)))


def test_bad_timestamps_are_left_out_and_counted(tmp_path: Path) -> None:
    db = store(tmp_path, [F.snapshot(0), F.snapshot(1)])
    with sqlite3.connect(db) as con:
        con.execute("UPDATE snapshots SET timestamp = 'soon' WHERE snapshot_id = ?", (F.BASE_ID,))
    ds = build_dataset(db)
    assert ds.n_queries == 1 and ds.stats["snapshots_bad_timestamp"] == 1


def test_teacher_labels_are_the_best_member(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    scores = {101: 0.2, 100: 0.9, 111: 0.4, 110: None}
    for p in rec["processes"]:
        p["teacher_score"] = scores[p["pid"]]
    ds = build_dataset(store(tmp_path, [rec]))
    assert ds.label_source == "teacher_score"
    labels = dict(zip(ds.app_group_id, ds.y.tolist(), strict=True))
    assert labels == pytest.approx({"cgroup-0": 0.9, "cgroup-1": 0.4})


def test_teacher_class_only_gives_grades(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    classes = {101: "IDLE", 100: "BACKGROUND", 111: "CRIT_INTERACTIVE", 110: None}
    for p in rec["processes"]:
        p["teacher_score"] = None
        p["teacher_priority_class"] = classes[p["pid"]]
    ds = build_dataset(store(tmp_path, [rec]))
    assert ds.label_source == "teacher_class"
    assert dict(zip(ds.app_group_id, ds.y.tolist(), strict=True)) == {"cgroup-0": 1.0, "cgroup-1": 4.0}


def test_auto_falls_back_to_combined_and_teacher_mode_refuses_unlabelled_logs(tmp_path: Path) -> None:
    records = [F.snapshot(0), F.snapshot(1)]
    for p in (p for rec in records for p in rec["processes"]):
        p["teacher_score"] = p["teacher_priority_class"] = None
    db = store(tmp_path, records)
    assert build_dataset(db).label_source == "combined"  # the rule teacher with behaviour (docs/labels.md)
    with pytest.raises(ConfigError, match="no teacher labels"):
        build_dataset(db, DatasetSettings(labels="teacher"))


def test_missing_or_foreign_store(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError):
        build_dataset(tmp_path / "none.db")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE snapshots (x)")
    with pytest.raises(StoreError, match="schema"):
        build_dataset(other)


def test_simulated_store_end_to_end(tmp_path: Path) -> None:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "sim.db"
    write_snapshots(db, "sqlite", count=30, seed=3)
    ds = build_dataset(db)
    assert ds.n_queries == 30 and ds.n_rows > 30 * 20
    assert ds.label_source == "teacher_score" and np.isfinite(ds.X).all()
    assert (ds.X[:, COL["cpu_share_1s"]] == 0).all() and (ds.X[:, COL["total_cpu_share"]] == 0).all()
    rules = build_dataset(db, DatasetSettings(labels="rules"))
    assert rules.n_rows == ds.n_rows and set(np.unique(rules.y)) <= {0.0, 1.0, 2.0, 3.0, 4.0}
    assert len(np.unique(rules.y)) >= 3


def test_groups_with_only_a_teacher_class_in_a_scored_store(tmp_path: Path) -> None:
    rec = F.snapshot(0, n_groups=3)
    for p in rec["processes"]:
        if p["app_group_id"] == "cgroup-1":
            p["teacher_score"] = None
            p["teacher_priority_class"] = "CRIT_INTERACTIVE" if p["pid"] == 111 else "IDLE"
        if p["app_group_id"] == "cgroup-2":
            p["teacher_score"] = p["teacher_priority_class"] = None
    ds = build_dataset(store(tmp_path, [rec]))
    assert ds.label_source == "teacher_score"
    assert dict(zip(ds.app_group_id, ds.y.tolist(), strict=True)) == pytest.approx({"cgroup-0": 0.5, "cgroup-1": 0.9})
    assert ds.stats["rows_labelled_from_class"] == 1 and ds.stats["unlabeled_rows"] == 1


def test_all_rows_puts_the_unlabelled_rows_back_in_place(sim_store) -> None:  # noqa: ANN001 - a fixture path
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    every = build_dataset(sim_store, DatasetSettings(labels="rules"))
    some = build_dataset(sim_store, DatasetSettings(labels="combined"))  # no future for the last snapshots
    X, query, gid, ts, pos = some.all_rows()
    assert some.n_rows < every.n_rows == pos.size and (pos >= 0).sum() == some.n_rows
    assert np.array_equal(X, every.X) and np.array_equal(query, every.query) and np.array_equal(ts, every.ts_ms)
    assert list(gid) == list(every.app_group_id)
    assert np.array_equal(X[pos >= 0], some.X) and np.array_equal(pos[pos >= 0], np.arange(some.n_rows))
