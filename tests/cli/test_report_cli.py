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
