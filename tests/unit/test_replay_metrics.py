"""Churn and lag per stable identity, and the applied-class check, on small hand-made stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from smoothtask_trainer.services.replay import replay
from tests import factories as F

CALM = {"load_avg_one": 0.1, "psi_cpu_some_avg10": 0.0, "psi_io_some_avg10": 0.0, "mem_available_kb": 16_000_000}


def snapshots(n: int, focus_at: int | None = None) -> list[dict]:
    """`n` calm snapshots of 2 groups whose ids are reshuffled every snapshot (as the daemon's are), pids stable."""
    out = []
    for i in range(n):
        rec = F.snapshot(i, n_groups=2, per_group=1)
        rec.update(CALM)
        for grp in rec["app_groups"]:
            grp["has_gui_window"] = True
            grp["is_focused_group"] = focus_at is not None and i >= focus_at and grp["root_pid"] == 100
        out.append(rec)
    return out


def test_churn_uses_a_stable_key_when_group_ids_are_reshuffled(tmp_path: Path) -> None:
    db = F.write_daemon_db(tmp_path / "s.db", snapshots(8, focus_at=4))
    report = replay(db, ranker="none", ncpu=4)
    c = report.churn
    assert c is not None and c.key == "app_name+root_pid" and c.key_stability == 1.0
    # one group goes NORMAL -> INTERACTIVE (focused GUI) once; no other change
    assert c.class_changes == 1 and c.focus_gains == 1 and c.lag_median_s == 0.0
    assert c.churn_per_group_hour is not None and c.group_hours > 0


def test_the_applied_check_compares_the_next_snapshot_s_signature(tmp_path: Path) -> None:
    records = snapshots(3, focus_at=0)
    # pid 100 (focused GUI: INTERACTIVE) carries INTERACTIVE's signature later; pid 110 (NORMAL) carries IDLE's
    for rec in records[1:]:
        for proc in rec["processes"]:
            if proc["pid"] == 100:
                proc.update(nice=-4, ionice_class=2, ionice_prio=2)
            else:
                proc.update(nice=10, ionice_class=3, ionice_prio=0)
    db = F.write_daemon_db(tmp_path / "s.db", records)
    a = replay(db, ranker="none", ncpu=4).applied
    assert a is not None and a.compared == 4 and a.matches == 2 and a.match_rate == 0.5
    assert a.process_rows_with_signature == 4


def test_outcomes_are_what_the_log_measured() -> None:
    from smoothtask_trainer.services.replay_engine import Snapshots
    from smoothtask_trainer.services.replay_metrics import outcomes

    # 500 ms polling; a gap of 60 s starts a second session whose first xruns are cumulative (not counted)
    t = np.array([0, 500, 1000, 1500, 61_500, 62_000], dtype=np.int64)
    nan = np.full(6, np.nan)
    p99 = np.array([np.nan, 5, 90, 5, 5, 5.0])
    xruns = np.array([0, 0, 0, 0, 7, 2.0])
    s = Snapshots(t, np.full(6, 2.0), nan, nan, p99, nan, xruns, nan, np.zeros(6, bool), *[nan] * 3)
    o = outcomes(s, horizon_s=1.0, latency_ms=50)
    assert o.harm_events == 2 and o.harm_event_share == round(2 / 6, 4)  # the 90 ms p99 and the 2 xruns
    assert o.harm_followed_share == round(3 / 6, 4)  # t=0 and 500 (the p99 at 1000), 61,500 (the xruns at 62,000)
    assert o.observed_hours == round(2000 / 3.6e6, 4)  # the 60 s gap is not observed time
    assert o.xruns_per_hour == round(2 / (2000 / 3.6e6), 2) and o.sched_p99_median_ms == 5.0
    assert o.psi_cpu_mean == 2.0
