"""The label-free future-focus evaluation on the command line: train (and its gate), validate, replay, pipeline."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from smoothtask_trainer.services.artifacts import sidecar_path
from tests.clirun import invoke
from tests.focus_stores import HORIZON, focus_cycle_store, no_focus_store

TINY = ("--iterations", "30", "--depth", "3", "--threads", "2", "--attention-horizon-s", HORIZON)
LOST = "by future focus, no labels: NDCG@5 model 0.5000, stub ranker 0.7103"


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("focus")
    return {
        "wins": focus_cycle_store(d / "wins.db", next_first=True),  # labels that see the next app coming
        "loses": focus_cycle_store(d / "loses.db", next_first=False),  # labels that rank it last
        "short": focus_cycle_store(d / "short.db", 60),  # 12 held-out snapshots: too few to judge by focus
        "none": no_focus_store(d / "none.db"),
    }


def test_a_model_that_beats_the_stub_on_both_measures_is_written_with_both(stores, tmp_path: Path) -> None:
    res = invoke("train", "--db", str(stores["wins"]), "--model-json", str(tmp_path / "m.json"), *TINY, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    f = doc["focus"]
    assert doc["ok"] and not doc["warnings"] and doc["better_than_stub_by"] == {"labels": True, "future_focus": True}
    assert f["snapshots"] == doc["eval"]["queries"] == 30 and f["judging_snapshots"] == 28 and f["horizon_s"] == 2
    # the audio server is ranked above the next app (its label says so): the focus measure does not count it
    assert f["model"] == 1.0 > f["stub_ranker"] == f["random"] and f["reason"] is None
    meta = json.loads(sidecar_path(tmp_path / "m.json").read_text())["metrics"]
    assert meta["future_focus"] == f and meta["held_out"] == doc["metrics"]
    assert meta["better_than_stub_ranker"] is True and meta["better_than_stub_ranker_by"]["future_focus"] is True
    human = invoke("train", "--db", str(stores["wins"]), "--model-json", str(tmp_path / "h.json"), *TINY)
    text = " ".join(human.stdout.split())
    assert "Future focus (label-free, next 2 s, the held-out latest 20% of snapshots): NDCG@5 model 1.0000" in text
    assert "NOT better" not in text


def test_a_model_that_loses_on_future_focus_is_refused_though_it_wins_by_its_labels(stores, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    res = invoke("train", "--db", str(stores["loses"]), "--model-onnx", str(out), *TINY)
    assert res.exit_code == 3 and not out.exists() and not sidecar_path(out).exists()
    err = " ".join(res.stderr.split())
    assert "not better than the daemon's stub ranker" in err and LOST in err, err
    assert "it does beat it by the labels: NDCG@5 model 1.0000" in err and "--allow-worse-than-stub" in err
    doc = json.loads(invoke("train", "--db", str(stores["loses"]), "--model-onnx", str(out), *TINY, "--json").stdout)
    assert doc["ok"] is False and doc["artifacts"] == [] and not out.exists()
    assert doc["better_than_stub_by"] == {"labels": True, "future_focus": False}
    assert doc["focus"]["model"] == 0.5 < doc["focus"]["stub_ranker"] and any(LOST in w for w in doc["warnings"])


def test_allowed_it_is_written_and_flagged_everywhere(stores, tmp_path: Path) -> None:
    out = tmp_path / "m.onnx"
    res = invoke("train", "--db", str(stores["loses"]), "--model-onnx", str(out), *TINY, "--allow-worse-than-stub")
    assert res.exit_code == 0 and out.is_file(), res.output
    text = " ".join(res.stdout.split())
    assert "This model is NOT better than the daemon's stub ranker on the held-out snapshots:" in text
    assert f"{LOST} (not better)" in text and "by the labels: NDCG@5 model 1.0000" in text
    assert "warning: the model is not better" in res.stderr and "NOT ready for the daemon" in res.stderr
    meta = json.loads(sidecar_path(out).read_text())["metrics"]
    assert meta["better_than_stub_ranker"] is False and meta["future_focus"]["model"] == 0.5
    assert meta["better_than_stub_ranker_by"] == {"labels": True, "future_focus": False}


def test_too_few_judging_snapshots_leave_the_gate_to_the_labels_and_say_so(stores, tmp_path: Path) -> None:
    res = invoke("train", "--db", str(stores["short"]), "--model-json", str(tmp_path / "m.json"), *TINY, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["better_than_stub_by"] == {"labels": True, "future_focus": None}
    assert doc["focus"]["model"] is None and "a figure needs at least 20" in doc["focus"]["reason"]
    meta = json.loads(sidecar_path(tmp_path / "m.json").read_text())["metrics"]
    assert meta["better_than_stub_ranker"] is True and meta["better_than_stub_ranker_by"]["future_focus"] is None


def test_validate_shows_the_stub_ranker_against_random_or_that_the_log_has_no_focus(stores) -> None:
    doc = json.loads(invoke("validate", "--db", str(stores["wins"]), "--attention-horizon-s", HORIZON, "--json").stdout)
    f = doc["focus"]
    assert f["snapshots"] == 150 and f["judging_snapshots"] == 148 and f["candidates_per_snapshot"] == 3
    assert f["model"] is None and f["stub_ranker"] == f["random"] == 0.71031
    res = invoke("validate", "--db", str(stores["none"]))
    text = " ".join(res.stdout.split())
    assert "Future focus (label-free, next 120 s, every snapshot of the dataset window): no figure" in text
    assert "this log carries no focus information" in text
    doc = json.loads(invoke("validate", "--db", str(stores["none"]), "--json").stdout)
    assert doc["focus"]["stub_ranker"] is None and doc["focus"]["snapshots_with_focus"] == 0


def test_replay_judges_the_replayed_model_over_the_whole_store(stores, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    assert invoke("train", "--db", str(stores["wins"]), "--model-onnx", str(model), *TINY).exit_code == 0
    args = ("replay", "--db", str(stores["wins"]), "--ncpu", "4", "--attention-horizon-s", HORIZON)
    f = json.loads(invoke(*args, "--model", str(model), "--json").stdout)["focus"]
    assert f["window"] == "the whole store, no held-out split" and f["judging_snapshots"] == 148
    assert f["model"] == 1.0 > f["stub_ranker"] == f["random"]
    stub = json.loads(invoke(*args, "--ranker", "stub", "--against-model", str(model), "--json").stdout)
    assert stub["focus"]["model"] is None and stub["focus"]["stub_ranker"] == f["stub_ranker"]
    assert stub["against"]["focus"]["model"] == 1.0  # the second policy's model is judged the same way
    text = " ".join(invoke(*args, "--model", str(model)).stdout.split())
    assert "Future focus (label-free, next 2 s, the whole store, no held-out split): NDCG@5 model 1.0000" in text


def test_pipeline_shows_the_focus_figure_next_to_the_label_ndcg(stores, tmp_path: Path) -> None:
    args = ("pipeline", "--db", str(stores["wins"]), "--model-json", str(tmp_path / "m.json"), *TINY)
    res = invoke(*args)
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "Held-out NDCG@5 against the teacher_score labels it learnt: model 1.0000" in text
    assert "Future focus (label-free, next 2 s" in text
    assert text.index("Held-out NDCG@5") < text.index("Future focus") and "NDCG@5 model 1.0000, daemon stub" in text
    doc = json.loads(invoke(*args, "--json").stdout)
    train_step = next(s for s in doc["steps"] if s["name"] == "train")
    assert train_step["figures"]["focus_ndcg@5"] == 1.0 and train_step["figures"]["stub_focus_ndcg@5"] == 0.71031
    refused = invoke("pipeline", "--db", str(stores["loses"]), "--model-json", str(tmp_path / "l.json"), *TINY)
    assert refused.exit_code == 3 and LOST in " ".join(refused.stderr.split()) and not (tmp_path / "l.json").exists()
