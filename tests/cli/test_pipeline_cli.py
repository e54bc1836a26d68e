"""The CLI contract of `pipeline`: steps, stores, gates, --json, --demo."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from smoothtask_trainer.cli import expand_multi_value_options
from tests.clirun import invoke

FAST = {"SMOOTHTASK_TRAIN__ITERATIONS": "10", "SMOOTHTASK_TRAIN__DEPTH": "3", "SMOOTHTASK_TRAIN__THREADS": "2"}


def run(*args: str, env: dict[str, str] | None = None):
    return invoke(*args, env={**FAST, **(env or {})})


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    from smoothtask_trainer.simulator import write_snapshots

    d = tmp_path_factory.mktemp("logs")
    a, b = d / "a.jsonl", d / "b.jsonl.gz"
    write_snapshots(a, "jsonl", count=40, seed=1, scale=0.4)
    write_snapshots(b, "jsonl", count=40, seed=2, scale=0.4, start=datetime(2025, 12, 13, tzinfo=UTC))
    return a, b


def test_snapshots_to_models_with_the_default_store_beside_the_model(logs, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = run(
        "pipeline",
        "--snapshots",
        str(logs[0]),
        str(logs[1]),
        "--model-json",
        str(out / "m.json"),
        "--model-onnx",
        str(out / "m.onnx"),
        "--json",
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [s["name"] for s in doc["steps"]] == ["collect", "validate", "train", "report"]
    assert doc["steps"][3]["outputs"] == [str(out / "report.html")] and (out / "report.html").stat().st_size > 0
    assert all(s["status"] == "ok" for s in doc["steps"])
    assert doc["store"] == str(out / "smoothtask-store.db") and doc["store_kind"] == "default" and doc["store_kept"]
    assert doc["collect"]["inserted"]["snapshots"] == 80
    assert doc["steps"][2]["outputs"] == [str(out / "m.json"), str(out / "m.onnx")]
    assert (out / "m.onnx").exists() and (out / "m.onnx.metadata.json").exists()
    assert res.stderr == ""  # under --json the step lines are silenced: the document alone, on stdout
    (out / "report.html").unlink()
    again = run("pipeline", "--snapshots", str(logs[0]), "--model-json", str(out / "m.json"), "--no-report", "--json")
    doc = json.loads(again.stdout)
    assert doc["collect"]["files"][0]["status"] == "already-ingested"
    assert "report" not in [s["name"] for s in doc["steps"]] and not (out / "report.html").exists()


def test_temporary_store_is_removed_and_user_stores_are_never_touched(logs, tmp_path: Path) -> None:
    res = run(
        "pipeline", "--snapshots", str(logs[0]), "--use-temp-db", "--model-cbm", str(tmp_path / "m.cbm"), "--json"
    )
    doc = json.loads(res.stdout)
    assert doc["store_kind"] == "temporary" and not doc["store_kept"] and not Path(doc["store"]).exists()
    kept = run(
        "pipeline",
        "--snapshots",
        str(logs[0]),
        "--use-temp-db",
        "--keep-store",
        "--model-cbm",
        str(tmp_path / "k.cbm"),
        "--json",
    )
    kept_store = Path(json.loads(kept.stdout)["store"])
    assert kept_store.exists()
    shutil.rmtree(kept_store.parent)  # the test's own clean-up of the store it asked to keep
    store = tmp_path / "mine.db"
    run("pipeline", "--snapshots", str(logs[0]), "--store", str(store), "--model-cbm", str(tmp_path / "s.cbm"))
    before = store.read_bytes()
    res = run("pipeline", "--db", str(store), "--model-cbm", str(tmp_path / "d.cbm"), "--json")
    assert res.exit_code == 0 and json.loads(res.stdout)["store_kind"] == "given"
    assert store.read_bytes() == before and [s["name"] for s in json.loads(res.stdout)["steps"]] == [
        "validate",
        "train",
        "report",
    ]


def test_failed_gate_stops_before_training_with_exit_3(logs, tmp_path: Path) -> None:
    res = run(
        "pipeline",
        "--snapshots",
        str(logs[0]),
        "--use-temp-db",
        "--model-json",
        str(tmp_path / "m.json"),
        "--min-snapshots",
        "1000",
        "--json",
    )
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    assert [(s["name"], s["status"]) for s in doc["steps"]] == [
        ("collect", "ok"),
        ("validate", "failed"),
        ("train", "skipped"),
    ]
    assert doc["validation"]["ok"] is False and not (tmp_path / "m.json").exists()
    assert "min_snapshots" in res.stderr


def test_usage_errors_exit_2(logs, tmp_path: Path) -> None:
    m = ["--model-json", str(tmp_path / "m.json")]
    assert run("pipeline", *m).exit_code == 2  # neither --snapshots nor --db
    assert run("pipeline", "--snapshots", str(logs[0]), "--db", "x.db", *m).exit_code == 2
    assert run("pipeline", "--snapshots", str(logs[0]), "--store", "s.db", "--use-temp-db", *m).exit_code == 2
    assert run("pipeline", "--snapshots", str(logs[0])).exit_code == 2  # no output
    assert run("pipeline", "--out-dir", str(tmp_path), *m, "--db", "x.db").exit_code == 2
    assert run("pipeline", "--demo", "--db", "x.db").exit_code == 2
    res = run("pipeline", "--demo", "--out-dir", str(tmp_path / "d"), *m)
    assert res.exit_code == 2 and "--out-dir" in res.stderr
    assert not list(tmp_path.glob("*.db"))


@pytest.mark.slow
def test_demo(demo) -> None:
    # exactly the README's demo, with the default training settings: it must pass train's gates as it is
    res, out = demo
    tmp_path = out.parent
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "against the combined labels it learnt" in text  # trained without the teacher columns
    assert "Against the simulator's ground truth" in text and "Future focus (label-free" in text
    assert (tmp_path / "demo" / "report.html").exists() and f"Report: {tmp_path / 'demo' / 'report.html'}" in text
    for fmt in ("onnx", "json", "cbm"):
        assert (tmp_path / "demo" / f"model.{fmt}").exists()
    assert "policy_mode: hybrid" in res.stdout and str(tmp_path / "demo" / "model.onnx") in res.stdout
    assert not list(tmp_path.glob("**/*.db")), "the demo's store was temporary"
    assert (tmp_path / "demo" / "model.thresholds.yml").exists() and "held out" in res.stdout  # it tunes too


def test_the_demo_replays_with_the_simulated_machines_cpu_count() -> None:
    from smoothtask_trainer.services.demo import demo_settings
    from smoothtask_trainer.settings import TrainerSettings
    from smoothtask_trainer.simulator.system import NCPU

    assert demo_settings(TrainerSettings()).policy.ncpu == NCPU
    mine = TrainerSettings(policy={"ncpu": 3})
    assert demo_settings(mine).policy.ncpu == 3  # the user's choice wins


def test_several_values_after_one_flag() -> None:
    argv = ["pipeline", "--snapshots", "a", "b.gz", "-", "--model-json", "m.json", "--snapshots", "c"]
    assert expand_multi_value_options(argv) == [
        "pipeline",
        "--snapshots",
        "a",
        "--snapshots",
        "b.gz",
        "--snapshots",
        "-",
        "--model-json",
        "m.json",
        "--snapshots",
        "c",
    ]


def test_refuses_an_unwritable_output_before_collecting(logs, tmp_path: Path) -> None:
    (tmp_path / "dir.json").mkdir()
    res = run("pipeline", "--snapshots", str(logs[0]), "--model-json", str(tmp_path / "dir.json"))
    assert res.exit_code == 2 and not (tmp_path / "smoothtask-store.db").exists()


def test_pipeline_tune_writes_the_thresholds_beside_the_model(logs, tmp_path: Path) -> None:
    onnx = tmp_path / "m.onnx"
    env = {"SMOOTHTASK_POLICY__TRIALS": "5", "SMOOTHTASK_POLICY__NCPU": "2"}
    res = run(
        "pipeline",
        "--snapshots",
        str(logs[0]),
        "--use-temp-db",
        "--model-onnx",
        str(onnx),
        "--tune",
        "--allow-worse-than-stub",
        "--json",
        env=env,
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["tune"]["output"] == str(tmp_path / "m.thresholds.yml") and (tmp_path / "m.thresholds.yml").is_file()
    assert [s["name"] for s in doc["steps"]][-2:] == ["tune", "report"]  # the report shows the tuned run
    res = run(
        "pipeline", "--snapshots", str(logs[0]), "--use-temp-db", "--model-json", str(tmp_path / "m.json"), "--tune"
    )
    assert res.exit_code == 2 and "--model-onnx" in res.stderr
