"""`features` with careless input: colliding host names, a dataset inside a source directory, a scheduler address
that is not a Dask scheduler, a log with nothing to train on."""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

from smoothtask_trainer.errors import ClusterError, ConfigError
from smoothtask_trainer.services.features import build_features
from smoothtask_trainer.settings import FeaturesSettings
from smoothtask_trainer.simulator import write_snapshots

pytestmark = pytest.mark.slow
ONE = FeaturesSettings(workers=1)


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("log") / "desk.jsonl"
    write_snapshots(path, "jsonl", count=30, seed=4, scale=0.3)
    return path


def test_two_machines_never_become_one_host(log: Path, tmp_path: Path) -> None:
    shutil.copy(log, tmp_path / "desk 1.jsonl")
    shutil.copy(log, tmp_path / "desk_1.jsonl")
    with pytest.raises(ConfigError, match="would both be host desk_1"):
        build_features([tmp_path / "desk 1.jsonl", tmp_path / "desk_1.jsonl"], tmp_path / "ds", ONE)
    assert not (tmp_path / "ds").exists()


def test_a_dataset_inside_its_source_directory_builds_again(log: Path, tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    fleet.mkdir()
    shutil.copy(log, fleet / "desk-a.jsonl")
    first = build_features([fleet], fleet / "out", ONE)
    again = build_features([fleet], fleet / "out", ONE)  # the dataset's own files are not logs
    assert [s.status for s in first.sources] == ["built"] and [s.status for s in again.sources] == ["already-built"]
    with pytest.raises(ConfigError, match="inside the dataset"):
        build_features([fleet / "out" / "_manifest.json"], fleet / "out", ONE)


def _server_saying(reply: bytes) -> tuple[socket.socket, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4)

    def serve() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            conn.sendall(reply)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return sock, f"tcp://127.0.0.1:{sock.getsockname()[1]}"


def test_a_server_that_is_not_a_dask_scheduler_is_named(log: Path, tmp_path: Path) -> None:
    sock, address = _server_saying(b"SSH-2.0-OpenSSH_9.2p1\r\n")
    try:
        with pytest.raises(ClusterError, match="does not speak Dask's protocol"):
            build_features([log], tmp_path / "ds", FeaturesSettings(scheduler=address))
    finally:
        sock.close()
    assert not (tmp_path / "ds").exists()  # nothing is written before a cluster is there


def test_a_log_with_nothing_to_train_on_is_reported_and_the_others_built(log: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = build_features([empty, log], tmp_path / "ds", ONE)
    status = {Path(s.source).name: s for s in result.sources}
    assert status["desk.jsonl"].status == "built" and status["empty.jsonl"].status == "failed"
    assert "no training rows in this log" in status["empty.jsonl"].error and "since" not in status["empty.jsonl"].error
