"""The workload simulator: determinism, the three output formats, the daemon's quirks, labels, safe writes."""

from __future__ import annotations

import gzip
import json
import os
import re
import sqlite3
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer import contract
from smoothtask_trainer.errors import OutputPathError
from smoothtask_trainer.schemas.simulate import SimulateOptions
from smoothtask_trainer.services.simulate import simulate
from smoothtask_trainer.simulator import TEACHER_CLASSES, Simulator, iter_frames, iter_snapshots, write_snapshots
from smoothtask_trainer.simulator.system import Load, SystemModel

SMALL = {"scale": 0.25}  # ~25 groups, ~80 processes: enough structure, fast
PROCESS_KEYS = list(contract.column_names("processes")[1:])
GROUP_KEYS = list(contract.column_names("app_groups")[1:])


@pytest.fixture(scope="module")
def snapshots() -> list[dict]:
    """One shared run at the default scale, long enough for focus changes and a third-loop CPU read."""
    return list(iter_snapshots(90, seed=11))


@pytest.fixture(scope="module")
def full() -> list[dict]:
    """The same run as a fixed daemon logs it: group tags, user activity and the input tracker filled."""
    return list(iter_snapshots(90, seed=11, daemon_profile="full"))


def _lines(path: Path) -> list[dict]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


# --- determinism -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["s.jsonl", "s.jsonl.gz", "s.sqlite", "s.sqlite.gz"])
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path, name: str) -> None:
    fmt = "sqlite" if ".sqlite" in name else "jsonl"
    paths = []
    for sub, seed in (("a", 5), ("b", 5), ("c", 6)):
        (tmp_path / sub).mkdir()
        write_snapshots(tmp_path / sub / name, fmt, count=12, seed=seed, **SMALL)
        paths.append((tmp_path / sub / name).read_bytes())
    assert paths[0] == paths[1]
    assert paths[0] != paths[2]


def test_iter_snapshots_is_reproducible() -> None:
    assert list(iter_snapshots(5, seed=3, **SMALL)) == list(iter_snapshots(5, seed=3, **SMALL))


# --- formats --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["flat.jsonl", "flat.jsonl.gz"])
def test_flat_jsonl_has_exactly_the_contract_columns(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    stats = write_snapshots(path, "jsonl", count=10, seed=1, **SMALL)
    records = _lines(path)
    assert len(records) == stats.snapshots == 10
    assert list(records[0]) == [*contract.column_names("snapshots"), "processes", "app_groups"]
    assert all(list(p) == PROCESS_KEYS for r in records for p in r["processes"])
    assert all(list(g) == GROUP_KEYS for r in records for g in r["app_groups"])
    assert sum(len(r["processes"]) for r in records) == stats.processes
    assert sum(len(r["app_groups"]) for r in records) == stats.app_groups
    assert stats.bytes_written == path.stat().st_size
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"


def test_nested_jsonl_is_the_daemon_serde_shape(tmp_path: Path) -> None:
    path = tmp_path / "nested.jsonl"
    write_snapshots(path, "jsonl-nested", count=6, seed=1, **SMALL)
    record = _lines(path)[3]
    assert list(record) == [
        "snapshot_id",
        "timestamp",
        "global",
        "processes",
        "app_groups",
        "responsiveness",
        "extended_sensors",
    ]
    assert set(record["global"]) == set(contract.GLOBAL_FIELDS)
    assert set(record["responsiveness"]) == set(contract.RESPONSIVENESS_FIELDS)
    assert isinstance(record["global"]["user_active"], bool)
    for proc in record["processes"]:
        assert set(proc) == set(PROCESS_KEYS) | set(contract.PROCESS_EXTRA_FIELDS)
    for group in record["app_groups"]:
        assert set(group) == set(GROUP_KEYS) | set(contract.GROUP_EXTRA_FIELDS)
    with_io = [p for p in record["processes"] if p["io_read_bytes"] is not None]
    assert with_io and all(
        p["io_total_operations"] == p["io_read_operations"] + p["io_write_operations"] for p in with_io
    )


@pytest.mark.parametrize("name", ["daemon.sqlite", "snapshots.20251212_063351.gz"])
def test_sqlite_has_the_daemon_schema_and_counts(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    stats = write_snapshots(path, "sqlite", count=8, seed=2, **SMALL)
    db = path
    if name.endswith(".gz"):
        db = tmp_path / "unzipped.sqlite"
        db.write_bytes(gzip.decompress(path.read_bytes()))
    assert db.read_bytes()[:16] == b"SQLite format 3\x00"
    con = sqlite3.connect(db)
    try:
        for table, columns in contract.TABLES.items():
            info = con.execute(f"PRAGMA table_info({table})").fetchall()
            assert [(row[1], row[2]) for row in info] == list(columns)
        indexes = {row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {name for name, _, _ in contract.INDEXES} <= indexes
        counts = [con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in contract.TABLES]
        assert counts == [stats.snapshots, stats.processes, stats.app_groups]
        tags, ids, flag = con.execute("SELECT tags, process_ids, has_gui_window FROM app_groups LIMIT 1").fetchone()
        assert isinstance(json.loads(tags), list) and isinstance(json.loads(ids), list)
        assert ", " not in tags and flag in (0, 1)
        # Rows go in in list order, so MIN(rowid) per group is the daemon's representative (first listed).
        sid = con.execute("SELECT MIN(snapshot_id) FROM snapshots").fetchone()[0]
        listed = [r[0] for r in con.execute("SELECT pid FROM processes WHERE snapshot_id = ? ORDER BY rowid", (sid,))]
    finally:
        con.close()
    first = next(iter_frames(1, seed=2, **SMALL))
    assert listed == first.processes["pid"]


# --- the daemon's quirks -------------------------------------------------------------------------------------------


def test_never_computed_fields_are_null(snapshots: list[dict]) -> None:
    for snap in snapshots:
        assert all(p["cpu_share_1s"] is None and p["cpu_share_10s"] is None for p in snap["processes"])
        assert all(g["total_cpu_share"] is None and g["priority_class"] is None for g in snap["app_groups"])
        assert snap["frame_jank_ratio"] is None
        assert snap["ui_loop_p95_ms"] == snap["sched_latency_p95_ms"]


def test_cpu_fractions_read_zero_on_two_of_three_snapshots(snapshots: list[dict]) -> None:
    fields = ("cpu_user", "cpu_system", "cpu_idle", "cpu_iowait")
    for i, snap in enumerate(snapshots):
        values = [snap[f] for f in fields]
        if i % 3 == 0 and i > 0:
            assert sum(values) == pytest.approx(1.0) and snap["cpu_idle"] > 0
        else:
            assert values == [0.0, 0.0, 0.0, 0.0]
    # ...while load and PSI repeat the cached /proc read.
    assert snapshots[4]["load_avg_one"] == snapshots[5]["load_avg_one"]


def test_psi_is_raw_percent() -> None:
    system = SystemModel(np.random.default_rng(0))
    busy = Load(cpu_used=8.0, cpu_demand=14.0, io_bytes=4e8, rss_mb=8000.0, swap_mb=0.0, audio_active=False)
    glob = {}
    for tick in range(30):
        glob, resp = system.step(tick, 0.5, busy)
    assert 1.0 < glob["psi_cpu_some_avg10"] <= 100.0
    assert glob["psi_io_some_avg10"] > 1.0
    assert resp["bad_responsiveness"] is True


def test_responsiveness_follows_the_daemon_formula(snapshots: list[dict]) -> None:
    for s in snapshots:
        metrics = [
            (0.3, s["psi_cpu_some_avg10"], 0.6),
            (0.2, s["psi_io_some_avg10"], 0.4),
            (0.3, s["sched_latency_p99_ms"], 20.0),
            (0.1, s["ui_loop_p95_ms"], 16.67),
        ]
        terms = [(w, min(2.0, v / t)) for w, v, t in metrics if v is not None]
        terms.append((0.1, 1.0 if s["audio_xruns_delta"] > 0 else 0.0))
        expected = max(0.0, 1.0 - min(1.0, sum(w * v for w, v in terms) / sum(w for w, _ in terms)))
        assert s["responsiveness_score"] == pytest.approx(expected, abs=1e-6)
        bad = any(v is not None and v > t for _, v, t in metrics) or s["audio_xruns_delta"] > 0
        assert s["bad_responsiveness"] is bad


def test_counters_are_cumulative_per_pid(snapshots: list[dict]) -> None:
    last: dict[int, tuple] = {}
    grew = 0
    for snap in snapshots:
        for p in snap["processes"]:
            now = (p["io_read_bytes"], p["io_write_bytes"], p["voluntary_ctx"], p["involuntary_ctx"])
            for before, after in zip(last.get(p["pid"], (None,) * 4), now, strict=True):
                if before is not None and after is not None:
                    assert after >= before
                    grew += after > before
            last[p["pid"]] = now
    assert grew > 1000


def test_ids_timestamps_and_order(snapshots: list[dict]) -> None:
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?\+00:00$")
    ids = [s["snapshot_id"] for s in snapshots]
    assert ids == sorted(set(ids))
    for s in snapshots:
        assert stamp.match(s["timestamp"])
        seconds = datetime.fromisoformat(s["timestamp"][:19] + "+00:00").timestamp()
        fraction = s["timestamp"][20:-6] if "." in s["timestamp"] else ""
        assert s["snapshot_id"] == int(seconds) * 1000 + int((fraction or "0")[:3].ljust(3, "0"))
        pids = [p["pid"] for p in s["processes"]]
        assert pids != sorted(pids)  # the daemon's parallel /proc scan lists them in no particular order
        assert all(p["state"] in ("'S'", "'R'", "'D'", "'I'", "'Z'") for p in s["processes"])


def test_group_ids_are_counter_based_and_unstable(snapshots: list[dict]) -> None:
    id_shape = re.compile(r"^(cgroup-\d+(-tree-\d+)?|tree-\d+)$")
    ids_of_root: dict[int, set[str]] = defaultdict(set)
    for snap in snapshots:
        for g in snap["app_groups"]:
            assert id_shape.match(g["app_group_id"])
            ids_of_root[g["root_pid"]].add(g["app_group_id"])
    kinds = {re.sub(r"\d+", "N", i) for ids in ids_of_root.values() for i in ids}
    assert kinds == {"cgroup-N", "cgroup-N-tree-N", "tree-N"}
    assert sum(len(ids) > 1 for ids in ids_of_root.values()) > len(ids_of_root) // 2


def test_groups_aggregate_their_members(full: list[dict]) -> None:
    tags_differ = False
    for snap in full[::10]:
        by_pid = {p["pid"]: p for p in snap["processes"]}
        assert sum(len(g["process_ids"]) for g in snap["app_groups"]) == len(by_pid)
        for g in snap["app_groups"]:
            members = [by_pid[pid] for pid in g["process_ids"]]
            assert all(isinstance(pid, int) for pid in g["process_ids"])
            assert all(m["app_group_id"] == g["app_group_id"] for m in members)
            root = by_pid[g["root_pid"]]
            assert g["app_name"] == (None if root["exe"] is None else os.path.basename(root["exe"]))
            rss = sum(m["rss_mb"] for m in members if m["rss_mb"] is not None)
            assert g["total_rss_mb"] == (rss or None)
            reads = sum(m["io_read_bytes"] for m in members if m["io_read_bytes"] is not None)
            assert g["total_io_read_bytes"] == (reads or None)
            assert g["has_gui_window"] == any(m["has_gui_window"] for m in members)
            assert g["is_focused_group"] == any(m["is_focused_window"] for m in members)
            assert g["tags"] == sorted({t for m in members for t in m["tags"]})
            tags_differ |= any(m["tags"] != g["tags"] for m in members)
    assert tags_differ


def test_option_fields_are_null_where_the_daemon_has_none(snapshots: list[dict], full: list[dict]) -> None:
    procs = [p for s in snapshots for p in s["processes"]]
    kernel = [p for p in procs if p["cgroup_path"] is None]
    assert kernel and all(p["exe"] is None and p["rss_mb"] is None for p in kernel)
    assert any(p["ionice_class"] is None for p in procs) and any(p["ionice_class"] == 3 for p in procs)
    for snap in full:  # no input seen yet -> None; user_active is input within the 120 s idle timeout
        idle = snap["time_since_last_input_ms"]
        assert snap["user_active"] is (idle is not None and idle < 120_000)
    terminal = [p for p in procs if p["has_tty"] and p["env_term"] is not None]
    assert terminal and all(p["tty_nr"] != 0 for p in terminal)
    assert any(p["env_term"] == "xterm-256color" for p in terminal)


# --- labels -------------------------------------------------------------------------------------------------------


def test_teacher_labels_by_default_and_null_without(snapshots: list[dict]) -> None:
    for snap in snapshots:
        classes = {p["teacher_priority_class"] for p in snap["processes"]}
        assert classes <= set(TEACHER_CLASSES)
        assert len(classes) >= 3  # the teacher ranks, it does not label everything alike
        assert all(0.0 <= p["teacher_score"] <= 1.0 for p in snap["processes"])
    unlabelled = list(iter_snapshots(90, seed=11, labels=False))
    teacher = ("teacher_priority_class", "teacher_score")
    for with_labels, without in zip(snapshots, unlabelled, strict=True):
        assert all(p[k] is None for p in without["processes"] for k in teacher)
        strip = [{k: v for k, v in p.items() if k not in teacher} for p in with_labels["processes"]]
        assert strip == [{k: v for k, v in p.items() if k not in teacher} for p in without["processes"]]


def test_group_members_share_the_group_decision(snapshots: list[dict]) -> None:
    for snap in snapshots:
        decision: dict[str, set] = defaultdict(set)
        for p in snap["processes"]:
            if p["state"] != "'Z'":  # a zombie is the one per-process exception (IDLE, 0.0)
                decision[p["app_group_id"]].add((p["teacher_priority_class"], p["teacher_score"]))
        assert all(len(d) == 1 for d in decision.values())


def test_focused_group_ranks_above_background_work(full: list[dict]) -> None:
    ranked = 0
    for snap in full:
        best = {}
        for p in snap["processes"]:
            best[p["app_group_id"]] = max(best.get(p["app_group_id"], 0.0), p["teacher_score"])
        focused = [g["app_group_id"] for g in snap["app_groups"] if g["is_focused_group"]]
        helpers = [g["app_group_id"] for g in snap["app_groups"] if {"indexer", "updater"} & set(g["tags"])]
        if focused and helpers:
            assert min(best[f] for f in focused) > max(best[h] for h in helpers)
            ranked += 1
    assert ranked > 0


# --- writing safely ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x.jsonl", "x.sqlite.gz"])
def test_failure_mid_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    real_step = Simulator.step
    calls = {"n": 0}

    def failing_step(self: Simulator):
        calls["n"] += 1
        if calls["n"] > 5:
            raise RuntimeError("disk on fire")
        return real_step(self)

    monkeypatch.setattr(Simulator, "step", failing_step)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_snapshots(tmp_path / name, "sqlite" if "sqlite" in name else "jsonl", count=20, **SMALL)
    assert calls["n"] == 6
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_unless_asked(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("precious\n")
    with pytest.raises(OutputPathError, match="already exists") as err:
        write_snapshots(path, "jsonl", count=2, **SMALL)
    assert "overwrite" in (err.value.hint or "")
    assert path.read_text() == "precious\n"
    write_snapshots(path, "jsonl", count=2, overwrite=True, **SMALL)
    assert len(_lines(path)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_bad_output_paths_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(OutputPathError, match="is a directory"):
        write_snapshots(tmp_path, "jsonl", count=1, **SMALL)
    missing = tmp_path / "no" / "such" / "dir" / "out.jsonl"
    write_snapshots(missing, "jsonl", count=1, **SMALL)  # like every output: missing directories are created
    assert len(_lines(missing)) == 1
    blocked = tmp_path / "afile"
    blocked.write_text("x")
    with pytest.raises(OutputPathError, match="cannot create the directory"):
        write_snapshots(blocked / "out.jsonl", "jsonl", count=1, **SMALL)
    with pytest.raises(ValueError, match="format"):
        write_snapshots(tmp_path / "x.csv", "csv", count=1)  # type: ignore[arg-type]


# --- the service --------------------------------------------------------------------------------------------------


def test_service_reports_what_it_wrote(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    options = SimulateOptions(output=tmp_path / "svc.jsonl", snapshots=60, seed=4, scale=0.25)
    result = simulate(options, on_progress=lambda done, total: seen.append((done, total)))
    assert (result.snapshots, result.format, result.labels, result.seed) == (60, "jsonl", True, 4)
    assert result.bytes_written == (tmp_path / "svc.jsonl").stat().st_size
    records = _lines(tmp_path / "svc.jsonl")
    assert result.processes == sum(len(r["processes"]) for r in records)
    assert result.app_groups == sum(len(r["app_groups"]) for r in records)
    assert seen[-1] == (60, 60) and len(seen) >= 3 and all(t == 60 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_options_validate_their_ranges(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SimulateOptions(output=tmp_path / "x.jsonl", snapshots=0)
    with pytest.raises(ValueError):
        SimulateOptions(output=tmp_path / "x.jsonl", interval_ms=0)
    with pytest.raises(ValueError):
        SimulateOptions(output=tmp_path / "x.jsonl", format="csv")
