"""A tiny desktop whose focus moves in a fixed cycle, for the label-free future-focus evaluation.

Four GUI apps take the focus in turn, two snapshots each (1 s apart); a fifth group (an audio server: no window,
never focused) is always there. At every snapshot the app that takes the focus next is the only one with a large
memory footprint, so a model can learn to see it coming, and the teacher scores decide whether it should:
`next_first=True` ranks the next app first among the unfocused apps (the audio server above everything but the
focused app), `next_first=False` ranks it last. With `--attention-horizon-s 2`, the next app is the only group that
gains focus after each snapshot, and every snapshot with a future judges.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests import factories as F

APPS = 4
HOLD = 2  # snapshots each app keeps the focus
HORIZON = "2"  # --attention-horizon-s: the next two snapshots
START = datetime(2025, 12, 12, 6, 0, tzinfo=UTC)


def _app(i: int, g: int, score: float, focused: bool, big: bool, gui: bool = True) -> tuple[list[dict], dict]:
    pids = [200 + g * 10, 201 + g * 10]
    gid = f"cgroup-{g}-{i}"  # renumbered every snapshot, as the daemon does
    rss = 900 if big else 300
    procs = [
        F.process(
            p,
            gid,
            rss_mb=rss,
            has_gui_window=gui,
            is_focused_window=focused and p == pids[0],
            env_has_display=gui,
            process_type="browser" if gui else "daemon",
            tags=[],
            teacher_score=score,
            teacher_priority_class=None,
        )
        for p in pids
    ]
    group = F.group(
        gid,
        pids,
        app_name=f"app{g}" if gui else "pipewire",
        total_rss_mb=rss * 2,
        has_gui_window=gui,
        is_focused_group=focused,
        tags=[],
    )
    return procs, group


def cycle_records(snapshots: int, next_first: bool) -> list[dict[str, Any]]:
    records = []
    for i in range(snapshots):
        now = (i // HOLD) % APPS
        nxt = (now + 1) % APPS
        procs, groups = [], []
        for g in range(APPS):
            if g == now:
                score = 0.9
            elif g == nxt:
                score = 0.7 if next_first else 0.1
            else:
                score = 0.3
            p, grp = _app(i, g, score, focused=g == now, big=g == nxt)
            procs += p
            groups.append(grp)
        p, grp = _app(i, APPS, 0.8 if next_first else 0.05, focused=False, big=False, gui=False)
        procs += p
        groups.append(grp)
        stamp = START + timedelta(seconds=i)
        rec = {"snapshot_id": int(stamp.timestamp() * 1000), "timestamp": stamp.isoformat(), **F.GLOBAL}
        rec.update(F.RESPONSIVENESS, processes=procs, app_groups=groups)
        records.append(rec)
    return records


def focus_cycle_store(path: Path, snapshots: int = 150, *, next_first: bool = True) -> Path:
    """The daemon database of `snapshots` snapshots of the cycle (see the module)."""
    return F.write_daemon_db(path, cycle_records(snapshots, next_first))


def no_focus_store(path: Path, snapshots: int = 30) -> Path:
    """The same desktop as a stock daemon without a window introspector logs it: no group ever has the focus."""
    records = cycle_records(snapshots, True)
    for rec in records:
        for item in rec["processes"] + rec["app_groups"]:
            item["is_focused_window"] = item["is_focused_group"] = False
    return F.write_daemon_db(path, records)
