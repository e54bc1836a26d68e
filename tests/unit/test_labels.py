"""The rule teacher, the responsiveness correction, and the refusal to train on labels that cannot rank."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer import labels as lb
from smoothtask_trainer.errors import ValidationFailed
from smoothtask_trainer.services.dataset import build_dataset
from smoothtask_trainer.services.validate import ranking_signal, require_ranking_signal
from smoothtask_trainer.settings import DatasetSettings
from tests import factories as F


def inputs(n: int = 1, **overrides) -> lb.RuleInputs:
    base = dict(
        focused=np.zeros(n, bool),
        group_gui=np.zeros(n, bool),
        tags=[frozenset()] * n,
        user_active=np.ones(n, bool),
        idle_ms=np.full(n, 500.0),
        bad_responsiveness=np.zeros(n, bool),
        total_cpu_share=np.full(n, np.nan),
        xruns=np.zeros(n),
        audio_active=np.zeros(n, bool),
        tty_term=np.zeros(n, bool),
        system=np.zeros(n, bool),
        nice=np.zeros(n),
        ionice_class=np.zeros(n),
    )
    for key, value in overrides.items():
        base[key] = value if key in ("tags", "members") else np.asarray(value)
    return lb.RuleInputs(**base)


CASES = [
    ("system group", {"system": [True], "focused": [True], "group_gui": [True]}, lb.NORMAL, 1),
    ("audio with xruns", {"xruns": [2], "audio_active": [True]}, lb.INTERACTIVE, 2),
    ("focused and playing", {"focused": [True], "audio_active": [True]}, lb.CRIT, 3),
    ("focused game", {"focused": [True], "tags": [frozenset({"game"})]}, lb.CRIT, 3),
    ("focused window", {"focused": [True], "group_gui": [True]}, lb.INTERACTIVE, 4),
    ("active terminal", {"tty_term": [True]}, lb.INTERACTIVE, 5),
    ("terminal, input long ago", {"tty_term": [True], "idle_ms": [600_000.0]}, lb.NORMAL, 12),
    ("indexer while active", {"tags": [frozenset({"indexer"})]}, lb.BACKGROUND, 6),
    ("noisy neighbour", {"bad_responsiveness": [True], "total_cpu_share": [0.9]}, lb.BACKGROUND, 7),
    ("audio in the background", {"audio_active": [True]}, lb.INTERACTIVE, 8),
    ("idle IO class", {"ionice_class": [3.0]}, lb.IDLE, 9),
    ("niced batch", {"nice": [19.0]}, lb.BACKGROUND, 10),
    ("indexer while away", {"tags": [frozenset({"indexer"})], "user_active": [False]}, lb.BACKGROUND, 10),
    ("desktop app", {"group_gui": [True]}, lb.NORMAL, 11),
    ("nothing", {}, lb.NORMAL, 12),
    ("compositor", {"members": lb.MemberSignals([frozenset()], ["gnome-shell"])}, lb.INTERACTIVE, 13),
    ("audio server", {"members": lb.MemberSignals([frozenset()], ["pipewire"])}, lb.INTERACTIVE, 13),
]


@pytest.mark.parametrize(("case", "overrides", "grade", "rule"), CASES, ids=[c[0] for c in CASES])
def test_each_rule(case: str, overrides: dict, grade: int, rule: int) -> None:
    grades, rules = lb.rule_grades(inputs(**overrides))
    assert (int(grades[0]), int(rules[0])) == (grade, rule)


def test_a_stock_log_falls_back_to_what_the_daemon_fills() -> None:
    # group tags all empty and no active stream anywhere (the stock daemon): member tags and PipeWire clients
    members = lb.MemberSignals([frozenset({"indexer", "maintenance"}), frozenset(), frozenset()], [None, None, None])
    r = inputs(3, members=members, audio_client=[False, True, False], focused=[False, False, True])
    grades, rules = lb.rule_grades(r)
    assert rules.tolist()[:2] == [6, 8] and grades.tolist()[:2] == [lb.BACKGROUND, lb.INTERACTIVE]
    report = lb.signal_report(r)
    assert report["tags (R3 game, R6, H3, H4)"].startswith("member process tags")
    assert report["audio (R2, R3, H1)"].startswith("PipeWire clients")
    # where the group's own columns are filled they win: a group tag set and a real stream
    filled = inputs(3, tags=[frozenset(), frozenset({"game"}), frozenset()], members=members,
                    audio_client=[False, True, False], audio_active=[False, False, True])  # fmt: skip
    grades, rules = lb.rule_grades(filled)
    assert rules.tolist() == [12, 12, 8]  # member tags ignored, the client without a stream is not "playing"
    assert lb.signal_report(filled)["tags (R3 game, R6, H3, H4)"] == "group tags"
    idle = lb.signal_report(inputs(1, user_active=[False], idle_ms=[np.nan]))
    assert idle["user activity (R5, R6)"].startswith("none")


def test_thresholds_come_from_the_daemon_policy() -> None:
    r = inputs(tty_term=[True], idle_ms=[100_000.0])
    assert lb.rule_grades(r)[0][0] == lb.INTERACTIVE  # 100 s < user_idle_timeout_sec 120
    assert lb.rule_grades(r, {"user_idle_timeout_sec": 60})[0][0] == lb.NORMAL


def test_responsiveness_correction_pushes_down_active_unprotected_groups() -> None:
    r = inputs(
        4,
        bad_responsiveness=[True, True, True, False],
        focused=[False, True, False, False],
        system=[False, False, True, False],
    )
    r.cpu_pressure = np.array([1.0, 1.0, 1.0, 1.0])
    grades = np.array([lb.NORMAL, lb.INTERACTIVE, lb.NORMAL, lb.NORMAL], dtype=np.int8)
    out = lb.responsiveness_correction(grades, r)
    assert out.tolist() == [lb.BACKGROUND, lb.INTERACTIVE, lb.NORMAL, lb.NORMAL]
    r.cpu_pressure = np.array([0.5, 1.0, 1.0, 1.0])
    assert lb.responsiveness_correction(grades, r)[0] == lb.NORMAL  # not among the most active
    idle = np.array([lb.IDLE] * 4, dtype=np.int8)
    r.cpu_pressure = np.ones(4)
    assert lb.responsiveness_correction(idle, r).min() == lb.IDLE


def test_rules_read_member_flags_from_the_store(tmp_path: Path) -> None:
    rec = F.snapshot(0, n_groups=4)
    for p in rec["processes"]:
        p["teacher_score"] = p["teacher_priority_class"] = None
    procs = {p["pid"]: p for p in rec["processes"]}
    procs[100]["exe"] = "/usr/lib/systemd/systemd-journald"  # group 0: a system group (second member)
    procs[111].update(is_audio_client=True, has_active_stream=True)  # group 1: focused and playing
    rec["app_groups"][1]["is_focused_group"] = True
    procs[120].update(has_tty=True, env_term="xterm-256color")  # group 2: an active terminal
    rec["app_groups"][3]["tags"] = ["indexer"]  # group 3: an indexer while the user is active
    db = F.write_daemon_db(tmp_path / "s.db", [rec])
    ds = build_dataset(db, DatasetSettings(labels="rules", responsiveness_correction=False))
    got = dict(zip(ds.app_group_id, ds.y.tolist(), strict=True))
    assert got == {"cgroup-0": lb.NORMAL, "cgroup-1": lb.CRIT, "cgroup-2": lb.INTERACTIVE, "cgroup-3": lb.BACKGROUND}
    assert ds.stats["rule_hits"] == {1: 1, 3: 1, 5: 1, 6: 1}


def test_correction_uses_activity_since_the_previous_snapshot(tmp_path: Path) -> None:
    recs = [F.snapshot(0, n_groups=3), F.snapshot(1, n_groups=3)]
    for rec in recs:
        for p in rec["processes"]:
            p["teacher_score"] = p["teacher_priority_class"] = None
        for g in rec["app_groups"]:
            g["has_gui_window"] = False
    # in the second snapshot, pid 120's involuntary context switches jump: it is hogging the CPU
    second = {p["pid"]: p for p in recs[1]["processes"]}
    second[120]["involuntary_ctx"] = 50_000
    db = F.write_daemon_db(tmp_path / "s.db", recs)
    on = build_dataset(db, DatasetSettings(labels="rules"))
    off = build_dataset(db, DatasetSettings(labels="rules", responsiveness_correction=False))
    demoted = [(q, g) for q, g, a, b in zip(on.query, on.app_group_id, on.y, off.y, strict=True) if a < b]
    assert demoted == [(F.BASE_ID + 500, "cgroup-3")]  # group 2 of snapshot 1 is named cgroup-3
    assert on.stats["responsiveness_demoted"] == 1


def test_refuses_labels_without_ranking_signal(tmp_path: Path) -> None:
    same = [F.snapshot(i) for i in range(3)]  # every process has teacher_score 0.5: constant per snapshot
    ds = build_dataset(F.write_daemon_db(tmp_path / "a.db", same))
    assert ranking_signal(ds) == (0, 3)
    with pytest.raises(ValidationFailed, match="constant within every snapshot") as info:
        require_ranking_signal(ds)
    assert "set labels to combined" in info.value.hint  # the Python API names its parameter, not a flag
    single = [F.snapshot(i, n_groups=1) for i in range(3)]
    for rec in single:
        rec["processes"][0]["teacher_score"] = 0.1 * rec["snapshot_id"] % 1
    ds = build_dataset(F.write_daemon_db(tmp_path / "b.db", single))
    with pytest.raises(ValidationFailed, match="no snapshot has 2 or more app groups"):
        require_ranking_signal(ds)
    varied = [F.snapshot(i) for i in range(2)]
    varied[1]["processes"][0]["teacher_score"] = 0.9
    ds = build_dataset(F.write_daemon_db(tmp_path / "c.db", varied))
    require_ranking_signal(ds)
    assert ranking_signal(ds) == (1, 2)


def test_activity_rank_matches_pandas_percentile_rank() -> None:
    import pandas as pd

    from smoothtask_trainer.services.dataset import _pct_rank

    rng = np.random.default_rng(0)
    values = rng.integers(0, 5, 500).astype(float)
    query = np.sort(rng.integers(0, 20, 500))
    expected = pd.DataFrame({"q": query, "v": values}).groupby("q")["v"].rank(pct=True, method="max")
    np.testing.assert_allclose(_pct_rank(values, query), expected.to_numpy())
