"""Models: nothing to train on is a failed gate, nothing worse than the stub ranker is presented as ready, and an
export is checked against the model file as it defines itself, not as CatBoost happens to read it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer.errors import ExportError
from smoothtask_trainer.services import catboost_json
from smoothtask_trainer.services.artifacts import sidecar_path
from smoothtask_trainer.services.onnx_export import synthetic_sample
from tests import factories as F
from tests.reliability.conftest import run_cli

TINY = ["--iterations", "20", "--depth", "3", "--threads", "2"]
FIGURES = re.compile(r"NDCG@5 model (\d\.\d{4}), stub ranker (\d\.\d{4})")


def degenerate_store(path: Path, snapshots: int = 30) -> Path:
    """Within each snapshot every app group has the same features; only the teacher's label differs."""
    records = []
    for i in range(snapshots):
        rec = F.snapshot(i, n_groups=4, per_group=1)
        rec["load_avg_one"] = 0.5 + i % 7  # varies between snapshots: CatBoost has a feature, but nothing to rank by
        for k, (proc, group) in enumerate(zip(rec["processes"], rec["app_groups"], strict=True)):
            proc.update(exe="/usr/bin/app", cmdline="app", rss_mb=200, io_read_bytes=4096, teacher_score=0.2 * (k + 1))
            group["app_name"] = "app"
        records.append(rec)
    return F.write_daemon_db(path, records)


def model_files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.suffix in (".json", ".onnx", ".cbm", ".tmp"))


@pytest.fixture(scope="module")
def degenerate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from smoothtask_trainer.services.dataset import build_dataset

    db = degenerate_store(tmp_path_factory.mktemp("degenerate") / "flat-groups.db")
    ds = build_dataset(db)
    for q in np.unique(ds.query):  # the premise: identical groups, labels that differ
        rows = ds.query == q
        assert np.unique(ds.X[rows], axis=0).shape[0] == 1 and np.unique(ds.y[rows]).size == 4
    return db


# ---- nothing to train on: exit 3 everywhere ---------------------------------------------------------------------


def test_an_empty_store_is_a_failed_gate_for_validate_train_and_pipeline(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert run_cli("collect", "empty.jsonl", "--db", "empty.db", cwd=tmp_path).returncode == 0
    runs = {
        "validate": run_cli("validate", "--db", "empty.db", cwd=tmp_path),
        "train": run_cli("train", "--db", "empty.db", "--model-json", "m.json", *TINY, cwd=tmp_path),
        "pipeline": run_cli("pipeline", "--db", "empty.db", "--model-onnx", "m.onnx", *TINY, cwd=tmp_path),
    }
    for name, res in runs.items():
        assert res.returncode == 3, (name, res.stderr)
        assert "no snapshots" in res.stderr and "smoothtask-trainer collect" in res.stderr, (name, res.stderr)
    assert model_files(tmp_path) == []


def test_snapshots_without_app_groups_are_nothing_to_train_on(tmp_path: Path) -> None:
    db = F.write_daemon_db(tmp_path / "no-groups.db", [F.snapshot(i, n_groups=0) for i in range(5)])
    res = run_cli("train", "--db", str(db), "--model-json", "m.json", *TINY, "--json", cwd=tmp_path)
    assert res.returncode == 3 and "no app groups" in res.stderr and "smoothtask-trainer collect" in res.stderr
    assert json.loads(res.stdout)["ok"] is False and model_files(tmp_path) == []


# ---- not better than the daemon's stub ranker ---------------------------------------------------------------


def test_a_model_no_better_than_the_stub_is_refused_and_nothing_is_replaced(degenerate: Path, tmp_path: Path) -> None:
    mine = tmp_path / "m.json"
    mine.write_text('{"mine": true}\n')
    res = run_cli(
        "train", "--db", str(degenerate), "--model-json", "m.json", "--model-onnx", "m.onnx", *TINY, cwd=tmp_path
    )
    assert res.returncode == 3, res.stderr
    found = FIGURES.search(res.stderr)
    assert found and "not better than the daemon's stub ranker" in res.stderr, res.stderr
    assert float(found.group(1)) <= float(found.group(2))
    assert "--allow-worse-than-stub" in res.stderr and "policy_mode" not in res.stdout
    assert mine.read_text() == '{"mine": true}\n'
    assert model_files(tmp_path) == ["m.json"] and not sidecar_path(mine).exists()

    res = run_cli("train", "--db", str(degenerate), "--model-cbm", "m.cbm", *TINY, "--json", cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert res.returncode == 3 and doc["ok"] is False and doc["artifacts"] == []
    model, stub = doc["metrics"]["model"]["ndcg@5"], doc["metrics"]["stub_ranker"]["ndcg@5"]
    assert model <= stub and f"model {model:.4f}, stub ranker {stub:.4f}" in res.stderr
    assert not (tmp_path / "m.cbm").exists()


def test_pipeline_refuses_the_same_model(degenerate: Path, tmp_path: Path) -> None:
    res = run_cli("pipeline", "--db", str(degenerate), "--model-onnx", "m.onnx", *TINY, "--json", cwd=tmp_path)
    assert res.returncode == 3 and FIGURES.search(res.stderr), res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and [s["status"] for s in doc["steps"]] == ["ok", "failed"]
    assert doc["train"]["metrics"]["model"]["ndcg@5"] <= doc["train"]["metrics"]["stub_ranker"]["ndcg@5"]
    assert model_files(tmp_path) == []


def test_allow_worse_than_stub_writes_the_model_and_says_so(degenerate: Path, tmp_path: Path) -> None:
    res = run_cli(
        "train", "--db", str(degenerate), "--model-onnx", "m.onnx", *TINY, "--allow-worse-than-stub", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    assert "NOT better than the daemon's stub ranker" in res.stdout and FIGURES.search(res.stdout.replace("\n", " "))
    assert "warning: the model is not better than the daemon's stub ranker" in res.stderr
    assert (tmp_path / "m.onnx").is_file()
    sidecar = json.loads(sidecar_path(tmp_path / "m.onnx").read_text())
    assert sidecar["metrics"]["better_than_stub_ranker"] is False

    env = {"SMOOTHTASK_TRAIN__ALLOW_WORSE_THAN_STUB": "true"}  # the settings key, not only the flag
    res = run_cli("train", "--db", str(degenerate), "--model-json", "m.json", *TINY, "--json", cwd=tmp_path, env=env)
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and [a["format"] for a in doc["artifacts"]] == ["json"]
    assert any("not better than the daemon's stub ranker" in w and "NOT ready" in w for w in doc["warnings"])


def test_too_few_snapshots_to_judge_is_refused_unless_allowed(tmp_path: Path) -> None:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "two.db"
    write_snapshots(db, "sqlite", count=2, seed=3, scale=0.4)
    res = run_cli("train", "--db", str(db), "--model-json", "m.json", *TINY, cwd=tmp_path)
    assert res.returncode == 3 and "could not be compared with the daemon's stub ranker" in res.stderr
    assert model_files(tmp_path) == []
    res = run_cli("train", "--db", str(db), "--model-json", "m.json", *TINY, "--allow-worse-than-stub", cwd=tmp_path)
    assert res.returncode == 0 and "NOT compared with the daemon's stub ranker" in res.stdout
    assert json.loads(sidecar_path(tmp_path / "m.json").read_text())["metrics"]["better_than_stub_ranker"] is None


def test_a_model_better_than_the_stub_is_written_as_before(tmp_path: Path) -> None:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "sim.db"
    write_snapshots(db, "sqlite", count=40, seed=2, scale=0.4)
    res = run_cli("train", "--db", str(db), "--model-json", "m.json", *TINY, "--json", cwd=tmp_path)
    doc = json.loads(res.stdout)
    assert res.returncode == 0 and doc["ok"] is True and not doc["warnings"]
    assert doc["metrics"]["model"]["ndcg@5"] > doc["metrics"]["stub_ranker"]["ndcg@5"]
    assert json.loads(sidecar_path(tmp_path / "m.json").read_text())["metrics"]["better_than_stub_ranker"] is True


# ---- exports checked against the JSON file as it defines itself ----------------------------------------------


@pytest.fixture(scope="module")
def clean_json(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.unit.test_export import train_ranker

    path = tmp_path_factory.mktemp("json-models") / "clean.json"
    train_ranker().save_model(str(path), format="json")
    return path


def _corrupt(clean: Path, target: Path, how: str) -> Path:
    doc = json.loads(clean.read_text())
    if how == "leaf values as text":  # what the file states is unchanged; CatBoost reads each such value as 0
        for tree in doc["oblivious_trees"][:3]:
            tree["leaf_values"] = [str(v) for v in tree["leaf_values"]]
    else:  # a border CatBoost ignores (it takes the split from split_index)
        for tree in doc["oblivious_trees"][:3]:
            tree["splits"][0]["border"] = -1.0  # every feature is >= 0: the split now always goes one way
    target.write_text(json.dumps(doc))
    return target


def _predict(path: Path, X: np.ndarray) -> np.ndarray:
    from catboost import CatBoostRanker

    return CatBoostRanker().load_model(str(path), format="json").predict(X)


@pytest.mark.parametrize("fmt", ["onnx", "cbm"])
def test_an_export_of_corrupted_leaf_values_fails_naming_the_file_and_the_difference(
    clean_json: Path, tmp_path: Path, fmt: str
) -> None:
    bad = _corrupt(clean_json, tmp_path / "bad.json", "leaf values as text")
    X = synthetic_sample()  # the rows export checks on
    misread = float(np.max(np.abs(_predict(bad, X) - _predict(clean_json, X))))  # the file states the clean model
    assert misread > 1e-3, "the corruption must change what CatBoost reads"
    res = run_cli("export", "--model", "bad.json", "--format", fmt, "--output", f"out.{fmt}", cwd=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "bad.json" in res.stderr and "as the file defines it" in res.stderr
    reported = float(re.search(r"by up to ([0-9.e+-]+)", res.stderr).group(1))
    assert reported == pytest.approx(misread, rel=5e-3)
    assert model_files(tmp_path) == ["bad.json"] and not sidecar_path(tmp_path / f"out.{fmt}").exists()


def test_an_export_of_a_border_catboost_ignores_fails(clean_json: Path, tmp_path: Path) -> None:
    _corrupt(clean_json, tmp_path / "bad.json", "border")
    res = run_cli("export", "--model", "bad.json", "--format", "onnx", "--output", "out.onnx", cwd=tmp_path)
    assert res.returncode == 1 and "bad.json" in res.stderr and "by up to" in res.stderr, res.stderr
    assert model_files(tmp_path) == ["bad.json"]


def test_a_clean_json_export_passes_and_is_checked_against_the_file(clean_json: Path, tmp_path: Path) -> None:
    res = run_cli(
        "export", "--model", str(clean_json), "--format", "onnx", "--output", "out.onnx", "--json", cwd=tmp_path
    )
    assert res.returncode == 0, res.stderr
    checks = json.loads(res.stdout)["checks"]
    assert any(c.startswith("raw scores equal clean.json read without CatBoost") for c in checks), checks
    assert (tmp_path / "out.onnx").is_file()


# ---- the evaluator itself ---------------------------------------------------------------------------------


def _ranker(iterations: int, depth: int):
    from catboost import CatBoostRanker, Pool

    from smoothtask_trainer import contract
    from tests.unit.test_export import ranking_data

    X, y, q = ranking_data()
    pool = Pool(X, y, group_id=q, feature_names=list(contract.FEATURE_NAMES))
    params = dict(iterations=iterations, depth=depth, random_seed=0, thread_count=2, verbose=False)
    return CatBoostRanker(**params, allow_writing_files=False).fit(pool), X


@pytest.mark.parametrize(("iterations", "depth", "scale_and_bias"), [(10, 4, None), (200, 6, (0.5, 1.25))])
def test_the_evaluator_predicts_like_catboost_on_clean_models(
    tmp_path: Path, iterations, depth, scale_and_bias
) -> None:
    model, X = _ranker(iterations, depth)
    if scale_and_bias:
        model.set_scale_and_bias(*scale_and_bias)
    path = tmp_path / "m.json"
    model.save_model(str(path), format="json")
    rows = np.vstack([synthetic_sample(), X])
    trees = catboost_json.load(path)
    assert trees is not None and len(trees.leaves) == model.tree_count_
    assert float(np.max(np.abs(trees.predict(rows) - _predict(path, rows)))) < 1e-9


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["oblivious_trees"][0]["leaf_values"].append(0.5), "oblivious_trees[0].leaf_values"),
        (lambda d: d["oblivious_trees"][1]["leaf_values"].__setitem__(2, None), "oblivious_trees[1].leaf_values[2]"),
        (lambda d: d["oblivious_trees"][0]["splits"][0].__setitem__("float_feature_index", 99), "float_feature_index"),
        (lambda d: d.__setitem__("scale_and_bias", [1, [0.1, 0.2]]), "scale_and_bias"),
        (lambda d: d.pop("oblivious_trees"), "oblivious_trees"),
    ],
)
def test_the_evaluator_refuses_a_malformed_file_naming_the_field(clean_json: Path, tmp_path: Path, edit, field) -> None:
    doc = json.loads(clean_json.read_text())
    edit(doc)
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ExportError, match=re.escape(str(path))) as err:
        catboost_json.load(path)
    assert field in err.value.message


def test_native_categoricals_are_left_to_catboost_and_the_seed_check_flags_a_corrupted_file(
    clean_json: Path, tmp_path: Path
) -> None:
    from smoothtask_trainer.services.export import validate_exported_model
    from tests.unit.test_export import train_ranker

    native = tmp_path / "native.json"
    train_ranker(native=True).save_model(str(native), format="json")
    assert catboost_json.load(native) is None
    bad = _corrupt(clean_json, tmp_path / "bad.json", "leaf values as text")
    with pytest.raises(ExportError, match="differs from .*bad.json as the file defines it"):
        validate_exported_model(bad, "json")
    assert any("read without CatBoost" in c for c in validate_exported_model(clean_json, "json")["checks"])
