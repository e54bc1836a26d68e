"""A full disk, a file-size limit and a read-only filesystem: exit 1 or 2 with the file and the fix, data kept.

A real full disk needs a small tmpfs, which needs root (CAP_SYS_ADMIN); those tests are skipped, with the reason,
where it cannot be mounted. The file-size limit (`ulimit -f`) needs no privilege.
"""

from __future__ import annotations

import resource
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_trainer import contract
from tests.reliability.conftest import run_cli


def _mount(where: Path, options: str) -> str | None:
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True)
    return None if res.returncode == 0 else (res.stderr.decode().strip() or f"mount exited {res.returncode}")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    where = tmp_path / "disk"
    where.mkdir()
    problem = _mount(where, "size=2m")
    if problem:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {problem}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def remount(where: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(where)], check=True)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("disk")
    assert run_cli("simulate", "-o", "a.jsonl", "--snapshots", "120", "--seed", "1", "-q", cwd=root).returncode == 0
    return root / "a.jsonl"


def indexes(db: Path) -> set[str]:
    with sqlite3.connect(db) as con:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")}


def healthy(db: Path) -> bool:
    with sqlite3.connect(db) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_disk_full_mid_file_names_the_store_and_the_fix_and_leaves_no_half_store(small_disk: Path, log: Path) -> None:
    db = small_disk / "s.db"
    res = run_cli("collect", str(log), "--db", str(db))
    assert res.returncode == 1, res.stderr
    assert "disk full" in res.stderr and str(db) in res.stderr and "free space" in res.stderr, res.stderr
    assert "savepoint" not in res.stderr and "unexpected" not in res.stderr
    assert not db.exists() and not Path(f"{db}-journal").exists()  # it created the store and nothing landed


def test_disk_full_during_the_index_rebuild_fails_and_the_next_run_repairs(
    small_disk: Path, log: Path, tmp_path: Path
) -> None:
    # Room for the rows but not for the daemon's indexes: measured on a scratch store, not guessed.
    scratch = tmp_path / "scratch.db"
    assert run_cli("collect", str(log), "--db", str(scratch), "-q").returncode == 0
    with sqlite3.connect(scratch) as con:
        for name, _table, _col in contract.INDEXES:
            con.execute(f"DROP INDEX {name}")
    with sqlite3.connect(scratch) as con:
        con.execute("VACUUM")
    rows_only = scratch.stat().st_size
    remount(small_disk, f"size={rows_only // 1024 + 400}k")
    db = small_disk / "s.db"
    res = run_cli("collect", str(log), "--db", str(db))
    assert res.returncode == 1, res.stderr
    assert "disk full" in res.stderr and "index" in res.stderr and "unexpected" not in res.stderr, res.stderr
    missing = {name for name, _t, _c in contract.INDEXES} - indexes(db)
    assert missing, "the rebuild did not fail: the test's disk was too large"
    assert healthy(db)
    remount(small_disk, "size=64m")
    res = run_cli("collect", str(log), "--db", str(db), "--json")
    assert res.returncode == 0, res.stderr
    assert '"already-ingested"' in res.stdout
    assert {name for name, _t, _c in contract.INDEXES} <= indexes(db)


def test_a_read_only_filesystem_is_refused_with_the_fix(small_disk: Path, log: Path) -> None:
    db = small_disk / "s.db"
    remount(small_disk, "size=64m")
    assert run_cli("collect", str(log), "--db", str(db), "-q").returncode == 0
    remount(small_disk, "ro")
    res = run_cli("collect", str(log), "--db", str(db))
    assert res.returncode in (1, 2) and ("not writable" in res.stderr or "read-only" in res.stderr), res.stderr
    assert "unexpected" not in res.stderr and "Traceback" not in res.stderr
    res = run_cli("validate", "--db", str(db), "--min-snapshots", "1")
    assert res.returncode in (0, 3), res.stderr  # reading a store needs no write access


def test_a_file_size_limit_is_an_error_naming_the_store(log: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.db"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))

    res = subprocess.run(
        [sys.executable, "-m", "smoothtask_trainer", "collect", str(log), "--db", str(db)],
        capture_output=True,
        preexec_fn=limit,
        timeout=120,
    )
    err = res.stderr.decode()
    assert res.returncode == 1, err
    assert str(db) in err and ("disk full" in err or "file-size limit" in err), err
    assert "unexpected" not in err and "savepoint" not in err
    assert not db.exists()
