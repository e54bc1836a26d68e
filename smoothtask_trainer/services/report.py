"""`report`: one self-contained HTML page with the figures of the data, the model and the policy (no Typer or rich).

The page embeds plotly's script once and every figure as JSON, so it opens offline; sections whose input is
missing say what to run to get it. Colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies); every figure has a title, axis titles with units and a caption that states its key number.
"""

from __future__ import annotations

import html
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from smoothtask_trainer import store
from smoothtask_trainer.files import atomic_write_text
from smoothtask_trainer.schemas.report import ReportResult
from smoothtask_trainer.schemas.validate import ValidationReport
from smoothtask_trainer.services.replay_metrics import harm, session_breaks
from smoothtask_trainer.settings import DatasetSettings, PolicySettings, ValidationSettings
from smoothtask_trainer.sqlite_errors import translated

#: Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
LAYOUT = {"template": "plotly_white", "height": 360, "margin": {"l": 70, "r": 20, "t": 50, "b": 60}}


@dataclass
class Page:
    """Sections of figures and notes, rendered once at the end."""

    sections: list[tuple[str, list[str]]] = field(default_factory=list)
    figures: int = 0

    def section(self, title: str) -> list[str]:
        parts: list[str] = []
        self.sections.append((title, parts))
        return parts

    def figure(self, parts: list[str], fig: dict, caption: str) -> None:
        self.figures += 1
        div = f"fig{self.figures}"
        spec = json.dumps({"data": fig["data"], "layout": {**LAYOUT, **fig["layout"]}}, default=float)
        parts.append(
            f'<figure><div id="{div}" class="plot"></div><figcaption>{html.escape(caption)}</figcaption></figure>'
            f'<script>plots.push(Plotly.newPlot("{div}", ...(s => [s.data, s.layout, {{responsive: true, '
            f"displaylogo: false}}])({spec})));</script>"
        )

    @staticmethod
    def note(parts: list[str], text: str) -> None:
        parts.append(f'<p class="missing">{html.escape(text)}</p>')


def line_trace(x: list, y: list, name: str, colour: str) -> dict:
    """A named line over time."""
    return {"type": "scatter", "mode": "lines", "x": x, "y": y, "name": name, "line": {"color": colour}}


def axes(title: str, x: str, y: str) -> dict:
    return {"title": {"text": title}, "xaxis": {"title": {"text": x}}, "yaxis": {"title": {"text": y}}}


def _data_section(
    page: Page, con: sqlite3.Connection, db: Path, policy: PolicySettings, validation: ValidationReport | None
) -> None:
    from smoothtask_trainer.services.replay_engine import Snapshots
    from smoothtask_trainer.services.validate import validate

    parts = page.section("Data")
    rows = con.execute(
        "SELECT snapshot_id, bad_responsiveness, psi_cpu_some_avg10, psi_io_some_avg10, sched_latency_p99_ms, "
        "audio_xruns_delta FROM snapshots ORDER BY snapshot_id"
    ).fetchall()
    if not rows:
        page.note(parts, f"{db} holds no snapshots: run smoothtask-trainer collect LOGS --db {db}")
        return
    arr = np.array(rows, dtype=np.float64)
    t = arr[:, 0].astype(np.int64)
    minutes = ((t - t[0]) / 60_000.0).round(3).tolist()
    breaks = session_breaks(t)
    gaps = int(breaks[1:].sum())
    step = np.r_[np.nan, np.diff(t) / 1000.0]
    span_h = (t[-1] - t[0]) / 3.6e6
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": minutes,
                    "y": np.nan_to_num(step).tolist(),
                    "name": "interval",
                    "marker": {"color": PALETTE[0], "size": 4},
                },
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [m for m, b in zip(minutes, breaks, strict=True) if b][1:],
                    "y": step[breaks][1:].tolist(),
                    "name": "gap",
                    "marker": {"color": PALETTE[3], "size": 10, "symbol": "x"},
                },
            ],  # fmt: skip
            "layout": axes(
                "Snapshots over time: time since the previous one",
                "minutes since the first snapshot",
                "seconds since the previous snapshot",
            ),  # fmt: skip
        },
        f"{len(rows):,} snapshots over {span_h:.2f} h, {gaps} gap(s) longer than 3 polling intervals (red crosses).",
    )
    counts = {
        table: dict(con.execute(f"SELECT snapshot_id, COUNT(*) FROM {table} GROUP BY snapshot_id").fetchall())  # noqa: S608
        for table in ("app_groups", "processes")
    }
    groups = [counts["app_groups"].get(int(s), 0) for s in t]
    procs = [counts["processes"].get(int(s), 0) for s in t]
    page.figure(
        parts,
        {
            "data": [
                line_trace(minutes, procs, "processes", PALETTE[0]),
                line_trace(minutes, groups, "app groups", PALETTE[1]),
            ],  # fmt: skip
            "layout": axes("App groups and processes per snapshot", "minutes since the first snapshot", "count"),
        },
        f"Median {np.median(groups):.0f} app groups and {np.median(procs):.0f} processes per snapshot.",
    )
    nan = np.full(t.size, np.nan)
    snaps = Snapshots(t, arr[:, 2], arr[:, 3], nan, arr[:, 4], nan, arr[:, 5], nan, np.zeros(t.size, bool),
                      nan, nan, nan)  # fmt: skip
    harmed = harm(snaps, policy.harm_horizon_s, policy.harm_latency_ms)
    bad = np.nan_to_num(arr[:, 1]) > 0
    top = float(np.nanmax(np.r_[arr[:, 2:5].ravel(), 1.0]))
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "bar",
                    "x": minutes,
                    "y": np.where(bad, top, 0).tolist(),
                    "name": "bad_responsiveness",
                    "marker": {"color": "rgba(213,94,0,0.18)"},
                    "hoverinfo": "skip",
                },
                line_trace(minutes, arr[:, 2].tolist(), "PSI CPU some (%)", PALETTE[0]),
                line_trace(minutes, arr[:, 3].tolist(), "PSI IO some (%)", PALETTE[2]),
                line_trace(minutes, arr[:, 4].tolist(), "sched latency p99 (ms)", PALETTE[4]),
            ],  # fmt: skip
            "layout": {
                **axes(
                    "Pressure and scheduler latency (shaded: bad_responsiveness logged)",
                    "minutes since the first snapshot",
                    "PSI avg10 (%) / latency p99 (ms)",
                ),
                "bargap": 0,
            },  # fmt: skip
        },
        f"bad_responsiveness in {bad.mean():.0%} of snapshots; {harmed.mean():.1%} are followed within "
        f"{policy.harm_horizon_s:g} s by harm (p99 above {policy.harm_latency_ms:g} ms or xruns).",
    )
    report = validation or validate(db, ValidationSettings(), DatasetSettings())
    if report.labels:
        lab = report.labels
        page.figure(
            parts,
            {
                "data": [
                    {
                        "type": "bar",
                        "x": list(lab.distribution),
                        "y": list(lab.distribution.values()),
                        "marker": {"color": PALETTE[0]},
                    }
                ],  # fmt: skip
                "layout": axes(f"Labels ({lab.source})", "label value", "group rows"),
            },
            f"Label source {lab.source}; {lab.signal_ratio:.0%} of snapshots have labels that can rank.",
        )
    if report.features:
        feats = report.features
        dead = [f for f in feats if f.constant]
        page.figure(
            parts,
            {
                "data": [
                    {
                        "type": "bar",
                        "x": [f"{f.index} {f.name}" for f in feats],
                        "y": [f.null_ratio for f in feats],
                        "marker": {"color": [PALETTE[3] if f.constant else PALETTE[0] for f in feats]},
                    }
                ],  # fmt: skip
                "layout": {
                    **axes(
                        "NULL share of the 51 features (vermilion: constant, i.e. dead, in this store)",
                        "feature (index and name)",
                        "share of rows NULL",
                    ),
                    "height": 520,
                    "margin": {**LAYOUT["margin"], "b": 170},
                },  # fmt: skip
            },
            f"{len(dead)} of 51 features are constant here; the largest NULL share is "
            f"{max(f.null_ratio for f in feats):.0%}.",
        )


def _model_section(page: Page, model: Path | None) -> None:
    parts = page.section("Model")
    if model is None:
        page.note(parts, "No model given: train one (smoothtask-trainer train --db STORE --model-onnx M.onnx) and "
                         "pass it with the model option.")  # fmt: skip
        return
    sidecar = model.with_name(model.name + ".metadata.json")
    if not sidecar.exists():
        page.note(parts, f"{sidecar} is missing: the model's figures come from the metadata train writes beside it.")
        return
    meta = json.loads(sidecar.read_text(encoding="utf-8"))
    held = (meta.get("metrics") or {}).get("held_out") or {}
    if held:
        ks = ["ndcg@1", "ndcg@3", "ndcg@5", "ndcg@10"]
        names = {"model": "model", "stub_ranker": "daemon stub ranker", "random": "random order"}
        data = [
            {"type": "bar", "name": names[k], "x": ks, "y": [held[k].get(x) for x in ks],
             "marker": {"color": PALETTE[i]}}
            for i, k in enumerate(names) if k in held
        ]  # fmt: skip
        page.figure(
            parts,
            {
                "data": data,
                "layout": {**axes("Held-out NDCG", "cut-off", "NDCG (1 = ideal order)"), "barmode": "group"},
            },
            f"Held-out NDCG@5: model {held['model']['ndcg@5']:.4f} vs the daemon's stub ranker "
            f"{held['stub_ranker']['ndcg@5']:.4f} ({meta.get('label_source')} labels, best iteration "
            f"{meta['metrics'].get('best_iteration')}).",
        )
    else:
        page.note(parts, "The model's metadata holds no held-out figures (trained without a held-out window).")
    focus = (meta.get("metrics") or {}).get("future_focus") or {}
    if focus.get("model") is not None:
        names = ["model", "stub_ranker", "random"]
        page.figure(
            parts,
            {
                "data": [
                    {
                        "type": "bar",
                        "x": ["model", "daemon stub ranker", "random order"],
                        "y": [focus[n] for n in names],
                        "marker": {"color": list(PALETTE[:3])},
                    }
                ],  # fmt: skip
                "layout": axes("Future focus (label-free): NDCG@5 of the next focused app", "ranking", "NDCG@5"),
            },
            f"Over {focus['judging_snapshots']} judging snapshots: model {focus['model']:.4f}, stub "
            f"{focus['stub_ranker']:.4f}.",
        )
    elif focus:
        page.note(parts, f"No future-focus figure: {focus.get('reason')}")


STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:1200px;margin:auto;padding:1em;color:#222}"
    "figure{margin:1.5em 0}.plot{min-height:360px}figcaption{font-size:.95em;color:#333}"
    ".missing{background:#fff4e0;padding:.6em;border-left:4px solid #E69F00}h2{border-bottom:1px solid #ccc}"
)


#: The page checks itself: every figure's promise resolved (`data-rendered` on <body> counts them) or the first
#: script error (`data-render-error`), so a browser, or a test driving one, can tell a finished page from a broken one.
WATCH = (
    "<script>const plots = []; window.addEventListener('error', e => "
    "document.body.setAttribute('data-render-error', String(e.message)));</script>"
)
DONE = (
    "<script>Promise.all(plots).then(p => document.body.setAttribute('data-rendered', String(p.length)))"
    ".catch(e => document.body.setAttribute('data-render-error', String(e)));</script>"
)


def render(page: Page, title: str) -> str:
    from plotly.offline import get_plotlyjs

    body = "".join(f"<h2>{html.escape(t)}</h2>{''.join(parts)}" for t, parts in page.sections)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{STYLE}</style><script>{get_plotlyjs()}</script>{WATCH}</head><body><h1>{html.escape(title)}</h1>"
        f"{body}{DONE}</body></html>"
    )


def report(
    db: str | Path,
    output: str | Path,
    model: str | Path | None = None,
    validation: ValidationReport | None = None,
    thresholds: str | Path | None = None,
    policy: PolicySettings | None = None,
) -> ReportResult:
    """Write the report of a store (and a model) to `output`, atomically. `validation`: the store's report from
    `validate`, when the caller has it (the pipeline), to skip a second pass over the store. `thresholds`: a
    daemon YAML (or `tune`'s output) whose thresholds the policy section compares with the daemon's defaults.
    `policy`: the harm definition and the CPU count of the logging machine (`[policy]` settings)."""
    from smoothtask_trainer.files import refuse_same_files

    started = time.perf_counter()
    db, out = Path(db), Path(output)
    policy = policy or PolicySettings()
    inputs = [("store", db), ("model", model), ("thresholds", thresholds)]
    refuse_same_files([(role, Path(p)) for role, p in inputs if p is not None], [("report", out)])
    page = Page()
    con = store.open_readonly(db)
    try:
        with translated(db, "reading"):
            _data_section(page, con, db, policy, validation)
    finally:
        con.close()
    _model_section(page, Path(model) if model else None)
    from smoothtask_trainer.services.report_policy import policy_section

    policy_section(page, db, Path(model) if model else None, Path(thresholds) if thresholds else None, policy)
    text = render(page, f"SmoothTask trainer report: {db.name}")
    atomic_write_text(out, text)
    return ReportResult(
        output=str(out), figures=page.figures, bytes_written=out.stat().st_size,
        seconds=round(time.perf_counter() - started, 3),
    )  # fmt: skip
