"""train: a tiny ranker on a small simulated store, end to end (few iterations)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ConfigError, OutputPathError, ValidationFailed
from smoothtask_trainer.services.dataset import build_dataset
from smoothtask_trainer.services.train import time_split, train
from smoothtask_trainer.settings import DatasetSettings, TrainSettings
from tests import factories as F

FAST = TrainSettings(iterations=12, depth=4, threads=2, early_stopping_rounds=None)


@pytest.fixture(scope="module")
def sim_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path_factory.mktemp("sim") / "sim.db"
    write_snapshots(db, "sqlite", count=60, seed=11, scale=0.5)
    return db


def test_trains_reports_and_writes_every_format(sim_db: Path, tmp_path: Path) -> None:
    outputs = {"json": tmp_path / "m.json", "onnx": tmp_path / "m.onnx", "cbm": tmp_path / "m.cbm"}
    report = train(sim_db, outputs, FAST)
    assert report.label_source == "teacher_score" and report.trees == report.best_iteration + 1 <= 12
    assert report.eval is not None and report.eval.queries == 12 and report.train.queries == 48
    assert report.train.last_ts_ms < report.eval.first_ts_ms  # held-out snapshots are the latest ones
    assert set(report.metrics) == {"model", "stub_ranker", "random"}
    assert set(report.metrics["model"]) == {"ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10"}
    assert report.metrics["model"]["ndcg@5"] > report.metrics["random"]["ndcg@5"]
    assert [a.format for a in report.artifacts] == ["json", "onnx", "cbm"]
    for a in report.artifacts:
        assert Path(a.path).is_file() and Path(a.metadata_path).name == Path(a.path).name + ".metadata.json"
        sidecar = json.loads(Path(a.metadata_path).read_text())
        assert sidecar["features"] == list(contract.FEATURE_NAMES) and sidecar["label_source"] == "teacher_score"
        assert sidecar["metrics"]["held_out"]["model"] == report.metrics["model"]
        assert sidecar["data_fingerprint"] == report.data_fingerprint
    assert "policy_mode: hybrid" in report.daemon_config and str(outputs["onnx"].resolve()) in report.daemon_config
    assert set(report.seconds) == {"dataset", "fit", "export", "total"}
    assert not list(Path.cwd().glob("catboost_info")), "CatBoost wrote nothing into the working directory"


def test_same_data_and_seed_give_the_same_predictions(sim_db: Path, tmp_path: Path) -> None:
    from catboost import CatBoostRanker

    a = train(sim_db, {"cbm": tmp_path / "a.cbm"}, FAST)
    b = train(sim_db, {"cbm": tmp_path / "b.cbm"}, FAST)
    X = build_dataset(sim_db).X
    pa = CatBoostRanker().load_model(str(tmp_path / "a.cbm")).predict(X)
    pb = CatBoostRanker().load_model(str(tmp_path / "b.cbm")).predict(X)
    assert np.array_equal(pa, pb) and a.data_fingerprint == b.data_fingerprint


def test_no_eval_trains_on_everything(sim_db: Path, tmp_path: Path) -> None:
    report = train(sim_db, {"json": tmp_path / "m.json"}, FAST.model_copy(update={"eval_fraction": 0.0}))
    assert report.eval is None and report.metrics == {} and report.train.queries == 60
    assert report.warnings


def test_time_split_holds_out_the_latest_queries(sim_db: Path) -> None:
    ds = build_dataset(sim_db)
    train_mask, eval_mask = time_split(ds, 0.25)
    assert np.unique(ds.query[eval_mask]).size == 15
    assert ds.ts_ms[train_mask].max() < ds.ts_ms[eval_mask].min()
    assert not (train_mask & eval_mask).any() and (train_mask | eval_mask).all()


def test_native_categoricals_train_json_but_refuse_onnx_before_training(sim_db: Path, tmp_path: Path) -> None:
    native = FAST.model_copy(update={"categorical": "native"})
    with pytest.raises(ConfigError, match="CatBoost cannot export categorical features to ONNX"):
        train(sim_db, {"onnx": tmp_path / "m.onnx"}, native)
    report = train(sim_db, {"json": tmp_path / "m.json"}, native)
    assert json.loads(Path(report.artifacts[0].metadata_path).read_text())["categorical_mode"] == "native"


def test_refusals(sim_db: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no output file"):
        train(sim_db, {"json": None}, FAST)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(OutputPathError, match="is a directory"):
        train(sim_db, {"json": tmp_path / "dir.json"}, FAST)
    flat = [F.snapshot(i) for i in range(4)]  # teacher_score 0.5 everywhere: no ranking signal
    db = F.write_daemon_db(tmp_path / "flat.db", flat)
    with pytest.raises(ValidationFailed, match="no ranking signal"):
        train(db, {"json": tmp_path / "m.json"}, FAST)
    assert not (tmp_path / "m.json").exists()


def test_rule_labels_on_an_unlabelled_store(tmp_path: Path) -> None:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "daemon.db"
    # a full daemon's log: on a stock one the rules reduce to the stub's "focused GUI first" (nothing to beat)
    write_snapshots(db, "sqlite", count=40, seed=5, scale=0.5, labels=False, daemon_profile="full")
    report = train(db, {"onnx": tmp_path / "m.onnx"}, FAST, DatasetSettings(labels="auto"))
    assert report.label_source == "combined" and report.metrics["model"]["ndcg@5"] > 0  # auto: docs/labels.md
    report = train(db, {"onnx": tmp_path / "m.onnx"}, FAST, DatasetSettings(labels="rules"))
    assert report.label_source == "rules" and report.metrics["model"]["ndcg@5"] > 0
