"""The seed's Python API: TrainingPipeline, train_from_snapshots, train_from_database, create_test_database."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothtask_trainer import TrainingPipeline, contract, train_from_database, train_from_snapshots
from smoothtask_trainer.dataset import create_test_database

FAST = {"iterations": 10, "depth": 3, "threads": 2}


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smoothtask_trainer.simulator import write_snapshots

    path = tmp_path_factory.mktemp("api") / "snapshots.jsonl"
    write_snapshots(path, "jsonl", count=40, seed=4, scale=0.4)
    return path


def test_step_by_step_with_a_temporary_store(log: Path, tmp_path: Path) -> None:
    pipeline = TrainingPipeline(
        snapshot_files=[str(log)], use_temp_db=True, min_snapshots=5, min_processes=50, min_groups=10
    )
    db = pipeline.collect_data()
    assert db.exists() and pipeline.collect_data() == db  # collected once
    stats = pipeline.validate_data()
    assert stats["snapshot_count"] == 40 and stats["validation_passed"] is True
    frame = pipeline.load_data()
    assert list(frame.columns[3:54]) == list(contract.FEATURE_NAMES)
    X, y, group_id, cats = pipeline.prepare_features(use_categorical=False)
    assert X.shape == (len(frame), 51) and cats == [] and len(y) == len(group_id) == len(frame)
    X2, _, _, cats2 = pipeline.prepare_features(use_categorical=True)
    assert cats2 == [45, 46, 47, 48, 49, 50] and str(X2.dtypes.iloc[45]) == "int64"
    model = pipeline.train_model(tmp_path / "m.json", tmp_path / "m.onnx", **FAST)
    assert model.tree_count_ > 0 and (tmp_path / "m.onnx").exists()
    pipeline.cleanup()
    assert not db.exists()


def test_cleanup_never_touches_a_users_database(log: Path, tmp_path: Path) -> None:
    db = create_test_database(str(tmp_path / "user.sqlite"))
    pipeline = TrainingPipeline(db_path=db)
    pipeline.run_complete_pipeline(Path(tmp_path / "m.json"), **FAST)
    pipeline.cleanup()
    assert db.exists()


def test_convenience_functions(log: Path, tmp_path: Path) -> None:
    model = train_from_snapshots(
        snapshot_files=[log], model_path=tmp_path / "a.json", onnx_path=str(tmp_path / "a.onnx"), **FAST
    )
    assert model.tree_count_ > 0 and (tmp_path / "a.onnx").exists()
    assert not list(tmp_path.glob("*.db")), "the temporary store is gone"
    db = create_test_database(tmp_path / "t.sqlite")
    model = train_from_database(db_path=str(db), model_path=str(tmp_path / "b.json"), **FAST)
    assert model.tree_count_ > 0


def test_seed_error_types(log: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TrainingPipeline()
    with pytest.raises(ValueError, match="exactly one"):
        TrainingPipeline(snapshot_files=[log], db_path=tmp_path / "x.db")
    with pytest.raises(FileNotFoundError):
        TrainingPipeline(db_path=tmp_path / "missing.db").collect_data()
    with pytest.raises(FileNotFoundError):
        train_from_snapshots([tmp_path / "missing.jsonl"], tmp_path / "m.json")
    with pytest.raises(ValueError, match="min_snapshots"):
        TrainingPipeline(snapshot_files=[log], min_snapshots=10_000).validate_data()
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(PermissionError, match="is a directory"):
        train_from_database(create_test_database(tmp_path / "t.sqlite"), tmp_path / "dir.json", **FAST)


def test_create_test_database_is_small_realistic_and_labelled(tmp_path: Path) -> None:
    from smoothtask_trainer.services.dataset import build_dataset

    ds = build_dataset(create_test_database(tmp_path / "t.sqlite"))
    assert ds.n_queries == 120 and ds.label_source == "teacher_score" and ds.n_rows > 120 * 15
