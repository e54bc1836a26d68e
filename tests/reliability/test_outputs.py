"""No command writes an output over an input, the store or another output — by name, symlink or hard link."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import pytest

from tests.reliability.conftest import run_cli


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated log and the store collected from it."""
    root = tmp_path_factory.mktemp("outputs")
    res = run_cli("simulate", "-o", "logs.json", "--snapshots", "40", "-q", cwd=root)
    assert res.returncode == 0, res.stderr
    res = run_cli("collect", "logs.json", "--db", "st.db", "-q", cwd=root)
    assert res.returncode == 0, res.stderr
    return root


@pytest.fixture
def here(work: Path, tmp_path: Path) -> Path:
    """A private copy of the log and the store for one test."""
    for name in ("logs.json", "st.db"):
        shutil.copy(work / name, tmp_path / name)
    return tmp_path


def refused(res, *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert "same file as the" in res.stderr, res.stderr
    for word in words:
        assert word in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_pipeline_model_over_its_snapshot_log_is_refused(here: Path) -> None:
    before = digest(here / "logs.json")
    res = run_cli("pipeline", "--snapshots", "logs.json", "--model-json", "logs.json", cwd=here)
    refused(res, "logs.json", "snapshot log")
    assert digest(here / "logs.json") == before


def test_pipeline_and_train_model_over_the_store_are_refused(here: Path) -> None:
    (here / "st.db").rename(here / "st.onnx")
    before = digest(here / "st.onnx")
    refused(run_cli("pipeline", "--db", "st.onnx", "--model-onnx", "st.onnx", cwd=here), "store")
    (here / "st.onnx").rename(here / "st.json")
    refused(run_cli("train", "--db", "st.json", "--model-json", "st.json", cwd=here), "store")
    (here / "link.json").symlink_to("st.json")
    refused(run_cli("train", "--db", "st.json", "--model-json", "link.json", cwd=here), "link.json")
    assert digest(here / "st.json") == before
    assert (here / "link.json").is_symlink()


def test_validate_features_over_the_store_is_refused_even_through_a_hard_link(here: Path) -> None:
    (here / "st.db").rename(here / "s.csv")
    before = digest(here / "s.csv")
    refused(run_cli("validate", "--db", "s.csv", "--features-out", "s.csv", cwd=here), "features output")
    os.link(here / "s.csv", here / "other.csv")
    refused(run_cli("validate", "--db", "s.csv", "--features-out", "other.csv", cwd=here), "other.csv")
    assert digest(here / "s.csv") == before == digest(here / "other.csv")


def test_collect_into_a_hard_link_of_an_input_database_is_refused(here: Path) -> None:
    res = run_cli("simulate", "-o", "daemon.db", "--format", "sqlite", "--snapshots", "5", "-q", cwd=here)
    assert res.returncode == 0, res.stderr
    os.link(here / "daemon.db", here / "store.db")
    before = digest(here / "daemon.db")
    refused(run_cli("collect", "daemon.db", "--db", "store.db", cwd=here), "store.db")
    assert digest(here / "daemon.db") == before
    import sqlite3

    with sqlite3.connect(f"file:{here / 'daemon.db'}?mode=ro", uri=True) as con:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert not any(t.startswith("smoothtask_") for t in tables), tables


def test_model_sidecar_over_the_store_and_two_outputs_on_one_file_are_refused(here: Path) -> None:
    (here / "st.db").rename(here / "m.onnx.metadata.json")
    refused(run_cli("train", "--db", "m.onnx.metadata.json", "--model-onnx", "m.onnx", cwd=here), "metadata")
    (here / "m.onnx.metadata.json").rename(here / "st.db")
    (here / "a.json").write_text("{}")
    os.link(here / "a.json", here / "a.cbm")
    res = run_cli("train", "--db", "st.db", "--model-json", "a.json", "--model-cbm", "a.cbm", cwd=here)
    refused(res, "a.cbm", "output")
    assert (here / "a.json").read_text() == "{}"


def test_export_over_its_input_model_is_refused(here: Path) -> None:
    (here / "model.json").write_text('{"not": "checked yet"}')
    before = digest(here / "model.json")
    res = run_cli("export", "--model", "model.json", "--format", "json", "--output", "model.json", cwd=here)
    refused(res, "input model")
    assert digest(here / "model.json") == before


def test_simulate_overwrites_regular_files_only(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    res = run_cli("simulate", "-o", str(fifo), "--overwrite", "--snapshots", "2", "-q", cwd=tmp_path)
    assert res.returncode == 2 and "not a regular file" in res.stderr, res.stderr
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    if os.geteuid() == 0:  # only root could replace a device node; it must not
        res = run_cli("simulate", "-o", "/dev/full", "--overwrite", "--snapshots", "2", "-q", cwd=tmp_path)
        assert res.returncode == 2 and "not a regular file" in res.stderr, res.stderr
        assert stat.S_ISCHR(os.lstat("/dev/full").st_mode)
    plain = tmp_path / "plain.jsonl"
    plain.write_text("old\n")
    res = run_cli("simulate", "-o", str(plain), "--overwrite", "--snapshots", "2", "-q", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert plain.read_text() != "old\n"


def test_every_command_creates_missing_output_directories(here: Path) -> None:
    res = run_cli("collect", "logs.json", "--db", "new/dir/st.db", "-q", cwd=here)
    assert res.returncode == 0, res.stderr
    res = run_cli("simulate", "-o", "sim/out/x.jsonl", "--snapshots", "2", "-q", cwd=here)
    assert res.returncode == 0, res.stderr
    res = run_cli("validate", "--db", "st.db", "--features-out", "feat/out/f.csv", "-q", cwd=here)
    assert res.returncode in (0, 3), res.stderr
    assert (here / "feat/out/f.csv").is_file()
    assert (here / "new/dir/st.db").is_file() and (here / "sim/out/x.jsonl").is_file()
