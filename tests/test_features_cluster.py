"""`features` on real Dask processes: an existing cluster (`dask scheduler` + two `dask worker`), a worker killed
mid-task, and Ctrl-C. Everything binds to 127.0.0.1 on free ports and is stopped even when a test fails."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from smoothtask_trainer.simulator import write_snapshots

pytestmark = pytest.mark.slow
DASK = str(Path(sys.executable).with_name("dask"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def descendants(pid: int) -> list[int]:
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    kids = [int(x) for x in fh.read().split()]
                    out += kids
                    todo += kids
        except OSError:
            pass
    return out


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def features_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "smoothtask_trainer", "features", *args]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("cluster-logs")
    paths = [d / f"host{i}.jsonl" for i in range(3)]
    for i, p in enumerate(paths):
        write_snapshots(p, "jsonl", count=30, seed=20 + i, scale=0.4)
    return paths


@contextlib.contextmanager
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """`dask scheduler` and two `dask worker` processes on localhost; stopped on the way out, whatever happens."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    common = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": tmp_path}
    procs = [
        subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common)
    ]
    try:
        for _ in range(2):
            worker = [DASK, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard", "--no-nanny"]
            procs.append(subprocess.Popen(worker, **common))
        from dask.distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        stop(procs[::-1])


def test_features_on_an_existing_dask_cluster(logs: list[Path], tmp_path: Path) -> None:
    with dask_cluster(tmp_path) as address:
        res = subprocess.run(
            features_cmd(*map(str, logs), "--out", str(tmp_path / "ds"), "--scheduler", address, "--json"),
            capture_output=True,
            text=True,
            timeout=180,
        )
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["scheduler"] == address and doc["workers"] == 2
    assert [s["status"] for s in doc["sources"]] == ["built"] * 3 and doc["snapshots"] == 90
    local = subprocess.run(
        features_cmd(*map(str, logs), "--out", str(tmp_path / "local"), "--workers", "1", "--json"),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert local.returncode == 0, local.stderr
    assert [s["shards"] for s in json.loads(local.stdout)["sources"]] == [s["shards"] for s in doc["sources"]]


@pytest.fixture(scope="module")
def big_logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Sources that take a worker a second or two each, so that a task can be caught running."""
    d = tmp_path_factory.mktemp("big-logs")
    paths = [d / f"desk{i}.jsonl" for i in range(4)]
    for i, p in enumerate(paths):
        write_snapshots(p, "jsonl", count=150, seed=40 + i, scale=1.0)
    return paths


def start_and_wait_for_a_task(cmd: list[str], tmp: Path) -> tuple[subprocess.Popen, list[int]]:
    """Start `features` with its workers' temporary directory in `tmp`; return once a shard is being built."""
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not list(tmp.glob("smoothtask-shard-*")):
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    workers = [p for p in descendants(proc.pid) if alive(p)]
    assert workers, "the local cluster's worker processes"
    return proc, workers


def test_a_worker_killed_mid_task_is_replaced_and_the_dataset_is_complete(big_logs: list[Path], tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "ds"
    proc, workers = start_and_wait_for_a_task(
        features_cmd(*map(str, big_logs), "--out", str(out), "--workers", "2", "--json"), tmp
    )
    try:
        time.sleep(0.3)
        os.kill(workers[0], signal.SIGKILL)
        stdout, stderr = proc.communicate(timeout=240)
    finally:
        stop([proc])
    assert proc.returncode == 0, stderr
    doc = json.loads(stdout)
    assert [s["status"] for s in doc["sources"]] == ["built"] * 4 and doc["snapshots"] == 600
    assert len({s["worker"] for s in doc["sources"]}) >= 2
    assert not [p for p in out.rglob(".*")], "no temporary shard remains"
    again = subprocess.run(
        features_cmd(*map(str, big_logs), "--out", str(out), "--json"), capture_output=True, text=True, timeout=240
    )
    assert [s["status"] for s in json.loads(again.stdout)["sources"]] == ["already-built"] * 4


def test_ctrl_c_exits_130_without_partial_shards_or_stray_workers(big_logs: list[Path], tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "ds"
    proc, workers = start_and_wait_for_a_task(
        features_cmd(*map(str, big_logs), "--out", str(out), "--workers", "2"), tmp
    )
    try:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        stop([proc])
    assert proc.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    time.sleep(0.5)
    assert not [p for p in workers if alive(p)], "every worker process stopped"
    assert not [p for p in out.rglob(".*")], "no temporary shard remains"
    manifest = (
        json.loads((out / "_manifest.json").read_text()) if (out / "_manifest.json").exists() else {"sources": {}}
    )
    recorded = {s["path"] for e in manifest["sources"].values() for s in e["shards"]}
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.parquet")} == recorded
