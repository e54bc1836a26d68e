"""`validate` names the signals a store never carries, and their consequence for the daemon's policy."""

from __future__ import annotations

from pathlib import Path

from smoothtask_trainer.services.validate import validate
from smoothtask_trainer.settings import ValidationSettings
from tests import factories as F
from tests.clirun import invoke

LOOSE = ValidationSettings(min_label_signal=0, min_groups_per_query=0)


def stock_like(path: Path) -> Path:
    """What a stock daemon logs: no input tracking, no active streams, no group tags, no CPU shares, no jank."""
    records = []
    for i in range(4):
        rec = F.snapshot(i)
        rec.update(user_active=False, time_since_last_input_ms=None, frame_jank_ratio=None)
        for grp in rec["app_groups"]:
            grp.update(tags=[], total_cpu_share=None)
        for proc in rec["processes"]:
            proc.update(has_active_stream=False)
        records.append(rec)
    return F.write_daemon_db(path, records)


def test_a_stock_like_store_names_every_unfilled_signal(tmp_path: Path) -> None:
    report = validate(stock_like(tmp_path / "s.db"), LOOSE)
    names = [u.signal for u in report.unfilled]
    assert names == [
        "user_active / time_since_last_input_ms",
        "processes.has_active_stream",
        "app_groups.tags",
        "app_groups.total_cpu_share",
        "snapshots.frame_jank_ratio",
    ]
    assert "R3" in report.unfilled[0].consequence
    res = invoke("validate", "--db", str(tmp_path / "s.db"), "--min-label-signal", "0", "--min-groups-per-query", "0")
    assert "never filled" in res.stdout and "R5 (noisy neighbour) never fires" in " ".join(res.stdout.split())


def test_a_store_that_carries_them_names_none_of_them(tmp_path: Path) -> None:
    records = []
    for i in range(4):
        rec = F.snapshot(i)
        rec["frame_jank_ratio"] = 0.01
        for grp in rec["app_groups"]:
            grp["total_cpu_share"] = 0.2
        for proc in rec["processes"]:
            proc["has_active_stream"] = True
        records.append(rec)
    report = validate(F.write_daemon_db(tmp_path / "s.db", records), LOOSE)
    assert report.unfilled == []
