"""The report's data section: what the store holds, over time (no Typer or rich).

Snapshots with their gaps, app groups and processes per snapshot, pressure and latency with the logged
bad_responsiveness and the harm that followed, the labels and the NULL share of each of the 51 features.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from smoothtask_trainer.schemas.validate import ValidationReport
from smoothtask_trainer.services.replay_metrics import harm, harm_now, session_breaks
from smoothtask_trainer.services.report_page import LAYOUT, PALETTE, Page, axes, line_trace
from smoothtask_trainer.settings import DatasetSettings, PolicySettings, ValidationSettings


def data_section(
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
            "layout": axes(
                "App groups (orange) and processes (blue) per snapshot", "minutes since the first snapshot", "count"
            ),
        },
        f"Median {np.median(groups):.0f} app groups and {np.median(procs):.0f} processes per snapshot.",
    )
    nan = np.full(t.size, np.nan)
    snaps = Snapshots(t, arr[:, 2], arr[:, 3], nan, arr[:, 4], nan, arr[:, 5], nan, np.zeros(t.size, bool),
                      nan, nan, nan)  # fmt: skip
    harmed = harm(snaps, policy.harm_horizon_s, policy.harm_latency_ms)
    events = harm_now(snaps, policy.harm_latency_ms, breaks)
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
                    "marker": {"color": "rgba(230,159,0,0.22)"},
                    "hoverinfo": "skip",
                },
                line_trace(minutes, arr[:, 2].tolist(), "PSI CPU some (%)", PALETTE[0]),
                line_trace(minutes, arr[:, 3].tolist(), "PSI IO some (%)", PALETTE[2]),
                line_trace(minutes, arr[:, 4].tolist(), "sched latency p99 (ms)", PALETTE[4]),
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [m for m, e in zip(minutes, events, strict=True) if e],
                    "y": [top * 1.04] * int(events.sum()),
                    "name": "harm event",
                    "marker": {"color": PALETTE[3], "symbol": "triangle-down", "size": 7},
                },
            ],  # fmt: skip
            "layout": {
                **axes(
                    "Pressure (blue: PSI CPU, green: PSI IO) and latency (pink: p99); orange bands: "
                    "bad_responsiveness logged; red triangles: harm",
                    "minutes since the first snapshot",
                    "PSI avg10 (%) / latency p99 (ms)",
                ),
                "bargap": 0,
            },  # fmt: skip
        },
        f"bad_responsiveness in {bad.mean():.0%} of snapshots; {int(events.sum()):,} harm events (p99 above "
        f"{policy.harm_latency_ms:g} ms or xruns); {harmed.mean():.1%} of snapshots are followed within "
        f"{policy.harm_horizon_s:g} s by one.",
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
        _null_share(page, parts, report.features)


def _null_share(page: Page, parts: list[str], feats: list) -> None:
    """Bars: each feature's NULL share, vermilion where never filled in this store; orange diamonds below the axis
    mark the constant (dead) ones, whose bar may be empty."""
    never = [f for f in feats if f.null_ratio >= 1.0]
    dead = [f for f in feats if f.constant and f.null_ratio < 1.0]
    names = [f"{f.index} {f.name}" for f in feats]
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "bar",
                    "x": names,
                    "y": [f.null_ratio for f in feats],
                    "name": "NULL share",
                    "marker": {"color": [PALETTE[3] if f.null_ratio >= 1.0 else PALETTE[0] for f in feats]},
                },
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [f"{f.index} {f.name}" for f in dead],
                    "y": [-0.05] * len(dead),
                    "name": "constant (dead)",
                    "marker": {"color": PALETTE[1], "symbol": "diamond", "size": 9},
                },
            ],  # fmt: skip
            "layout": {
                **axes(
                    "NULL share of the 51 features (vermilion: never filled; orange diamonds: constant, i.e. dead)",
                    "feature (index and name)",
                    "share of rows NULL",
                ),
                "height": 520,
                "margin": {**LAYOUT["margin"], "b": 170},
                "showlegend": False,
            },  # fmt: skip
        },
        f"{len(never)} of 51 features are never filled in this store ({', '.join(f.name for f in never[:4])}"
        f"{', …' if len(never) > 4 else ''}) and {len(dead)} more are constant.",
    )
