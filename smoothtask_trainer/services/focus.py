"""The label-free evaluation shared by `train`, `validate` and `replay`: does a ranking predict what the user
focuses next? (No Typer, rich or SQL here.)

At each snapshot t, the app groups that could take the focus but do not have it are ranked by the ranker; each
gains the share of the snapshots in (t, t + horizon] in which it has the focus (`attention.future_focus`), and the
ranking is scored by NDCG@5 of those gains (`attention.focus_ndcg`, ties in expectation as the daemon breaks them).
No label enters: the judge is what the user did next, as the log recorded it.

- **Only focusable groups are ranked**: a group with a GUI window at t, or one that has the focus at some snapshot
  of the evaluated window. The compositor, the audio server, a build or an indexer never take the focus, so they
  would only ever score 0 here; where a ranker puts them is a question for the labels (the guardrails and the
  rule teacher), not for the user's next app. Leaving them out keeps this measure from punishing a ranker for
  ranking the audio server high.
- **A snapshot judges** when at least two focusable groups are not focused at t (one alone is first in every
  ranking) and at least one of them gains the focus within the horizon.
- **A figure needs `MIN_JUDGING_SNAPSHOTS`** such snapshots; with fewer (a short window, a user who never switches,
  a log without focus information) the figures are None and `reason` says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from smoothtask_trainer import attention, contract, metrics
from smoothtask_trainer.schemas.focus import FocusEvaluation

if TYPE_CHECKING:
    from smoothtask_trainer.services.dataset import Dataset

#: Fewest judging snapshots for a figure (and for `train` to compare the model with the stub ranker by it). Below
#: 20 the figure moves by more than the usual gap between two rankers when one snapshot is added or removed.
MIN_JUDGING_SNAPSHOTS = 20
#: The rank cut-off of the NDCG (the daemon's percentile classes separate the first few groups).
K = 5
#: Where there are no figures because no group ever has the focus.
NO_FOCUS = (
    "no app group has the focus in any of the {n:,} snapshots: this log carries no focus information (a daemon "
    "without an X11/Wayland window introspector records none), so what the user did next cannot judge a ranking"
)


def evaluate(
    query: np.ndarray,
    ts_ms: np.ndarray,
    key: np.ndarray,
    focused: np.ndarray,
    gui: np.ndarray,
    horizon_s: float,
    scores: Mapping[str, np.ndarray],
    window: str,
) -> FocusEvaluation:
    """The focus NDCG@5 of each ranker in `scores` ("model", "stub_ranker"), and of random order.

    Rows are (snapshot, app group) in time order, a snapshot's rows contiguous; `key` is the group's stable
    identity (`attention.stable_keys`), `focused` and `gui` its focus and GUI window at the row's snapshot.
    """
    query = np.asarray(query)
    focused, gui = np.asarray(focused, dtype=bool), np.asarray(gui, dtype=bool)
    n_snap = int(np.unique(query).size)
    result = FocusEvaluation(
        window=window,
        horizon_s=float(horizon_s),
        snapshots=n_snap,
        snapshots_with_focus=int(np.unique(query[focused]).size),
        judging_snapshots=0,
        min_judging_snapshots=MIN_JUDGING_SNAPSHOTS,
    )
    if not focused.any():
        result.reason = NO_FOCUS.format(n=n_snap)
        return result
    future = attention.future_focus(query, ts_ms, key, focused, horizon_s)
    rows = judged_rows(query, key, focused, gui, future)
    judging = _judging(query[rows], future.share[rows])
    result.judging_snapshots = int(judging.size)
    if judging.size:
        result.candidates_per_snapshot = round(float(judging.mean()), 3)
    if judging.size < MIN_JUDGING_SNAPSHOTS:
        result.reason = (
            f"only {judging.size:,} of the {n_snap:,} snapshots can judge a ranking (2 or more focusable app groups "
            f"not focused, one of which gains the focus within {horizon_s:g} s); a figure needs at least "
            f"{MIN_JUDGING_SNAPSHOTS}"
        )
        return result
    sub = attention.FutureFocus(share=future.share[rows], next_s=future.next_s[rows], known=future.known[rows])
    q, foc = query[rows], focused[rows]
    all_scores = {**scores, "random": metrics.random_scores(query.size)}
    for name, values in all_scores.items():
        value, _ = attention.focus_ndcg(np.asarray(values, dtype=np.float64)[rows], q, foc, sub, k=K)
        setattr(result, name, value)  # the same snapshots judge every ranker
    return result


def judged_rows(
    query: np.ndarray, key: np.ndarray, focused: np.ndarray, gui: np.ndarray, future: attention.FutureFocus
) -> np.ndarray:
    """The rows a ranking is judged on: focusable, not focused now, with a future, in a snapshot with 2 or more."""
    focusable = gui | np.isin(key, np.unique(key[focused]))
    rows = focusable & ~focused & future.known
    if not rows.any():
        return rows
    q = query[rows]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    sizes = np.diff(np.r_[starts, q.size])
    keep = np.zeros(rows.size, dtype=bool)
    keep[np.flatnonzero(rows)] = np.repeat(sizes >= 2, sizes)
    return keep


def _judging(query: np.ndarray, share: np.ndarray) -> np.ndarray:
    """The candidate count of each judging snapshot (one whose candidates gain some focus)."""
    if query.size == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    sizes = np.diff(np.r_[starts, query.size])
    informative = np.add.reduceat(np.nan_to_num(share), starts) > 0
    return sizes[informative]


def of_dataset(
    ds: Dataset, mask: np.ndarray | None, horizon_s: float, scores: Mapping[str, np.ndarray], window: str
) -> FocusEvaluation:
    """`evaluate` on the rows of a training dataset (all of them, or `mask`), with the stub ranker's scores;
    `scores` (e.g. the model's) are for those rows."""
    col = contract.FEATURE_NAMES.index
    mask = np.ones(ds.n_rows, dtype=bool) if mask is None else mask
    X = ds.X[mask]
    if ds.key.size == ds.n_rows:
        key = ds.key[mask]
    else:  # a dataset made without stable keys: the group id is the identity
        key = attention.stable_keys(ds.app_group_id[mask], np.zeros(int(mask.sum())))
    return evaluate(
        ds.query[mask],
        ds.ts_ms[mask],
        key,
        X[:, col("is_focused_group")] > 0,
        X[:, col("has_gui_window_group")] > 0,
        horizon_s,
        {"stub_ranker": metrics.stub_scores(X), **scores},
        window,
    )
