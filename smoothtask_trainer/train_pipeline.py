"""The seed's `train_pipeline` API and command: a compatibility layer over the services (no logic of its own).

    uv run smoothtask_trainer.train_pipeline --snapshots snapshots.jsonl --model-json model.json --model-onnx m.onnx

is `smoothtask-trainer pipeline` under its old name; `TrainingPipeline` runs the same steps one call at a time.
In `TrainingPipeline`, `train_from_snapshots` and `train_from_database` the gates (`min_snapshots`, ...) default
to the ``[validation]`` settings; a value passed wins.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import ConfigError, InputNotFoundError

PathLike = str | Path


def _paths(files: PathLike | Iterable[PathLike] | None) -> list[str]:
    if files is None:
        return []
    if isinstance(files, str | Path):
        return [str(files)]
    return [str(f) for f in files]


class TrainingPipeline:
    """Collect, validate, load, prepare and train, step by step (the seed's class).

    Args:
        snapshot_files: Snapshot logs to ingest (str or Path, one or several).
        db_path: An existing store to use instead (never modified, never deleted).
        use_temp_db: Ingest `snapshot_files` into a temporary store that `cleanup()` removes.
        store_path: Ingest into this store instead (kept).
        min_snapshots, min_processes, min_groups: The validation thresholds (row counts). ``None`` (the
            default) takes each from the settings: ``[validation]`` in the config file, or the environment
            (``SMOOTHTASK_VALIDATION__MIN_SNAPSHOTS``, ...), else the defaults 1, 10, 1. A value given here wins.
    """

    def __init__(
        self,
        snapshot_files: PathLike | Iterable[PathLike] | None = None,
        db_path: PathLike | None = None,
        use_temp_db: bool = True,
        min_snapshots: int | None = None,
        min_processes: int | None = None,
        min_groups: int | None = None,
        store_path: PathLike | None = None,
    ) -> None:
        self.snapshot_files = _paths(snapshot_files)
        self.db_path = Path(db_path) if db_path is not None else None
        if bool(self.snapshot_files) == (self.db_path is not None):
            raise ConfigError("give exactly one of snapshot_files and db_path")
        if self.snapshot_files and not use_temp_db and store_path is None:
            raise ConfigError("no store for the snapshots", hint="pass use_temp_db=True or store_path='store.db'")
        self.use_temp_db = use_temp_db and store_path is None
        self.store_path = Path(store_path) if store_path is not None else None
        self.gates = {"min_snapshots": min_snapshots, "min_processes": min_processes, "min_groups": min_groups}
        self._tmpdir: Path | None = None
        self._store: Path | None = self.db_path
        self._dataset: Any = None

    def _settings(self) -> Any:
        from smoothtask_trainer.settings import load_settings

        return load_settings(None, {"validation": self.gates})

    def collect_data(self) -> Path:
        """The store: `db_path` (checked), or the snapshots ingested into a temporary or named store."""
        if self.db_path is not None:
            if not self.db_path.exists():
                raise InputNotFoundError(f"store {self.db_path} does not exist", hint="check db_path")
            return self.db_path
        if self._store is None:
            from smoothtask_trainer.services.collect import collect
            from smoothtask_trainer.services.pipeline import plan_store

            plan = plan_store(self.snapshot_files, None, self.store_path, self.use_temp_db, {})
            if plan.tmpdir is not None:
                # removed by cleanup(), or at the latest when this object is collected or the interpreter exits
                # (the seed's own examples never call cleanup())
                self._tmpdir, self._finalizer = plan.tmpdir, weakref.finalize(self, plan.remove)
            self._store = plan.path
            collect(self.snapshot_files, self._store, self._settings().collect)
        return self._store

    def validate_data(self) -> dict[str, Any]:
        """The seed's statistics; ValueError listing every failed gate."""
        from smoothtask_trainer.collect_data import validate_dataset

        return validate_dataset(self.collect_data(), **self.gates)

    def load_data(self):  # noqa: ANN201 - a DataFrame
        """The dataset as one DataFrame (keys, the 51 features, label)."""
        from smoothtask_trainer.services.dataset import build_dataset

        self._dataset = build_dataset(self.collect_data(), self._settings().dataset)
        return self._dataset.to_frame()

    def prepare_features(self, use_categorical: bool = False) -> tuple[Any, Any, Any, list[int]]:
        """(X with the 51 feature columns, y, group_id, cat_features) for CatBoost.

        With `use_categorical`, the six categorical slots are integer hash codes listed in `cat_features`;
        without, they stay float codes, as the daemon feeds them (the ONNX-exportable form).
        """
        from smoothtask_trainer import contract

        frame = self.load_data() if self._dataset is None else self._dataset.to_frame()
        X = frame[list(contract.FEATURE_NAMES)]
        cats: list[int] = []
        if use_categorical:
            cats = list(contract.CAT_FEATURE_INDICES)
            X = X.astype({contract.FEATURE_NAMES[i]: "int64" for i in cats})
        return X, frame["label"], frame["snapshot_id"], cats

    def train_model(self, model_path: PathLike, onnx_path: PathLike | None = None, **train_params: Any):  # noqa: ANN201
        """Train and write `model_path` (JSON) and `onnx_path`; return the trained CatBoostRanker.

        `train_params` are `[train]` settings (e.g. ``iterations=200``, ``loss="QueryRMSE"``).
        """
        from catboost import CatBoostRanker

        from smoothtask_trainer.services.train import train
        from smoothtask_trainer.settings import load_settings

        settings = load_settings(None, {"validation": self.gates, "train": train_params})
        store = self.collect_data()
        if self._dataset is None:
            from smoothtask_trainer.services.dataset import build_dataset

            self._dataset = build_dataset(store, settings.dataset)
        outputs = {"json": Path(model_path), "onnx": Path(onnx_path) if onnx_path else None}
        train(store, outputs, settings.train, settings.dataset, prebuilt=self._dataset)
        return CatBoostRanker().load_model(str(model_path), format="json")

    def run_complete_pipeline(self, model_path: PathLike, onnx_path: PathLike | None = None, **train_params: Any):  # noqa: ANN201
        """collect → validate → train → export; returns the trained CatBoostRanker."""
        self.validate_data()
        return self.train_model(model_path, onnx_path, **train_params)

    def cleanup(self) -> None:
        """Remove what this pipeline created (a temporary store); a db_path or store_path is never touched."""
        if self._tmpdir is not None:
            self._finalizer()
            self._tmpdir = None
            self._store = self.db_path


def train_from_snapshots(
    snapshot_files: PathLike | Iterable[PathLike],
    model_path: PathLike,
    onnx_path: PathLike | None = None,
    use_temp_db: bool = True,
    min_snapshots: int | None = None,
    min_processes: int | None = None,
    min_groups: int | None = None,
    **train_params: Any,
):  # noqa: ANN201
    """Ingest snapshot logs into a temporary store, validate, train; the store is removed afterwards."""
    pipeline = TrainingPipeline(
        snapshot_files=snapshot_files,
        use_temp_db=use_temp_db,
        min_snapshots=min_snapshots,
        min_processes=min_processes,
        min_groups=min_groups,
        store_path=None if use_temp_db else Path(model_path).with_suffix(".store.db"),
    )
    try:
        return pipeline.run_complete_pipeline(model_path, onnx_path, **train_params)
    finally:
        pipeline.cleanup()


def train_from_database(
    db_path: PathLike,
    model_path: PathLike,
    onnx_path: PathLike | None = None,
    min_snapshots: int | None = None,
    min_processes: int | None = None,
    min_groups: int | None = None,
    **train_params: Any,
):  # noqa: ANN201
    """Validate an existing store and train on it (the store is never modified)."""
    pipeline = TrainingPipeline(
        db_path=db_path, min_snapshots=min_snapshots, min_processes=min_processes, min_groups=min_groups
    )
    return pipeline.run_complete_pipeline(model_path, onnx_path, **train_params)


def main() -> None:
    """The seed's command line: `smoothtask-trainer pipeline` under its old name."""
    from smoothtask_trainer.cli import run_standalone
    from smoothtask_trainer.cli.pipeline import EPILOG, pipeline

    run_standalone(pipeline, EPILOG, "smoothtask_trainer.train_pipeline")


if __name__ == "__main__":
    main()
