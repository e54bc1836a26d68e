"""The CLI contract of `train`: exit codes, --json, settings precedence, the daemon hint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import factories as F
from tests.clirun import invoke as run

FAST = ["--iterations", "8", "--depth", "3", "--threads", "2"]


@pytest.fixture
def db(sim_store: Path) -> Path:
    return sim_store


def test_json_report_and_files(db: Path, tmp_path: Path) -> None:
    res = run(
        "train",
        "--db",
        str(db),
        "--model-onnx",
        str(tmp_path / "m.onnx"),
        "--model-json",
        str(tmp_path / "m.json"),
        *FAST,
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ok"] is True and doc["params"]["depth"] == 3
    assert doc["trees"] == doc["best_iteration"] + 1 <= 8  # the best iteration on the held-out snapshots is kept
    assert [a["format"] for a in doc["artifacts"]] == ["json", "onnx"]
    assert "model_path:" in doc["daemon_config"] and doc["metrics"]["model"]["ndcg@5"] > 0


def test_human_output_shows_metrics_files_and_the_daemon_yaml(db: Path, tmp_path: Path) -> None:
    res = run("train", "--db", str(db), "--model-onnx", str(tmp_path / "m.onnx"), *FAST)
    assert res.exit_code == 0
    for text in ("held-out NDCG", "stub ranker", "random", "model files", "policy_mode: hybrid", "onnx"):
        assert text in res.stdout


def test_quiet_prints_the_written_paths(db: Path, tmp_path: Path) -> None:
    res = run("-q", "train", "--db", str(db), "--model-cbm", str(tmp_path / "m.cbm"), *FAST)
    assert res.exit_code == 0 and res.stdout.strip() == str(tmp_path / "m.cbm")


def test_settings_file_and_env_reach_catboost(db: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[train]\ndepth = 2\niterations = 5\n")
    env = {"SMOOTHTASK_TRAIN__ITERATIONS": "6"}
    res = run("-c", str(cfg), "train", "--db", str(db), "--model-cbm", str(tmp_path / "m.cbm"), "--json", env=env)
    doc = json.loads(res.stdout)
    assert doc["params"]["depth"] == 2 and doc["params"]["iterations"] == 6 and doc["trees"] <= 6


def test_usage_errors_exit_2(db: Path, tmp_path: Path) -> None:
    out = ["--model-json", str(tmp_path / "m.json")]
    assert run("train", "--db", str(db)).exit_code == 2  # no output
    assert run("train", "--db", str(db), *out, "--loss", "Magic").exit_code == 2
    assert run("train", "--db", str(db), *out, "--depth", "40").exit_code == 2
    assert run("train", "--db", str(db), *out, "--no-eval", "--eval-fraction", "0.3").exit_code == 2
    res = run("train", "--db", str(db), "--model-onnx", str(tmp_path / "m.onnx"), "--categorical", "native")
    assert res.exit_code == 2 and "CatBoost cannot export categorical features to ONNX" in res.stderr
    res = run("train", "--db", str(db), *out, env={"SMOOTHTASK_TRAIN__LOSS": "Nope"})
    assert res.exit_code == 2 and "train.loss" in res.stderr
    res = run("train", "--db", str(db), *out, env={"SMOOTHTASK_TRAIN__EVAL_METRIC": "Bogus"})
    assert res.exit_code == 2 and "not a CatBoost ranking metric" in res.stderr


def test_a_wrong_suffix_is_refused_before_training(db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from smoothtask_trainer.services import train as train_service

    def no_training(*args, **kwargs):  # pragma: no cover - must not be reached
        raise AssertionError("the dataset was built although the output name is wrong")

    monkeypatch.setattr(train_service, "build_dataset", no_training)
    res = run("train", "--db", str(db), "--model-json", str(tmp_path / "model.txt"), *FAST)
    assert res.exit_code == 2 and "does not end in .json" in res.stderr
    assert not (tmp_path / "m.json").exists()


def test_labels_without_signal_exit_3(tmp_path: Path) -> None:
    db = F.write_daemon_db(tmp_path / "flat.db", [F.snapshot(i) for i in range(3)])
    res = run("train", "--db", str(db), "--model-json", str(tmp_path / "m.json"), *FAST)
    assert res.exit_code == 3 and "no ranking signal" in res.stderr
