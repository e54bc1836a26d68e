"""`report` with hostile or careless input: every case a clear message before any work, nothing replaced."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.clirun import invoke

FAST = {"SMOOTHTASK_TRAIN__ITERATIONS": "8", "SMOOTHTASK_TRAIN__DEPTH": "3", "SMOOTHTASK_TRAIN__THREADS": "2"}


@pytest.fixture(scope="module")
def model(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "m.onnx"
    res = invoke("train", "--db", str(sim_store), "--model-onnx", str(path), "--model-json",
                 str(path.with_suffix(".json")), "--allow-worse-than-stub", env=FAST)  # fmt: skip
    assert res.exit_code == 0, res.output
    return path


def said(res) -> str:  # noqa: ANN001 - a typer Result
    return " ".join(res.stderr.split())


def test_an_apps_name_cannot_break_out_of_the_page(sim_store: Path, tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    shutil.copy(sim_store, db)
    with sqlite3.connect(db) as con:
        con.execute("UPDATE app_groups SET app_name = '</script><img src=x onerror=alert(1)>' || app_name")
    out = tmp_path / "r.html"
    assert invoke("report", "--db", str(db), "-o", str(out)).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "<img src=x" not in text and "</script><img" not in text
    assert "\\u003c/script\\u003e\\u003cimg" in text  # the name is there, as JSON escapes only


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_an_output_that_is_not_a_regular_file_is_refused(kind: str, sim_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    out.mkdir() if kind == "directory" else os.mkfifo(out)
    res = invoke("report", "--db", str(sim_store), "-o", str(out))
    assert res.exit_code == 2  # a directory: the option refuses it; a FIFO: "exists and is not a regular file"
    assert kind == "directory" or "is not a regular file" in said(res)
    assert out.is_dir() if kind == "directory" else not out.is_file()  # left as it was


def test_the_models_metadata_and_other_suffixes_are_refused(sim_store: Path, model: Path) -> None:
    sidecar = model.with_name(model.name + ".metadata.json")
    before = sidecar.read_bytes()
    res = invoke("report", "--db", str(sim_store), "--model", str(model), "-o", str(sidecar))
    assert res.exit_code == 2 and "never replaces an input" in said(res)
    assert sidecar.read_bytes() == before
    res = invoke("report", "--db", str(sim_store), "-o", str(model.with_name("r.txt")))
    assert res.exit_code == 2 and "HTML page" in said(res) and not model.with_name("r.txt").exists()


def test_a_missing_model_is_named(sim_store: Path, tmp_path: Path) -> None:
    res = invoke(
        "report", "--db", str(sim_store), "--model", str(tmp_path / "nope.onnx"), "-o", str(tmp_path / "r.html")
    )
    assert res.exit_code != 0 and "nope.onnx does not exist" in said(res) and "unexpected" not in said(res)


def test_thresholds_the_daemon_would_refuse_are_warned_about(sim_store: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    from smoothtask_trainer.contract.thresholds import DEFAULTS

    lines = [f"  {k}: {7.5 if k == 'psi_cpu_some_high' else v}" for k, v in DEFAULTS.items() if v is not None]
    bad.write_text("thresholds:\n" + "\n".join(lines) + "\n  bogus_key: 3\n")  # complete, but one out of range
    out = tmp_path / "r.html"
    res = invoke("report", "--db", str(sim_store), "--thresholds", str(bad), "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    warnings = json.loads(res.stdout)["warnings"]
    assert any("psi_cpu_some_high must be in" in w for w in warnings)
    assert any("unknown thresholds key bogus_key" in w for w in warnings)
    assert "bogus_key" in out.read_text(encoding="utf-8")  # on the page too
    bad.write_text('thresholds:\n  psi_io_some_high: "abc"\n')  # the wrong type: the default is drawn, and said
    res = invoke("report", "--db", str(sim_store), "--thresholds", str(bad), "-o", str(out), "--json")
    assert res.exit_code == 0 and any("'abc' is not a number" in w for w in json.loads(res.stdout)["warnings"])
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    res = invoke("report", "--db", str(sim_store), "--thresholds", str(empty), "-o", str(out))
    assert res.exit_code == 0 and "thresholds: missing" in said(res)


def test_a_daemon_config_whose_model_is_not_onnx_is_refused(sim_store: Path, model: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text(f"policy_mode: hybrid\nmodel:\n  enabled: true\n  model_path: {model.with_suffix('.json')}\n")
    res = invoke("report", "--db", str(sim_store), "--daemon-config", str(cfg), "-o", str(tmp_path / "r.html"))
    assert res.exit_code != 0 and "which is not ONNX" in said(res) and not (tmp_path / "r.html").exists()


def test_host_without_features_is_refused(sim_store: Path) -> None:
    res = invoke("replay", "--db", str(sim_store), "--host", "x", "--ranker", "stub")
    assert res.exit_code == 2 and "give --features" in said(res)


def test_a_store_of_one_snapshot_says_what_it_cannot_draw(tmp_path: Path) -> None:
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "one.db"
    write_snapshots(db, "sqlite", count=1, seed=3, scale=0.3)
    out = tmp_path / "r.html"
    res = invoke("report", "--db", str(db), "-o", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "One snapshot: no class changes" in text and "One snapshot: no class timeline" in text
