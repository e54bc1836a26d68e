"""`report`: one self-contained HTML page; figures plotly accepts; sections without input say what to run."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.clirun import invoke

SPEC = re.compile(r"plots\.push\(Plotly\.newPlot\(\"(fig\d+)\", \.\.\.\(s => \[s\.data, s\.layout, \{responsive: true, "
                  r"displaylogo: false\}\]\)\((\{.*?\})\)\)\);</script>", re.S)  # fmt: skip


def test_a_self_contained_page_with_valid_figures(sim_store: Path, tmp_path: Path) -> None:
    import plotly.graph_objects as go

    out = tmp_path / "sub" / "report.html"
    res = invoke("report", "--db", str(sim_store), "--output", str(out), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    text = out.read_text(encoding="utf-8")
    assert doc["figures"] >= 5 and doc["bytes_written"] == out.stat().st_size < 10_000_000
    assert "<script src" not in text and "<link" not in text  # every script and style inside the file
    assert text.count("Plotly.newPlot(") == doc["figures"]
    specs = SPEC.findall(text)
    assert len(specs) == doc["figures"]
    for div, spec in specs:
        fig = json.loads(spec)
        go.Figure(data=fig["data"], layout=fig["layout"])  # plotly's own validation of every property
        assert fig["layout"]["title"]["text"] and fig["layout"]["xaxis"]["title"]["text"], div
    assert "No model given" in text  # the model section says what to run
    assert text.count("<figcaption>") == doc["figures"]


def test_never_writes_over_its_input(sim_store: Path) -> None:
    before = sim_store.stat().st_mtime_ns
    res = invoke("report", "--db", str(sim_store), "--output", str(sim_store))
    assert res.exit_code == 2 and "never replaces an input" in " ".join(res.stderr.split())
    assert sim_store.stat().st_mtime_ns == before


def test_a_model_without_its_metadata_is_named(sim_store: Path, tmp_path: Path) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(b"not read")
    out = tmp_path / "r.html"
    assert invoke("report", "--db", str(sim_store), "--model", str(model), "-o", str(out)).exit_code == 0
    assert "m.onnx.metadata.json is missing" in out.read_text(encoding="utf-8")


def test_the_policy_section_compares_the_thresholds_with_the_defaults(sim_store: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain.html"
    assert invoke("report", "--db", str(sim_store), "-o", str(plain)).exit_code == 0
    assert "No thresholds given: tune them" in plain.read_text(encoding="utf-8")
    cfg = tmp_path / "t.yml"
    cfg.write_text("thresholds:\n  normal_percentile: 0.05\n  background_percentile: 0.0\n", encoding="utf-8")
    out = tmp_path / "policy.html"
    res = invoke("report", "--db", str(sim_store), "--thresholds", str(cfg), "-o", str(out), "--json")
    assert res.exit_code == 0, res.output
    text = out.read_text(encoding="utf-8")
    assert "Class mix of all app groups" in text and "Churn: class changes per group-hour" in text
    # the caption states the shift the thresholds make: fewer groups below NORMAL than with the defaults
    caption = re.search(r"decisions \(stub ranker, \d+ CPUs\): ([^<]*)</figcaption>", text)
    assert caption is not None and "NORMAL" in caption.group(1)
    assert json.loads(res.stdout)["figures"] > json.loads(invoke("report", "--db", str(sim_store), "-o",
                                                                  str(plain), "--json").stdout)["figures"]  # fmt: skip
