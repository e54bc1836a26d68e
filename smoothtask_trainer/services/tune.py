"""`tune`: the daemon's thresholds from its own logs, each knob by an objective not computed from the knob itself.

Tuning uses the earlier snapshots; the latest `policy.holdout_fraction` judge the result, and a knob that does
worse there than its input value keeps the input (unless forced). Knobs without an honest signal in the store stay
as they are, with the reason (policy-replay.md §9). No typer or rich here.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from smoothtask_trainer import store
from smoothtask_trainer.contract.policy import f32
from smoothtask_trainer.contract.thresholds import DEFAULTS
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.schemas.tune import KnobReport, Objective, TuneReport
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services import replay_metrics, tune_input
from smoothtask_trainer.services.replay_input import ReplayInput, from_features, from_store
from smoothtask_trainer.services.tune_common import Replay, f_beta, harm
from smoothtask_trainer.services.tune_cutoffs import CUTOFFS, tune_cutoffs
from smoothtask_trainer.services.tune_latency import tune_sched_latency
from smoothtask_trainer.settings import PolicySettings
from smoothtask_trainer.sqlite_errors import translated

PSI_KEYS = ("psi_cpu_some_high", "psi_io_some_high")
#: Candidate values of priority_hysteresis_stable_sec (a one-dimensional grid, searched exhaustively).
HYSTERESIS_GRID = (0, 1, 2, 5, 10, 20, 30, 60, 120, 300)


def psi_flag(s: eng.Snapshots, a: float, b: float) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (s.psi_cpu > f32(a)) | (s.psi_io > f32(b))


def _subset(s: eng.Snapshots, mask: np.ndarray) -> eng.Snapshots:
    return eng.Snapshots(**{k: v[mask] for k, v in vars(s).items()})


def tune_psi(
    s: eng.Snapshots, cut: int, t_in: Mapping[str, Any], p: PolicySettings, force: bool = False
) -> dict[str, KnobReport]:
    """The two PSI thresholds, by F-beta of the PSI-only flag against harm that follows (Optuna, seeded TPE)."""
    import optuna

    truth = harm(s, p.harm_horizon_s, p.harm_latency_ms)
    tune_mask = np.arange(s.snapshot_id.size) < cut
    hold = ~tune_mask
    name = f"F{p.harm_beta:g} of the PSI flag against harm within {p.harm_horizon_s:g} s"
    if not truth[tune_mask].any():
        reason = f"no harm (latency p99 > {p.harm_latency_ms:g} ms or xruns) in the tuning window to predict"
        return {k: KnobReport(before=t_in[k], after=t_in[k], status="unchanged", reason=reason) for k in PSI_KEYS}

    def score(a: float, b: float, mask: np.ndarray) -> float:
        return f_beta(psi_flag(s, a, b)[mask], truth[mask], p.harm_beta)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=p.tune_seed))
    study.enqueue_trial({"a": float(t_in[PSI_KEYS[0]]), "b": float(t_in[PSI_KEYS[1]])})
    study.optimize(
        lambda tr: score(tr.suggest_float("a", 0.0, 1.0), tr.suggest_float("b", 0.0, 1.0), tune_mask),
        n_trials=p.trials,
    )
    a, b = round(study.best_params["a"], 4), round(study.best_params["b"], 4)
    before, after = score(t_in[PSI_KEYS[0]], t_in[PSI_KEYS[1]], hold), score(a, b, hold)
    objective = Objective(name=name, tuning=round(study.best_value, 4), heldout={"before": before, "after": after})
    binds = [k for k, v in zip(PSI_KEYS, (a, b), strict=True) if v >= 0.99]
    note = (
        f"; the daemon's range [0, 1] binds ({', '.join(binds)} at its top): PSI is logged in percent, so the flag "
        "cannot wait for more than 1 % pressure"
        if binds
        else ""
    )
    status, reason = "tuned", "best F-beta on the tuning window" + note
    if after < before and not force:
        status, reason = "unchanged", f"worse on the held-out snapshots ({after:.4f} < {before:.4f}); input kept"
        a, b = t_in[PSI_KEYS[0]], t_in[PSI_KEYS[1]]
    return {
        PSI_KEYS[0]: KnobReport(before=t_in[PSI_KEYS[0]], after=a, status=status, reason=reason, objective=objective),
        PSI_KEYS[1]: KnobReport(before=t_in[PSI_KEYS[1]], after=b, status=status, reason=reason, objective=objective),
    }


def churn_curve(w: Replay, t_in: Mapping[str, Any], rows: np.ndarray) -> list[dict[str, float | None]]:
    """Churn and median lag over the group rows `rows` for each `priority_hysteresis_stable_sec` of the grid."""
    part = _rows_of(w, rows)
    curve = []
    for value in HYSTERESIS_GRID:
        churn, lag = _churn(w, {**t_in, "priority_hysteresis_stable_sec": value}, part)
        curve.append({"stable_sec": value, "churn_per_group_hour": round(churn, 2), "lag_median_s": lag})
    return curve


_Part = tuple[eng.Groups, dict, np.ndarray | None]


def _rows_of(w: Replay, rows: np.ndarray) -> _Part:
    """The groups and per-row facts of the rows `rows` (threshold-independent: made once for many replays), and
    their indices (None: every row)."""
    if rows.all():
        return w.g, w.extra, None
    keep = np.flatnonzero(rows)
    part = eng.Groups(
        **{k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in vars(w.g).items() if k != "cache"}
    )
    return part, {k: v[keep] for k, v in w.extra.items() if v.shape == rows.shape}, keep


def _churn(w: Replay, t: Mapping[str, Any], part: _Part) -> tuple[float, float | None]:
    """(churn per group-hour, median lag) of the decisions replayed on the whole store, over the rows of `part`."""
    groups, per_row, keep = part
    d = eng.replay(w.g, w.s, t, scores=w.scores, ncpu=w.ncpu)
    n = w.g.snap.size
    decided = (
        d if keep is None else eng.Decisions(**{k: (v[keep] if v.shape == (n,) else v) for k, v in vars(d).items()})
    )
    c = replay_metrics.churn_and_lag(groups, w.s, decided, per_row)
    return c.churn_per_group_hour or 0.0, c.lag_median_s


def tune_hysteresis(
    w: Replay, t_in: Mapping[str, Any], p: PolicySettings, force: bool
) -> tuple[KnobReport, list[dict[str, float | None]]]:
    """`priority_hysteresis_stable_sec` from the churn/lag curve of the tuning window: the smallest value whose
    churn is within the budget (`policy.max_churn_per_group_hour`), or by default the smallest that comes within
    10 % of the curve's lowest churn; judged by churn on the held-out snapshots."""
    g, cut = w.g, w.cut
    key = "priority_hysteresis_stable_sec"
    tuning, hold = g.snap < cut, g.snap >= cut
    curve = churn_curve(w, t_in, tuning)
    churns = [c["churn_per_group_hour"] or 0.0 for c in curve]
    budget = p.max_churn_per_group_hour if p.max_churn_per_group_hour is not None else 1.1 * min(churns)
    chosen = next(v for v, c in zip(HYSTERESIS_GRID, churns, strict=True) if c <= budget)
    before_value = 30 if t_in[key] is None else t_in[key]
    held = _rows_of(w, hold)
    before = _churn(w, {**t_in, key: before_value}, held)[0]
    after = _churn(w, {**t_in, key: chosen}, held)[0]
    objective = Objective(
        name="class changes per group-hour (lower is better)",
        tuning=churns[HYSTERESIS_GRID.index(chosen)],
        heldout={"before": round(before, 2), "after": round(after, 2)},
    )
    how = f"churn at most {budget:,.1f} per group-hour" + (
        "" if p.max_churn_per_group_hour else " (10 % above the lowest)"
    )
    status, reason, value = "tuned", f"the smallest value with {how} on the tuning window", chosen
    if after > before and not force:
        status, reason, value = (
            "unchanged",
            f"more churn on the held-out snapshots ({after:,.1f} > {before:,.1f})",
            t_in[key],
        )
    return KnobReport(before=t_in[key], after=value, status=status, reason=reason, objective=objective), curve


def store_fingerprint(db: str | Path) -> str:
    """A short identity of a store's contents: its row counts and snapshot range."""
    import hashlib

    con = store.open_readonly(db)
    try:
        with translated(db, "reading"):
            facts = con.execute("SELECT COUNT(*), MIN(snapshot_id), MAX(snapshot_id) FROM snapshots").fetchone()
            groups = con.execute("SELECT COUNT(*) FROM app_groups").fetchone()[0]
    finally:
        con.close()
    return hashlib.sha256(f"{facts}|{groups}".encode()).hexdigest()[:16]


def tune(
    db: str | Path | None,
    *,
    thresholds: Mapping[str, Any] | None = None,
    ranker: str = "none",
    model: Path | None = None,
    settings: PolicySettings | None = None,
    force: bool = False,
    features: str | Path | None = None,
    host: str | None = None,
    source: ReplayInput | None = None,
) -> TuneReport:
    """Tune what the store (or one `host` of the feature dataset `features`, or a `source` already read) can
    honestly tell; report every key with its status and reason."""
    started = time.perf_counter()
    p = settings or PolicySettings()
    t_in = {**DEFAULTS, **(thresholds or {})}
    if source is None:
        source = from_features(features, host) if features is not None else from_store(db)  # type: ignore[arg-type]
    g, s, extra = source.g, source.s, source.extra
    n = s.snapshot_id.size
    if n < 10:
        raise ConfigError(f"{source.name} holds {n} snapshot(s): too few to tune and hold some out",
                          hint="collect more logs")  # fmt: skip
    cut = int(round(n * (1 - p.holdout_fraction)))
    ncpu = p.ncpu or os.cpu_count() or 1
    knobs: dict[str, KnobReport] = {}
    knobs.update(tune_psi(s, cut, t_in, p, force))
    scores = None
    if ranker == "stub":
        scores = eng.stub_scores(g)
    elif ranker == "model":
        scores = source.model_scores(model)  # type: ignore[arg-type]
    window = Replay(g, s, extra, scores, cut, ncpu)
    knobs["priority_hysteresis_stable_sec"], curve = tune_hysteresis(window, t_in, p, force)
    knobs.update(tune_sched_latency(s, cut, t_in, p, force))
    knobs.update(tune_cutoffs(window, t_in, p, force, source.rule_teacher_grades))
    knobs[tune_input.IDLE] = tune_input.tune_idle_timeout(s, cut, t_in, p, force)
    knobs[tune_input.NOISY] = tune_input.tune_noisy_neighbour(g, s, cut, t_in, p, force)
    knobs[tune_input.GRACE] = tune_input.grace(t_in)
    return TuneReport(
        db=source.name,
        fingerprint=source.fingerprint,
        snapshots=n,
        tuning_snapshots=cut,
        holdout_snapshots=n - cut,
        ncpu=ncpu,
        ranker=ranker,
        model=str(model) if model is not None else None,
        knobs=knobs,
        hysteresis_curve=curve,
        seconds=round(time.perf_counter() - started, 3),
    )


def tune_policy(
    db_path: str | Path,
    config_out: str | Path,
    config_in: str | Path | None = None,
    model_path: str | Path | None = None,
    *,
    stub: bool = False,
    settings: PolicySettings | None = None,
    force: bool = False,
    features: str | Path | None = None,
    host: str | None = None,
) -> TuneReport:
    """Tune the daemon's thresholds from a store and write them (the Python API of `smoothtask-trainer tune`).

    Args:
        db_path: The store (None with `features`: one `host` of that feature dataset instead).
        config_out: Where to write: a copy of `config_in` with only the tuned keys changed, or a complete
            `thresholds:` block.
        config_in: The daemon's YAML whose thresholds (and policy mode, model switch) are the starting point.
        model_path: Replay with this ONNX model; `stub` with the daemon's stub ranker; else as `config_in` says.
        settings: `[policy]` settings (harm definition, hold-out share, class-mix budget, idle-gap quantile,
            trials, seed, ncpu).
        force: Keep tuned values even where they do worse on the held-out snapshots.
    """
    from smoothtask_trainer.files import sha256_file
    from smoothtask_trainer.services import tune_output
    from smoothtask_trainer.services.daemon_config import read_daemon_config
    from smoothtask_trainer.services.replay import choose_ranker

    out = Path(config_out)
    config_path = Path(config_in) if config_in is not None else None
    config = read_daemon_config(config_path) if config_path is not None else None
    kind, model, _ = choose_ranker(Path(model_path) if model_path else None, stub, False, config)
    tune_output.check_output(out, features if features is not None else db_path, config_path)
    report = tune(
        db_path,
        thresholds=config.thresholds if config else None,
        ranker=kind,
        model=model,
        settings=settings,
        force=force,
        features=features,
        host=host,
    )
    after = {k: v.after for k, v in report.knobs.items()}
    values = {k: v for k, v in after.items() if report.knobs[k].status == "tuned"} if config else after
    model_sha = sha256_file(model) if model is not None else None
    tune_output.write(out, config_path, values, tune_output.header(report.db, report.fingerprint, model_sha))
    report.output = str(out)
    return report


__all__ = [
    "CUTOFFS",
    "HYSTERESIS_GRID",
    "Replay",
    "churn_curve",
    "f_beta",
    "harm",
    "store_fingerprint",
    "tune",
    "tune_policy",
]
