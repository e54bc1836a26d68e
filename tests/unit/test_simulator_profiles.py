"""The stock and full daemon profiles of the simulator, and the teacher's dependence on context over time."""

from __future__ import annotations

from collections import defaultdict

import pytest

from smoothtask_trainer.schemas.simulate import SimulateOptions
from smoothtask_trainer.simulator import iter_snapshots
from smoothtask_trainer.simulator import teacher as tc
from smoothtask_trainer.simulator.catalog import App
from smoothtask_trainer.simulator.system import responsiveness
from smoothtask_trainer.simulator.workload import Build
from smoothtask_trainer.simulator.world import AppInst

RUN = {"count": 240, "seed": 6, "scale": 0.5}  # seed 6: some audio plays in the run


@pytest.fixture(scope="module")
def stock() -> list[dict]:
    return list(iter_snapshots(**RUN))


@pytest.fixture(scope="module")
def full() -> list[dict]:
    return list(iter_snapshots(**RUN, daemon_profile="full"))


def test_stock_is_the_default() -> None:
    assert SimulateOptions(output="x.jsonl").daemon_profile == "stock"
    with pytest.raises(ValueError, match="daemon_profile"):
        next(iter_snapshots(1, daemon_profile="fixed"))  # type: ignore[arg-type]


def test_stock_leaves_empty_what_the_stock_daemon_never_fills(stock: list[dict]) -> None:
    procs = [p for s in stock for p in s["processes"]]
    groups = [g for s in stock for g in s["app_groups"]]
    assert all(s["user_active"] is False and s["time_since_last_input_ms"] is None for s in stock)
    assert all(s["frame_jank_ratio"] is None and s["ui_loop_p95_ms"] == s["sched_latency_p95_ms"] for s in stock)
    assert not any(p["has_active_stream"] for p in procs)
    assert any(p["is_audio_client"] for p in procs)  # PipeWire clients are still known
    assert all(p["cpu_share_1s"] is None and p["cpu_share_10s"] is None for p in procs)
    assert all(g["tags"] == [] and g["total_cpu_share"] is None for g in groups)
    assert any(p["tags"] for p in procs)  # process tags are filled
    ids = defaultdict(set)
    for s in stock:
        for g in s["app_groups"]:
            ids[g["root_pid"]].add(g["app_group_id"])
    assert sum(len(v) > 1 for v in ids.values()) > len(ids) // 2  # renumbered every snapshot


def test_full_fills_them(full: list[dict]) -> None:
    procs = [p for s in full for p in s["processes"]]
    assert any(s["user_active"] for s in full) and any(s["time_since_last_input_ms"] is not None for s in full)
    assert any(p["has_active_stream"] for p in procs)
    assert all(0.0 <= p["cpu_share_10s"] <= 1.0 and 0.0 <= p["cpu_share_1s"] <= 1.0 for p in procs)
    for s in full[1:]:
        if s["ui_loop_p95_ms"] is not None:
            assert s["ui_loop_p95_ms"] != s["sched_latency_p95_ms"] and 0.0 <= s["frame_jank_ratio"] <= 1.0
            bad, score = responsiveness(
                s["psi_cpu_some_avg10"],
                s["psi_io_some_avg10"],
                s["sched_latency_p99_ms"],
                s["audio_xruns_delta"],
                s["ui_loop_p95_ms"],
            )
            assert s["bad_responsiveness"] is bad and s["responsiveness_score"] == round(score, 6)
        by_pid = {p["pid"]: p for p in s["processes"]}
        for g in s["app_groups"]:
            assert g["total_cpu_share"] == max(by_pid[pid]["cpu_share_10s"] for pid in g["process_ids"])
    ids = defaultdict(set)
    for s in full:
        for g in s["app_groups"]:
            ids[g["root_pid"]].add(g["app_group_id"])
    assert all(len(v) == 1 for v in ids.values())  # keyed by the root pid: stable while the app lives
    assert any(g["tags"] for s in full for g in s["app_groups"])


def test_both_profiles_simulate_the_same_desktop(stock: list[dict], full: list[dict]) -> None:
    for a, b in zip(stock, full, strict=True):
        assert a["snapshot_id"] == b["snapshot_id"] and a["sched_latency_p99_ms"] == b["sched_latency_p99_ms"]
        label = {p["pid"]: (p["teacher_priority_class"], p["teacher_score"]) for p in a["processes"]}
        assert label == {p["pid"]: (p["teacher_priority_class"], p["teacher_score"]) for p in b["processes"]}


# --- the teacher: what a person needs depends on what happened before ------------------------------------------------


def _app(kind: str, key: str = "x", **kw) -> AppInst:
    return AppInst(idx=0, spec=App(key, kind, "/user.slice/app.slice/x.scope", ()), ident=key, **kw)


def _ctx(now: float = 1000.0, **kw) -> tc.Context:
    base = {
        "now": now,
        "focus": None,
        "present": True,
        "user_active": True,
        "since_input": 1.0,
        "absorbed": False,
        "noisy": -1,
        "terminal_focus": -1e9,
        "last_sound": -1e9,
    }
    return tc.Context(**{**base, **kw})


@pytest.mark.parametrize(
    ("left_s_ago", "ctx", "expected"),
    [
        (10.0, {}, tc.INTER),  # just left: likely to come back
        (120.0, {}, tc.NORMAL),  # part of the current task
        (900.0, {}, tc.BACKGROUND),  # not used for a quarter of an hour
        (10.0, {"user_active": False}, tc.BACKGROUND),  # nobody there
        (10.0, {"absorbed": True}, tc.NORMAL),  # in a game: not switching back soon
    ],
)
def test_a_desktop_app_depends_on_when_it_was_last_used(left_s_ago: float, ctx: dict, expected: str) -> None:
    app = _app("browser", last_focus=1000.0 - left_s_ago)
    assert tc.decide(app, _ctx(**ctx)) == expected


def test_a_build_is_waited_for_only_while_fresh_or_watched() -> None:
    app = _app("terminal", last_focus=0.0)
    app.build = Build(app, 1, "make", 4, 2000.0, 3.0, 0, started=950.0)
    assert tc.decide(app, _ctx()) == tc.NORMAL  # started 50 s ago
    app.build.started = 500.0
    assert tc.decide(app, _ctx()) == tc.BACKGROUND  # forgotten
    app.last_focus = 990.0
    assert tc.decide(app, _ctx()) == tc.NORMAL  # the user just looked at it
    assert tc.decide(app, _ctx(noisy=0, user_active=False)) == tc.IDLE


def test_the_audio_server_matters_while_something_plays() -> None:
    server = _app("audio_server", "pipewire")
    assert tc.decide(server, _ctx(last_sound=990.0)) == tc.INTER
    assert tc.decide(server, _ctx(last_sound=900.0)) == tc.NORMAL  # silence for 100 s
    assert tc.decide(_app("audio_server", "wireplumber"), _ctx(last_sound=999.0)) == tc.NORMAL


def test_the_compositor_is_critical_while_input_is_fresh() -> None:
    shell = _app("compositor")
    assert tc.decide(shell, _ctx(since_input=2.0)) == tc.CRIT
    assert tc.decide(shell, _ctx(since_input=60.0)) == tc.INTER
    assert tc.decide(shell, _ctx(since_input=600.0, absorbed=True)) == tc.CRIT


def test_a_download_is_waited_for_after_the_user_looked_at_it() -> None:
    torrent = _app("torrent", last_focus=900.0, flags={"downloading": True})
    assert tc.decide(torrent, _ctx()) == tc.NORMAL
    torrent.last_focus = 0.0
    assert tc.decide(torrent, _ctx()) == tc.BACKGROUND
