"""The daemon's policy (policy-replay.md): its own tests (§7), the f32 boundary, tie order, the scaler's hysteresis,
and the vectorised engine equal to the scalar reference on random snapshots."""

from __future__ import annotations

import random

import numpy as np
import pytest

from smoothtask_trainer.contract import replay as ref
from smoothtask_trainer.contract.replay import Group, Member, Snapshot
from smoothtask_trainer.services import replay_engine as eng

CALM = {"load_avg_one": 0.0, "mem_total_kb": 16_000_000, "mem_available_kb": 16_000_000}
#: The daemon tests' global metrics (load 1.5, PSI 0.1/0.2/0.05, memory 48.8 % used).
TEST_GLOBALS = {
    "load_avg_one": 1.5,
    "psi_cpu_some_avg10": 0.1,
    "psi_io_some_avg10": 0.2,
    "psi_mem_some_avg10": 0.05,
    "mem_total_kb": 16_000_000,
    "mem_available_kb": 8_192_000,
}


def arrays(snaps: list[Snapshot], ranked: str | None) -> tuple[eng.Groups, eng.Snapshots, np.ndarray | None]:
    """The engine's input for snapshots written as the reference's objects."""
    snaps = sorted(snaps, key=lambda s: s.snapshot_id)

    def col(name: str) -> np.ndarray:
        return np.array([np.nan if getattr(s, name) is None else getattr(s, name) for s in snaps], dtype=float)

    s = eng.Snapshots(
        snapshot_id=np.array([x.snapshot_id for x in snaps], dtype=np.int64),
        psi_cpu=col("psi_cpu_some_avg10"),
        psi_io=col("psi_io_some_avg10"),
        psi_mem=col("psi_mem_some_avg10"),
        sched_p99=col("sched_latency_p99_ms"),
        ui_p95=col("ui_loop_p95_ms"),
        xruns=col("audio_xruns_delta"),
        tsli=col("time_since_last_input_ms"),
        user_active=np.array([x.user_active for x in snaps]),
        load_avg_one=col("load_avg_one"),
        mem_total_kb=col("mem_total_kb"),
        mem_available_kb=col("mem_available_kb"),
    )
    rows = [(i, grp) for i, x in enumerate(snaps) for grp in x.groups]

    def flag(fn) -> np.ndarray:  # noqa: ANN001
        return np.array([bool(fn(grp)) for _, grp in rows], dtype=bool)

    g = eng.Groups(
        snap=np.array([i for i, _ in rows], dtype=np.int64),
        app_group_id=np.array([grp.app_group_id for _, grp in rows], dtype=object),
        focused=flag(lambda x: x.is_focused_group),
        gui=flag(lambda x: x.has_gui_window),
        total_cpu_share=np.array([np.nan if x.total_cpu_share is None else x.total_cpu_share for _, x in rows]),
        tag_game=flag(lambda x: "game" in x.tags),
        tag_background=flag(lambda x: set(x.tags) & {"updater", "indexer", "maintenance"}),
        any_system=flag(lambda x: any(ref.is_system(m) for m in x.members)),
        any_audio_stream=flag(lambda x: any(m.is_audio_client and m.has_active_stream for m in x.members)),
        any_tty_term=flag(lambda x: any(m.has_tty and m.env_term for m in x.members)),
    )
    if ranked is None:
        return g, s, None
    if ranked == "stub":
        return g, s, eng.stub_scores(g)
    return g, s, np.array([np.nan if x.score is None else x.score for _, x in rows])


def both(snaps: list[Snapshot], ranked: str | None = None, ncpu: int = 2, **thresholds) -> list[tuple[str, str]]:
    """Replay with the reference and the engine; assert they agree; return the decisions in row order."""
    if ranked == "stub":
        for s in snaps:
            for grp in s.groups:
                grp.score = ref.stub_score(grp)
    expected = [d for snap in ref.replay(snaps, thresholds, ranked=ranked is not None, ncpu=ncpu) for d in snap]
    g, s, scores = arrays(snaps, ranked)
    got = eng.replay(g, s, thresholds, scores=scores, ncpu=ncpu)
    assert list(zip(got.classes(), got.reasons(), strict=True)) == expected
    return expected


def one(group: Group, **snapshot) -> Snapshot:
    return Snapshot(snapshot_id=1_000, groups=[group], **{**TEST_GLOBALS, **snapshot})


# -- the daemon's own tests (policy-replay.md §7), rules-only unless noted -------------------------------------
def test_focused_gui_group_gets_interactive() -> None:
    assert both([one(Group("g", is_focused_group=True, has_gui_window=True))]) == [
        ("INTERACTIVE", ref.REASON_FOCUSED_GUI)
    ]


def test_system_process_protected() -> None:
    g = Group("g", is_focused_group=True, has_gui_window=True, members=[Member(exe="/usr/lib/systemd/systemd")])
    assert both([one(g)]) == [("NORMAL", ref.REASON_SYSTEM)]


def test_audio_client_with_xrun_protected() -> None:
    g = Group("g", members=[Member(is_audio_client=True, has_active_stream=True)])
    assert both([one(g, audio_xruns_delta=5)]) == [("INTERACTIVE", ref.REASON_XRUN)]


def test_updater_with_active_user_gets_background() -> None:
    assert both([one(Group("g", tags=["updater"]), user_active=True)])[0][0] == "BACKGROUND"


def test_noisy_neighbour_throttled() -> None:
    g = Group("g", total_cpu_share=0.8)  # bad_responsiveness from latency, so that the load stays Normal
    assert both([one(g, sched_latency_p99_ms=25.0)]) == [("BACKGROUND", ref.REASON_NOISY)]


def test_focused_game_and_focused_audio_get_crit() -> None:
    game = Group("g", is_focused_group=True, tags=["game"])
    audio = Group("a", is_focused_group=True, members=[Member(is_audio_client=True, has_active_stream=True)])
    assert both([one(game)])[0][0] == both([one(audio)])[0][0] == "CRIT_INTERACTIVE"


def test_default_and_rules_only() -> None:
    assert both([one(Group("g"))]) == [("NORMAL", ref.REASON_DEFAULT)]


def test_active_terminal_with_recent_input() -> None:
    g = Group("g", members=[Member(has_tty=True, env_term="xterm")])
    assert both([one(g, time_since_last_input_ms=1000)])[0] == ("INTERACTIVE", ref.REASON_TERMINAL)


def test_hybrid_uses_the_ranker_and_guardrails_override_it() -> None:
    gui, plain = Group("a", has_gui_window=True), Group("b")
    out = both([Snapshot(1, [gui, plain], **CALM)], ranked="stub")
    from smoothtask_trainer.contract.policy import GRADE

    assert all(r.startswith("ml-ranker:") for _, r in out) and GRADE[out[0][0]] >= GRADE[out[1][0]]
    system = Group("s", members=[Member(exe="/usr/bin/systemd-journald")])
    assert both([one(system)], ranked="stub")[0] == ("NORMAL", ref.REASON_SYSTEM)


def test_a_lone_group_has_percentile_one() -> None:
    assert both([Snapshot(1, [Group("g")], **CALM)], ranked="stub") == [
        ("CRIT_INTERACTIVE", "ml-ranker: percentile=1.000, score=0.500, rank=1")
    ]


def test_dynamic_scaling_high_load_and_none_at_low_load() -> None:
    high = {"load_avg_one": 5.0, "psi_cpu_some_avg10": 0.9, "psi_io_some_avg10": 0.8, "psi_mem_some_avg10": 0.7}
    cls, reason = both([one(Group("g"), **high)])[0]
    assert cls == "BACKGROUND" and "NORMAL -> BACKGROUND" in reason
    assert both([Snapshot(1, [Group("g")], **CALM)]) == [("NORMAL", ref.REASON_DEFAULT)]


def test_stub_scores() -> None:
    assert ref.stub_score(Group("g", is_focused_group=True, has_gui_window=True, total_cpu_share=0.5)) == 1.0
    assert ref.stub_score(Group("g", has_gui_window=True)) == 0.7
    assert ref.stub_score(Group("g", total_cpu_share=2.5)) == 0.6
    assert ref.stub_score(Group("g", total_cpu_share=-0.1)) == ref.stub_score(Group("g", total_cpu_share=0.0)) == 0.5


# -- f32 cut-offs, tie order, hysteresis ---------------------------------------------------------------------
def test_eleven_tied_groups_follow_the_f32_cut_offs() -> None:
    groups = [Group(f"g{i}") for i in range(11)]
    classes = [c for c, _ in both([Snapshot(1, groups, **CALM)], ranked="stub")]
    assert (
        classes == ["CRIT_INTERACTIVE"] * 2 + ["INTERACTIVE"] * 2 + ["NORMAL"] * 3 + ["BACKGROUND"] * 2 + ["IDLE"] * 2
    )


def test_ties_keep_the_logged_order() -> None:
    groups = [Group("b"), Group("a", has_gui_window=True), Group("c")]
    out = both([Snapshot(1, groups, **CALM)], ranked="stub")
    assert [r.rsplit("rank=", 1)[1] for _, r in out] == ["2", "1", "3"]


LOADED = {"load_avg_one": 4.0, "mem_total_kb": 100, "mem_available_kb": 50}  # 0.8 + 0.1: High with 2 CPUs


def test_hysteresis_freezes_while_loaded_snapshots_follow_each_other() -> None:
    focused = Group("g", is_focused_group=True, has_gui_window=True)  # INTERACTIVE -> NORMAL under High load
    idle = Group("g")  # NORMAL -> BACKGROUND
    snaps = [Snapshot(0, [focused], **LOADED), Snapshot(500, [idle], **LOADED), Snapshot(1000, [idle], **LOADED)]
    out = both(snaps)
    assert [c for c, _ in out] == ["NORMAL", "NORMAL", "NORMAL"]  # frozen at the first loaded value
    # the first is scaled (INTERACTIVE -> NORMAL); the held ones equal their own base class: no suffix
    assert out[0][1].endswith("dynamic-scaling: INTERACTIVE -> NORMAL (load=0.900)")
    assert out[1][1] == out[2][1] == ref.REASON_DEFAULT


def test_hysteresis_bypassed_at_low_load_and_released_after_a_long_gap() -> None:
    focused = Group("g", is_focused_group=True, has_gui_window=True)
    idle = Group("g")
    calm = Snapshot(500, [idle], **CALM)
    assert [c for c, _ in both([Snapshot(0, [focused], **LOADED), calm])] == ["NORMAL", "NORMAL"]
    gap = [Snapshot(0, [focused], **LOADED), Snapshot(40_000, [idle], **LOADED)]
    assert [c for c, _ in both(gap)] == ["NORMAL", "BACKGROUND"]  # 40 s >= the default 30 s
    assert [c for c, _ in both(gap, priority_hysteresis_stable_sec=60)] == ["NORMAL", "NORMAL"]
    assert [c for c, _ in both(gap[:1] + [Snapshot(500, [idle], **LOADED)], priority_hysteresis_stable_sec=0)] == [
        "NORMAL",
        "BACKGROUND",
    ]


def test_a_model_that_fails_per_group_scores_half() -> None:
    groups = [Group("a", score=None), Group("b", score=0.8)]
    out = both([Snapshot(1, groups, **CALM)], ranked="model")
    assert out[0][1] == "ml-ranker: percentile=0.000, score=0.500, rank=2"


# -- the engine equals the reference on random snapshots ------------------------------------------------------
def random_snapshots(seed: int, n: int = 120) -> list[Snapshot]:
    rnd = random.Random(seed)
    snaps, t = [], 0
    for _ in range(n):
        t += rnd.choice([500, 500, 500, 1500, 45_000])
        groups = []
        for _ in range(rnd.randint(1, 9)):
            members = [
                Member(
                    exe=rnd.choice(["/usr/bin/firefox", "/usr/lib/systemd/systemd-logind", "/usr/bin/bash", None]),
                    cgroup_path=rnd.choice(["/user.slice/app.scope", "/system.slice/kernel-x.service", None]),
                    is_audio_client=rnd.random() < 0.2,
                    has_active_stream=rnd.random() < 0.5,
                    has_tty=rnd.random() < 0.3,
                    env_term=rnd.choice([None, "xterm"]),
                )
                for _ in range(rnd.randint(0, 3))
            ]
            groups.append(
                Group(
                    f"cgroup-{rnd.randint(0, 6)}",
                    is_focused_group=rnd.random() < 0.2,
                    has_gui_window=rnd.random() < 0.5,
                    total_cpu_share=rnd.choice([None, 0.1, 0.5, 0.9]),
                    tags=rnd.choice([[], ["game"], ["updater"], ["batch"]]),
                    members=members,
                    score=rnd.choice([None, 0.1, 0.5, 0.5, 0.9, rnd.random()]),
                )
            )
        snaps.append(
            Snapshot(
                t,
                groups,
                psi_cpu_some_avg10=rnd.choice([None, 0.0, 0.5, 0.61, 3.0]),
                psi_io_some_avg10=rnd.choice([None, 0.0, 0.41]),
                psi_mem_some_avg10=rnd.choice([None, 0.0, 2.0]),
                sched_latency_p99_ms=rnd.choice([None, 5.0, 25.0]),
                ui_loop_p95_ms=rnd.choice([None, 5.0, 17.0]),
                audio_xruns_delta=rnd.choice([None, 0, 0, 3]),
                time_since_last_input_ms=rnd.choice([None, 500, 200_000]),
                user_active=rnd.random() < 0.5,
                load_avg_one=rnd.choice([0.2, 1.5, 3.0, 6.0]),
                mem_total_kb=16_000,
                mem_available_kb=rnd.choice([16_000, 4_000, 1_000]),
            )
        )
    return snaps


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("ranked", [None, "stub", "model"])
def test_the_engine_equals_the_reference(seed: int, ranked: str | None) -> None:
    snaps = random_snapshots(seed)
    out = both(snaps, ranked=ranked, ncpu=2)
    g, s, scores = arrays(snaps, ranked)
    assert eng.replay(g, s, scores=scores, ncpu=2).held.any()  # the hysteresis held some classes
    reasons = {r.split(". dynamic")[0] for _, r in out if not r.startswith("ml-ranker")}
    assert len(out) > 300 and "dynamic-scaling" in " ".join(r for _, r in out) and len(reasons) >= 5


def test_thresholds_out_of_order_follow_the_daemon_s_first_match() -> None:
    # the daemon refuses such a config at load; the replay still maps exactly as map_percentile_to_class would
    groups = [Group(f"g{i}") for i in range(11)]
    both([Snapshot(1, groups, **CALM)], ranked="stub", normal_percentile=0.7, crit_interactive_percentile=0.5)


def test_a_store_replayed_again_and_again_keeps_equal_to_the_reference() -> None:
    # the engine keeps its threshold-independent work on `Groups.cache`: every later call (other scores, also
    # changed in place, thresholds, CPU counts, hysteresis lengths) and a subset built from `vars(g)` must still
    # give the reference's decisions, and the same arrays as a replay with nothing prepared
    snaps = sorted(random_snapshots(4), key=lambda x: x.snapshot_id)
    g, s, _ = arrays(snaps, None)
    rows = [grp for x in snaps for grp in x.groups]
    rnd = np.random.default_rng(4)
    model = np.where(rnd.random(g.snap.size) < 0.2, np.nan, np.round(rnd.random(g.snap.size), 1))
    changed = model.copy()
    cases = [
        (None, {}, 2),
        (eng.stub_scores(g), {}, 2),
        (model, {"interactive_percentile": 0.5, "normal_percentile": 0.2}, 2),
        (model, {"priority_hysteresis_stable_sec": 0}, 1),
        (model, {"priority_hysteresis_stable_sec": 1}, 1),
        (changed, {"psi_cpu_some_high": 0.0, "user_idle_timeout_sec": 1, "noisy_neighbour_cpu_share": 0.3}, 4),
        (changed, {}, 2),
        (None, {"user_idle_timeout_sec": 1}, 2),
    ]
    for i, (scores, thresholds, ncpu) in enumerate(cases):
        if i == 6:
            changed[::3] = 0.9  # the same array, other content
        for grp, v in zip(rows, model if scores is None else scores, strict=True):
            grp.score = float(v)
        expected = [d for snap in ref.replay(snaps, thresholds, ranked=scores is not None, ncpu=ncpu) for d in snap]
        got = eng.replay(g, s, thresholds, scores=scores, ncpu=ncpu)
        assert list(zip(got.classes(), got.reasons(), strict=True)) == expected, i
        fresh = eng.replay(eng.Groups(**{**vars(g), "cache": None}), s, thresholds, scores=scores, ncpu=ncpu)
        for name, v in vars(fresh).items():
            assert np.array_equal(getattr(got, name), v, equal_nan=v.dtype.kind == "f"), (i, name)
    half = int(g.snap.max()) // 2
    keep = np.flatnonzero(g.snap < half)
    part = eng.Groups(**{k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in vars(g).items()})
    part_s = eng.Snapshots(**{k: v[:half] for k, v in vars(s).items()})
    for grp, v in zip(rows, changed, strict=True):
        grp.score = float(v)
    got = eng.replay(part, part_s, scores=changed[keep], ncpu=2)
    expected = [d for snap in ref.replay(snaps[:half], ranked=True, ncpu=2) for d in snap]
    assert list(zip(got.classes(), got.reasons(), strict=True)) == expected
    assert part.cache is not g.cache
