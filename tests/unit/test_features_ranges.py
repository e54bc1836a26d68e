"""A large daemon database in time ranges: the same rows as one task over the whole file, bit for bit."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smoothtask_trainer import contract
from smoothtask_trainer.services.features import build_features
from smoothtask_trainer.settings import DatasetSettings, FeaturesSettings
from smoothtask_trainer.simulator import write_snapshots

pytestmark = pytest.mark.slow
ROWS = ["snapshot_id", "app_group_id", "ts_ms", *contract.FEATURE_NAMES, "label", "group_rank"]
WHOLE = FeaturesSettings(workers=2, range_snapshots=None)
RANGED = FeaturesSettings(workers=2, range_snapshots=30)


@pytest.fixture(scope="module")
def daemon_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "desk.db"
    write_snapshots(path, "sqlite", count=90, seed=8, scale=0.3, labels=False)
    return path


def rows(dataset: Path) -> pd.DataFrame:
    frame = pd.concat([pd.read_parquet(f) for f in sorted(dataset.rglob("*.parquet"))])
    frame = frame.sort_values(["ts_ms", "snapshot_id", "group_rank"], kind="stable").reset_index(drop=True)
    return frame[ROWS]


def same_bits(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        if x.dtype.kind == "f":
            x, y = x.view(f"u{x.dtype.itemsize}"), y.view(f"u{y.dtype.itemsize}")
        assert np.array_equal(x, y), c


@pytest.mark.parametrize("labels", ["combined", "rules"])
def test_ranges_give_the_rows_of_the_whole_file(daemon_db: Path, tmp_path: Path, labels: str) -> None:
    opts = DatasetSettings(labels=labels)
    whole = build_features([daemon_db], tmp_path / "whole", WHOLE, opts)
    ranged = build_features([daemon_db], tmp_path / "ranged", RANGED, opts)
    assert [s.part for s in whole.sources] == [None]
    assert [s.part for s in ranged.sources] == ["r000", "r001", "r002"] and ranged.ok
    same_bits(rows(tmp_path / "whole"), rows(tmp_path / "ranged"))
    assert sum(s.store_stats["snapshot_count"] for s in ranged.sources) == 90  # each range counts its own
    again = build_features([daemon_db], tmp_path / "ranged", RANGED, opts)
    assert [s.status for s in again.sources] == ["already-built"] * 3


def test_ranges_that_see_different_switches_are_built_as_one(daemon_db: Path, tmp_path: Path) -> None:
    db = tmp_path / "tags.db"
    shutil.copy(daemon_db, db)
    with sqlite3.connect(db) as con:  # group tags only in the first range: the rule teacher's switch differs
        first = con.execute("SELECT snapshot_id FROM snapshots ORDER BY snapshot_id LIMIT 1 OFFSET 10").fetchone()[0]
        con.execute("UPDATE app_groups SET tags = '[]'")
        con.execute("UPDATE app_groups SET tags = '[\"game\"]' WHERE snapshot_id < ?", (first,))
    opts = DatasetSettings(labels="rules")
    whole = build_features([db], tmp_path / "whole", WHOLE, opts)
    ranged = build_features([db], tmp_path / "ranged", RANGED, opts)
    assert [(s.part, s.status) for s in ranged.sources] == [(None, "built")]  # one task in the end
    same_bits(rows(tmp_path / "whole"), rows(tmp_path / "ranged"))
    assert len(list((tmp_path / "ranged").rglob("*.parquet"))) == len(list((tmp_path / "whole").rglob("*.parquet")))
    del whole
