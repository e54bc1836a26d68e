"""collect: bad input is located and skipped (or fails the file whole), re-runs are idempotent, stores are safe."""

from __future__ import annotations

import gzip
import json
import os
import sqlite3
from pathlib import Path

import pytest

from smoothtask_trainer.errors import IngestFailed, Interrupted, OutputPathError, StoreError
from smoothtask_trainer.services import collect as collect_service
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.settings import CollectSettings
from tests import factories as F

SERIAL = CollectSettings(parallel=False)


@pytest.fixture(autouse=True)
def _parallel_even_for_tiny_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    """With parallel=True, decode in the helper process even though these inputs are tiny."""
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", 0)


def count(db: Path, table: str = "snapshots") -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def bad_file(tmp_path: Path) -> Path:
    """Line 2: broken JSON; 3: wrong type; 4: no snapshot_id; 5: blank; 6: an array; 7: good; 8: torn."""
    wrong_type = F.snapshot(2)
    wrong_type["processes"][1]["pid"] = "seven"
    no_id = F.snapshot(3)
    del no_id["snapshot_id"]
    torn = json.dumps(F.snapshot(5))[:150]
    recs = [
        F.snapshot(0),
        '{"snapshot_id": 1, "timestamp": ',
        wrong_type,
        no_id,
        "",
        "[1, 2]",
        F.snapshot(4),
        torn,
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(F.lines(recs)[:-1])  # no newline after the torn line, as a killed writer leaves it
    return path


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_bad_lines_are_located_skipped_and_the_rest_ingested(tmp_path: Path, parallel: bool) -> None:
    result = collect([bad_file(tmp_path)], tmp_path / "store.db", CollectSettings(parallel=parallel, error_examples=10))
    report = result.files[0]
    assert report.status == "ingested" and report.snapshots_inserted == 2
    assert report.records_read == 7 and report.skipped_records == 5
    reasons = {s.line: s.reason for s in report.first_skipped}
    assert set(reasons) == {2, 3, 4, 6, 8}
    assert "not valid JSON" in reasons[2]
    assert "Expected `int" in reasons[3] and "$.processes[1].pid" in reasons[3]
    assert reasons[4] == "record has no snapshot_id"
    assert "got `array`" in reasons[6]
    assert "not valid JSON" in reasons[8]


def test_bad_timestamp_duplicate_pid_and_wrong_array_are_rejected(tmp_path: Path) -> None:
    bad_ts = F.snapshot(0)
    bad_ts["timestamp"] = "yesterday"
    dup_pid = F.snapshot(1)
    dup_pid["processes"][1]["pid"] = dup_pid["processes"][0]["pid"]
    bad_tags = F.snapshot(2)
    bad_tags["app_groups"][0]["tags"] = "browser"
    src = F.write_jsonl(tmp_path / "a.jsonl", [bad_ts, dup_pid, bad_tags, F.snapshot(3)])
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    reasons = [s.reason for s in report.first_skipped]
    assert "timestamp 'yesterday' is not" in reasons[0]
    assert "lists pid 101 more than once" in reasons[1]
    assert "expected an array of strings" in reasons[2] and "$.app_groups[0].tags" in reasons[2]
    assert report.snapshots_inserted == 1


def test_truncated_gzip_keeps_complete_lines_and_reports_the_cut(tmp_path: Path) -> None:
    data = gzip.compress(F.lines([F.snapshot(i) for i in range(40)]))
    src = tmp_path / "cut.jsonl.gz"
    src.write_bytes(data[: len(data) * 2 // 3])
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    assert report.skipped_records == 1 and "truncated" in report.first_skipped[0].reason
    assert 0 < report.snapshots_inserted < 40
    assert report.first_skipped[0].line == report.snapshots_inserted + 1


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_strict_fails_the_file_rolls_it_back_and_keeps_earlier_files(tmp_path: Path, parallel: bool) -> None:
    good = F.write_jsonl(tmp_path / "good.jsonl", [F.snapshot(10), F.snapshot(11)])
    bad = bad_file(tmp_path)
    later = F.write_jsonl(tmp_path / "later.jsonl", [F.snapshot(20)])
    with pytest.raises(IngestFailed, match=r"bad\.jsonl:2: not valid JSON .*more than the 0 allowed") as info:
        collect([good, bad, later], tmp_path / "store.db", CollectSettings(parallel=parallel, max_errors=0))
    statuses = [f.status for f in info.value.result.files]
    assert statuses == ["ingested", "failed", "not-attempted"]
    assert count(tmp_path / "store.db") == 2
    with sqlite3.connect(tmp_path / "store.db") as con:
        sources = [Path(r[0]).name for r in con.execute("SELECT source FROM smoothtask_ingest_files")]
    assert sources == ["good.jsonl"]


def test_max_errors_allows_up_to_n(tmp_path: Path) -> None:
    result = collect([bad_file(tmp_path)], tmp_path / "store.db", CollectSettings(parallel=False, max_errors=5))
    assert result.files[0].status == "ingested"
    with pytest.raises(IngestFailed, match="more than the 4 allowed"):
        collect([bad_file(tmp_path)], tmp_path / "other.db", CollectSettings(parallel=False, max_errors=4))
    assert not (tmp_path / "other.db").exists(), "a store this run created, left empty, is removed"


def test_same_file_twice_inserts_nothing_the_second_time(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(i) for i in range(3)])
    collect([src], tmp_path / "store.db", SERIAL)
    again = collect([src], tmp_path / "store.db", SERIAL)
    assert again.files[0].status == "already-ingested" and again.inserted.snapshots == 0
    copy = tmp_path / "renamed.jsonl"
    copy.write_bytes(src.read_bytes())
    third = collect([copy], tmp_path / "store.db", SERIAL)
    assert third.files[0].status == "already-ingested" and "a.jsonl" in third.files[0].note
    assert count(tmp_path / "store.db") == 3


def test_duplicate_snapshot_ids_from_another_file_are_counted_not_overwritten(tmp_path: Path) -> None:
    first = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), F.snapshot(1)])
    changed = F.snapshot(1)
    changed["cpu_user"] = 0.99
    second = F.write_jsonl(tmp_path / "b.jsonl", [changed, F.snapshot(2), F.snapshot(2)])
    result = collect([first, second], tmp_path / "store.db", SERIAL)
    assert result.files[1].duplicate_snapshots == 2 and result.files[1].snapshots_inserted == 1
    with sqlite3.connect(tmp_path / "store.db") as con:
        cpu = con.execute("SELECT cpu_user FROM snapshots WHERE snapshot_id=?", (F.BASE_ID + 500,)).fetchone()
    assert cpu == (0.25,)


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_interrupt_rolls_back_the_file_in_progress(tmp_path: Path, parallel: bool) -> None:
    first = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    big = F.write_jsonl(tmp_path / "b.jsonl", [F.snapshot(i, n_groups=40, per_group=5) for i in range(1, 121)])

    def interrupt(label: str, done: int, total: int | None, records: int) -> None:
        if label.endswith("b.jsonl"):
            raise KeyboardInterrupt

    with pytest.raises(Interrupted, match=r"b\.jsonl; it was rolled back, 1 earlier file"):
        collect([first, big], tmp_path / "store.db", CollectSettings(parallel=parallel), on_progress=interrupt)
    assert count(tmp_path / "store.db") == 1
    assert count(tmp_path / "store.db", "processes") == 4
    with sqlite3.connect(tmp_path / "store.db") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        indexes = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "idx_processes_pid" in indexes
    rerun = collect([first, big], tmp_path / "store.db", SERIAL)
    assert [f.status for f in rerun.files] == ["already-ingested", "ingested"]
    assert count(tmp_path / "store.db") == 121


def test_store_safety(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    with pytest.raises(OutputPathError, match="same file as the input"):
        collect([src], src)
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        collect([src], tmp_path / "dir.db")
    collect([src], tmp_path / "missing" / "store.db")  # like every output: missing directories are created
    assert count(tmp_path / "missing" / "store.db") == 1
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as con:
        con.execute("CREATE TABLE processes (pid INTEGER)")
    with pytest.raises(StoreError, match="does not have the SmoothTask snapshot schema"):
        collect([src], foreign)
    with sqlite3.connect(foreign) as con:
        assert [r[1] for r in con.execute("PRAGMA table_info(processes)")] == ["pid"]
    text = tmp_path / "notes.db"
    text.write_text("hello")
    with pytest.raises(StoreError, match="not an SQLite database"):
        collect([src], text)
    assert text.read_text() == "hello"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_store_directory(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o555)
    with pytest.raises(OutputPathError, match="not writable"):
        collect([src], ro / "store.db")


def test_sqlite_source_without_snapshot_tables_fails_that_file(tmp_path: Path) -> None:
    good = F.write_jsonl(tmp_path / "good.jsonl", [F.snapshot(0)])
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE t (x)")
    with pytest.raises(IngestFailed, match=r"other\.sqlite: SQLite file has no 'snapshots' table") as info:
        collect([good, other], tmp_path / "store.db", SERIAL)
    assert [f.status for f in info.value.result.files] == ["ingested", "failed"]
    assert count(tmp_path / "store.db") == 1


def test_decoder_process_is_used_for_large_inputs_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = []

    class Spy(collect_service.ParserProcess):
        def __init__(self, **kwargs) -> None:
            started.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(collect_service, "ParserProcess", Spy)
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", src.stat().st_size + 1)
    collect([src], tmp_path / "a.db", CollectSettings(parallel=True))
    assert started == []
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", src.stat().st_size)
    collect([src], tmp_path / "b.db", CollectSettings(parallel=True))
    assert len(started) == 1
