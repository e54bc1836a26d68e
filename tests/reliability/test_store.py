"""The store under concurrent writers, damage, odd names, a full disk and SQLite's other failures."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factories as F
from tests.reliability.conftest import run_cli


def count(db: Path, table: str = "snapshots") -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def start_collect(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("SMOOTHTASK_")} | (env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "smoothtask_trainer", "collect", *args, "-q"],
        cwd=cwd,
        env=full,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two simulated logs (~2 s of collect each) with disjoint snapshot ids, and a log whose line 2 is bad."""
    root = tmp_path_factory.mktemp("store")
    for name, seed in (("a.jsonl", 1), ("b.jsonl", 2)):
        res = run_cli("simulate", "-o", name, "--snapshots", "120", "--seed", str(seed), "-q", cwd=root)
        assert res.returncode == 0, res.stderr
    F.write_jsonl(root / "bad.jsonl", [F.snapshot(0), "{broken", F.snapshot(2)])
    return root


def test_two_collects_creating_one_store_both_succeed(logs: Path, tmp_path: Path) -> None:
    reference = tmp_path / "ref.db"  # the same two files collected one after the other
    assert run_cli("collect", str(logs / "a.jsonl"), str(logs / "b.jsonl"), "--db", str(reference)).returncode == 0
    expected = count(reference)
    for attempt in range(3):
        db = tmp_path / f"s{attempt}.db"
        procs = [start_collect(logs, name, "--db", str(db)) for name in ("a.jsonl", "b.jsonl")]
        outs = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], [o[1].decode() for o in outs]
        assert count(db) == expected


def test_a_failing_creator_never_removes_a_store_another_collect_writes(logs: Path, tmp_path: Path) -> None:
    for attempt in range(3):
        db = tmp_path / f"s{attempt}.db"
        good = start_collect(logs, "a.jsonl", "--db", str(db))
        bad = start_collect(logs, "bad.jsonl", "--db", str(db), "--strict")
        out_good, out_bad = good.communicate(timeout=120), bad.communicate(timeout=120)
        assert bad.returncode == 1, out_bad[1].decode()
        assert good.returncode == 0, out_good[1].decode()
        assert count(db) == count_lines(logs / "a.jsonl")


def test_a_writer_waits_for_another_one_within_the_timeout_and_fails_cleanly_past_it(
    logs: Path, tmp_path: Path
) -> None:
    db = tmp_path / "s.db"
    assert run_cli("collect", str(logs / "bad.jsonl"), "--db", str(db), "-q").returncode == 0
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another writer in the middle of its file
    other.execute("INSERT INTO smoothtask_meta VALUES ('other-writer', 'mid-file')")
    res = run_cli("collect", str(logs / "a.jsonl"), "--db", str(db), env={"SMOOTHTASK_COLLECT__LOCK_TIMEOUT_S": "0.3"})
    assert res.returncode == 1 and "locked by another process" in res.stderr, res.stderr
    assert "lock_timeout_s" in res.stderr and "Traceback" not in res.stderr
    waiting = start_collect(logs, "a.jsonl", "--db", str(db), env={"SMOOTHTASK_COLLECT__LOCK_TIMEOUT_S": "60"})
    with contextlib.suppress(subprocess.TimeoutExpired):
        waiting.wait(timeout=1.5)
    assert waiting.poll() is None  # still waiting for the other writer's transaction
    other.execute("COMMIT")
    other.close()
    _, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err.decode()
    assert count(db) == 2 + count_lines(logs / "a.jsonl")
    assert count(db, "smoothtask_meta") >= 4  # the other writer's commit is there too


def has_meta(db: Path) -> bool:
    try:
        return db.exists() and count(db, "smoothtask_meta") > 0
    except sqlite3.OperationalError:
        return False


def count_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines() if line.strip())


def test_a_damaged_store_is_refused_before_anything_is_written(logs: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    assert run_cli("collect", str(logs / "bad.jsonl"), "--db", str(db), "-q").returncode == 0
    data = bytearray(db.read_bytes())
    page = 4096
    for p in range(1, len(data) // page):  # scribble over every page but the header page
        data[p * page + 8 : p * page + 64] = b"\xa5" * 56
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    res = run_cli("collect", str(logs / "a.jsonl"), "--db", str(db))
    assert res.returncode == 1 and "damaged" in res.stderr and str(db) in res.stderr, res.stderr
    assert "new store" in res.stderr and "unexpected" not in res.stderr
    assert db.read_bytes() == before
    res = run_cli("validate", "--db", str(db))
    assert res.returncode == 1 and "damaged" in res.stderr and "unexpected" not in res.stderr, res.stderr


@pytest.mark.parametrize("name", ["p%41.db", "run#1.db", "what?.db", "with space.db"])
def test_store_names_with_uri_characters_mean_themselves(logs: Path, tmp_path: Path, name: str) -> None:
    db = tmp_path / name
    assert run_cli("collect", str(logs / "bad.jsonl"), "--db", str(db), "-q").returncode == 0
    decoy = tmp_path / "pA.db"  # what an unescaped URI would read instead of p%41.db
    if name == "p%41.db":
        decoy.write_bytes(b"")
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run_cli("validate", "--db", str(db), "--json", "--min-snapshots", "1", cwd=tmp_path)
    assert res.returncode in (0, 3), res.stderr
    assert '"snapshot_count": 2' in res.stdout.replace(" ", "").replace('":2', '": 2'), res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file such as `run` was created


def test_an_unreadable_file_in_an_input_directory_is_reported(logs: Path, tmp_path: Path) -> None:
    src = tmp_path / "logs"
    src.mkdir()
    F.write_jsonl(src / "a.jsonl", [F.snapshot(0)])
    # /proc/self/mem is a regular file that nobody, root included, can read from offset 0 (EIO).
    (src / "b.jsonl").symlink_to("/proc/self/mem")
    res = run_cli("-v", "collect", str(src), "--db", str(tmp_path / "s.db"))
    assert res.returncode == 1, res.stderr
    assert "b.jsonl" in res.stderr and "cannot be read" in res.stderr, res.stderr
    assert count(tmp_path / "s.db") == 1  # the readable file before it is committed


def test_a_config_file_that_is_not_utf8_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_bytes(b"[collect]\nmax_errors = 3\n# caf\xe9\n")
    res = run_cli("-c", str(cfg), "collect", "x.jsonl", "--db", "s.db", cwd=tmp_path)
    assert res.returncode == 2 and "bad.toml:3" in res.stderr and "UTF-8" in res.stderr, res.stderr
    assert "unexpected" not in res.stderr
