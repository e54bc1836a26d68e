"""The behavioural teacher: labels from what the user did next, combined with the rule teacher's guardrails."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer import labels as lb
from smoothtask_trainer import labels_attention as la
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.services.dataset import build_dataset
from smoothtask_trainer.settings import DatasetSettings
from tests import factories as F

# 6 snapshots 1 s apart, groups 0, 1, 2: the focus goes 0, 0, 1, 1, 2, 2; group 2 is a PipeWire client throughout
N_SNAP, N_GROUP = 6, 3
Q = np.repeat(np.arange(N_SNAP), N_GROUP)
KEY = np.tile(np.arange(N_GROUP), N_SNAP)
FOCUS_OF = np.array([0, 0, 1, 1, 2, 2])


def behaviour(focus_of: np.ndarray = FOCUS_OF, audio: np.ndarray | None = None) -> la.Behaviour:
    return la.Behaviour(
        query=Q,
        ts_ms=Q * 1000,
        key=KEY,
        focused=np.repeat(focus_of, N_GROUP) == KEY,
        audio_client=KEY == 2 if audio is None else audio,
    )


def test_the_attention_label_is_the_future_focus_share_plus_audio_while_present() -> None:
    att = la.attention(behaviour(), horizon_s=2)
    first = att.value[:N_GROUP]  # snapshot 0 sees snapshots 1 and 2: group 0 then group 1 focused
    assert first[0] == pytest.approx(0.5) and first[1] == pytest.approx(0.5)
    assert first[2] == pytest.approx(la.AUDIO_WEIGHT)  # a client through the horizon, the user switching windows
    # snapshot 4 sees only snapshot 5, where nobody changes focus: no presence, so no audio bonus
    assert att.value[4 * N_GROUP : 5 * N_GROUP] == pytest.approx([0.0, 0.0, 1.0])
    assert not att.known[-N_GROUP:].any() and np.isnan(att.value[-N_GROUP:]).all()


def test_labels_use_only_the_future() -> None:
    rng = np.random.default_rng(0)
    base = la.attention(behaviour(), horizon_s=3).value
    for t in range(N_SNAP - 1):
        rows = t == Q
        for trial in range(20):
            # rewrite everything up to and including snapshot t: the labels of snapshot t must not move
            past = FOCUS_OF.copy()
            past[: t + 1] = rng.integers(-1, N_GROUP, t + 1)  # -1: no group focused
            audio = (KEY == 2) | ((t >= Q) & (rng.random(Q.size) < 0.5))
            changed = la.attention(behaviour(past, audio), horizon_s=3).value
            assert np.allclose(changed[rows], base[rows]), (t, trial)
    # while changing the future does move them
    future = FOCUS_OF.copy()
    future[1:] = 2
    assert not np.allclose(la.attention(behaviour(future), horizon_s=3).value[:N_GROUP], base[:N_GROUP])


def test_combined_keeps_the_guardrails_and_lifts_the_rest_by_attention() -> None:
    att = la.attention(behaviour(), horizon_s=2)
    n = Q.size
    grades = np.full(n, lb.NORMAL, dtype=np.int8)
    rule = np.full(n, 12, dtype=np.int8)  # H5 default
    grades[KEY == 0], rule[KEY == 0] = lb.NORMAL, 1  # group 0 is a system group (R1)
    grades[KEY == 2], rule[KEY == 2] = lb.BACKGROUND, 10  # group 2 is niced (H3)
    y, keep, stats = la.combined_labels(grades, rule, att)
    assert (keep == att.known).all() and stats["rows_decided_by_rules"] == (KEY == 0)[keep].sum()
    normal, background = lb.GRADE_SCORE[lb.NORMAL], lb.GRADE_SCORE[lb.BACKGROUND]
    # R1 decides group 0 whatever the user did (it is focused next at snapshot 0)
    assert np.allclose(y[KEY == 0], normal)
    # the rest: the rule grade is the floor, attention lifts toward CRIT_INTERACTIVE's score
    assert y[1] == pytest.approx(normal + (la.TOP_SCORE - normal) * 0.5)  # group 1 focused half the horizon
    assert np.allclose(y[(KEY == 2) & (Q < 2)], background)  # not focused within 2 s of snapshots 0 and 1
    assert y[(KEY == 2) & (Q == 2)][0] > background
    assert (y <= la.TOP_SCORE + 1e-6).all()


def unlabelled(n_snapshots: int) -> list[dict]:
    records = []
    for i in range(n_snapshots):
        rec = F.snapshot(i, n_groups=3)
        for p in rec["processes"]:
            p["teacher_score"] = p["teacher_priority_class"] = None
        for g, group in enumerate(rec["app_groups"]):
            group["is_focused_group"] = g == i % 3
        records.append(rec)
    return records


def test_auto_is_combined_on_unlabelled_logs_and_teacher_on_labelled(tmp_path: Path, sim_store: Path) -> None:
    db = F.write_daemon_db(tmp_path / "real.db", unlabelled(4))
    ds = build_dataset(db)
    assert ds.label_source == "combined" and ds.n_queries == 3  # the last snapshot has no future
    assert ds.stats["unlabeled_rows"] == 3 and "rule_hits" in ds.stats
    assert build_dataset(sim_store).label_source == "teacher_score"
    assert build_dataset(sim_store, DatasetSettings(labels="combined")).label_source == "combined"


def test_rows_without_a_future_are_dropped(tmp_path: Path) -> None:
    db = F.write_daemon_db(tmp_path / "real.db", unlabelled(4))
    ds = build_dataset(db, DatasetSettings(labels="attention"))
    assert ds.label_source == "attention" and ds.n_rows == 9 and ds.stats["unlabeled_rows"] == 3
    assert set(np.unique(ds.query)) == set(np.unique(build_dataset(db).query))
    assert (ds.y >= 0).all() and (ds.y <= 1).all() and ds.y.max() > 0
    with pytest.raises(ConfigError, match="later one"):
        build_dataset(F.write_daemon_db(tmp_path / "one.db", unlabelled(1)), DatasetSettings(labels="attention"))


def test_attention_needs_a_logged_focus(tmp_path: Path) -> None:
    records = unlabelled(3)
    for rec in records:
        for group in rec["app_groups"]:
            group["is_focused_group"] = False
    with pytest.raises(ConfigError, match="focused window") as info:
        build_dataset(F.write_daemon_db(tmp_path / "blind.db", records), DatasetSettings(labels="attention"))
    assert info.value.setting == "dataset.labels"


def test_train_with_attention_labels_from_the_command_line(cli, sim_store: Path, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "m.cbm"
    args = ["--labels", "attention", "--iterations", "5", "--allow-worse-than-stub", "--json"]
    result = cli("train", "--db", str(sim_store), "--model-cbm", str(out), *args)
    assert result.exit_code == 0, result.output
    assert '"label_source": "attention"' in result.stdout and out.exists()
