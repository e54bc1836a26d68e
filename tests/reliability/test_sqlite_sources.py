"""Daemon databases as sources: WAL, hot journals, read-only files and directories, wrong types, odd names.

Every case checks that the input (and its -wal / -journal) is byte-identical afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_trainer.errors import IngestFailed
from smoothtask_trainer.ingest import sqlite_source
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.settings import CollectSettings
from tests import factories as F
from tests.reliability.conftest import run_cli

SERIAL = CollectSettings(parallel=False)
NOBODY = 65534


def sha(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def digests(src: Path) -> dict[str, str]:
    """sha256 of the file and of its -wal / -journal (a live WAL database's -shm is shared memory that every
    reader updates; it holds no content)."""
    return {p.name: sha(p) for p in sorted(src.parent.glob(src.name + "*")) if not p.name.endswith("-shm")}


def counts(db: Path) -> tuple[int, int, int]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        tables = ("snapshots", "processes", "app_groups")
        return tuple(con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables)


def daemon_db(path: Path, first: int, n: int) -> Path:
    return F.write_daemon_db(path, [F.snapshot(i) for i in range(first, first + n)])


@contextlib.contextmanager
def live_wal(path: Path, n: int) -> Iterator[sqlite3.Connection]:
    """A daemon database in WAL mode whose writer stays open and never checkpoints: new rows stay in the -wal."""
    daemon_db(path, 0, n)
    con = sqlite3.connect(path, isolation_level=None)
    assert con.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    con.execute("PRAGMA wal_autocheckpoint=0")
    try:
        yield con
    finally:
        con.close()


def append(con: sqlite3.Connection, scratch: Path, first: int, n: int) -> None:
    """Append snapshots `first`.. to the open database (through its writer, so they land in its -wal)."""
    extra = daemon_db(scratch, first, n)
    con.execute("ATTACH DATABASE ? AS extra", (str(extra),))
    con.execute("BEGIN")
    for table in ("snapshots", "processes", "app_groups"):
        con.execute(f"INSERT INTO main.{table} SELECT * FROM extra.{table} ORDER BY rowid")
    con.execute("COMMIT")
    con.execute("DETACH DATABASE extra")
    extra.unlink()


def hot_journal(src: Path, n: int = 12) -> None:
    """`src` with a hot `-journal`: a writer that spilled half a transaction into the file, then died."""
    live = src.with_name("writer.sqlite")
    daemon_db(live, 0, n)
    clean = live.read_bytes()
    con = sqlite3.connect(live, isolation_level=None)
    con.execute("PRAGMA cache_size=1")
    con.execute("BEGIN")
    con.execute("UPDATE processes SET cmdline = cmdline || hex(zeroblob(200))")
    con.execute("DELETE FROM snapshots WHERE rowid % 2 = 0")
    shutil.copyfile(live, src)  # what a crash leaves on disk: the spilled pages and the journal
    shutil.copyfile(f"{live}-journal", f"{src}-journal")
    con.execute("ROLLBACK")
    con.close()
    live.unlink()
    assert src.read_bytes() != clean, "the writer spilled pages into the file"
    assert Path(f"{src}-journal").read_bytes()[:8] == sqlite_source.JOURNAL_MAGIC
    ro = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    with contextlib.closing(ro), pytest.raises(sqlite3.OperationalError, match="readonly"):
        ro.execute("SELECT COUNT(*) FROM snapshots").fetchone()


# ---------------------------------------------------------------------------------------------------------- WAL


def test_wal_rows_added_after_a_collect_are_ingested_by_the_next(tmp_path: Path) -> None:
    src, store = tmp_path / "snapshots.sqlite", tmp_path / "store.db"
    with live_wal(src, 2) as con:
        append(con, tmp_path / "a.db", 2, 1)
        assert Path(f"{src}-wal").stat().st_size > 0
        first = collect([src], store, SERIAL).files[0]
        assert (first.status, first.snapshots_inserted) == ("ingested", 3)
        size = src.stat().st_size
        append(con, tmp_path / "b.db", 3, 2)
        assert src.stat().st_size == size, "the new rows are only in the -wal"
        before = digests(src)
        second = collect([src], store, SERIAL).files[0]
        assert digests(src) == before
        third = collect([src], store, SERIAL).files[0]
    assert (second.status, second.snapshots_inserted, second.duplicate_snapshots) == ("ingested", 2, 3)
    assert second.sha256 != first.sha256
    assert third.status == "already-ingested", "unchanged content is still recognised"
    assert counts(store) == (5, 20, 10)


def test_a_zeroed_journal_is_no_part_of_the_identity(tmp_path: Path) -> None:
    src = daemon_db(tmp_path / "snapshots.sqlite", 0, 1)
    plain = sqlite_source.source_digest(src)
    assert plain == sha(src), "a file without sidecars keeps the digest earlier versions recorded"
    Path(f"{src}-journal").write_bytes(bytes(512))  # journal_mode=PERSIST leaves a zeroed header
    assert sqlite_source.source_digest(src) == plain
    Path(f"{src}-wal").write_bytes(b"x")
    assert sqlite_source.source_digest(src) != plain


def test_wal_without_shm_is_read_from_a_private_copy(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    src = logs / "snapshots.sqlite"
    with live_wal(tmp_path / "live.sqlite", 2) as con:
        append(con, tmp_path / "a.db", 2, 2)
        shutil.copyfile(tmp_path / "live.sqlite", src)  # a copy of the file and its -wal, without the -shm
        shutil.copyfile(tmp_path / "live.sqlite-wal", f"{src}-wal")
    before = digests(src)
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    assert report.snapshots_inserted == 4 and "private copy" in (report.note or "")
    assert digests(src) == before
    assert sorted(p.name for p in logs.iterdir()) == ["snapshots.sqlite", "snapshots.sqlite-wal"], "no -shm created"
    assert not list(tmp_path.glob(".smoothtask-src-*"))


# ------------------------------------------------------------------------------------------------- hot journal


def test_hot_journal_is_rolled_back_on_a_private_copy_through_the_cli(tmp_path: Path) -> None:
    src = tmp_path / "snapshots.sqlite"
    hot_journal(src, 12)
    before = digests(src)
    proc = run_cli("collect", str(src), "--db", str(tmp_path / "store.db"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert counts(tmp_path / "store.db") == (12, 48, 24), "the interrupted transaction is rolled back"
    assert digests(src) == before, "the file and its journal are untouched"
    assert not list(tmp_path.glob(".smoothtask-src-*"))


def test_hot_journal_that_cannot_be_recovered_names_the_file_and_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "snapshots.sqlite"
    hot_journal(src)
    before = digests(src)

    def full_disk(*_args: object, **_kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sqlite_source.shutil, "copyfile", full_disk)
    with pytest.raises(IngestFailed) as info:
        collect([src], tmp_path / "store.db", SERIAL)
    message = str(info.value)
    assert "snapshots.sqlite" in message and "hot journal" in message and "No space left" in message
    assert "sqlite3" in info.value.hint and "free space" in info.value.hint
    assert digests(src) == before
    assert not list(tmp_path.glob(".smoothtask-src-*"))


# ------------------------------------------------------------------------------- read-only files and directories


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="smoothtask-ro-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        for p in [path, *path.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(path)


def run_unprivileged(*args: str, cwd: Path, meaningful_as_root: bool) -> subprocess.CompletedProcess[str]:
    """The CLI as a user whom permissions bind: this user, or (as root) nobody when nobody can run this Python.

    Root reads and writes anything, so a case that only tests permissions is skipped when that is impossible;
    one that also tests that nothing is written beside the input runs as root.
    """
    if os.geteuid() != 0:
        return run_cli(*args, cwd=cwd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMOOTHTASK_")}
    env.update({"NO_COLOR": "1", "COLUMNS": "120", "HOME": str(cwd)})
    as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": [], "capture_output": True, "env": env, "cwd": cwd}
    try:
        usable = subprocess.run([sys.executable, "-c", "import smoothtask_trainer"], **as_nobody).returncode == 0
    except OSError:
        usable = False
    if not usable:
        if not meaningful_as_root:
            pytest.skip("running as root, which permissions do not bind, and nobody cannot run this Python")
        return run_cli(*args, cwd=cwd)
    proc = subprocess.run([sys.executable, "-m", "smoothtask_trainer", *args], timeout=120, **as_nobody)
    return subprocess.CompletedProcess(proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def read_only_logs(world_dir: Path) -> tuple[Path, Path]:
    logs, out = world_dir / "logs", world_dir / "out"
    logs.mkdir()
    out.mkdir()
    out.chmod(0o777)
    return logs, out


@pytest.mark.parametrize("case", ["plain", "hot-journal", "wal-without-shm"])
def test_source_in_a_directory_you_cannot_write(world_dir: Path, case: str) -> None:
    logs, out = read_only_logs(world_dir)
    src = logs / "snapshots.sqlite"
    if case == "plain":
        daemon_db(src, 0, 3)
    elif case == "hot-journal":
        hot_journal(src, 3)
    else:
        with live_wal(world_dir / "live.sqlite", 1) as con:
            append(con, world_dir / "a.db", 1, 2)
            shutil.copyfile(world_dir / "live.sqlite", src)
            shutil.copyfile(world_dir / "live.sqlite-wal", f"{src}-wal")
    for p in logs.iterdir():
        p.chmod(0o444)
    logs.chmod(0o555)
    before = digests(src)
    proc = run_unprivileged(
        "collect", str(src), "--db", str(out / "store.db"), "--json", cwd=out, meaningful_as_root=case != "plain"
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert counts(out / "store.db") == (3, 12, 6)
    assert digests(src) == before and sorted(p.name for p in logs.iterdir()) == sorted(before)
    assert not list(out.glob(".smoothtask-src-*"))


def test_read_only_file(world_dir: Path) -> None:
    src = daemon_db(world_dir / "snapshots.sqlite", 0, 2)
    src.chmod(0o444)
    out = world_dir / "out"
    out.mkdir()
    out.chmod(0o777)
    before = digests(src)
    proc = run_unprivileged("collect", str(src), "--db", str(out / "store.db"), cwd=out, meaningful_as_root=False)
    assert proc.returncode == 0, proc.stderr
    assert counts(out / "store.db") == (2, 8, 4) and digests(src) == before


# --------------------------------------------------------------------------------------------------- wrong types


def spoil(src: Path, sql: str, nth: int) -> int:
    """Run `sql` (with ? = the id of the source's `nth` snapshot) on the source; return that id."""
    with contextlib.closing(sqlite3.connect(src)) as con:
        sid = con.execute("SELECT snapshot_id FROM snapshots ORDER BY rowid LIMIT 1 OFFSET ?", (nth,)).fetchone()[0]
        assert con.execute(sql, (sid,)).rowcount >= 1
        con.commit()
    return sid


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        (
            "UPDATE processes SET cpu_share_1s = 'abc' WHERE snapshot_id = ? AND pid = 101",
            "processes.cpu_share_1s holds text 'abc', expected a number (rowid ",
        ),
        (
            "UPDATE processes SET rss_mb = x'00ff' WHERE snapshot_id = ? AND pid = 100",
            "processes.rss_mb holds a blob of 2 bytes, expected a number",
        ),
        (
            "UPDATE processes SET has_tty = 2 WHERE snapshot_id = ? AND pid = 100",
            "processes.has_tty holds integer 2, expected 0 or 1",
        ),
        (
            "UPDATE processes SET pid = 100.5 WHERE snapshot_id = ? AND pid = 100",
            "processes.pid holds real 100.5, expected a process id (an integer >= 0)",
        ),
        (
            "UPDATE processes SET ppid = -1 WHERE snapshot_id = ? AND pid = 100",
            "processes.ppid holds integer -1, expected a process id (a number >= 0)",
        ),
        (
            "UPDATE app_groups SET process_ids = '[100,-1]' WHERE snapshot_id = ?",
            "app_groups.process_ids holds text '[100,-1]', expected a JSON array of process ids",
        ),
        (
            "UPDATE app_groups SET process_ids = '[100, \"x\"]' WHERE snapshot_id = ?",
            "app_groups.process_ids holds text '[100, \"x\"]', expected a JSON array of process ids",
        ),
        (
            "UPDATE app_groups SET tags = 'browser' WHERE snapshot_id = ?",
            "app_groups.tags holds text 'browser', expected a JSON array of strings",
        ),
        (
            "UPDATE snapshots SET cpu_user = 'high' WHERE snapshot_id = ?",
            "snapshots.cpu_user holds text 'high', expected a number",
        ),
        (
            "UPDATE snapshots SET timestamp = 'yesterday' WHERE snapshot_id = ?",
            "snapshots.timestamp holds text 'yesterday', expected an ISO 8601",
        ),
    ],
)
def test_a_value_of_the_wrong_type_skips_its_snapshot_whole(tmp_path: Path, sql: str, shown: str) -> None:
    src = daemon_db(tmp_path / "snapshots.sqlite", 0, 3)
    sid = spoil(src, sql, 1)
    before = digests(src)
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    assert (report.snapshots_inserted, report.skipped_records, report.duplicate_snapshots) == (2, 1, 0)
    assert counts(tmp_path / "store.db") == (2, 8, 4)
    with contextlib.closing(sqlite3.connect(tmp_path / "store.db")) as con:
        for table in ("snapshots", "processes", "app_groups"):
            assert con.execute(f"SELECT COUNT(*) FROM {table} WHERE snapshot_id = ?", (sid,)).fetchone()[0] == 0
    (reason,) = [s.reason for s in report.first_skipped]
    assert reason.startswith(f"snapshot {sid}: {shown}"), reason
    assert digests(src) == before


def test_values_the_jsonl_path_accepts_are_accepted(tmp_path: Path) -> None:
    src = daemon_db(tmp_path / "snapshots.sqlite", 0, 2)
    with contextlib.closing(sqlite3.connect(src)) as con:
        con.execute("UPDATE processes SET rss_mb = 12.5, cpu_share_1s = 3, tags = '[]', systemd_unit = NULL")
        con.execute("UPDATE app_groups SET process_ids = '[1,2]', tags = NULL, total_cpu_share = 0.25")
        con.execute("UPDATE snapshots SET timestamp = '2025-12-12T06:33:00Z', user_active = 0")
        con.commit()
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    assert (report.snapshots_inserted, report.skipped_records, report.first_skipped) == (2, 0, [])


def test_wrong_types_through_the_cli(tmp_path: Path) -> None:
    src = daemon_db(tmp_path / "snapshots.sqlite", 0, 4)
    bad = [spoil(src, "UPDATE processes SET cpu_share_1s = 'abc' WHERE snapshot_id = ?", i) for i in (0, 2)]
    before = digests(src)
    proc = run_cli("collect", str(src), "--db", str(tmp_path / "store.db"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    for sid in bad:
        assert f"snapshots.sqlite: skipped: snapshot {sid}: processes.cpu_share_1s holds text 'abc'" in proc.stderr
    assert counts(tmp_path / "store.db") == (2, 8, 4)
    assert digests(src) == before


def test_strict_fails_a_database_with_a_wrong_type(tmp_path: Path) -> None:
    src = daemon_db(tmp_path / "snapshots.sqlite", 0, 2)
    spoil(src, "UPDATE snapshots SET cpu_user = 'high' WHERE snapshot_id = ?", 0)
    with pytest.raises(IngestFailed, match=r"snapshots\.sqlite: .*cpu_user holds text 'high'.* rolled back"):
        collect([src], tmp_path / "store.db", CollectSettings(parallel=False, max_errors=0))


# ------------------------------------------------------------------------------------------------ names in URIs


def test_a_name_with_uri_characters(tmp_path: Path) -> None:
    src = daemon_db(tmp_path / "p%41 #1?.db", 0, 2)
    daemon_db(tmp_path / "pA #1", 5, 1)  # what a mis-escaped URI would open instead
    report = collect([src], tmp_path / "store.db", SERIAL).files[0]
    assert (report.status, report.snapshots_inserted) == ("ingested", 2)
    with contextlib.closing(sqlite3.connect(tmp_path / "store.db")) as con:
        assert {r[0] for r in con.execute("SELECT snapshot_id FROM snapshots")} == {F.BASE_ID, F.BASE_ID + 500}
