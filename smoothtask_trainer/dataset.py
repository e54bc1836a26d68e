"""The seed's `dataset` module: `load_dataset`, and `create_test_database` for trying things out."""

from __future__ import annotations

from pathlib import Path

from smoothtask_trainer.collect_data import load_dataset

__all__ = ["create_test_database", "load_dataset"]


def create_test_database(path: str | Path, snapshots: int = 120, seed: int = 42) -> Path:
    """Write a small but realistic labelled store: a simulated desktop, logged the daemon's way.

    Args:
        path: Where to write the SQLite store (an existing file is replaced).
        snapshots: How many snapshots (the default gives ~120 x 30 app groups, enough to train a ranker).
        seed: Simulation seed.

    Returns:
        The path of the store.
    """
    from smoothtask_trainer.simulator import write_snapshots

    target = Path(path)
    write_snapshots(target, "sqlite", count=snapshots, seed=seed, scale=0.5, overwrite=True)
    return target
