"""`TrainingPipeline`'s gates come from the settings (config file, environment) unless given as arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothtask_trainer import TrainingPipeline, train_from_database, train_from_snapshots, validate_dataset

COUNT = 12
TOO_MANY = COUNT + 1


@pytest.fixture(scope="module")
def log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smoothtask_trainer.simulator import write_snapshots

    path = tmp_path_factory.mktemp("gates") / "snapshots.jsonl"
    write_snapshots(path, "jsonl", count=COUNT, seed=7, scale=0.4)
    return path


def refused(log: Path) -> None:
    with pytest.raises(ValueError, match=rf"min_snapshots.*needs >= {TOO_MANY}"):
        TrainingPipeline(snapshot_files=[log]).validate_data()


def passes(log: Path, **gates: int) -> None:
    pipeline = TrainingPipeline(snapshot_files=[log], **gates)
    try:
        assert pipeline.validate_data()["snapshot_count"] == COUNT
    finally:
        pipeline.cleanup()


def test_defaults_pass_a_small_log(log: Path) -> None:
    passes(log)


def test_config_file_in_the_working_directory(log: Path, tmp_path: Path) -> None:
    (tmp_path / "smoothtask-trainer.toml").write_text(f"[validation]\nmin_snapshots = {TOO_MANY}\n")
    refused(log)
    passes(log, min_snapshots=COUNT)  # an explicit argument wins


def test_config_file_named_by_smoothtask_config(log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "elsewhere" / "trainer.toml"
    config.parent.mkdir()
    config.write_text(f"[validation]\nmin_snapshots = {TOO_MANY}\n")
    monkeypatch.setenv("SMOOTHTASK_CONFIG", str(config))
    refused(log)
    passes(log, min_snapshots=1)


def test_environment_variable(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOOTHTASK_VALIDATION__MIN_SNAPSHOTS", str(TOO_MANY))
    refused(log)
    passes(log, min_snapshots=COUNT)
    pipeline = TrainingPipeline(snapshot_files=[log])
    with pytest.raises(ValueError, match="min_snapshots"):
        validate_dataset(pipeline.collect_data())  # validate_dataset reads the same setting
    pipeline.cleanup()


def test_convenience_functions_honour_the_settings(log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMOOTHTASK_VALIDATION__MIN_PROCESSES", "1000000")
    with pytest.raises(ValueError, match="min_processes"):
        train_from_snapshots([log], tmp_path / "m.json")
    with pytest.raises(ValueError, match="min_processes"):
        train_from_database(TrainingPipeline(snapshot_files=[log], store_path="s.db").collect_data(), "m2.json")
    assert not (tmp_path / "m.json").exists() and not (tmp_path / "m2.json").exists()
