"""smoothtask-trainer: train the SmoothTask daemon's app-group ranker from its snapshot logs.

The public Python API is imported lazily, so `import smoothtask_trainer` (and the CLI's start-up) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_API = {
    "collect_data_from_snapshots": "smoothtask_trainer.collect_data",
    "validate_dataset": "smoothtask_trainer.collect_data",
    "load_dataset": "smoothtask_trainer.collect_data",
    "TrainingPipeline": "smoothtask_trainer.train_pipeline",
    "train_from_snapshots": "smoothtask_trainer.train_pipeline",
    "train_from_database": "smoothtask_trainer.train_pipeline",
    "export_model": "smoothtask_trainer.services.export",
    "validate_exported_model": "smoothtask_trainer.services.model_check",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'smoothtask_trainer' has no attribute {name!r}")
    return getattr(import_module(module), name)
