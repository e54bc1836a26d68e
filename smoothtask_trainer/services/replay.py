"""`replay`: what the daemon would have done with these logs, a ranker and thresholds (policy-replay.md §2).

No typer or rich here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import store
from smoothtask_trainer.contract import policy
from smoothtask_trainer.contract import replay as ref
from smoothtask_trainer.errors import ConfigError, InputNotFoundError, opt
from smoothtask_trainer.schemas.replay import (
    DiffRow,
    FlagCheck,
    PolicyDiff,
    ReplayReport,
    TeacherAgreement,
    Unreachable,
)
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services import replay_input, replay_metrics
from smoothtask_trainer.services.tables import check_table_output, write_table
from smoothtask_trainer.settings import DatasetSettings, PolicySettings
from smoothtask_trainer.sqlite_errors import translated

RULE_NAMES = (*eng.RULE_IDS, "M", "D")


def choose_ranker(model: Path | None, stub: bool, rules_only: bool, config: Any | None) -> tuple[str, Path | None, str]:
    """(ranker "none" | "stub" | "model", model path, policy mode) from the options and the daemon config."""
    if sum([model is not None, stub, rules_only]) > 1:
        raise ConfigError(f"give one of {opt('model')}, {opt('ranker')} stub and {opt('rules_only')}")
    if model is not None:
        if not Path(model).is_file():
            raise InputNotFoundError(f"model {model} does not exist", hint="pass the .onnx file `train` wrote")
        return "model", Path(model), "hybrid"
    if stub:
        return "stub", None, "hybrid"
    if rules_only or config is None or config.policy_mode == "rules-only":
        return "none", None, "rules-only"
    if not config.model_enabled:
        return "stub", None, "hybrid"
    path = Path(config.model_path or "models/ranker.onnx")
    if not path.is_file():
        raise InputNotFoundError(
            f"the daemon config enables the model {path}, which is not here (the daemon resolves it against its "
            "working directory)",
            hint=f"pass the model with {opt('model')}",
        )
    return "model", path, "hybrid"


@dataclass(frozen=True)
class PolicySpec:
    """One policy to replay: the ranker ("none", "stub" or "model"), the model file, the thresholds."""

    ranker: str = "none"
    model: Path | None = None
    thresholds: Mapping[str, Any] | None = None


def against_policy(model: Path | None, config: Any | None, this: PolicySpec) -> PolicySpec:
    """The second policy of a comparison: a model with this policy's thresholds, or a daemon config (with the
    model, when one is given too)."""
    if config is None:
        kind, path, _ = choose_ranker(model, False, False, None)
        return PolicySpec(kind, path, this.thresholds)
    kind, path, _ = choose_ranker(model, False, False, config)
    return PolicySpec(kind, path, config.thresholds)


def replay(
    db: str | Path | None,
    *,
    ranker: str = "none",
    model: Path | None = None,
    thresholds: Mapping[str, Any] | None = None,
    ncpu: int | None = None,
    classes_out: str | Path | None = None,
    against: PolicySpec | None = None,
    settings: PolicySettings | None = None,
    focus_horizon_s: float | None = None,
    features: str | Path | None = None,
    host: str | None = None,
) -> ReplayReport:
    """Replay the daemon's policy on a store (or one `host` of a feature dataset, `features`) and summarise it;
    optionally write every decision, and replay a second policy (`against`) on the same snapshots with the
    decisions that differ. `settings` gives the harm definition of the log's outcomes (`harm_latency_ms`,
    `harm_horizon_s`); `focus_horizon_s` the look-ahead of the label-free future-focus evaluation (default
    `dataset.attention_horizon_s`'s). A feature dataset has no process rows: no applied-class check."""
    started = time.perf_counter()
    ncpu = ncpu or os.cpu_count() or 1
    t = ref.thresholds_of(thresholds)
    out_path = check_table_output(classes_out, features if features is not None else db, "classes_out",
                                  "classes output")  # fmt: skip
    inp = replay_input.from_features(features, host) if features is not None else replay_input.from_store(db)
    g, s, extra = inp.g, inp.s, inp.extra
    teacher = extra["teacher_grade"]
    if s.snapshot_id.size == 0:
        raise ConfigError(f"{inp.name} holds no snapshots to replay", hint="collect snapshot logs into it first")
    scores = _scores(inp, ranker, model)
    d = eng.replay(g, s, t, scores=scores, ncpu=ncpu)
    report = _summarise(inp.name, ranker, model, ncpu, t, g, s, extra, d, teacher)
    horizon = focus_horizon_s if focus_horizon_s is not None else DatasetSettings().attention_horizon_s
    report.focus = replay_metrics.future_focus(g, s, extra, scores if ranker == "model" else None, horizon)
    report.churn = replay_metrics.churn_and_lag(g, s, d, extra)
    report.applied = _applied(inp.db, g, s, d)
    p = settings or PolicySettings()
    report.outcomes = replay_metrics.outcomes(s, p.harm_horizon_s, p.harm_latency_ms)
    if against is not None:
        t2 = ref.thresholds_of(against.thresholds)
        scores2 = _scores(inp, against.ranker, against.model)
        d2 = eng.replay(g, s, t2, scores=scores2, ncpu=ncpu)
        report.against = _summarise(inp.name, against.ranker, against.model, ncpu, t2, g, s, extra, d2, teacher)
        report.against.churn = replay_metrics.churn_and_lag(g, s, d2, extra)
        model2 = scores2 if against.ranker == "model" else None
        report.against.focus = replay_metrics.future_focus(g, s, extra, model2, horizon)
        report.diff = _diff(g, s, d, d2)
    if out_path is not None:
        _write_classes(out_path, s.snapshot_id[g.snap], g.app_group_id, d)
        report.classes_out = str(out_path)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


def _applied(db: Path | None, g: eng.Groups, s: eng.Snapshots, d: eng.Decisions) -> Any:
    """The applied-class check, from the store's process rows (None without a store)."""
    if db is None:
        return None
    con = store.open_readonly(db)
    try:
        with translated(db, "reading"):
            return replay_metrics.applied_check(con, g, s, d)
    finally:
        con.close()


def _scores(inp: replay_input.ReplayInput, ranker: str, model: Path | None) -> np.ndarray | None:
    if ranker == "stub":
        return eng.stub_scores(inp.g)
    if ranker == "model":
        return inp.model_scores(model)  # type: ignore[arg-type]
    return None


#: How many differing decisions a policy diff shows.
DIFF_SAMPLE = 12


def _diff(g: eng.Groups, s: eng.Snapshots, a: eng.Decisions, b: eng.Decisions) -> PolicyDiff:
    """Where two policies decide differently: how often, from which class to which, and a sample."""
    differ = np.flatnonzero(a.grade != b.grade)
    names = policy.CLASSES
    transitions: dict[str, dict[str, int]] = {}
    for x, y in zip(a.grade[differ].tolist(), b.grade[differ].tolist(), strict=True):
        row = transitions.setdefault(names[x], {})
        row[names[y]] = row.get(names[y], 0) + 1
    pick = differ[np.linspace(0, differ.size - 1, min(DIFF_SAMPLE, differ.size)).astype(int)] if differ.size else differ
    reasons_a, reasons_b = a.reasons(), b.reasons()
    sample = [
        DiffRow(
            snapshot_id=int(s.snapshot_id[g.snap[i]]),
            app_group_id=str(g.app_group_id[i]),
            this=names[a.grade[i]],
            this_reason=reasons_a[i],
            against=names[b.grade[i]],
            against_reason=reasons_b[i],
        )
        for i in pick.tolist()
    ]
    return PolicyDiff(
        differing=int(differ.size),
        share=round(differ.size / max(a.grade.size, 1), 4),
        transitions=transitions,
        sample=sample,
    )


def _count(names: np.ndarray, labels: tuple[str, ...]) -> dict[str, int]:
    values, counts = np.unique(names, return_counts=True)
    found = dict(zip(values.tolist(), counts.tolist(), strict=True))
    return {label: int(found.get(i, 0)) for i, label in enumerate(labels)}


def _summarise(db, ranker, model, ncpu, t, g, s, extra, d, teacher) -> ReplayReport:  # noqa: ANN001, PLR0913
    m = d.rule == eng.RANKER
    logged = extra["logged_bad"]
    known = ~np.isnan(logged)
    report = ReplayReport(
        db=db,
        ranker=ranker,
        model=str(model) if model else None,
        policy_mode="rules-only" if ranker == "none" else "hybrid",
        ncpu=ncpu,
        thresholds=dict(t),
        snapshots=int(s.snapshot_id.size),
        groups=int(g.snap.size),
        class_mix=_count(d.grade, policy.CLASSES),
        ranker_class_mix=_count(d.grade[m], policy.CLASSES),
        decisions_by_rule={name: int((d.rule == i + 1).sum()) for i, name in enumerate(RULE_NAMES)},
        load_categories=_count(d.category, eng.CATEGORIES),
        scaled=int((d.grade != d.base_grade).sum()),
        held=int(d.held.sum()),
        bad_responsiveness=FlagCheck(
            recomputed_true=int(d.bad_responsiveness.sum()),
            logged_true=int((logged[known] == 1).sum()),
            compared=int(known.sum()),
            mismatches=int((d.bad_responsiveness[known] != (logged[known] == 1)).sum()),
        ),
        unreachable=_unreachable(g, s),
    )
    labelled = teacher >= 0
    if labelled.any():
        tg, rg = teacher[labelled], d.grade[labelled].astype(int)
        confusion = {
            policy.CLASSES[a]: {policy.CLASSES[b]: int(((tg == a) & (rg == b)).sum()) for b in range(5)}
            for a in range(5)
        }
        report.teacher = TeacherAgreement(
            rows=int(labelled.sum()),
            exact=round(float((tg == rg).mean()), 4),
            mean_class_distance=round(float(np.abs(tg - rg).mean()), 4),
            confusion=confusion,
        )
    return report


def _unreachable(g: eng.Groups, s: eng.Snapshots) -> list[Unreachable]:
    """The rules whose inputs these logs never fill (policy-replay.md §5), each with the figure that shows it."""
    n = s.snapshot_id.size
    out = []
    if not s.user_active.any() and np.isnan(s.tsli).all():
        out.append(
            Unreachable(
                rules=["R3", "R4"],
                reason=f"user_active is 0 and time_since_last_input_ms NULL in all {n:,} snapshots",
            )
        )
    if not g.any_audio_stream.any():
        out.append(Unreachable(rules=["G2", "R1 (audio)"], reason="no audio client with an active stream in any group"))
    if not g.tag_game.any() and not g.tag_background.any():
        out.append(Unreachable(rules=["R1 (game)", "R4"], reason="no group carries a game/updater/indexer tag"))
    if np.isnan(g.total_cpu_share).all():
        out.append(
            Unreachable(rules=["R5", "stub +0.1"], reason=f"total_cpu_share is NULL in all {g.snap.size:,} group rows")
        )
    return out


def _write_classes(out: Path, sids: np.ndarray, gids: np.ndarray, d: eng.Decisions) -> None:
    """`snapshot_id,app_group_id,class,reason` per decision, written atomically."""
    import pandas as pd

    write_table(
        pd.DataFrame({"snapshot_id": sids, "app_group_id": gids, "class": d.classes(), "reason": d.reasons()}), out
    )
