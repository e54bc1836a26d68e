"""`features`: sources -> a Parquet feature dataset on a local Dask cluster; its rows equal the store path's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from smoothtask_trainer import contract, store
from smoothtask_trainer.errors import ConfigError, OutputPathError
from smoothtask_trainer.services import features_columns, features_shard, replay_load
from smoothtask_trainer.services import features_manifest as mf
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.services.features import build_features
from smoothtask_trainer.services.features_read import load_dataset, sample_snapshots
from smoothtask_trainer.services.features_use import validate_features
from smoothtask_trainer.services.validate import store_stats, validate_and_build
from smoothtask_trainer.settings import CollectSettings, DatasetSettings, FeaturesSettings
from smoothtask_trainer.simulator import write_snapshots

pytestmark = pytest.mark.slow
MATRIX = ["snapshot_id", "app_group_id", "ts_ms", *contract.FEATURE_NAMES, "label"]
ONE = FeaturesSettings(workers=1)
TWO = FeaturesSettings(workers=2)


def simulate(path: Path, seed: int, count: int = 40, **kw) -> Path:  # noqa: ANN003
    write_snapshots(path, "jsonl", count=count, seed=seed, scale=0.4, overwrite=True, **kw)
    return path


def same_bits(a: pd.DataFrame, b: pd.DataFrame) -> None:
    """Equal column by column, floats compared as bits (NaN == NaN, -0.0 != 0.0)."""
    assert list(a.columns) == list(b.columns) and len(a) == len(b)
    for c in a.columns:
        x, y = a[c].to_numpy(), b[c].to_numpy()
        assert x.dtype == y.dtype, c
        if x.dtype.kind == "f":
            x, y = x.view(f"u{x.dtype.itemsize}"), y.view(f"u{y.dtype.itemsize}")
        assert np.array_equal(x, y), c


def store_matrix(src: Path, tmp: Path, dataset: DatasetSettings) -> pd.DataFrame:
    """The single-machine path: `collect` the source into its own store, `validate --features-out`."""
    db, out = tmp / f"{src.stem}.db", tmp / f"{src.stem}.parquet"
    collect([src], db)
    validate_and_build(db, None, dataset, out)
    return pd.read_parquet(out)


def shard_matrix(dataset_dir: Path, host: str) -> pd.DataFrame:
    """One host's training rows as the shards hold them, in their dataset order."""
    files = sorted((dataset_dir / f"host={host}").rglob("*.parquet"))
    frame = pd.concat([pd.read_parquet(f) for f in files])
    frame = frame[frame["pos"] >= 0].sort_values("pos").reset_index(drop=True)
    return frame[MATRIX]


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Three hosts: teacher labels, no labels (auto = combined: rows without a future are left out), nested."""
    d = tmp_path_factory.mktemp("logs")
    a = simulate(d / "alpha.jsonl", 1)
    b = simulate(d / "bravo.jsonl.gz", 2, labels=False)
    c = d / "charlie.jsonl"
    write_snapshots(c, "jsonl-nested", count=30, seed=3, scale=0.4, labels=False)
    return [a, b, c]


@pytest.fixture(scope="module")
def built(logs: list[Path], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("ds") / "features"
    return out, build_features(logs, out, TWO, DatasetSettings(labels="combined"))


def test_every_source_becomes_shards_partitioned_by_host_and_day(built, logs: list[Path]) -> None:
    out, result = built
    assert result.ok and result.workers == 2 and result.scheduler.startswith("tcp://127.0.0.1:")
    assert [s.status for s in result.sources] == ["built"] * 3
    assert [s.host for s in result.sources] == ["alpha", "bravo", "charlie"]
    manifest = json.loads((out / mf.MANIFEST).read_text())
    for report, log in zip(result.sources, logs, strict=True):
        entry = manifest["sources"][str(log.resolve())]
        assert entry["sha256"] == report.sha256 and len(entry["sha256"]) == 64
        for shard in entry["shards"]:
            assert shard["path"].startswith(f"host={report.host}/day=") and (out / shard["path"]).is_file()
    assert not [p for p in out.rglob(".*")], "no temporary file remains"
    assert result.rows == sum(len(pd.read_parquet(f)) for f in out.rglob("*.parquet"))


def test_rows_equal_the_store_path_bit_for_bit(built, logs: list[Path], tmp_path: Path) -> None:
    """Each source's shard rows == `validate --features-out` of a store collected from that source: keys, the 51
    features and the label (teacher scores, and `combined` labels from the rule teacher's deltas and attention)."""
    out, result = built
    for log, report in zip(logs, result.sources, strict=True):
        expected = store_matrix(log, tmp_path, DatasetSettings(labels="combined"))
        assert len(expected) > 500
        same_bits(shard_matrix(out, report.host), expected)


def test_replay_columns_are_the_replay_loaders(built, logs: list[Path], tmp_path: Path) -> None:
    """Each row's group and snapshot columns == `replay_load.load` of the source's store, and `group_rank` is the
    group's place in the daemon's order within its snapshot."""
    out, result = built
    for log, report in zip(logs, result.sources, strict=True):
        db = tmp_path / f"{report.host}.db"
        collect([log], db)
        con = store.open_readonly(db)
        g, s, extra = replay_load.load(con)
        con.close()
        first = np.r_[0, np.flatnonzero(np.diff(g.snap)) + 1]
        expected = pd.DataFrame(
            {
                "snapshot_id": s.snapshot_id[g.snap],
                "group_rank": np.arange(g.snap.size) - np.repeat(first, np.diff(np.r_[first, g.snap.size])),
                "app_group_id": g.app_group_id.astype(str),
                **{f"g_{n}": getattr(g, n) for n in features_columns.GROUP_COLUMNS},
                **{f"g_{n}": extra[n] for n in features_columns.EXTRA_COLUMNS},
                **{
                    f"snap_{n}": (extra["logged_bad"] if n == "logged_bad" else getattr(s, n))[g.snap]
                    for n in features_columns.SNAPSHOT_COLUMNS
                },
            }
        )
        files = sorted((out / f"host={report.host}").rglob("*.parquet"))
        shards = pd.concat([pd.read_parquet(f) for f in files]).sort_values(["snapshot_id", "group_rank"])
        got = shards[list(expected.columns)].reset_index(drop=True)
        got["group_rank"] = got["group_rank"].astype(np.int64)
        for frame in (got, expected):  # strings as objects, a missing name as one marker
            frame["app_group_id"] = frame["app_group_id"].astype(object)
            frame["g_app_name"] = frame["g_app_name"].astype(object).fillna("<NULL>")
        same_bits(got, expected)


def test_a_scratch_store_holds_the_same_rows_without_secondary_indexes(logs: list[Path], tmp_path: Path) -> None:
    """A task's throwaway store (`collect(..., scratch=True)`): the same tables and figures, no daemon indexes."""
    kept, scratch = tmp_path / "kept.db", tmp_path / "scratch.db"
    collect([logs[0]], kept)
    collect([logs[0]], scratch, scratch=True)
    a, b = store.open_readonly(kept), store.open_readonly(scratch)
    try:
        indexes = "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'idx_%' AND tbl_name != ?"
        assert len(a.execute(indexes, (store.INGEST_TABLE,)).fetchall()) == len(contract.INDEXES)
        assert b.execute(indexes, (store.INGEST_TABLE,)).fetchall() == []
        for table in contract.TABLES:
            sql = f"SELECT * FROM {table} ORDER BY rowid"
            assert a.execute(sql).fetchall() == b.execute(sql).fetchall(), table
        assert store_stats(a) == store_stats(b)
    finally:
        a.close()
        b.close()
    assert not list(tmp_path.glob("scratch.db-*")), "no journal left beside it"


def test_read_back_with_one_host_is_the_store_dataset(logs: list[Path], tmp_path: Path) -> None:
    """Reading a one-host dataset gives the store's `Dataset` and the same validate report (but paths and time)."""
    out = tmp_path / "one"
    build_features([logs[1]], out, ONE)
    db = tmp_path / "bravo.db"
    collect([logs[1]], db)
    report, ds = validate_and_build(db)
    report2, ds2 = validate_features(out)
    for name in ("X", "y", "query", "ts_ms", "app_group_id"):
        assert np.array_equal(getattr(ds, name), getattr(ds2, name)), name
    assert ds.label_source == ds2.label_source == "combined" and ds.null_counts == ds2.null_counts
    skip = {"db", "seconds"}
    assert report.model_dump(exclude=skip) == report2.model_dump(exclude=skip)


def test_sampling_is_uniform_per_host_and_the_window_is_pushed_down(built) -> None:
    out, _ = built
    full, _ = load_dataset(out)
    assert full.n_queries == 40 + 40 + 30 - 3  # `combined`: each host's last snapshot has no future
    sample, _ = load_dataset(out, DatasetSettings(max_snapshots=11, sample="uniform"))
    assert sample.stats["snapshots_in_window"] == 11 and 8 <= sample.n_queries <= 11
    assert np.all(np.diff(sample.ts_ms) >= 0), "rows stay in time order"
    first = int(full.ts_ms.min())
    since = pd.Timestamp(first + 10_000, unit="ms", tz="UTC").to_pydatetime()
    windowed, _ = load_dataset(out, DatasetSettings(since=since))
    assert windowed.ts_ms.min() >= first + 10_000 and 0 < windowed.n_rows < full.n_rows


def test_sample_shares_the_budget_in_proportion_to_each_host() -> None:
    keys = pa.table(
        {
            "host": ["a"] * 30 + ["b"] * 10,
            "snapshot_id": list(range(30)) + list(range(10)),
            "ts_ms": list(range(30)) + list(range(10)),
        }
    )
    picked = sample_snapshots(keys, DatasetSettings(max_snapshots=8, sample="latest"))
    assert picked["a"].tolist() == list(range(24, 30)) and picked["b"].tolist() == [8, 9]
    uniform = sample_snapshots(keys, DatasetSettings(max_snapshots=8, sample="uniform", sample_seed=1))
    assert len(uniform["a"]) == 6 and len(uniform["b"]) == 2
    assert sample_snapshots(keys, DatasetSettings(max_snapshots=100))["a"].size == 30


def test_a_failing_source_is_reported_and_the_others_complete(logs: list[Path], tmp_path: Path) -> None:
    bad = tmp_path / "broken.jsonl"
    lines = logs[0].read_text().splitlines()
    bad.write_text("\n".join([*lines[:2], '{"snapshot_id": "x"}', *lines[3:10]]) + "\n")
    out = tmp_path / "ds"
    result = build_features([logs[0], bad], out, TWO, collect=CollectSettings(max_errors=0))
    assert not result.ok
    good, failed = result.sources
    assert good.status == "built" and good.rows > 0
    assert failed.status == "failed" and f"{bad.resolve()}:3" in failed.error and "max_errors" in failed.error
    manifest = json.loads((out / mf.MANIFEST).read_text())
    assert list(manifest["sources"]) == [str(logs[0].resolve())]
    assert not list(out.glob("host=broken*"))


def test_rerun_skips_done_sources_and_rebuilds_a_changed_one(logs: list[Path], tmp_path: Path) -> None:
    a, b = simulate(tmp_path / "a.jsonl", 11, 20), simulate(tmp_path / "b.jsonl", 12, 20)
    out = tmp_path / "ds"
    first = build_features([a, b], out, ONE)
    assert [s.status for s in first.sources] == ["built", "built"]
    again = build_features([a, b], out, ONE)
    assert [s.status for s in again.sources] == ["already-built", "already-built"] and again.rows == first.rows
    old_shards = {s.path for s in first.sources[1].shards}
    simulate(b, 13, 25)  # new bytes under the same name
    third = build_features([a, b], out, ONE)
    assert [s.status for s in third.sources] == ["already-built", "built"]
    assert third.sources[1].sha256 != first.sources[1].sha256
    new_shards = {s.path for s in third.sources[1].shards}
    assert not old_shards & new_shards and all(not (out / p).exists() for p in old_shards)
    assert third.snapshots == 20 + 25


def test_other_labels_rebuild_everything_and_reading_checks_them(logs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "ds"
    build_features([logs[0]], out, ONE, DatasetSettings(labels="rules"))
    with pytest.raises(ConfigError, match="built with labels = rules, not attention"):
        load_dataset(out, DatasetSettings(labels="attention"))
    assert load_dataset(out)[0].label_source == "rules"
    result = build_features([logs[0]], out, ONE, DatasetSettings(labels="teacher"))
    assert result.sources[0].status == "built" and result.sources[0].label_source == "teacher_score"


def test_bad_arguments_fail_before_any_work(logs: list[Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workers"):
        build_features(logs, tmp_path / "x", FeaturesSettings(workers=2, scheduler="tcp://127.0.0.1:1"))
    with pytest.raises(ConfigError, match="stdin"):
        build_features(["-"], tmp_path / "x", ONE)
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    with pytest.raises(OutputPathError, match="not a feature dataset"):
        build_features(logs, tmp_path / "busy", ONE)
    with pytest.raises(OutputPathError, match="same file"):
        build_features(logs, logs[0], ONE)
    assert not (tmp_path / "x").exists()


def test_host_names() -> None:
    assert mf.host_of("/logs/desk-7.jsonl.gz", "file") == "desk-7"
    assert mf.host_of("/logs/desk 7/day1.sqlite", "directory") == "desk_7"
    assert mf.host_of("/logs/a=b.db", "file") == "a_b"


def test_a_task_store_goes_to_tmpfs_when_it_fits_and_no_tmpdir_is_set(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(features_shard, "SCRATCH_DIRS", (str(tmp_path / "missing"), str(tmp_path)))
    monkeypatch.delenv("TMPDIR", raising=False)
    assert features_shard.scratch_dir(1 << 20, "jsonl") == str(tmp_path)
    assert features_shard.scratch_dir(1 << 60, "jsonl") is None, "no room: the system's temporary directory"
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert features_shard.scratch_dir(1 << 20, "jsonl") is None, "the worker's TMPDIR wins"
