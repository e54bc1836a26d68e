"""The report's model section, drawn from the metadata `train` writes beside the model (no Typer or rich).

The learning curve, held-out NDCG against the daemon's stub ranker and random order, the label-free future-focus
figure, the top features by importance and the spread of the scores over each label class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smoothtask_trainer.services.report_page import LAYOUT, PALETTE, Page, axes

#: How many features the importance figure shows.
TOP_FEATURES = 20
_RETRAIN = "retrain with this version of smoothtask-trainer to record it"


def model_section(page: Page, model: Path | None) -> None:
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
    figures = meta.get("figures") or {}
    _learning_curve(page, parts, figures.get("learning_curve"))
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
                "layout": {
                    **axes(
                        "Held-out NDCG (blue: model; orange: daemon stub ranker; green: random order)",
                        "cut-off",
                        "NDCG (1 = ideal order)",
                    ),
                    "barmode": "group",
                },  # fmt: skip
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
    _importance(page, parts, figures.get("feature_importance"))
    _score_spread(page, parts, figures.get("score_spread"), meta.get("label_source"))


def _learning_curve(page: Page, parts: list[str], curve: dict[str, Any] | None) -> None:
    if not curve:
        page.note(
            parts, f"No learning curve in the model's metadata (nothing held out, or an older model): {_RETRAIN}."
        )
        return
    held, best = curve["held_out"], curve.get("best_iteration")
    x = list(range(len(held)))
    data = [{"type": "scatter", "mode": "lines", "x": x, "y": held, "name": "held out", "line": {"color": PALETTE[0]}}]
    if curve.get("learn"):
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": curve["learn"], "name": "training",
                     "line": {"color": PALETTE[1], "dash": "dot"}})  # fmt: skip
    layout = axes(
        f"Learning curve: {curve['metric']} per iteration (solid: held out"
        + ("; dotted: training" if curve.get("learn") else "") + ")",
        "iteration (trees)",
        curve["metric"],
    )  # fmt: skip
    if best is not None:
        data.append({"type": "scatter", "mode": "markers+text", "x": [best], "y": [held[best]], "name": "best",
                     "text": [f"best: iteration {best}"], "textposition": "bottom right",
                     "marker": {"color": PALETTE[3], "size": 11, "symbol": "diamond"}})  # fmt: skip
        layout["shapes"] = [{"type": "line", "x0": best, "x1": best, "yref": "paper", "y0": 0, "y1": 1,
                             "line": {"color": PALETTE[3], "dash": "dash", "width": 1}}]  # fmt: skip
    stopped = len(held) - 1
    page.figure(
        parts,
        {"data": data, "layout": layout},
        f"Held-out {curve['metric']} {held[0]:.4f} after the first tree, best {max(held):.4f} at iteration {best}; "
        f"training stopped after {stopped + 1} iterations"
        + (f" (kept {best + 1} trees)." if best is not None else "."),
    )


def _importance(page: Page, parts: list[str], ranked: list[list[Any]] | None) -> None:
    if not ranked:
        page.note(parts, f"No feature importances in the model's metadata: {_RETRAIN}.")
        return
    top = ranked[:TOP_FEATURES][::-1]  # largest at the top of a horizontal bar chart
    zero = sum(1 for _, v in ranked if v <= 0)
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "bar",
                    "orientation": "h",
                    "y": [n for n, _ in top],
                    "x": [v for _, v in top],
                    "marker": {"color": PALETTE[0]},
                }
            ],  # fmt: skip
            "layout": {
                **axes(f"Top {len(top)} features by importance", "importance (% of prediction change)", "feature"),
                "height": 560,
                "margin": {**LAYOUT["margin"], "l": 190},
                "yaxis": {"automargin": True, "title": {"text": "feature", "standoff": 12}},
            },
        },
        f"{ranked[0][0]} carries {ranked[0][1]:.1f}% of the importance, the top 5 together "
        f"{sum(v for _, v in ranked[:5]):.1f}%; {zero} of {len(ranked)} features are never used.",
    )


def _score_spread(page: Page, parts: list[str], spread: dict[str, Any] | None, source: str | None) -> None:
    if not spread or not spread.get("classes"):
        page.note(parts, f"No held-out score spread in the model's metadata: {_RETRAIN}.")
        return
    classes = spread["classes"]
    boxes = [
        {"type": "box", "name": c["label"], "x": [c["label"]], "lowerfence": [c["quantiles"][0]],
         "q1": [c["quantiles"][1]], "median": [c["quantiles"][2]], "q3": [c["quantiles"][3]],
         "upperfence": [c["quantiles"][4]], "marker": {"color": PALETTE[0]}, "line": {"color": PALETTE[0]},
         "showlegend": False}
        for c in classes
    ]  # fmt: skip
    lo, hi = classes[0], classes[-1]
    page.figure(
        parts,
        {
            "data": boxes,
            "layout": axes(
                "Held-out scores per label class (box: middle half; whiskers: 5th-95th percentile)",
                f"label ({source} labels; rows per class in the caption)",
                "model score (0-1, as the daemon sees it)",
            ),
        },
        f"Median score {lo['quantiles'][2]:.3f} for label {lo['label']} ({lo['rows']:,} rows) and "
        f"{hi['quantiles'][2]:.3f} for label {hi['label']} ({hi['rows']:,} rows), over "
        f"{sum(c['rows'] for c in classes):,} held-out group rows.",
    )
