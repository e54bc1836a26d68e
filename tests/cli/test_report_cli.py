"""`report` and `--report`: one self-contained HTML page; figures plotly accepts; sections without input say what to
run; every section of the issue drawn from a store, a trained model and tuned thresholds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from tests.clirun import invoke

SPEC = re.compile(r"plots\.push\(Plotly\.newPlot\(\"(fig\d+)\", \.\.\.\(s => \[s\.data, s\.layout, \{responsive: true, "
                  r"displaylogo: false\}\]\)\((\{.*?\})\)\)\);</script>", re.S)  # fmt: skip
FAST = {"SMOOTHTASK_TRAIN__ITERATIONS": "12", "SMOOTHTASK_TRAIN__DEPTH": "3", "SMOOTHTASK_TRAIN__THREADS": "2"}


def figures(text: str) -> dict[str, dict]:
    """Every figure's spec by its title, each validated by plotly itself."""
    import plotly.graph_objects as go

    out = {}
    for div, spec in SPEC.findall(text):
        fig = json.loads(spec)
        go.Figure(data=fig["data"], layout=fig["layout"])  # plotly's own validation of every property
        title = fig["layout"]["title"]["text"]
        assert title and fig["layout"]["xaxis"]["title"]["text"], div
        out[title] = fig
    return out


@pytest.fixture(scope="module")
def trained(sim_store: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A model (ONNX, with its metadata) and tuned thresholds for the shared simulated store."""
    d = tmp_path_factory.mktemp("trained")
    model, tuned = d / "m.onnx", d / "t.yml"
    res = invoke("train", "--db", str(sim_store), "--model-onnx", str(model), "--allow-worse-than-stub", env=FAST)
    assert res.exit_code == 0, res.output
    res = invoke("tune", "--db", str(sim_store), "--model", str(model), "--output", str(tuned), "--trials", "5")
    assert res.exit_code == 0, res.output
    return model, tuned


def test_a_self_contained_page_with_valid_figures(sim_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.html"
    res = invoke("report", "--db", str(sim_store), "--output", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    text = out.read_text(encoding="utf-8")
    assert doc["figures"] >= 5 and doc["bytes_written"] == out.stat().st_size < 10_000_000
    assert "<script src" not in text and "<link" not in text  # every script and style inside the file
    assert text.count("Plotly.newPlot(") == doc["figures"] == len(SPEC.findall(text))
    figures(text)
    assert "No model given" in text and "No thresholds given" in text  # each section says what to run
    assert "No ONNX model given" in text
    assert text.count("<figcaption>") == doc["figures"]


def test_every_section_with_a_model_and_tuned_thresholds(sim_store: Path, trained, tmp_path: Path) -> None:
    model, tuned = trained
    out = tmp_path / "full.html"
    res = invoke("report", "--db", str(sim_store), "--model", str(model), "--thresholds", str(tuned), "-o", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    for anchor in ("data", "model", "policy", "daemon-config"):
        assert f'<section id="{anchor}">' in text
    titles = figures(text)
    wanted = (
        "Learning curve", "Held-out NDCG", "features by importance", "Held-out scores per label class", "Class mix",
        "Hysteresis", "Replayed classes", "Class timeline", "Snapshots over time", "NULL share",
    )  # fmt: skip
    for word in wanted:
        assert any(word in t for t in titles), (word, list(titles))
    assert "model_path:" in text and "thresholds:" in text  # the daemon YAML and the tuned block
    meta = json.loads(model.with_name(model.name + ".metadata.json").read_text(encoding="utf-8"))
    curve = next(f for t, f in titles.items() if t.startswith("Learning curve"))
    assert curve["data"][0]["y"] == meta["figures"]["learning_curve"]["held_out"]
    mix = next(f for t, f in titles.items() if t.startswith("Class mix"))
    assert [tr["name"] for tr in mix["data"]] == ["daemon defaults", "t.yml"]
    assert all(abs(sum(tr["y"]) - 1) < 1e-9 for tr in mix["data"])  # shares of all decisions


def test_the_policy_figures_follow_the_thresholds(sim_store: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "t.yml"
    cfg.write_text("thresholds:\n  normal_percentile: 0.05\n  background_percentile: 0.0\n", encoding="utf-8")
    out = tmp_path / "policy.html"
    res = invoke("report", "--db", str(sim_store), "--thresholds", str(cfg), "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    caption = re.search(r"decisions \(daemon stub ranker, \d+ CPUs\): ([^<]*)</figcaption>", text)
    assert caption is not None
    shares = dict(re.findall(r"(\w+) (\d+% → \d+%)", caption.group(1)))
    before, after = (int(x.rstrip("%")) for x in shares["BACKGROUND"].split(" → "))
    assert after < before  # a lower background cut-off puts fewer groups in BACKGROUND


def test_a_daemon_config_gives_the_thresholds_and_excludes_thresholds(sim_store: Path, trained, tmp_path) -> None:
    model, tuned = trained
    cfg = tmp_path / "smoothtask.yml"
    cfg.write_text(f"policy_mode: hybrid\nmodel:\n  enabled: true\n  model_path: {model}\n" + tuned.read_text(),
                   encoding="utf-8")  # fmt: skip
    out = tmp_path / "r.html"
    res = invoke("report", "--db", str(sim_store), "--daemon-config", str(cfg), "-o", str(out))
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "decisions (model, " in text and "smoothtask.yml" in text  # the config's model ranks
    both = invoke("report", "--db", str(sim_store), "--daemon-config", str(cfg), "--thresholds", str(tuned), "-o",
                  str(tmp_path / "x.html"))  # fmt: skip
    assert both.exit_code == 2 and not (tmp_path / "x.html").exists()


def test_never_writes_over_its_input(sim_store: Path) -> None:
    before = sim_store.stat().st_mtime_ns
    res = invoke("report", "--db", str(sim_store), "--output", str(sim_store))
    assert res.exit_code == 2 and "never replaces an input" in " ".join(res.stderr.split())
    assert sim_store.stat().st_mtime_ns == before


def test_a_model_without_its_metadata_is_named(sim_store: Path, trained, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    shutil.copy(trained[0], model)
    out = tmp_path / "r.html"
    assert invoke("report", "--db", str(sim_store), "--model", str(model), "-o", str(out)).exit_code == 0
    assert "m.onnx.metadata.json is missing" in out.read_text(encoding="utf-8")


def test_a_file_that_is_not_a_model_is_a_clear_error(sim_store: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not a model")
    out = tmp_path / "r.html"
    res = invoke("report", "--db", str(sim_store), "--model", str(model), "-o", str(out))
    assert res.exit_code != 0 and "is not an ONNX model" in " ".join(res.stderr.split())
    assert "Traceback" not in res.output and not out.exists()


def test_train_replay_and_tune_write_their_part(sim_store: Path, trained, tmp_path: Path) -> None:
    model, tuned = trained
    page = tmp_path / "train.html"
    res = invoke("train", "--db", str(sim_store), "--model-onnx", str(tmp_path / "m.onnx"), "--allow-worse-than-stub",
                 "--report", str(page), "--json", env=FAST)  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["report"] == str(page)
    text = page.read_text(encoding="utf-8")
    assert '<section id="model">' in text and '<section id="policy">' not in text and "Learning curve" in text
    page = tmp_path / "replay.html"
    res = invoke("replay", "--db", str(sim_store), "--model", str(model), "--daemon-config", str(tuned), "--report",
                 str(page), "--json")  # fmt: skip
    assert res.exit_code == 0 and json.loads(res.stdout)["report"] == str(page)
    text = page.read_text(encoding="utf-8")
    assert '<section id="policy">' in text and '<section id="model">' not in text and "t.yml" in text
    page, out = tmp_path / "tune.html", tmp_path / "tuned.yml"
    res = invoke("tune", "--db", str(sim_store), "--model", str(model), "--output", str(out), "--trials", "5",
                 "--report", str(page), "--json")  # fmt: skip
    assert res.exit_code == 0 and json.loads(res.stdout)["report"] == str(page)
    text = page.read_text(encoding="utf-8")
    assert "on the tuning window" in text and "tuned.yml" in text and "model_path:" in text


@pytest.mark.parametrize("command", ["train", "replay", "tune"])
def test_a_report_over_an_input_or_not_html_is_refused_before_the_work(command, sim_store: Path, tmp_path) -> None:
    extra = {"train": ["--model-onnx", str(tmp_path / "m.onnx")], "replay": ["--ranker", "stub"],
             "tune": ["--ranker", "stub", "--output", str(tmp_path / "t.yml")]}[command]  # fmt: skip
    before = sim_store.stat().st_mtime_ns
    res = invoke(command, "--db", str(sim_store), *extra, "--report", str(sim_store))
    assert res.exit_code == 2 and "never replaces an input" in " ".join(res.stderr.split())
    res = invoke(command, "--db", str(sim_store), *extra, "--report", str(tmp_path / "r.txt"))
    assert res.exit_code == 2 and "HTML" in res.stderr
    assert sim_store.stat().st_mtime_ns == before
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "t.yml").exists()  # nothing was done


def test_scores_from_the_pipelines_dataset_equal_the_replays(sim_store: Path, trained) -> None:
    import numpy as np

    from smoothtask_trainer import store
    from smoothtask_trainer.services import replay_load
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    con = store.open_readonly(sim_store)
    try:
        g, s, _ = replay_load.load(con)
    finally:
        con.close()
    ds = build_dataset(sim_store, DatasetSettings(labels="combined"))
    assert ds.unlabeled is not None and ds.unlabeled[0].shape[0] > 0  # rows without a label: scored all the same
    built = replay_load.model_scores(sim_store, trained[0], g, s)
    reused = replay_load.model_scores(sim_store, trained[0], g, s, ds)
    assert not np.isnan(built).any() and np.array_equal(built, reused)
