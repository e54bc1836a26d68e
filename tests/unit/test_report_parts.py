"""The report's building blocks: what train records for it, the apps of the class timeline, the replay caches."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer.services import replay_load
from smoothtask_trainer.services.report_timeline import pick_apps
from smoothtask_trainer.services.train_figures import _label_classes, _pick, score_spread


def test_the_learning_curve_uses_the_early_stopping_metric() -> None:
    names = ["PFound", "NDCG:top=5;type=Base"]
    assert _pick(names, "NDCG:top=5") == "NDCG:top=5;type=Base"
    assert _pick(["PFound", "NDCG:type=Base"], "NDCG") == "NDCG:type=Base"
    assert _pick(["PFound"], "NDCG:top=5") == "PFound"  # nothing better: what CatBoost recorded


def test_label_classes_are_the_values_or_bins_of_many() -> None:
    idx, names = _label_classes(np.array([0.1, 0.5, 0.5, 0.9]))
    assert names == ["0.1", "0.5", "0.9"] and idx.tolist() == [0, 1, 1, 2]
    y = np.array([0.0, 0.1, 0.3, 0.35, 0.5, 0.55, 0.7, 0.75, 0.9, 1.0])  # ten values: five bins of 0.2
    idx, names = _label_classes(y)
    assert names[0] == "0–0.2" and len(names) == 5
    assert idx.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]  # the top edge falls in the last bin


def test_the_score_spread_is_per_class_quantiles_of_the_sigmoid() -> None:
    y = np.r_[np.zeros(50), np.ones(50)]
    raw = np.r_[np.full(50, -2.0), np.linspace(0.0, 4.0, 50)]
    spread = score_spread(raw, y)
    assert [c["label"] for c in spread["classes"]] == ["0", "1"] and [c["rows"] for c in spread["classes"]] == [50, 50]
    low, high = (c["quantiles"] for c in spread["classes"])
    assert low == pytest.approx([1 / (1 + np.exp(2.0))] * 5, abs=1e-5)
    assert high == sorted(high) and high[0] >= 0.5 and high[-1] < 1.0


def test_the_timeline_shows_the_present_apps_that_change_most() -> None:
    n = 10
    names = np.array(["steady"] * n + ["flappy"] * n + ["rare"] * 2 + ["calm"] * n)
    snap = np.r_[np.arange(n), np.arange(n), [0, 1], np.arange(n)]
    level = np.r_[np.full(n, 2), np.tile([1, 3], n // 2), [0, 4], np.r_[np.full(5, 2), np.full(5, 1)]]
    assert pick_apps(names, snap, level, n, k=3) == ["flappy", "calm", "steady"]  # "rare": present 2 of 10


def test_the_store_cache_follows_the_file(sim_store: Path, tmp_path: Path) -> None:
    import shutil

    db = tmp_path / "s.db"
    shutil.copy(sim_store, db)
    con = sqlite3.connect(db)
    try:
        first = replay_load.load_store(con, db)
        assert replay_load.load_store(con, db) is first  # unchanged file: the same arrays
        n = first[1].snapshot_id.size
        con.execute("DELETE FROM snapshots WHERE snapshot_id = (SELECT MAX(snapshot_id) FROM snapshots)")
        con.commit()
        again = replay_load.load_store(con, db)
        assert again is not first and again[1].snapshot_id.size == n - 1  # a changed store is read again
    finally:
        con.close()
