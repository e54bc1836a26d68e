"""The report's class timeline: the replayed class of a few apps over (at most) the store's first hour.

An app is an `app_name`; when it runs as several groups at once, its line shows the highest class among them.
The apps shown are those present in at least half of the window's snapshots whose class changes most often (the
ones a reader wants to see), filled up with the most present. No Typer or rich here.
"""

from __future__ import annotations

import numpy as np

from smoothtask_trainer.contract import policy
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.report_page import PALETTE, Page

APPS = 4
WINDOW_S = 3600.0
#: Short tick labels of the classes, lowest (grade 0, IDLE) first.
_TICKS = [c.replace("CRIT_INTERACTIVE", "CRIT") for c in policy.CLASSES]


def pick_apps(names: np.ndarray, snap: np.ndarray, level: np.ndarray, n_snaps: int, k: int = APPS) -> list[str]:
    """The `k` apps to draw: present in ≥ half the snapshots, most class changes first, then most present."""
    stats = []
    for app in np.unique(names).tolist():
        rows = names == app
        line = _line(snap[rows], level[rows], n_snaps)
        present = int((line >= 0).sum())
        changes = int((np.diff(line[line >= 0]) != 0).sum())
        stats.append((present >= n_snaps / 2, changes, present, app))
    stats.sort(key=lambda x: (not x[0], -x[1], -x[2], x[3]))
    return [app for *_, app in stats[:k]]


def _line(snap: np.ndarray, level: np.ndarray, n_snaps: int) -> np.ndarray:
    """Per snapshot, the highest class level of the rows (−1 where the app is absent)."""
    out = np.full(n_snaps, -1, dtype=np.int64)
    np.maximum.at(out, snap, level)
    return out


def timeline(
    page: Page, parts: list[str], g: eng.Groups, s: eng.Snapshots, extra: dict, d: eng.Decisions, name: str
) -> None:
    t = s.snapshot_id.astype(np.int64)
    end = int(np.searchsorted(t, t[0] + int(WINDOW_S * 1000), side="right"))
    rows = (g.snap < end) & np.array([n is not None for n in extra["app_name"]], dtype=bool)  # unnamed: not an app
    names = extra["app_name"][rows].astype(str)
    level = d.grade[rows].astype(np.int64)  # 0 = IDLE ... 4 = CRIT_INTERACTIVE
    snap = g.snap[rows]
    apps = pick_apps(names, snap, level, end)
    if end < 2:
        page.note(parts, "One snapshot: no class timeline to draw (collect more logs).")
        return
    if not apps:
        page.note(parts, "No app in the store to draw a class timeline for.")
        return
    minutes = ((t[:end] - t[0]) / 60_000.0).round(3)
    n = len(apps)
    data, layout = [], {"height": 130 * n + 110, "showlegend": False, "margin": {"l": 150, "r": 20, "t": 50, "b": 60},
                        "title": {"text": f"Class timeline of {n} apps ({name}; gaps: the app was not running)"},
                        "xaxis": {"title": {"text": "minutes since the first snapshot"},
                                  "anchor": f"y{n if n > 1 else ''}"}}  # fmt: skip
    changes = []
    for i, app in enumerate(apps):
        line = _line(snap[names == app], level[names == app], end).astype(float)
        changes.append(int((np.diff(line[line >= 0]) != 0).sum()))
        line[line < 0] = np.nan
        axis = "" if i == 0 else str(i + 1)
        data.append({"type": "scatter", "mode": "lines", "x": minutes.tolist(), "y": line.tolist(), "name": app,
                     "line": {"shape": "hv", "color": PALETTE[i % len(PALETTE)]}, "yaxis": f"y{axis}",
                     "connectgaps": False})  # fmt: skip
        top = 1 - i / n
        layout[f"yaxis{axis}"] = {
            "domain": [top - 1 / n + 0.04, top - 0.02],
            "range": [-0.5, len(_TICKS) - 0.5],
            "tickvals": list(range(len(_TICKS))),
            "ticktext": _TICKS,
            "title": {"text": app[:18], "font": {"size": 12}},
        }
    span = minutes[-1] if minutes.size else 0.0
    page.figure(
        parts,
        {"data": data, "layout": layout},
        f"Over the first {span:.0f} minutes: "
        + ", ".join(f"{a} changes class {c} times" for a, c in zip(apps, changes, strict=True))
        + ".",  # fmt: skip
    )
