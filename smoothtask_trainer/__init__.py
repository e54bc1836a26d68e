"""smoothtask-trainer: train the SmoothTask daemon's app-group ranker from its snapshot logs.

The public Python API is imported lazily, so `import smoothtask_trainer` (and the CLI's start-up) stays fast.

Layout: `cli/` (the command line, thin), `services/` (one function per command), `contract/` (the daemon's
features, hash, schema and policy), `settings.py` (every setting, declared once), `schemas/` (reports and
metadata), `ingest/` and `simulator/`. The seed's compatibility layer is the five top-level modules
`collect_data`, `dataset`, `train_pipeline`, `train_ranker` and `export_model` (`SEED_MODULES`): the seed's
import paths and `python -m` commands, each a thin adapter over the services, with no logic of its own.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

#: The seed's modules, kept so that its scripts and command lines work unchanged.
SEED_MODULES = ("collect_data", "dataset", "train_pipeline", "train_ranker", "export_model")

_API = {
    "collect_data_from_snapshots": "smoothtask_trainer.collect_data",
    "validate_dataset": "smoothtask_trainer.collect_data",
    "load_dataset": "smoothtask_trainer.collect_data",
    "TrainingPipeline": "smoothtask_trainer.train_pipeline",
    "train_from_snapshots": "smoothtask_trainer.train_pipeline",
    "train_from_database": "smoothtask_trainer.train_pipeline",
    "export_model": "smoothtask_trainer.services.export",
    "validate_exported_model": "smoothtask_trainer.services.model_check",
    "tune_policy": "smoothtask_trainer.services.tune",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'smoothtask_trainer' has no attribute {name!r}")
    return getattr(import_module(module), name)
