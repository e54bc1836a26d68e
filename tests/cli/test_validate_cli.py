"""The CLI contract of `validate` and the seed's validate/load API."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from smoothtask_trainer import contract, load_dataset, validate_dataset
from tests import factories as F
from tests.clirun import invoke as run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    recs = [F.snapshot(i, n_groups=3) for i in range(6)]
    for i, rec in enumerate(recs):
        for p in rec["processes"][:2]:  # both members of the first group
            p["teacher_score"] = 0.9 if i % 2 else 0.1
    return F.write_daemon_db(tmp_path / "store.db", recs)


def test_passing_store_exits_0_with_a_human_report(db: Path) -> None:
    res = run("validate", "--db", str(db))
    assert res.exit_code == 0, res.output
    assert "6 snapshots" in res.stdout and "teacher_score" in res.stdout and "gates" in res.stdout
    assert "cpu_share_1s (0), cpu_share_10s (1), total_cpu_share (29): never computed" in res.stdout
    verbose = run("-v", "validate", "--db", str(db))
    assert "io_read_bytes" in verbose.stdout and "key feature" in verbose.stdout


def test_json_report(db: Path) -> None:
    res = run("validate", "--db", str(db), "--json")
    assert res.exit_code == 0
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["stats"]["snapshot_count"] == 6 and doc["rows"] == 18
    assert doc["labels"]["source"] == "teacher_score" and doc["labels"]["queries_with_signal"] == 6
    assert [f["name"] for f in doc["features"]] == list(contract.FEATURE_NAMES)
    assert doc["rows_per_query"] == {
        "queries": 6,
        "min": 3,
        "median": 3.0,
        "mean": 3.0,
        "max": 3,
        "with_two_or_more": 6,
    }
    assert doc["psi_unit"] == "percent" and doc["cached_cpu_zero_rate"] == 0.0
    assert {g["name"] for g in doc["gates"]} == {
        "min_snapshots",
        "min_processes",
        "min_groups",
        "min_groups_per_query",
        "min_label_signal",
        "min_time_span_s",
        "max_null_ratio",
    }


def test_failed_gate_exits_3_and_names_threshold_and_measure(db: Path) -> None:
    res = run("validate", "--db", str(db), "--min-snapshots", "100", "--json")
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    failed = [g for g in doc["gates"] if not g["passed"]]
    assert failed == [
        {
            "name": "min_snapshots",
            "threshold": 100.0,
            "measured": 6.0,
            "passed": False,
            "message": "snapshots in the store: 6 (needs >= 100) FAILED",
        }
    ]
    assert "min_snapshots" in res.stderr
    env = {"SMOOTHTASK_VALIDATION__MIN_GROUPS_PER_QUERY": "5"}
    assert run("validate", "--db", str(db), env=env).exit_code == 3


def test_usage_errors_exit_2(db: Path, tmp_path: Path) -> None:
    assert run("validate", "--db", str(tmp_path / "none.db")).exit_code == 2
    res = run("validate", "--db", str(db), "--features-out", str(tmp_path / "x.xlsx"))
    assert res.exit_code == 2 and ".csv or .parquet" in res.stderr
    assert run("validate", "--db", str(db), "--labels", "magic").exit_code == 2
    # an empty window is not a usage error: the gates report it (exit 3)
    res = run("validate", "--db", str(db), "--since", "2030-01-01", "--json")
    assert res.exit_code == 3
    assert json.loads(res.stdout)["ok"] is False and "no snapshots" in res.stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_features_out(db: Path, tmp_path: Path, suffix: str) -> None:
    out = tmp_path / f"features{suffix}"
    res = run("validate", "--db", str(db), "--features-out", str(out))
    assert res.exit_code == 0
    frame = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert list(frame.columns) == ["snapshot_id", "app_group_id", "ts_ms", *contract.FEATURE_NAMES, "label"]
    assert len(frame) == 18 and not list(tmp_path.glob(".features*"))


def test_seed_api(db: Path, tmp_path: Path) -> None:
    stats = validate_dataset(db_path=str(db), min_snapshots=5, min_processes=10, min_groups=10)
    assert {k: stats[k] for k in ("snapshot_count", "process_count", "group_count", "validation_passed")} == {
        "snapshot_count": 6,
        "process_count": 36,
        "group_count": 18,
        "validation_passed": True,
    }
    assert stats["unique_processes"] == 6 and set(stats["time_range"]) == {"start", "end"}
    with pytest.raises(ValueError, match=r"min_snapshots.*min_groups") as info:
        validate_dataset(db, min_snapshots=50, min_groups=100)
    assert "min_processes" not in str(info.value)
    with pytest.raises(FileNotFoundError):
        validate_dataset(tmp_path / "missing.db")
    frame = load_dataset(db, validate=True)
    assert frame.shape == (18, 55) and frame["label"].max() == pytest.approx(0.9)
