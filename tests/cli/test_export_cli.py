"""The CLI contract of `export`, and the seed's `python -m smoothtask_trainer.export_model` command and API."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import invoke as run
from tests.unit.test_export import train_ranker


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("models")
    hashed, native = out / "model.json", out / "native.cbm"
    train_ranker().save_model(str(hashed), format="json")
    train_ranker(native=True).save_model(str(native), format="cbm")
    return {"json": hashed, "native": native}


def test_export_to_onnx_prints_a_table_and_the_daemon_config(models, tmp_path) -> None:
    res = run("export", "--model", str(models["json"]), "--format", "onnx", "--output", "ranker.onnx")
    assert res.exit_code == 0, res.output
    for text in ("sha256", "features", "51", "squash", "sigmoid", "ranker.onnx.metadata.json", "checks"):
        assert text in res.stdout
    assert "policy_mode: hybrid" in res.stdout and f"model_path: {tmp_path}/ranker.onnx" in res.stdout
    assert "smoothtask-core/onnx" in res.stdout and res.stderr == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranker.onnx", "ranker.onnx.metadata.json"]


def test_json_output_parses_and_carries_the_hint(models, tmp_path) -> None:
    res = run(
        "export", "--model", str(models["json"]), "--format", "ONNX", "-o", "m.onnx", "--metadata", '{"version": "9"}',
        "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["output_format"] == "onnx" and doc["input_format"] == "json" and doc["metadata"]["version"] == "9"
    assert doc["squash"] == "sigmoid" and doc["validated"] is True and len(doc["sha256"]) == 64
    assert "model_type: onnx" in doc["daemon_config"]
    assert json.loads((tmp_path / "m.onnx.metadata.json").read_text())["artifact"]["sha256"] == doc["sha256"]


def test_quiet_prints_the_path_and_no_validate_warns(models) -> None:
    res = run("export", "--model", str(models["json"]), "--format", "cbm", "-o", "m.cbm", "-q")
    assert res.exit_code == 0 and res.stdout == "m.cbm\n"
    res = run("export", "--model", str(models["json"]), "--format", "json", "-o", "m.json", "--no-validate")
    assert res.exit_code == 0 and "skipped (--no-validate)" in res.stdout and "not reloaded" in res.stderr
    assert "policy_mode" not in res.stdout


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--metadata", "{version: 1}"], "--metadata"),
        (["--metadata", "[1, 2]"], "must be a JSON object"),
        (["--metadata", '{"dataset_size": "lots"}'], "invalid metadata (--metadata"),
        (["--format", "pmml"], "--format"),
    ],
)
def test_bad_options_exit_2(models, extra, expected) -> None:
    args = ["export", "--model", str(models["json"]), "--format", "onnx", "-o", "m.onnx", *extra]
    res = run(*args)
    assert res.exit_code == 2 and expected in res.stderr
    assert not Path("m.onnx").exists()


def test_refused_inputs(models, tmp_path) -> None:
    assert run("export", "--model", str(models["json"]), "--format", "onnx", "-o", "r.onnx").exit_code == 0
    res = run("export", "--model", "r.onnx", "--format", "json", "-o", "back.json")
    assert res.exit_code == 2 and "cannot be converted back" in res.stderr
    res = run("export", "--model", "missing.json", "--format", "onnx", "-o", "x.onnx", "--json")
    assert res.exit_code == 2 and json.loads(res.stdout)["error"]["type"] == "InputNotFoundError"
    res = run("export", "--model", str(models["json"]), "--format", "onnx", "-o", "x.json")
    assert res.exit_code == 2 and "does not end in .onnx" in res.stderr
    res = run("export", "--model", str(models["native"]), "--format", "onnx", "-o", "x.onnx")
    assert res.exit_code == 1 and "native categorical" in res.stderr and "--categorical hashed" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.onnx", "r.onnx.metadata.json"]


def test_export_is_listed_under_model() -> None:
    res = run("--help")
    assert res.exit_code == 0 and "export" in res.stdout and "Model" in res.stdout


def test_seed_module_command_and_api(models, tmp_path) -> None:
    """`python -m smoothtask_trainer.export_model` is the same command; the seed's imports work lazily."""
    cmd = [sys.executable, "-m", "smoothtask_trainer.export_model", "--model", str(models["json"])]
    res = subprocess.run(
        [*cmd, "--format", "onnx", "--output", "seed.onnx", "--metadata", '{"author": "My Team"}', "--validate"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert "policy_mode: hybrid" in res.stdout and "RuntimeWarning" not in res.stderr
    assert json.loads((tmp_path / "seed.onnx.metadata.json").read_text())["author"] == "My Team"
    code = (
        "import sys\n"
        "from smoothtask_trainer import export_model, validate_exported_model\n"
        "from smoothtask_trainer.export_model import validate_exported_model as v\n"
        "assert callable(export_model) and v is validate_exported_model\n"
        "print(sorted(m for m in ('catboost', 'onnx', 'onnxruntime', 'numpy') if m in sys.modules))\n"
        "r = v('seed.onnx', 'onnx')\n"
        "print(r['format'], r['n_features'], r['metadata']['author'])\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["[]", "onnx 51 My Team"]
