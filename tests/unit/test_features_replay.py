"""`replay` and `tune` on one host of a feature dataset decide what they decide on a store of that host's log."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.services import replay_input
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.services.features import build_features
from smoothtask_trainer.services.replay import replay
from smoothtask_trainer.services.tune import tune
from smoothtask_trainer.settings import DatasetSettings, FeaturesSettings, PolicySettings, TrainSettings
from smoothtask_trainer.simulator import write_snapshots
from tests.clirun import invoke

pytestmark = pytest.mark.slow
POLICY = PolicySettings(trials=8, ncpu=4)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two hosts' logs (one with teacher labels, one without), each's own store, a model, and two datasets of
    both: the default labels and the rule teacher's."""
    d = tmp_path_factory.mktemp("fleet")
    paths = {"alpha": d / "alpha.jsonl", "bravo": d / "bravo.jsonl"}
    write_snapshots(paths["alpha"], "jsonl", count=60, seed=5, scale=0.4)
    write_snapshots(paths["bravo"], "jsonl", count=60, seed=6, scale=0.4, labels=False)
    for host in ("alpha", "bravo"):
        collect([paths[host]], d / f"{host}.db")
    build_features(list(paths.values()), d / "ds", FeaturesSettings(workers=1))
    build_features(list(paths.values()), d / "rules", FeaturesSettings(workers=1), DatasetSettings(labels="rules"))
    from smoothtask_trainer.services.train import train

    settings = TrainSettings(iterations=5, depth=3, threads=2, allow_worse_than_stub=True)
    train(d / "alpha.db", {"onnx": d / "m.onnx"}, settings)
    return {**paths, "dir": d}


def _same(a, b) -> None:  # noqa: ANN001 - two ReplayReports
    keys = ("snapshots", "groups", "class_mix", "ranker_class_mix", "decisions_by_rule", "load_categories", "scaled",
            "held", "bad_responsiveness", "teacher", "focus", "churn", "outcomes")  # fmt: skip
    for key in keys:
        assert getattr(a, key) == getattr(b, key), key


@pytest.mark.parametrize("ranker", ["none", "stub", "model"])
def test_replay_of_a_host_equals_replay_of_its_store(fleet, ranker: str) -> None:
    d = fleet["dir"]
    model = d / "m.onnx" if ranker == "model" else None
    for host in ("alpha", "bravo"):
        on_store = replay(d / f"{host}.db", ranker=ranker, model=model, ncpu=4)
        on_features = replay(None, features=d / "ds", host=host, ranker=ranker, model=model, ncpu=4)
        _same(on_store, on_features)
        assert on_store.applied is not None and on_features.applied is None  # no process rows in a dataset
        assert on_features.db.endswith(f"(host {host})")


def test_the_models_scores_from_the_dataset_equal_the_stores(fleet) -> None:
    d = fleet["dir"]
    a = replay_input.from_store(d / "alpha.db")
    b = replay_input.from_features(d / "ds", "alpha")
    assert np.array_equal(a.s.snapshot_id, b.s.snapshot_id) and np.array_equal(a.g.app_group_id, b.g.app_group_id)
    sa, sb = a.model_scores(d / "m.onnx"), b.model_scores(d / "m.onnx")
    assert not np.isnan(sb).any() and np.array_equal(sa, sb)


def test_tune_of_a_host_equals_tune_of_its_store(fleet) -> None:
    d = fleet["dir"]
    on_store = tune(d / "alpha.db", ranker="stub", settings=POLICY)  # teacher classes in the log
    on_features = tune(None, ranker="stub", settings=POLICY, source=replay_input.from_features(d / "ds", "alpha"))
    assert on_store.knobs == on_features.knobs and on_store.hysteresis_curve == on_features.hysteresis_curve
    # without teacher classes the cut-offs agree with the rule teacher: a dataset built with its labels has them
    on_store = tune(d / "bravo.db", ranker="stub", settings=POLICY)
    rules = replay_input.from_features(d / "rules", "bravo")
    assert np.array_equal(rules.rule_teacher_grades(), replay_input.from_store(d / "bravo.db").rule_teacher_grades())
    assert tune(None, ranker="stub", settings=POLICY, source=rules).knobs == on_store.knobs
    other = tune(None, ranker="stub", settings=POLICY, source=replay_input.from_features(d / "ds", "bravo"))
    cut = other.knobs["normal_percentile"]
    assert cut.status == "unchanged" and "not the rule teacher's" in cut.reason  # said, not guessed


def test_a_dataset_of_several_hosts_needs_one(fleet) -> None:
    with pytest.raises(ConfigError, match="alpha, bravo"):
        replay_input.from_features(fleet["dir"] / "ds", None)
    with pytest.raises(ConfigError, match="charlie is not one of them"):
        replay_input.from_features(fleet["dir"] / "ds", "charlie")


def test_the_command_lines(fleet, tmp_path: Path) -> None:
    d = fleet["dir"]
    res = invoke("replay", "--features", str(d / "ds"), "--host", "alpha", "--ranker", "stub", "--ncpu", "4", "--json")
    assert res.exit_code == 0, res.output
    out = tmp_path / "t.yml"
    res = invoke("tune", "--features", str(d / "ds"), "--host", "bravo", "--ranker", "stub", "--output", str(out),
                 "--trials", "5")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "(host bravo)" in out.read_text(encoding="utf-8")  # the header names what was tuned
    both = invoke("replay", "--db", str(d / "alpha.db"), "--features", str(d / "ds"), "--ranker", "stub")
    assert both.exit_code == 2 and "both given" in both.stderr
    res = invoke("replay", "--features", str(d / "ds"), "--host", "alpha", "--ranker", "stub", "--report",
                 str(tmp_path / "r.html"))  # fmt: skip
    assert res.exit_code == 2 and "give --db" in res.stderr and not (tmp_path / "r.html").exists()
    res = invoke("replay", "--features", str(d / "ds"), "--ranker", "stub")
    assert res.exit_code == 2 and "--host" in res.stderr


def test_train_on_a_dataset_reports_its_model(fleet, tmp_path: Path) -> None:
    d, page = fleet["dir"], tmp_path / "r.html"
    env = {"SMOOTHTASK_TRAIN__ITERATIONS": "5", "SMOOTHTASK_TRAIN__DEPTH": "3", "SMOOTHTASK_TRAIN__THREADS": "2"}
    res = invoke("train", "--features", str(d / "rules"), "--model-onnx", str(tmp_path / "m.onnx"),
                 "--allow-worse-than-stub", "--report", str(page), env=env)  # fmt: skip
    assert res.exit_code == 0, res.output
    text = page.read_text(encoding="utf-8")
    assert '<section id="model">' in text and '<section id="data">' not in text  # no store to draw the data from


def _damaged(fleet, tmp_path: Path) -> Path:
    import shutil

    copy = tmp_path / "ds"
    shutil.copytree(fleet["dir"] / "ds", copy)
    return copy


@pytest.mark.parametrize("how", ["missing", "cut"])
def test_a_missing_or_cut_shard_is_named_and_rebuilt(fleet, tmp_path: Path, how: str) -> None:
    ds = _damaged(fleet, tmp_path)
    (shard,) = sorted(ds.glob("host=alpha/day=*/*.parquet"))
    if how == "missing":
        shard.unlink()
    else:
        shard.write_bytes(shard.read_bytes()[:2000])
    for args in (["validate"], ["replay", "--host", "alpha", "--ranker", "stub"]):
        res = invoke(*args, "--features", str(ds))
        assert res.exit_code != 0 and "unexpected" not in res.stderr, res.output
        assert shard.relative_to(ds).as_posix() in " ".join(res.stderr.split())
    ok = invoke("replay", "--features", str(ds), "--host", "bravo", "--ranker", "stub")  # the other host is whole
    assert ok.exit_code == 0, ok.output
    rerun = build_features([fleet["alpha"], fleet["bravo"]], ds, FeaturesSettings(workers=1))
    assert {r.host: r.status for r in rerun.sources} == {"alpha": "built", "bravo": "already-built"}
    assert invoke("validate", "--features", str(ds)).exit_code in (0, 3)  # readable again (3: a data gate)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["sources"].update({next(iter(m["sources"])): None}),
        lambda m: next(iter(m["sources"].values()))["shards"][0].update(path="/tmp/victim.parquet"),
        lambda m: m.update(format="2"),
    ],
    ids=["null-entry", "outside-shard", "format"],
)
def test_a_hand_edited_manifest_is_a_named_error(fleet, tmp_path: Path, edit) -> None:  # noqa: ANN001
    import json

    ds = _damaged(fleet, tmp_path)
    manifest = json.loads((ds / "_manifest.json").read_text())
    edit(manifest)
    (ds / "_manifest.json").write_text(json.dumps(manifest))
    res = invoke("validate", "--features", str(ds))
    assert res.exit_code != 0 and "damaged manifest" in res.stderr and "unexpected" not in res.stderr, res.output
