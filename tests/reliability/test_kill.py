"""The JSONL decoder's child process never outlives `collect`, and stopping it never hangs.

`collect` decodes JSONL of 16 MiB or more in a child process (`ingest.worker`). These tests run the real command
in a real subprocess and look at its children in /proc: `kill -9` of `collect` takes the child with it, Ctrl-C
(SIGINT to the whole process group) exits 130 with the file in progress rolled back, and no multiprocessing
resource tracker is ever started. `ParserProcess` itself is checked for a prompt `close()` in any state and a
clear error when its child dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smoothtask_trainer import store
from smoothtask_trainer.ingest.parse import Batch, DecoderDied, ParserProcess, StreamEnd
from tests import factories as F

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and relies on PR_SET_PDEATHSIG"),
]

WORKER = "smoothtask_trainer.ingest.worker"


# ---- processes, seen through /proc ------------------------------------------------------------------------------


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of `pid`, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def running(pid: int) -> bool:
    """True while `pid` exists and is not a zombie (an exited process its new parent has not reaped yet)."""
    st = _stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (st := _stat(int(entry.name))) is not None:
            parents.setdefault(st[1], []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def wait_for(predicate, timeout: float, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# ---- inputs and the command ---------------------------------------------------------------------------------------


def big_jsonl(path: Path, mib: int = 48) -> Path:
    """Factory snapshots with distinct ids, `mib` MiB of them: several seconds of `collect`."""
    head, tail = json.dumps(F.snapshot(0)).split(str(F.BASE_ID), 1)  # the snapshot id comes first
    with path.open("w") as fh:
        i = 0
        while fh.tell() < mib << 20:
            fh.write("".join(f"{head}{F.BASE_ID + n}{tail}\n" for n in range(i, i + 1000)))
            i += 1000
    return path


def start_collect(tmp_path: Path, *sources: Path, db: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SMOOTHTASK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "smoothtask_trainer", "collect", *map(str, sources), "--db", str(db), "--quiet"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,  # its own group, so that the SIGINT test can signal the group as a terminal's Ctrl-C does
    )


def decoder_of(pid: int) -> int:
    """Wait for `pid`'s decoder child to start; return its pid."""

    def find() -> int | None:
        return next((c for c in descendants(pid) if WORKER in cmdline(c)), None)

    return wait_for(find, 30, "the decoder process to start")


def ignores_sigint(pid: int) -> bool:
    """True once the decoder `pid` ignores SIGINT: the first thing it does, just after PR_SET_PDEATHSIG."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def snapshot_count(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as con:
        return con.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0]


# ---- the command --------------------------------------------------------------------------------------------------


def test_kill_9_of_collect_takes_the_decoder_with_it(tmp_path: Path) -> None:
    src = big_jsonl(tmp_path / "big.jsonl")
    proc = start_collect(tmp_path, src, db=tmp_path / "store.db")
    try:
        child = decoder_of(proc.pid)
        below = descendants(proc.pid)
        assert below == [child], [cmdline(p) for p in below]  # no resource tracker, nothing but the decoder
        assert not any("multiprocessing" in cmdline(p) for p in below)
        proc.kill()
        proc.wait(timeout=10)
        wait_for(lambda: not running(child), 5, "the orphaned decoder to exit")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def test_ctrl_c_exits_130_and_rolls_the_file_back(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    first = F.write_jsonl(tmp_path / "first.jsonl", [F.snapshot(i) for i in range(3)])
    done = subprocess.run(
        [sys.executable, "-m", "smoothtask_trainer", "collect", str(first), "--db", str(db), "--quiet"],
        cwd=tmp_path,
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    src = big_jsonl(tmp_path / "big.jsonl")
    proc = start_collect(tmp_path, src, db=db)
    try:
        child = decoder_of(proc.pid)
        wait_for(lambda: ignores_sigint(child), 10, "the decoder to finish starting")
        time.sleep(0.2)  # a few batches into the file
        assert proc.poll() is None, "collect finished before it could be interrupted"
        os.killpg(proc.pid, signal.SIGINT)  # parent and decoder alike, as Ctrl-C in a terminal
        _, err = proc.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == 130, err.decode()
    assert "rolled back" in err.decode()
    assert "Traceback" not in err.decode()
    assert not running(child) and _stat(child) is None, "the decoder was stopped and reaped"
    assert snapshot_count(db) == 3, "nothing of the interrupted file is in the store"
    with contextlib.closing(sqlite3.connect(db)) as con:
        assert con.execute(f"SELECT COUNT(*) FROM {store.INGEST_TABLE}").fetchone() == (1,)


def test_the_kernel_kills_the_decoder_when_its_parent_dies() -> None:
    """PR_SET_PDEATHSIG alone: the decoder is stopped (SIGSTOP), so it cannot notice the closed pipe itself."""
    code = (
        "from smoothtask_trainer.ingest.parse import ParserProcess\n"
        "import time\n"
        "parser = ParserProcess()\n"
        "print(parser._proc.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())  # type: ignore[union-attr]
        wait_for(lambda: ignores_sigint(child), 10, "the decoder to finish starting")
        os.kill(child, signal.SIGSTOP)
        parent.kill()
        parent.wait(timeout=10)
        wait_for(lambda: not running(child), 5, "the kernel to kill the orphaned decoder")
    finally:
        parent.kill()
        parent.wait()


# ---- ParserProcess ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def medium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return big_jsonl(tmp_path_factory.mktemp("decoder") / "medium.jsonl", mib=16)


def test_decoder_forwards_keyword_arguments_and_reports_unreadable_files(tmp_path: Path) -> None:
    bad = F.write_jsonl(tmp_path / "bad.jsonl", ["{", "[]", "nope", F.snapshot(0)])
    parser = ParserProcess(max_examples=1)
    try:
        parser.submit(0, str(bad))
        parser.submit(1, str(tmp_path / "missing.jsonl"))
        messages = list(parser.messages(0))
        assert isinstance(messages[-1], StreamEnd) and messages[-1].records == 4
        batches = [m for m in messages if isinstance(m, Batch)]
        assert sum(b.error_count for b in batches) == 3
        assert sum(len(b.errors) for b in batches) == 1, "max_examples=1 reached parse_file"
        assert sum(len(b.items) for b in batches) == 1
        with pytest.raises(FileNotFoundError, match="missing.jsonl"):
            list(parser.messages(1))
    finally:
        parser.close()
    assert parser._proc.returncode is not None


def test_close_stops_a_busy_decoder_promptly(medium: Path) -> None:
    parser = ParserProcess()
    parser.submit(0, str(medium))
    next(parser.messages(0))  # it is decoding, and its queue fills up behind the unread pipe
    started = time.monotonic()
    parser.close()
    assert time.monotonic() - started < 2
    assert parser._proc.returncode is not None and _stat(parser._proc.pid) is None, "stopped and reaped"
    parser.close()  # twice is fine


def test_close_kills_a_stopped_decoder() -> None:
    parser = ParserProcess()
    os.kill(parser._proc.pid, signal.SIGSTOP)
    started = time.monotonic()
    parser.close()
    assert time.monotonic() - started < 5
    assert _stat(parser._proc.pid) is None


def test_a_decoder_that_dies_gives_a_clear_error(medium: Path) -> None:
    parser = ParserProcess()
    try:
        parser.submit(0, str(medium))
        messages = parser.messages(0)
        next(messages)
        os.kill(parser._proc.pid, signal.SIGKILL)
        with pytest.raises(DecoderDied, match=r"decoder process exited unexpectedly \(killed by SIGKILL\)"):
            for _ in messages:
                pass
    finally:
        parser.close()
