"""The report's policy section: what the daemon decides on the store, with its default thresholds and with given ones.

Both policies use the same ranker (the model when given, else the daemon's stub ranker) and this machine's CPU count
unless `policy.ncpu` says otherwise, exactly as `replay` does; the store's arrays and the model's scores are the
ones `tune` just used when it ran on the same files. No Typer or rich here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from smoothtask_trainer.contract import policy
from smoothtask_trainer.contract import replay as ref
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services import replay_load
from smoothtask_trainer.services.report_page import PALETTE, Page, axes
from smoothtask_trainer.services.report_timeline import timeline
from smoothtask_trainer.settings import PolicySettings

if TYPE_CHECKING:
    from smoothtask_trainer.services.dataset import Dataset

PSI_KEYS = ("psi_cpu_some_high", "psi_io_some_high")
STABLE = "priority_hysteresis_stable_sec"


@dataclass
class Run:
    """One replayed policy: its name in the figures, its thresholds and its decisions."""

    name: str
    thresholds: dict[str, Any]
    d: eng.Decisions = None  # type: ignore[assignment] - set right after


def policy_section(
    page: Page,
    db: Path,
    model: Path | None,
    thresholds: Path | None,
    settings: PolicySettings | None = None,
    curve: list[dict[str, float | None]] | None = None,
    *,
    ranker: str | None = None,
    baseline: Path | None = None,
    dataset: Dataset | None = None,
    warnings: list[str] | None = None,
) -> None:
    """`thresholds`: a daemon YAML or tune's output to compare with the defaults (or with `baseline`'s). `curve`:
    tune's churn/lag curve of its tuning window, when the caller has it (else computed on the whole store).
    `ranker`: "model", "stub" or "none" (default: the model when given, else the stub ranker). `dataset`: the
    store's dataset when the caller built it (the model's scores need its feature matrix)."""
    from smoothtask_trainer.services.daemon_config import read_daemon_config

    parts = page.section("Policy")
    for warning in warnings or []:
        page.note(parts, warning)
    p = settings or PolicySettings()
    g, s, extra = replay_load.read_store(db)
    if s.snapshot_id.size == 0:
        page.note(parts, f"{db} holds no snapshots to replay.")
        return
    kind = ranker or ("model" if model is not None else "stub")
    if kind == "model" and model is not None and model.suffix != ".onnx":
        page.note(parts, f"The daemon ranks with ONNX models only, and {model.name} is not one: these figures use the "
                         "daemon's stub ranker (write the model as ONNX to see its policy).")  # fmt: skip
        kind = "stub"
    what = {"model": "model", "stub": "daemon stub ranker", "none": "rules-only, no ranker"}[kind]
    scores = None
    if kind == "model":
        scores = replay_load.cached_model_scores(db, model, g, s, dataset)  # type: ignore[arg-type]
    elif kind == "stub":
        scores = eng.stub_scores(g)
    ncpu = p.ncpu or os.cpu_count() or 1
    start = read_daemon_config(baseline).thresholds if baseline is not None else None
    runs = [Run(baseline.name if baseline is not None else "daemon defaults", ref.thresholds_of(start))]
    if thresholds is not None:
        runs.append(Run(thresholds.name, ref.thresholds_of(read_daemon_config(thresholds).thresholds)))
    else:
        page.note(
            parts,
            "No thresholds given: these figures show the daemon's defaults. Tune them (smoothtask-trainer tune --db "
            "STORE --model M.onnx --output T.yml) and pass the file with the thresholds option to compare.",
        )
    for run in runs:
        run.d = eng.replay(g, s, run.thresholds, scores=scores, ncpu=ncpu)
    _class_mix(page, parts, runs, f"{g.snap.size:,} decisions ({what}, {ncpu} CPUs)")
    _psi(page, parts, s, runs, p)
    _hysteresis(page, parts, g, s, extra, scores, ncpu, runs, curve)
    _confusion(page, parts, db, g, s, extra, runs[-1])
    timeline(page, parts, g, s, extra, runs[-1].d, runs[-1].name)


def _share(d: eng.Decisions) -> list[float]:
    counts = np.bincount(d.grade.astype(int), minlength=len(policy.CLASSES))
    return (counts / max(d.grade.size, 1)).tolist()


def _class_mix(page: Page, parts: list[str], runs: list[Run], what: str) -> None:
    names, shares = list(policy.CLASSES), [_share(r.d) for r in runs]
    page.figure(
        parts,
        {
            "data": [
                {"type": "bar", "name": r.name, "x": names, "y": v, "marker": {"color": PALETTE[i]}}
                for i, (r, v) in enumerate(zip(runs, shares, strict=True))
            ],  # fmt: skip
            "layout": {
                **axes(
                    "Class mix of all app groups ("
                    + "; ".join(f"{c}: {r.name}" for c, r in zip(("blue", "orange"), runs, strict=False))
                    + ")",
                    "class",
                    "share of decisions",
                ),  # fmt: skip
                "barmode": "group",
            },
        },
        f"{what}: " + ", ".join(f"{c} {' → '.join(f'{v[i]:.0%}' for v in shares)}" for i, c in enumerate(names)) + ".",
    )


def _pr(flag: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = float((flag & truth).sum())
    return tp / max(float(flag.sum()), 1.0), tp / max(float(truth.sum()), 1.0)


def _psi(page: Page, parts: list[str], s: eng.Snapshots, runs: list[Run], p: PolicySettings) -> None:
    from smoothtask_trainer.services.replay_metrics import harm
    from smoothtask_trainer.services.tune import psi_flag

    truth = harm(s, p.harm_horizon_s, p.harm_latency_ms)
    if not truth.any():
        page.note(parts, f"No harm (latency p99 above {p.harm_latency_ms:g} ms or xruns) in this store: the PSI "
                         "thresholds' precision and recall against harm are undefined.")  # fmt: skip
        return
    last = runs[-1].thresholds
    grid = np.round(np.linspace(0.0, 1.0, 101), 2)
    data, spans, widths = [], [], []
    for i, key in enumerate(PSI_KEYS):
        flags = [psi_flag(s, *((x, last[PSI_KEYS[1]]) if i == 0 else (last[PSI_KEYS[0]], x))) for x in grid]
        pts = [_pr(f, truth) for f in flags]
        shares = [float(f.mean()) for f in flags]
        spans.append(f"{key} over [0, 1] flags {min(shares):.0%}–{max(shares):.0%}")
        data.append({"type": "scatter", "mode": "lines+markers", "name": f"{key} swept", "x": [r for _, r in pts],
                     "y": [q for q, _ in pts], "text": [f"{key} = {x:g}" for x in grid],
                     "line": {"color": PALETTE[2 + 2 * i]}, "marker": {"size": 4}})  # fmt: skip
        widths.append(max(shares) - min(shares))
    points = [(r.name, _pr(psi_flag(s, r.thresholds[PSI_KEYS[0]], r.thresholds[PSI_KEYS[1]]), truth)) for r in runs]
    for i, (name, (prec, rec)) in enumerate(points):
        data.append({"type": "scatter", "mode": "markers+text", "name": name, "x": [rec], "y": [prec],
                     "text": [name], "textposition": "top left" if i else "bottom right",
                     "marker": {"color": PALETTE[i], "size": 13, "symbol": "diamond"}})  # fmt: skip
    layout = axes(
        "PSI flag against harm: precision and recall (green: CPU threshold swept 0-1; pink: IO threshold)",
        f"recall (share of snapshots followed by harm within {p.harm_horizon_s:g} s that are flagged)",
        "precision (share of flagged snapshots followed by harm)",
    )
    layout["xaxis"]["range"], layout["yaxis"]["range"] = [-0.02, 1.05], [-0.02, 1.05]
    flagged = psi_flag(s, last[PSI_KEYS[0]], last[PSI_KEYS[1]]).mean()
    same = (
        " The sweeps barely move (they hide under the diamonds): PSI is logged in percent, so no threshold in the "
        "daemon's range [0, 1] waits for more than 1 % pressure."
        if max(widths) < 0.05
        else ""
    )
    page.figure(
        parts,
        {"data": data, "layout": layout},
        "; ".join(f"{name}: precision {prec:.2f}, recall {rec:.2f}" for name, (prec, rec) in points)
        + f"; {runs[-1].name} flags {flagged:.0%} of snapshots ({'; '.join(spans)}). Harm follows "
        f"{truth.mean():.1%} of snapshots (the precision of flagging all of them)." + same,
    )


def _hysteresis(page, parts, g, s, extra, scores, ncpu, runs, curve) -> None:  # noqa: ANN001, PLR0913
    from smoothtask_trainer.services.tune import Replay, churn_curve

    where = "the tuning window"
    if s.snapshot_id.size < 2:
        page.note(parts, "One snapshot: no class changes, so no churn/lag curve (collect more logs).")
        return
    if curve is None:
        w = Replay(g, s, extra, scores, s.snapshot_id.size, ncpu)
        curve, where = churn_curve(w, runs[-1].thresholds, np.ones(g.snap.size, bool)), "the whole store"
    x = [f"{c['stable_sec']:g}" for c in curve]
    churn = [c["churn_per_group_hour"] for c in curve]
    lag = [c["lag_median_s"] for c in curve]
    data = [
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": churn, "name": "churn",
         "line": {"color": PALETTE[0]}},
        {"type": "scatter", "mode": "lines+markers", "x": x, "y": lag, "name": "median lag", "yaxis": "y2",
         "line": {"color": PALETTE[1], "dash": "dot"}},
    ]  # fmt: skip
    for i, r in enumerate(runs):
        value = f"{r.thresholds[STABLE]:g}"
        if value in x:
            data.append({"type": "scatter", "mode": "markers+text", "x": [value], "y": [churn[x.index(value)]],
                         "text": [r.name], "textposition": "top center", "name": r.name,
                         "marker": {"color": PALETTE[i], "size": 13, "symbol": "diamond"}})  # fmt: skip
    layout = axes(
        f"Hysteresis: churn (blue, left) and median lag (orange dotted, right) on {where}",
        "priority_hysteresis_stable_sec (s; the grid tune searches)",
        "class changes per group-hour",
    )
    layout["xaxis"]["type"] = "category"
    layout["yaxis2"] = {"title": {"text": "median lag of a class change (s)"}, "overlaying": "y", "side": "right",
                        "rangemode": "tozero"}  # fmt: skip
    layout["showlegend"], layout["margin"] = False, {"l": 70, "r": 80, "t": 50, "b": 60}
    marked = ", ".join(
        f"{r.name} ({r.thresholds[STABLE]:g} s): {churn[x.index(f'{r.thresholds[STABLE]:g}')]:,.0f}"
        for r in runs
        if f"{r.thresholds[STABLE]:g}" in x
    )
    page.figure(
        parts,
        {"data": data, "layout": layout},
        f"Churn per group-hour from {churn[0]:,.0f} at {x[0]} s to {churn[-1]:,.0f} at {x[-1]} s; {marked}."
        + (
            " The churn is the same at every value: the hysteresis changed no decision here."
            if len(set(churn)) == 1
            else ""
        )
        + (" No median lag: no focus gain reached INTERACTIVE here." if all(v is None for v in lag) else ""),
    )


def _confusion(page, parts, db, g, s, extra, run) -> None:  # noqa: ANN001, PLR0913
    teacher, whose = extra["teacher_grade"], "the store's teacher classes"
    if not (teacher >= 0).any():
        from smoothtask_trainer.services.tune_cutoffs import rule_teacher_grades

        teacher = rule_teacher_grades(db, g, s)
        whose = "the rule teacher's classes (the project's own rules, not a person)"
    labelled = teacher >= 0
    if not labelled.any():
        page.note(parts, "No group row has a label class: the replayed classes cannot be compared with labels.")
        return
    names = list(policy.CLASSES)
    tg, rg = teacher[labelled].astype(int), run.d.grade[labelled].astype(int)
    z = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(z, (tg, rg), 1)
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "heatmap",
                    "x": names,
                    "y": names,
                    "z": z.tolist(),
                    "colorscale": "Cividis",
                    "texttemplate": "%{z}",
                    "colorbar": {"title": {"text": "decisions"}},
                }
            ],  # fmt: skip
            "layout": {
                **axes(f"Replayed classes ({run.name}) against the label classes", "replayed class", "label class"),
                "margin": {"l": 150, "r": 20, "t": 50, "b": 60},
            },
        },
        f"{(tg == rg).mean():.1%} of {labelled.sum():,} labelled decisions match the label's class exactly "
        f"(mean class distance {np.abs(tg - rg).mean():.3f}); labels: {whose}.",
    )
