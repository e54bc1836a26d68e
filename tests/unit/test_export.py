"""Model export: the daemon's ONNX contract, metadata round trips, atomic writes and refusals."""

from __future__ import annotations

import copy
import json
import os
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import pytest
from catboost import CatBoostRanker, Pool

from smoothtask_trainer import contract
from smoothtask_trainer.errors import ConfigError, ExportError, InputNotFoundError, OutputPathError
from smoothtask_trainer.files import current_umask, sha256_file
from smoothtask_trainer.schemas.model import ExportMetadata
from smoothtask_trainer.services import export as E
from smoothtask_trainer.services import onnx_export
from smoothtask_trainer.services.artifacts import embedded_metadata, sidecar_path

COL = {name: i for i, name in enumerate(contract.FEATURE_NAMES)}
CATS = list(contract.CAT_FEATURE_INDICES)


def ranking_data(snapshots: int = 60, groups: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random but structured rows: the focused GUI group with the most memory ranks first."""
    rng = np.random.default_rng(seed)
    n = snapshots * groups
    X = np.zeros((n, contract.N_FEATURES), dtype=np.float32)
    X[:, COL["rss_mb"]] = rng.lognormal(5, 2, n)
    X[:, COL["io_read_bytes"]] = rng.lognormal(15, 3, n)
    X[:, COL["psi_cpu_some_avg10"]] = np.repeat(rng.uniform(0, 40, snapshots), groups)
    X[:, COL["has_gui_window"]] = rng.integers(0, 2, n)
    X[:, COL["is_focused_group"]] = 0
    X[np.arange(snapshots) * groups + rng.integers(0, groups, snapshots), COL["is_focused_group"]] = 1
    X[:, CATS] = rng.integers(0, contract.CATEGORY_BUCKETS, (n, len(CATS)))
    score = 3 * X[:, COL["is_focused_group"]] + X[:, COL["has_gui_window"]] + (X[:, COL["rss_mb"]] > 200)
    y = np.clip(score + rng.integers(0, 2, n), 0, 4).astype(float)
    return X, y, np.repeat(np.arange(snapshots), groups)


def train_ranker(native: bool = False, width: int = contract.N_FEATURES, names: list[str] | None = None):
    """A tiny CatBoostRanker (10 trees) that writes nothing to disk."""
    X, y, q = ranking_data()
    params = dict(iterations=10, depth=4, random_seed=0, thread_count=1, verbose=False, allow_writing_files=False)
    if native:
        frame = pd.DataFrame(X, columns=list(contract.FEATURE_NAMES))
        frame = frame.astype({contract.FEATURE_NAMES[i]: np.int64 for i in CATS})
        pool = Pool(frame, y, group_id=q, cat_features=CATS)
    else:
        pool = Pool(X[:, :width], y, group_id=q, feature_names=names or list(contract.FEATURE_NAMES)[:width])
    return CatBoostRanker(**params).fit(pool)


@pytest.fixture(scope="module")
def ranker() -> CatBoostRanker:
    return train_ranker()


@pytest.fixture(scope="module")
def exported(ranker, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("artifacts")
    targets = {fmt: out / f"model.{fmt}" for fmt in ("onnx", "json", "cbm")}
    E.write_artifacts(ranker, targets, ExportMetadata(dataset_size=480, version="2.1.0", team={"name": "ü"}))
    return targets


def test_onnx_meets_the_daemon_contract(exported, ranker) -> None:
    proto = onnx.load(str(exported["onnx"]))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == 7
    assert {op.domain: op.version for op in proto.opset_import} == {"ai.onnx.ml": 2, "": onnx_export.ONNX_OPSET}
    [inp] = proto.graph.input
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", 51]
    first = proto.graph.output[0]
    assert first.name == "score" and first.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in first.type.tensor_type.shape.dim] == ["N", 1]
    assert [n.op_type for n in proto.graph.node] == ["TreeEnsembleRegressor", "Sigmoid"]

    X = np.concatenate([ranking_data(seed=1)[0], onnx_export.synthetic_sample()])
    session = ort.InferenceSession(str(exported["onnx"]), providers=["CPUExecutionProvider"])
    score, raw_out = session.run(None, {"features": X})
    assert score.dtype == np.float32 and score.shape == (len(X), 1)
    assert score.min() > 0 and score.max() < 1
    raw = ranker.predict(X)
    assert np.abs(score[:, 0] - 1 / (1 + np.exp(-raw))).max() <= 1e-5
    assert np.abs(raw_out[:, 0] - raw).max() <= 1e-5
    distinct = np.unique(raw, return_index=True)[1]  # ties aside
    assert np.array_equal(np.argsort(score[distinct, 0]), np.argsort(raw[distinct]))
    one = session.run(None, {"features": X[:1]})[0]  # the daemon's batch of one
    assert one.shape == (1, 1) and one[0, 0] == pytest.approx(score[0, 0], abs=1e-7)


def test_onnxruntime_prints_no_shape_warning(exported, ranker, tmp_path, capfd) -> None:
    X = onnx_export.synthetic_sample()[:4]
    capfd.readouterr()
    ort.InferenceSession(str(exported["onnx"])).run(None, {"features": X})  # default log level: warnings shown
    assert "shape" not in capfd.readouterr().err.lower()
    plain = tmp_path / "catboost.onnx"  # CatBoost's own export declares ['N'] and returns [N, 1]: it warns
    ranker.save_model(str(plain), format="onnx")
    ort.InferenceSession(str(plain)).run(None, {"features": X})
    assert "does not match actual shape" in capfd.readouterr().err


def test_metadata_round_trips_in_all_formats(exported, ranker) -> None:
    names = {fmt: sidecar_path(path).name for fmt, path in exported.items()}
    assert names == {
        "onnx": "model.onnx.metadata.json",
        "json": "model.json.metadata.json",
        "cbm": "model.cbm.metadata.json",
    }
    for fmt, path in exported.items():
        sidecar = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        artifact = sidecar.pop("artifact")
        assert artifact["sha256"] == sha256_file(path) and artifact["size_bytes"] == path.stat().st_size
        assert artifact["format"] == fmt and artifact["checks"]
        assert sidecar["export_format"] == fmt and sidecar["features"] == list(contract.FEATURE_NAMES)
        assert sidecar["team"] == {"name": "ü"} and sidecar["version"] == "2.1.0" and sidecar["n_features"] == 51
        assert sidecar.get("squash") == ("sigmoid" if fmt == "onnx" else None)
        assert None not in sidecar.values()
        if fmt == "onnx":
            props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
            assert "catboost_version_info" in props  # CatBoost's own keys stay
        else:
            props = dict(CatBoostRanker().load_model(str(path), format=fmt).get_metadata())
        assert embedded_metadata(props) == sidecar
    assert not any(k.startswith("smoothtask") for k in dict(ranker.get_metadata()))  # the caller's model is untouched


def test_the_callers_metadata_is_not_changed(ranker, tmp_path) -> None:
    meta = ExportMetadata(dataset={"rows": 1})
    before = meta.model_dump()
    E.write_artifacts(ranker, {"json": tmp_path / "a.json"}, meta, validate=False)
    assert meta.model_dump() == before and meta.export_format is None


def test_a_failed_check_leaves_no_file(ranker, tmp_path, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise ExportError("ONNX scores differ from sigmoid(CatBoost) by up to 0.3 (> 1e-5)")

    monkeypatch.setattr(onnx_export, "check_parity", broken)
    old = tmp_path / "model.onnx"
    old.write_bytes(b"previous model")
    targets = {"json": tmp_path / "model.json", "onnx": old}
    with pytest.raises(ExportError, match=r"model\.onnx: ONNX scores differ"):
        E.write_artifacts(ranker, targets, ExportMetadata())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"] and old.read_bytes() == b"previous model"


def test_a_failed_rename_never_deletes_what_the_user_had(ranker, tmp_path, monkeypatch) -> None:
    old_cbm = tmp_path / "model.cbm"
    old_cbm.write_bytes(b"previous model")
    real, calls = os.replace, []

    def flaky(src, dst):
        calls.append(Path(dst).name)
        if Path(dst).name == "model.cbm":  # the second model of the export
            raise OSError(28, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", flaky)
    targets = {"json": tmp_path / "model.json", "cbm": old_cbm}
    with pytest.raises(OSError, match="No space"):
        E.write_artifacts(ranker, targets, ExportMetadata())
    assert calls == ["model.json", "model.json.metadata.json", "model.cbm"]
    # the first pair is complete and stays; the user's old model.cbm is untouched; no temporary file remains
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.cbm", "model.json", "model.json.metadata.json"]
    assert old_cbm.read_bytes() == b"previous model"


def test_a_sidecar_path_that_is_a_directory_is_refused_before_anything_is_written(ranker, tmp_path) -> None:
    old = tmp_path / "model.json"
    old.write_bytes(b"previous model")
    (tmp_path / "model.onnx.metadata.json").mkdir()
    with pytest.raises(OutputPathError, match="sidecar"):
        E.write_artifacts(ranker, {"json": old, "onnx": tmp_path / "model.onnx"}, ExportMetadata())
    assert old.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.json", "model.onnx.metadata.json"]


def test_written_files_are_readable_by_other_users(ranker, tmp_path) -> None:
    entries = E.write_artifacts(ranker, {"onnx": tmp_path / "m.onnx"}, ExportMetadata())
    for path in (entries[0].path, entries[0].metadata_path):
        assert os.stat(path).st_mode & 0o044 == 0o044 & ~current_umask()


def test_refusals(tmp_path) -> None:
    with pytest.raises(ExportError, match="native categorical") as info:
        E.write_artifacts(train_ranker(native=True), {"onnx": tmp_path / "m.onnx"}, ExportMetadata())
    assert "hashed" in str(info.value) and "daemon" in str(info.value)
    entries = E.write_artifacts(train_ranker(native=True), {"cbm": tmp_path / "m.cbm"}, ExportMetadata())
    assert json.loads(Path(entries[0].metadata_path).read_text())["categorical_mode"] == "native"
    with pytest.raises(ExportError, match="has 45 features; the daemon sends exactly 51"):
        E.write_artifacts(train_ranker(width=45), {"json": tmp_path / "x.json"}, ExportMetadata())
    shuffled = list(reversed(contract.FEATURE_NAMES))
    with pytest.raises(ExportError, match="feature 0 is 'tags_joined'"):
        E.write_artifacts(train_ranker(names=shuffled), {"json": tmp_path / "x.json"}, ExportMetadata())
    with pytest.raises(ConfigError, match=r"does not end in \.onnx"):
        E.write_artifacts(train_ranker(), {"onnx": tmp_path / "x.json"}, ExportMetadata())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.cbm", "m.cbm.metadata.json"]


def test_export_model_json_to_cbm_to_onnx_and_back(exported, ranker, tmp_path) -> None:
    meta = {"version": "3.0.0", "notes": {"k": [1, 2]}}
    frozen = copy.deepcopy(meta)
    res = E.export_model(exported["json"], "cbm", tmp_path / "a.cbm", meta)
    assert meta == frozen  # not mutated
    assert {k: res[k] for k in ("input_format", "output_format", "output_size")} == {
        "input_format": "json",
        "output_format": "cbm",
        "output_size": (tmp_path / "a.cbm").stat().st_size,
    }
    assert res["sha256"] == sha256_file(tmp_path / "a.cbm") and res["timestamp"] == res["metadata"]["export_timestamp"]
    onnx_res = E.export_model(tmp_path / "a.cbm", "onnx", tmp_path / "b.onnx", meta)
    back = E.export_model(tmp_path / "a.cbm", "json", tmp_path / "c.json")
    # the cbm's embedded metadata carries on (dataset_size from training, version from the first export)
    for r in (onnx_res, back):
        assert r["metadata"]["version"] == "3.0.0" and r["metadata"]["dataset_size"] == 480
        assert r["metadata"]["notes"] == {"k": [1, 2]} and r["metadata"]["export_format"] == r["output_format"]
    assert onnx_res["metadata"]["squash"] == "sigmoid" and "model_path:" in onnx_res["daemon_config"]
    assert back["daemon_config"] is None
    X = onnx_export.synthetic_sample()
    again = CatBoostRanker().load_model(str(tmp_path / "c.json"), format="json")
    assert np.abs(again.predict(X) - ranker.predict(X)).max() <= 1e-9


def test_export_model_errors(exported, tmp_path) -> None:
    with pytest.raises(ConfigError, match="an ONNX model cannot be converted back; export from the .json or .cbm"):
        E.export_model(exported["onnx"], "json", tmp_path / "x.json")
    with pytest.raises(FileNotFoundError):
        E.export_model(tmp_path / "none.json", "onnx", tmp_path / "x.onnx")
    with pytest.raises(ValueError, match=r"unknown model format 'pmml' for format\n"):
        E.export_model(exported["json"], "pmml", tmp_path / "x.pmml")
    (tmp_path / "dir.onnx").mkdir()
    with pytest.raises(PermissionError, match="is a directory"):
        E.export_model(exported["json"], "onnx", tmp_path / "dir.onnx")
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputPathError, match="cannot write"):
        E.export_model(exported["json"], "onnx", tmp_path / "file" / "x.onnx")
    junk = tmp_path / "junk.json"
    junk.write_text('{"not": "a model"}')
    with pytest.raises(ExportError, match="CatBoost cannot read"):
        E.export_model(junk, "onnx", tmp_path / "x.onnx")
    with pytest.raises(ConfigError, match=r"invalid metadata \(metadata\): dataset_size"):
        E.export_model(exported["json"], "onnx", tmp_path / "x.onnx", {"dataset_size": "lots"})
    assert isinstance(InputNotFoundError("x"), FileNotFoundError) and isinstance(OutputPathError("x"), PermissionError)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.onnx", "file", "junk.json"]


def test_a_callers_feature_list_is_kept_but_never_replaces_the_contracts(exported, tmp_path) -> None:
    """The seed README passes '"features": ["cpu", "memory", "io"]': it must work and the metadata stay true."""
    seed_meta = {"version": "1.0.0", "dataset_size": 1000, "features": ["cpu", "memory", "io"]}
    result = E.export_model(exported["json"], "onnx", tmp_path / "x.onnx", seed_meta)
    assert result["metadata"]["features"] == list(contract.FEATURE_NAMES)
    assert result["metadata"]["features_supplied"] == ["cpu", "memory", "io"]
    assert seed_meta["features"] == ["cpu", "memory", "io"]  # the caller's dict is untouched


def test_one_metadata_dict_for_several_exports(exported, tmp_path) -> None:
    """The seed recorded the first export's format in every later sidecar; each must say its own."""
    meta: dict = {"author": "me"}
    for fmt in ("cbm", "onnx", "json"):
        res = E.export_model(exported["json"], fmt, tmp_path / f"m.{fmt}", meta)
        assert res["metadata"]["export_format"] == fmt
    assert meta == {"author": "me"}


def test_validate_exported_model(exported, tmp_path) -> None:
    for fmt, path in exported.items():
        res = E.validate_exported_model(path, fmt)
        assert res["format"] == fmt and res["n_features"] == 51 and res["sha256"] == sha256_file(path)
        assert res["metadata"]["export_format"] == fmt and any("sidecar" in c for c in res["checks"])
    with pytest.raises(ExportError, match="holds a json model, not cbm"):
        E.validate_exported_model(exported["json"], "cbm")
    with pytest.raises(ValueError, match="below min_size=10000000"):
        E.validate_exported_model(exported["cbm"], "cbm", min_size=10_000_000)
    renamed = shutil.copy(exported["json"], tmp_path / "model.txt")
    with pytest.raises(ExportError, match="suffix '.txt' does not match its json content"):
        E.validate_exported_model(renamed, "json")
    with pytest.raises(ExportError, match="no such model file"):
        E.validate_exported_model(tmp_path / "gone.onnx", "onnx")
    with pytest.raises(ConfigError, match="expected_format"):
        E.validate_exported_model(exported["json"], "xml")


def test_validate_rejects_a_stale_or_foreign_file(exported, ranker, tmp_path) -> None:
    model = Path(shutil.copy(exported["onnx"], tmp_path / "m.onnx"))
    side = json.loads(sidecar_path(exported["onnx"]).read_text())
    side["artifact"]["sha256"] = "0" * 64
    sidecar_path(model).write_text(json.dumps(side))
    with pytest.raises(ExportError, match="sha256 is not the file's"):
        E.validate_exported_model(model, "onnx")
    assert E.validate_exported_model(model, "onnx", check_metadata=False)["metadata"]["squash"] == "sigmoid"
    side["artifact"]["sha256"], side["features"] = sha256_file(model), ["cpu", "memory"]
    sidecar_path(model).write_text(json.dumps(side))
    with pytest.raises(ExportError, match="'features' lists 2 names"):
        E.validate_exported_model(model, "onnx")
    plain = tmp_path / "plain.onnx"  # CatBoost's own ONNX: raw scores, which the daemon clamps
    ranker.save_model(str(plain), format="onnx")
    with pytest.raises(ExportError, match=r"not inside \(0, 1\)"):
        E.validate_exported_model(plain, "onnx")


def test_daemon_config_hint(tmp_path) -> None:
    hint = E.daemon_config_hint(Path("models/ranker.onnx"))
    assert f"  model_path: {tmp_path}/models/ranker.onnx\n" in hint  # absolute: the cwd is tmp_path
    assert "policy_mode: hybrid\nmodel:\n  enabled: true\n" in hint and "model_type: onnx" in hint
    for trap in ("--features smoothtask-core/onnx", "NO ranker", "working directory", "touch", "ranker.onnx.metadata"):
        assert trap in hint
    assert "[bold" not in hint and "[/" not in hint
    assert 'model_path: "/opt/my models/r.onnx"' in E.daemon_config_hint(Path("/opt/my models/r.onnx"))


def test_synthetic_sample_looks_like_daemon_vectors() -> None:
    X = onnx_export.synthetic_sample()
    assert X.shape == (256, 51) and X.dtype == np.float32 and np.array_equal(X, onnx_export.synthetic_sample())
    assert not X[0].any() and set(np.unique(X[:, 33:45])) == {0.0, 1.0}
    cats = X[:, 45:]
    assert cats.min() >= 0 and cats.max() <= 999 and np.array_equal(cats, np.round(cats))
    assert (X[:, :33] == 0).mean() > 0.2 and X[:, :33].max() > 1e9


def test_the_ranking_check_ignores_what_float32_cannot_tell_apart() -> None:
    import numpy as np

    from smoothtask_trainer.services.onnx_export import rank_inversions

    raw = np.array([0.1, 0.2, 13.757, 13.8216, 14.2014, 14.3279])
    # the float32 sigmoid near 1: a few ulps of noise, not an order (seen on a trained model's saturated scores)
    noisy = np.array([0.52497, 0.54983, 0.99999899, 0.99999893, 0.99999940, 0.99999934])
    assert rank_inversions(raw, noisy) == 0
    swapped = np.array([0.54983, 0.52497, 0.9, 0.95, 0.96, 0.97])  # two rows CatBoost orders the other way
    assert rank_inversions(raw, swapped) == 1
    assert rank_inversions(np.array([1.0, 1.0 + 1e-7]), np.array([0.8, 0.7])) == 0  # a raw tie: either order
