"""The seed's Python API for collecting."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from smoothtask_trainer import collect_data_from_snapshots
from tests import factories as F


def test_accepts_str_and_path_and_returns_the_store(tmp_path: Path) -> None:
    a = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    b = F.write_jsonl(tmp_path / "b.jsonl.gz", [F.snapshot(1)], gz=True)
    db = collect_data_from_snapshots(snapshot_files=[str(a), b], output_db=Path("out.db"))
    assert db == Path("out.db")
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (2,)
    db2 = collect_data_from_snapshots(snapshot_files=str(a), output_db=str(tmp_path / "o2.db"))
    assert db2 == tmp_path / "o2.db" and db2.exists()


def test_temporary_store_when_no_output_given(tmp_path: Path) -> None:
    a = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    db = collect_data_from_snapshots([a])
    try:
        assert db.exists() and db.suffix == ".db"
    finally:
        db.unlink()


def test_seed_error_types(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        collect_data_from_snapshots([tmp_path / "missing.jsonl"], output_db=tmp_path / "x.db")
    with pytest.raises(ValueError):
        collect_data_from_snapshots([], output_db=tmp_path / "x.db")
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    with pytest.raises(ValueError, match="not a snapshot log"):
        collect_data_from_snapshots([bad], output_db=tmp_path / "x.db")
    (tmp_path / "d").mkdir()
    with pytest.raises(PermissionError, match="is a directory"):
        collect_data_from_snapshots([F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])], output_db=tmp_path / "d")
