"""`tune`: the class-mix budget of the cut-offs, the rule-teacher fallback, the idle timeout from input pauses and
the noisy-neighbour share against harm, each on data whose answer is known."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from smoothtask_trainer.class_mix import parse_class_mix
from smoothtask_trainer.contract.policy import f32
from smoothtask_trainer.contract.thresholds import validate_thresholds
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.tune import tune
from smoothtask_trainer.services.tune_common import short_cut
from smoothtask_trainer.services.tune_cutoffs import CUTOFFS, best_cutoffs, class_mix, deviation
from smoothtask_trainer.services.tune_input import input_pauses
from smoothtask_trainer.settings import PolicySettings, load_settings
from tests import factories as F
from tests.clirun import invoke

BUDGET = "crit=0.05,interactive=0.2,normal=0.5,background=0.15,idle=0.1"


# policy.class_mix


def test_class_mix_accepts_text_and_a_table_and_rejects_what_is_not_a_budget(tmp_path: Path) -> None:
    assert parse_class_mix(BUDGET) == pytest.approx((0.1, 0.15, 0.5, 0.2, 0.05))
    assert parse_class_mix("NORMAL=0.6, bg=0.4") == pytest.approx((0, 0.4, 0.6, 0, 0))  # a class left out wants 0
    cfg = tmp_path / "c.toml"
    cfg.write_text("[policy.class_mix]\nidle = 0.1\nbackground = 0.15\nnormal = 0.5\ninteractive = 0.2\ncrit = 0.05\n")
    from_table = load_settings(cfg).policy.class_mix
    assert from_table == PolicySettings(class_mix=BUDGET).class_mix  # one canonical text, whatever the form
    assert parse_class_mix(from_table) == pytest.approx(parse_class_mix(BUDGET))
    assert PolicySettings(class_mix="").class_mix is None
    for bad, why in [
        ("normal=0.5", "sum to 1"),
        ("normal=1.5,idle=-0.5", r"in \[0, 1\]"),
        ("normal=0.5,normal=0.5", "twice"),
        ("urgent=1", "unknown class"),
        ("normal", "class=share"),
        ("normal=nan,idle=1", r"in \[0, 1\]"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_class_mix(bad)
    cfg.write_text('[policy]\nclass_mix = "normal=0.9"\n')
    with pytest.raises(ConfigError, match=r"policy\.class_mix.*sum to 1"):
        load_settings(cfg)


def test_the_new_settings_are_options_of_tune() -> None:
    res = invoke("tune", "--help")
    assert res.exit_code == 0
    assert "--class-mix" in res.output and "--idle-gap-quantile" in res.output


# the cut-offs by a budget


def _percentiles(sizes: list[int]) -> np.ndarray:
    """The percentiles rule M sees in snapshots of these sizes (no rule catching any group)."""
    return np.concatenate([np.ones(1) if n == 1 else 1.0 - np.arange(n) / (n - 1) for n in sizes])


def test_an_exactly_reachable_budget_is_met_with_the_f32_boundaries_in_mind() -> None:
    p = _percentiles([11] * 20)  # 0.0, 0.1, …, 1.0 in every snapshot
    budget = tuple(np.array([1, 2, 1, 5, 2]) / 11)  # {0} {.1, .2} {.3} {.4 … .8} {.9, 1}
    values, dev = best_cutoffs(p, budget)
    assert dev == pytest.approx(0.0, abs=1e-12)
    assert list(values) == sorted(values)
    assert class_mix(p, dict(zip(CUTOFFS, values, strict=True))) == pytest.approx(budget)
    # the cut-offs a float64 reading suggests miss it: f32(0.1) > 0.1 pushes 0.1 down to IDLE, f32(0.4) > 0.4 keeps
    # 0.4 out of INTERACTIVE
    naive = dict(zip(CUTOFFS, (0.1, 0.3, 0.4, 0.9), strict=True))
    assert deviation(class_mix(p, naive), budget) == pytest.approx(2 / 11)


def test_the_budget_search_is_the_exact_optimum() -> None:
    rng = np.random.default_rng(7)
    p = _percentiles(list(rng.integers(1, 9, 40)))
    budget = tuple(rng.dirichlet(np.ones(5)))
    values, dev = best_cutoffs(p, budget)
    assert dev == pytest.approx(deviation(class_mix(p, dict(zip(CUTOFFS, values, strict=True))), budget))
    levels = np.unique(p)
    grid = [0.0, *[(a + b) / 2 for a, b in itertools.pairwise(levels)], 1.0]
    brute = min(
        deviation(class_mix(p, dict(zip(CUTOFFS, c, strict=True))), budget)
        for c in itertools.combinations_with_replacement(grid, 4)
    )
    assert dev == pytest.approx(brute, abs=1e-12)


def test_a_cut_off_between_two_percentiles_separates_them_as_the_daemon_compares() -> None:
    for lo, hi in [(0.2999, 0.3), (0.5, 0.6), (0.1, 0.1000001), (0.0, 1 / 7)]:
        c = short_cut(lo, hi)
        assert lo < f32(c) <= hi, (lo, hi, c)
        grades = eng.percentile_grades(np.array([lo, hi]), dict(zip(CUTOFFS, (c, 1.0, 1.0, 1.0), strict=True)))
        assert grades.tolist() == [0, 1]
    assert short_cut(0.5, 0.6) == 0.55  # short and in the middle, not a float32 artefact


def test_tune_meets_the_class_mix_and_reports_the_held_out_deviation(tmp_path: Path) -> None:
    from smoothtask_trainer.services import replay_load
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "sim.db"
    write_snapshots(db, "sqlite", count=100, seed=5, scale=0.4)
    r = tune(db, ranker="stub", settings=PolicySettings(trials=5, ncpu=4, class_mix=BUDGET))
    knobs = [r.knobs[k] for k in CUTOFFS]
    assert all(k.status == "tuned" for k in knobs), knobs[0].reason
    after = {k: r.knobs[k].after for k in CUTOFFS}
    assert list(after.values()) == sorted(after.values())
    assert validate_thresholds({key: v.after for key, v in r.knobs.items()}) == []
    obj = knobs[0].objective
    assert obj is not None and "class_mix" in obj.name and obj.tuning < 0.1
    assert obj.heldout["after"] < obj.heldout["before"]
    # the reported held-out deviation is the one a replay with the tuned cut-offs gives
    con = __import__("sqlite3").connect(db)
    g, s, _ = replay_load.load(con)
    con.close()
    d = eng.replay(g, s, after, scores=eng.stub_scores(g), ncpu=4)
    held = (d.rule == eng.RANKER) & (g.snap >= r.tuning_snapshots)
    mix = np.bincount(d.base_grade[held], minlength=5) / held.sum()
    assert obj.heldout["after"] == pytest.approx(deviation(mix, parse_class_mix(BUDGET)), abs=1e-4)


# the rule teacher when the store has no teacher classes


def test_without_teacher_classes_the_cut_offs_agree_with_the_rule_teacher_and_say_so(tmp_path: Path) -> None:
    from smoothtask_trainer.services import replay_load
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.tune_cutoffs import rule_teacher_grades
    from smoothtask_trainer.settings import DatasetSettings
    from smoothtask_trainer.simulator import write_snapshots

    db = tmp_path / "plain.db"
    write_snapshots(db, "sqlite", count=80, seed=4, scale=0.4, labels=False)
    r = tune(db, ranker="stub", settings=PolicySettings(trials=20, ncpu=2))
    k = r.knobs["normal_percentile"]
    assert k.objective is not None and "rule teacher" in k.objective.name
    assert "not a person" in k.reason and "no teacher classes" in k.reason
    con = __import__("sqlite3").connect(db)
    g, s, extra = replay_load.load(con)
    con.close()
    grades = rule_teacher_grades(db, g, s)
    ds = build_dataset(db, DatasetSettings(labels="rules"))
    assert (grades >= 0).all() and sorted(grades.tolist()) == sorted(ds.y.astype(int).tolist())
    budget = tune(db, ranker="stub", settings=PolicySettings(trials=5, ncpu=2, class_mix="normal=1"))
    assert "rule teacher" not in budget.knobs["normal_percentile"].reason  # a budget needs no labels


# user_idle_timeout_sec from the input pauses


def _input_store(path: Path, blocks: int, short: int, long: int, tiny: int) -> Path:
    """Snapshots every 500 ms; each block has `short` pauses of 2.1 s, `long` of 30.1 s and `tiny` of 0.6 s (the
    idle time tsli reaches before input resumes)."""
    tsli: list[float] = []
    for _ in range(blocks):
        for k in [5] * short + [2] * tiny + [61] * long:
            tsli += [100.0 + 500 * j for j in range(k)]
    records = []
    for i, idle in enumerate(tsli):
        rec = F.snapshot(i, n_groups=2, per_group=1)
        rec.update(time_since_last_input_ms=idle, psi_cpu_some_avg10=0.0, psi_io_some_avg10=0.0)
        records.append(rec)
    return F.write_daemon_db(path, records)


def test_the_idle_timeout_is_the_shortest_that_covers_the_quantile_of_pauses(tmp_path: Path) -> None:
    db = _input_store(tmp_path / "in.db", blocks=8, short=10, long=2, tiny=20)
    r = tune(db, settings=PolicySettings(trials=5, ncpu=2, idle_gap_quantile=0.9))
    k = r.knobs["user_idle_timeout_sec"]
    # 10 of 12 counted pauses are 2.1 s: 0.83 < 0.9, so the timeout must outlast the 30.1 s ones; counting the
    # 0.6 s pauses (shorter than any timeout) would give 3 s
    assert (k.status, k.after) == ("tuned", 31), k.reason
    assert k.objective is not None and k.objective.heldout["after"] == pytest.approx(1.0)
    low = tune(db, settings=PolicySettings(trials=5, ncpu=2, idle_gap_quantile=0.8)).knobs["user_idle_timeout_sec"]
    assert (low.status, low.after) == ("tuned", 3)
    # the input value 120 s covers every held-out pause; 3 s covers only the short ones, nearer the target 0.8
    held = low.objective.heldout
    assert held["before"] == 1.0 and abs(held["after"] - 0.8) < abs(held["before"] - 0.8)


def test_input_pauses_stay_within_a_session_and_skip_unknown_input() -> None:
    t = np.array([0, 500, 1000, 1500, 2000, 3_600_000, 3_600_500, 3_601_000, 3_601_500, 3_602_000], dtype=np.int64)
    tsli = np.array([1100, 1600, 2100, 100, 600, 100, 3100, 3600, np.nan, 100.0])
    nan = np.full(t.size, np.nan)
    s = eng.Snapshots(t, nan, nan, nan, nan, nan, nan, tsli, np.zeros(t.size, bool), nan, nan, nan)
    pauses, at = input_pauses(s)
    # 2100 -> 100 is a pause; 600 -> 100 crosses an hour without logs; 3600 -> NULL -> 100 has no known end
    assert pauses.tolist() == [2100.0] and at.tolist() == [3]


def test_stock_logs_cannot_tune_the_input_and_cpu_share_knobs(tmp_path: Path) -> None:
    records = []
    for i in range(40):
        rec = F.snapshot(i, n_groups=2, per_group=1)
        rec.update(time_since_last_input_ms=None, user_active=False)
        records.append(rec)
    r = tune(F.write_daemon_db(tmp_path / "stock.db", records), settings=PolicySettings(trials=5, ncpu=2))
    for key, column in (
        ("user_idle_timeout_sec", "time_since_last_input_ms"),
        ("noisy_neighbour_cpu_share", "total_cpu_share"),
    ):
        k = r.knobs[key]
        assert k.status == "not-tunable" and column in k.reason and k.after == k.before


# noisy_neighbour_cpu_share against harm that follows


def _share_store(path: Path, n: int = 160) -> Path:
    """An unfocused group's CPU share above 0.5 is followed, one snapshot later, by a latency p99 of 80 ms; the
    focused group always holds 0.95 of the CPU, which R5 never throttles."""
    rng = np.random.default_rng(3)
    share = rng.choice([0.1, 0.3, 0.45, 0.6, 0.8], n)
    records = []
    for i in range(n):
        rec = F.snapshot(i, n_groups=2, per_group=1)
        rec.update(psi_cpu_some_avg10=0.0, psi_io_some_avg10=0.0, audio_xruns_delta=0)
        rec["sched_latency_p99_ms"] = 80.0 if i and share[i - 1] > 0.5 else 5.0
        rec["app_groups"][0].update(is_focused_group=True, total_cpu_share=0.95)
        rec["app_groups"][1].update(total_cpu_share=float(share[i]))
        records.append(rec)
    return F.write_daemon_db(path, records)


def test_the_noisy_neighbour_share_predicts_harm_from_unfocused_groups_only(tmp_path: Path) -> None:
    db = _share_store(tmp_path / "share.db")
    r = tune(db, settings=PolicySettings(trials=5, ncpu=2, harm_horizon_s=0.6))
    k = r.knobs["noisy_neighbour_cpu_share"]
    assert k.status == "tuned" and 0.45 <= k.after < 0.6, k
    assert k.objective is not None and k.objective.tuning == 1.0
    # held out, only the last snapshot's flag has no next snapshot to be right about
    assert k.objective.heldout["after"] > 0.95 > k.objective.heldout["before"]
    assert 0 < k.after <= 1  # the daemon's range


def test_tune_command_with_a_class_mix(tmp_path: Path, sim_store: Path) -> None:
    out = tmp_path / "t.yml"
    args = ("tune", "--db", str(sim_store), "--ranker", "stub", "--output", str(out), "--trials", "5", "--ncpu", "2")
    res = invoke(*args, "--class-mix", "normal=0.5,interactive=0.5", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert "class_mix" in doc["knobs"]["normal_percentile"]["objective"]["name"]
    bad = invoke(*args, "--class-mix", "normal=0.5")
    assert bad.exit_code == 2 and "sum to 1" in bad.output
