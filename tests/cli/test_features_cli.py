"""The CLI of `features`, and `--features` on validate and train."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from smoothtask_trainer.simulator import write_snapshots
from tests.clirun import invoke as run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("cli-logs")
    paths = [d / "desk1.jsonl", d / "desk2.jsonl"]
    for seed, p in enumerate(paths, 1):
        write_snapshots(p, "jsonl", count=40, seed=seed, scale=0.4)
    return paths


def test_features_then_validate_and_train_on_the_dataset(logs: list[Path], tmp_path: Path) -> None:
    res = run("features", *map(str, logs), "--out", "ds", "--workers", "2", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] and doc["workers"] == 2 and [s["host"] for s in doc["sources"]] == ["desk1", "desk2"]
    human = run("features", *map(str, logs), "--out", "ds", "--workers", "1")
    assert human.exit_code == 0 and "already-built" in human.stdout and f"{doc['rows']:,} rows" in human.stdout
    val = run("validate", "--features", "ds", "--max-snapshots", "30", "--features-out", "m.parquet", "--json")
    assert val.exit_code == 0, val.output
    report = json.loads(val.stdout)
    assert report["window_snapshots"] == 30 and report["stats"]["snapshot_count"] == 80
    matrix = pd.read_parquet("m.parquet")
    assert len(matrix) == report["rows"] and matrix["label"].notna().all()
    train = run(
        "train", "--features", "ds", "--model-json", "m.json", "--iterations", "20", "--allow-worse-than-stub", "-q"
    )
    assert train.exit_code == 0, train.output
    assert Path("m.json").is_file()


def test_exactly_one_of_db_and_features(tmp_path: Path) -> None:
    for args in ((), ("--db", "s.db", "--features", "ds")):
        res = run("validate", *args)
        assert res.exit_code == 2 and "give the store with --db or a feature dataset with --features" in res.output
    res = run("train", "--model-json", "m.json")
    assert res.exit_code == 2 and "--features" in res.output


def test_missing_dataset_and_bad_flags_are_clear_errors(logs: list[Path]) -> None:
    res = run("validate", "--features", "nowhere")
    assert res.exit_code == 2 and "feature dataset nowhere does not exist" in res.stderr
    assert "smoothtask-trainer features" in res.stderr and "Traceback" not in res.output
    both = run("features", str(logs[0]), "--out", "ds", "--workers", "2", "--scheduler", "tcp://127.0.0.1:9")
    assert both.exit_code == 2 and "--workers sizes a local cluster and --scheduler" in both.stderr
    unreachable = run("features", str(logs[0]), "--out", "ds", "--scheduler", "tcp://127.0.0.1:9")
    assert unreachable.exit_code == 1 and "cannot reach the Dask scheduler tcp://127.0.0.1:9" in unreachable.stderr
    assert "dask scheduler" in unreachable.stderr and not Path("ds", "_manifest.json").exists()
    bad = run("features", str(logs[0]), "--out", "ds", "--scheduler", "10.0.0.1")
    assert bad.exit_code == 2 and "--scheduler" in bad.output


def test_a_failed_source_exits_1_and_names_file_and_line(logs: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(logs[0].read_text().splitlines()[0] + "\n{not json\n")
    res = run("features", str(logs[0]), str(bad), "--out", "ds", "--workers", "1", "--strict")
    assert res.exit_code == 1 and "1 source(s) failed" in res.stderr
    assert f"{bad.resolve()}:2" in res.stdout and "rolled back" in res.stdout
    assert "Traceback" not in res.output
