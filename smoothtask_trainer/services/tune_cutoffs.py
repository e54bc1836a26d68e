"""The four percentile cut-offs of rule M (hybrid only): a class-mix budget, or agreement with the store's labels.

- With `policy.class_mix` set, the cut-offs are a design constraint (policy-replay.md §9 (b)): the ones whose class
  mix of the ranker-decided groups (rule M's classes, before dynamic scaling) deviates least from the budget, by
  the total absolute deviation of the five shares. Which groups the ranker decides and their percentiles do not
  depend on the cut-offs, so the share of groups below a cut-off is a step function of it: every cut-off that
  changes the mix is tried (one per distinct percentile) and a dynamic programme over the four ordered cut-offs
  finds the exact optimum; nothing is fitted to any teacher.
- Otherwise the replayed classes should agree with the store's teacher classes (§9 (a)); without those (every real
  daemon log), with the rule teacher's classes (docs/labels.md), with the caveat that this agrees with the
  project's own rules, not with a person. Seeded TPE in the daemon's order.

Either way `bg <= normal <= interactive <= crit`. No typer or rich here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer.class_mix import CANONICAL, parse_class_mix
from smoothtask_trainer.contract.policy import f32
from smoothtask_trainer.errors import opt
from smoothtask_trainer.schemas.tune import KnobReport, Objective
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.tune_common import Replay, kept, short_cut
from smoothtask_trainer.settings import PolicySettings

CUTOFFS = ("background_percentile", "normal_percentile", "interactive_percentile", "crit_interactive_percentile")
RULE_TEACHER_CAVEAT = (
    "the store has no teacher classes, so the cut-offs agree with the rule teacher: the project's own rules "
    "(docs/labels.md), not a person's judgement"
)


def tune_cutoffs(
    w: Replay, t_in: Mapping[str, Any], p: PolicySettings, force: bool, rule_grades: Callable[[], np.ndarray | None]
) -> dict[str, KnobReport]:
    """The cut-offs by the budget when `policy.class_mix` is set, else by agreement with the labels (the store's
    teacher classes, else `rule_grades()`: the rule teacher's, None when the input cannot tell them)."""
    if w.scores is None:
        return kept(
            CUTOFFS,
            t_in,
            "rules-only: the daemon uses the cut-offs only with a ranker (give a model or the stub ranker)",
        )
    if p.class_mix:
        return tune_to_budget(w, t_in, parse_class_mix(p.class_mix), force)
    teacher, rule_teacher = w.extra["teacher_grade"], False
    if not (teacher >= 0).any():
        grades = rule_grades()
        if grades is None:
            why = "no teacher classes, and this feature dataset's labels are not the rule teacher's"
            return kept(CUTOFFS, t_in, f"{why} (build it with {opt('dataset.labels')} rules to tune these)")
        teacher, rule_teacher = grades, True
        if not (teacher >= 0).any():
            return kept(CUTOFFS, t_in, "the store has no teacher classes, and the rule teacher labels no group")
    return tune_to_labels(w, t_in, p, force, teacher, rule_teacher)


def rule_teacher_grades(db: str | Path, g: eng.Groups, s: eng.Snapshots) -> np.ndarray:
    """The rule teacher's class grade per group row (the dataset's `rules` labels), -1 where it has none."""
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    ds = build_dataset(db, DatasetSettings(labels="rules"))
    by_key = {
        (int(q), gid): int(y) for q, gid, y in zip(ds.query.tolist(), ds.app_group_id, ds.y.tolist(), strict=True)
    }
    sids = s.snapshot_id[g.snap].tolist()
    return np.array([by_key.get((sid, gid), -1) for sid, gid in zip(sids, g.app_group_id, strict=True)], dtype=np.int64)


def tune_to_labels(
    w: Replay, t_in: Mapping[str, Any], p: PolicySettings, force: bool, teacher: np.ndarray, rule_teacher: bool
) -> dict[str, KnobReport]:
    """Exact agreement of the replayed classes with `teacher` (grades, -1: unlabelled), seeded TPE."""
    import optuna

    g, s, scores, cut, ncpu = w.g, w.s, w.scores, w.cut, w.ncpu
    labelled = teacher >= 0
    tuning_rows = labelled & (g.snap < cut)
    hold_rows = labelled & (g.snap >= cut)

    def agreement(values: Mapping[str, float], rows: np.ndarray) -> float:
        d = eng.replay(g, s, {**t_in, **values}, scores=scores, ncpu=ncpu)
        return float((d.grade[rows] == teacher[rows]).mean()) if rows.any() else 0.0

    def objective(trial: optuna.Trial) -> float:
        bg = trial.suggest_float(CUTOFFS[0], 0.0, 1.0)
        normal = trial.suggest_float(CUTOFFS[1], bg, 1.0)
        inter = trial.suggest_float(CUTOFFS[2], normal, 1.0)
        crit = trial.suggest_float(CUTOFFS[3], inter, 1.0)
        return agreement(dict(zip(CUTOFFS, (bg, normal, inter, crit), strict=True)), tuning_rows)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=p.tune_seed))
    study.enqueue_trial({k: float(t_in[k]) for k in CUTOFFS})
    study.optimize(objective, n_trials=p.trials)
    best = {k: round(v, 4) for k, v in study.best_params.items()}
    before, after = agreement({k: t_in[k] for k in CUTOFFS}, hold_rows), agreement(best, hold_rows)
    who = (
        "the rule teacher's classes (the project's own rules, not a person)" if rule_teacher else "the teacher classes"
    )
    objective_report = Objective(
        name=f"exact agreement of the replayed classes with {who}",
        tuning=round(study.best_value, 4),
        heldout={"before": round(before, 4), "after": round(after, 4)},
    )
    if rule_teacher:
        status, reason = "tuned", f"best agreement on the tuning window; {RULE_TEACHER_CAVEAT}"
    else:
        status, reason = "tuned", "best agreement on the tuning window (it fits this teacher's class mix)"
    if after < before and not force:
        status, reason, best = "unchanged", f"worse on the held-out snapshots ({after:.4f} < {before:.4f})", {}
        if rule_teacher:
            reason += f"; {RULE_TEACHER_CAVEAT}"
    return {
        k: KnobReport(
            before=t_in[k], after=best.get(k, t_in[k]), status=status, reason=reason, objective=objective_report
        )
        for k in CUTOFFS
    }


def class_mix(percentiles: np.ndarray, values: Mapping[str, Any]) -> np.ndarray:
    """Rule M's share of each class (grade order) over these percentiles, with the daemon's f32 cut-offs."""
    if percentiles.size == 0:
        return np.zeros(len(CANONICAL))
    grades = eng.percentile_grades(percentiles, values)
    return np.bincount(grades, minlength=len(CANONICAL)) / percentiles.size


def deviation(mix: np.ndarray, budget: tuple[float, ...]) -> float:
    """Total absolute deviation of a class mix from the budget (0: met exactly; at most 2)."""
    return float(np.abs(mix - np.asarray(budget)).sum())


def cutoff_candidates(percentiles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cut-off values, share of `percentiles` below each) for every cut-off that changes the mix, ascending."""
    values = np.unique(percentiles)
    cands = [0.0] + [short_cut(float(lo), float(hi)) for lo, hi in zip(values[:-1], values[1:], strict=True)]
    if values[-1] < 1.0:
        cands.append(1.0)
    ordered = np.sort(percentiles)
    below = np.searchsorted(ordered, np.array([f32(x) for x in cands]), side="left") / ordered.size
    return np.array(cands), below


def _range_argmin(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per query, an index of the smallest `v[lo:hi + 1]` (lo <= hi), by a sparse table: O(m log m)."""
    table = [np.arange(v.size)]
    while (1 << len(table)) <= v.size:
        prev, half = table[-1], 1 << (len(table) - 1)
        a, b = prev[: v.size - 2 * half + 1], prev[half : half + v.size - 2 * half + 1]
        table.append(np.where(v[b] < v[a], b, a))
    level = np.floor(np.log2(hi - lo + 1)).astype(np.int64)
    out = np.empty(lo.size, dtype=np.int64)
    for k in np.unique(level):
        q = level == k
        a, b = table[k][lo[q]], table[k][hi[q] - (1 << int(k)) + 1]
        out[q] = np.where(v[b] < v[a], b, a)
    return out


def _next_cutoff(cost: np.ndarray, share_below: np.ndarray, want: float) -> tuple[np.ndarray, np.ndarray]:
    """For each candidate j of the next cut-off: the best earlier cut-off i <= j, whose class then holds
    `share_below[j] - share_below[i]`, and the total cost. |d - want| splits where d = want: the i with a smaller
    share than that are a prefix (a running minimum), the rest a window ending at j (a range minimum)."""
    m = cost.size
    split = np.searchsorted(share_below, share_below - want, side="left")  # i < split: the class holds too much
    low = cost - share_below  # i < split: cost[i] + (share_below[j] - share_below[i]) - want
    running = np.minimum.accumulate(low)
    running_at = np.maximum.accumulate(np.where(low == running, np.arange(m), 0))
    high = cost + share_below  # split <= i <= j: cost[i] + want - (share_below[j] - share_below[i])
    in_window = _range_argmin(high, split, np.arange(m))
    window_cost = high[in_window] - share_below + want
    has_prefix = split > 0
    before = np.where(has_prefix, running_at[np.maximum(split - 1, 0)], 0)
    prefix_cost = np.where(has_prefix, low[before] + share_below - want, np.inf)
    take_prefix = prefix_cost < window_cost
    return np.where(take_prefix, before, in_window), np.where(take_prefix, prefix_cost, window_cost)


def best_cutoffs(percentiles: np.ndarray, budget: tuple[float, ...]) -> tuple[tuple[float, ...], float]:
    """The ordered cut-offs (bg, normal, interactive, crit) whose mix deviates least from the budget, exactly over
    every candidate (a dynamic programme over the four cut-offs), and that deviation."""
    c, share_below = cutoff_candidates(percentiles)
    cost = np.abs(share_below - budget[0])  # IDLE: below the first cut-off
    back = []
    for k in range(1, 4):  # class k lies between cut-off k-1 (index i) and cut-off k (index j >= i)
        arg, cost = _next_cutoff(cost, share_below, budget[k])
        back.append(arg)
    cost = cost + np.abs(1.0 - share_below - budget[4])  # CRIT_INTERACTIVE: at or above the last cut-off
    j = int(np.argmin(cost))
    chosen = [j]
    for arg in reversed(back):
        j = int(arg[j])
        chosen.append(j)
    return tuple(float(c[i]) for i in reversed(chosen)), float(cost.min())


def _mix_text(mix: np.ndarray) -> str:
    return ", ".join(f"{name} {share:.3f}" for name, share in zip(CANONICAL, mix, strict=True))


def tune_to_budget(w: Replay, t_in: Mapping[str, Any], budget: tuple[float, ...], force: bool) -> dict[str, KnobReport]:
    """The cut-offs that meet the class-mix budget of the ranker-decided groups on the tuning window; judged by
    the same deviation on the held-out snapshots."""
    d = eng.replay(w.g, w.s, t_in, scores=w.scores, ncpu=w.ncpu)
    ranked = d.rule == eng.RANKER
    tuning, hold = ranked & (w.g.snap < w.cut), ranked & (w.g.snap >= w.cut)
    if not tuning.any():
        return kept(CUTOFFS, t_in, "no group is left to the ranker in the tuning window (rules decide them all)")
    values, tuned_dev = best_cutoffs(d.percentile[tuning], budget)
    after_values = dict(zip(CUTOFFS, values, strict=True))
    held = d.percentile[hold]
    if not hold.any():
        reason = f"the tuning window gives {values}, but no ranker-decided group in the held-out snapshots judges it"
        if not force:
            return kept(CUTOFFS, t_in, reason + "; input kept")
        return {
            k: KnobReport(before=t_in[k], after=v, status="tuned", reason=reason + "; kept because forced")
            for k, v in after_values.items()
        }
    before = deviation(class_mix(held, t_in), budget)
    after = deviation(class_mix(held, after_values), budget)
    objective = Objective(
        name="total absolute deviation of rule M's class mix (ranker-decided groups, before dynamic scaling) from "
        "policy.class_mix (lower is better)",
        tuning=round(tuned_dev, 4),
        heldout={"before": round(before, 4), "after": round(after, 4)},
    )
    status, reason = (
        "tuned",
        f"closest to the budget on the tuning window; held-out mix {_mix_text(class_mix(held, after_values))}",
    )
    if after > before + 1e-12:
        reason = f"further from the budget on the held-out snapshots ({after:.4f} > {before:.4f})"
        if force:
            reason += "; kept because forced"
        else:
            status, after_values = "unchanged", {k: t_in[k] for k in CUTOFFS}
    return {
        k: KnobReport(before=t_in[k], after=after_values[k], status=status, reason=reason, objective=objective)
        for k in CUTOFFS
    }
