"""collect: every source kind lands in the store with the daemon's schema, values intact."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import sqlite3
import sys
from pathlib import Path

import pytest

from smoothtask_trainer import contract, store
from smoothtask_trainer.errors import InputFormatError, InputNotFoundError
from smoothtask_trainer.services import collect as collect_service
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.settings import CollectSettings
from tests import factories as F

SERIAL = CollectSettings(parallel=False)


@pytest.fixture(autouse=True)
def _parallel_even_for_tiny_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With parallel=True, decode in the helper process even though these inputs are tiny."""
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", 0)


PARALLEL = CollectSettings(parallel=True)


def rows(db: Path, sql: str, args: tuple = ()) -> list[tuple]:
    with sqlite3.connect(db) as con:
        return con.execute(sql, args).fetchall()


def counts(db: Path) -> tuple[int, int, int]:
    return tuple(rows(db, f"SELECT COUNT(*) FROM {t}")[0][0] for t in ("snapshots", "processes", "app_groups"))


@pytest.mark.parametrize("settings", [SERIAL, PARALLEL], ids=["serial", "parallel"])
def test_flat_jsonl_values_land_in_contract_columns(tmp_path: Path, settings: CollectSettings) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(i) for i in range(3)])
    result = collect([src], tmp_path / "store.db", settings)
    assert result.ok and result.files[0].status == "ingested" and result.files[0].kind == "jsonl"
    assert counts(tmp_path / "store.db") == (3, 12, 6)
    snap = rows(tmp_path / "store.db", "SELECT * FROM snapshots ORDER BY snapshot_id LIMIT 1")[0]
    expected = {**F.GLOBAL, **F.RESPONSIVENESS, "snapshot_id": F.BASE_ID}
    names = contract.column_names("snapshots")
    for name, value in zip(names, snap, strict=True):
        if name in expected:
            want = expected[name]
            assert value == (int(want) if isinstance(want, bool) else want), name
    proc = rows(
        tmp_path / "store.db",
        "SELECT pid, tags, has_gui_window, cpu_share_1s, teacher_score FROM processes WHERE snapshot_id=? AND pid=101",
        (F.BASE_ID,),
    )
    assert proc == [(101, '["browser"]', 1, None, 0.5)]
    grp = rows(
        tmp_path / "store.db",
        "SELECT process_ids, tags FROM app_groups WHERE snapshot_id=? AND app_group_id='cgroup-0'",
        (F.BASE_ID,),
    )
    assert grp == [("[100,101]", '["browser","media"]')]


def test_store_has_exactly_the_daemon_schema_and_indexes(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    collect([src], tmp_path / "store.db", SERIAL)
    with sqlite3.connect(tmp_path / "store.db") as con:
        assert store.schema_problems(con) == []
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL")}
        fks = con.execute("PRAGMA foreign_key_list(processes)").fetchall()
    assert {name for name, _, _ in contract.INDEXES} <= indexes
    assert fks and fks[0][2] == "snapshots"


def test_process_rows_keep_the_listed_order(tmp_path: Path) -> None:
    """rowid order = list order: it decides each group's representative process."""
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    collect([src], tmp_path / "store.db", PARALLEL)
    pids = [r[0] for r in rows(tmp_path / "store.db", "SELECT pid FROM processes ORDER BY rowid")]
    assert pids == [101, 100, 111, 110]


def test_nested_daemon_shape_and_mixed_file(tmp_path: Path) -> None:
    recs = [F.snapshot(0, nested=True), F.snapshot(1), F.snapshot(2, nested=True)]
    src = F.write_jsonl(tmp_path / "mixed.jsonl", recs)
    result = collect([src], tmp_path / "store.db", SERIAL)
    assert counts(tmp_path / "store.db") == (3, 12, 6)
    assert result.files[0].skipped_records == 0
    # the extra serde fields are known to the contract, so nothing is reported as unknown
    assert result.files[0].unknown_keys == {}
    psi = rows(tmp_path / "store.db", "SELECT psi_cpu_some_avg10, user_active, bad_responsiveness FROM snapshots")
    assert set(psi) == {(3.5, 1, 1)}


def test_tolerates_key_order_missing_optionals_unknown_keys_and_01_flags(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    reordered = dict(reversed(list(rec.items())))
    reordered["processes"] = [dict(reversed(list(p.items()))) for p in rec["processes"]]
    sparse = {
        "snapshot_id": F.BASE_ID + 1,
        "timestamp": "2025-12-12T06:34:00Z",
        "processes": [{"pid": 7, "has_tty": 1, "future_field": {"x": 1}}],
        "brand_new": 3,
    }
    src = F.write_jsonl(tmp_path / "a.jsonl", [reordered, sparse])
    result = collect([src], tmp_path / "store.db", SERIAL)
    report = result.files[0]
    assert report.skipped_records == 0 and report.snapshots_inserted == 2
    assert report.unknown_keys == {"brand_new": 1, "processes[].future_field": 1}
    got = rows(tmp_path / "store.db", "SELECT pid, has_tty, exe, tags FROM processes WHERE pid=7")
    assert got == [(7, 1, None, None)]
    first = rows(tmp_path / "store.db", "SELECT pid, exe FROM processes WHERE snapshot_id=? ORDER BY pid", (F.BASE_ID,))
    assert first[0] == (100, "/usr/bin/app100")


def test_gzip_jsonl_detected_by_content_not_name(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "snapshots.log", [F.snapshot(i) for i in range(2)], gz=True)
    result = collect([src], tmp_path / "store.db", PARALLEL)
    assert result.files[0].kind == "jsonl.gz"
    assert counts(tmp_path / "store.db") == (2, 8, 4)


def test_concatenated_gzip_members(tmp_path: Path) -> None:
    a = gzip.compress(F.lines([F.snapshot(0)]))
    b = gzip.compress(F.lines([F.snapshot(1)]))
    src = tmp_path / "cat.jsonl.gz"
    src.write_bytes(a + b)
    collect([src], tmp_path / "store.db", SERIAL)
    assert counts(tmp_path / "store.db")[0] == 2


def test_daemon_sqlite_and_rotated_gzip_db(tmp_path: Path) -> None:
    daemon = F.write_daemon_db(tmp_path / "snapshots.sqlite", [F.snapshot(i, nested=True) for i in range(3)])
    rotated = tmp_path / "snapshots.20251212_063351.gz"
    rotated.write_bytes(gzip.compress(F.write_daemon_db(tmp_path / "other.db", [F.snapshot(5)]).read_bytes()))
    result = collect([daemon, rotated], tmp_path / "store.db", SERIAL)
    assert [f.kind for f in result.files] == ["sqlite", "sqlite.gz"]
    assert counts(tmp_path / "store.db") == (4, 16, 8)
    pids = [
        r[0]
        for r in rows(
            tmp_path / "store.db",
            "SELECT pid FROM processes WHERE snapshot_id=? ORDER BY rowid",
            (F.BASE_ID,),
        )
    ]
    assert pids == [101, 100, 111, 110]
    assert not list(tmp_path.glob(".smoothtask-src-*")), "the decompressed temporary file is removed"


def test_empty_daemon_db_like_the_repository_samples(tmp_path: Path) -> None:
    empty = F.write_daemon_db(tmp_path / "empty.db", [])
    rotated = tmp_path / "snapshots.20251212_070818.gz"
    rotated.write_bytes(gzip.compress(empty.read_bytes()))
    result = collect([rotated], tmp_path / "store.db", SERIAL)
    assert result.ok and result.files[0].records_read == 0 and counts(tmp_path / "store.db") == (0, 0, 0)


def test_directories_and_globs_expand(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    F.write_jsonl(logs / "1.jsonl", [F.snapshot(0)])
    F.write_jsonl(logs / "2.jsonl.gz", [F.snapshot(1)], gz=True)
    (logs / "README.txt").write_text("not a log\n")
    F.write_jsonl(tmp_path / "x-3.jsonl", [F.snapshot(2)])
    result = collect([logs, str(tmp_path / "x-*.jsonl")], tmp_path / "store.db", SERIAL)
    assert sorted(Path(f.source).name for f in result.files) == ["1.jsonl", "2.jsonl.gz", "x-3.jsonl"]
    assert counts(tmp_path / "store.db")[0] == 3


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress(F.lines([F.snapshot(0), F.snapshot(1)]))
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(data))))
    result = collect(["-"], tmp_path / "store.db", PARALLEL)
    assert result.files[0].source == "<stdin>" and result.files[0].kind == "jsonl.gz"
    assert result.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert counts(tmp_path / "store.db")[0] == 2


def test_missing_input_and_non_log_file_are_refused_before_any_write(tmp_path: Path) -> None:
    with pytest.raises(InputNotFoundError, match="nope.jsonl does not exist"):
        collect([tmp_path / "nope.jsonl"], tmp_path / "store.db")
    csv = tmp_path / "data.csv"
    csv.write_text("pid,cpu\n1,2\n")
    with pytest.raises(InputFormatError, match=r"data\.csv:1: not a snapshot log"):
        collect([csv], tmp_path / "store.db")
    assert not (tmp_path / "store.db").exists()


def test_inputs_are_never_modified(tmp_path: Path) -> None:
    daemon = F.write_daemon_db(tmp_path / "snapshots.sqlite", [F.snapshot(0)])
    jl = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(1)])
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (daemon, jl)}
    collect([daemon, jl], tmp_path / "store.db", PARALLEL)
    assert {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (daemon, jl)} == before
    assert json.loads(jl.read_text())["snapshot_id"] == F.BASE_ID + 500
