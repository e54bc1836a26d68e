"""Ranking quality: NDCG@k per snapshot, with ties scored as the daemon would break them (at random).

The daemon sorts a snapshot's groups by score; equal scores keep the order of a HashMap, i.e. a random one.
So a tie is scored by its *expected* gain under random order: every member of a block of equal scores gets the
mean of the block's position discounts. Random order is then one big tie, and the stub ranker's many ties
(it gives every ordinary group 0.5) are scored fairly instead of by accident of row order.
"""

from __future__ import annotations

import numpy as np

from smoothtask_trainer import contract

KS = (1, 3, 5, 10)


def _query_bounds(query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of each run of equal query ids (rows of a query must be contiguous)."""
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    return starts, np.r_[starts[1:], query.size]


def _dcg(gains_sorted: np.ndarray, scores_sorted: np.ndarray | None, k: int) -> float:
    n = gains_sorted.size
    discount = np.zeros(n)
    top = min(k, n)
    discount[:top] = 1.0 / np.log2(np.arange(2, top + 2))
    if scores_sorted is None:
        return float(gains_sorted @ discount)
    # expected discount of each tie block (random order within the block)
    new_block = np.r_[True, scores_sorted[1:] != scores_sorted[:-1]]
    block = np.cumsum(new_block) - 1
    mean_discount = np.bincount(block, weights=discount) / np.bincount(block)
    return float(gains_sorted @ mean_discount[block])


def ndcg(labels: np.ndarray, scores: np.ndarray, query: np.ndarray, ks: tuple[int, ...] = KS) -> dict[str, float]:
    """Mean NDCG@k over queries (linear gain = label, discount 1/log2(rank+1); ties at random, in expectation).

    A query whose ideal DCG is 0 (all labels 0) counts as 1: every order is ideal.
    """
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores, dtype=np.float64)
    starts, ends = _query_bounds(np.asarray(query))
    totals = dict.fromkeys(ks, 0.0)
    for a, b in zip(starts, ends, strict=True):
        y, s = labels[a:b], scores[a:b]
        order = np.argsort(-s, kind="stable")
        ideal = np.sort(y)[::-1]
        for k in ks:
            best = _dcg(ideal, None, k)
            totals[k] += 1.0 if best <= 0 else _dcg(y[order], s[order], k) / best
    n = max(starts.size, 1)
    return {f"ndcg@{k}": round(totals[k] / n, 6) for k in ks}


def stub_scores(X: np.ndarray) -> np.ndarray:
    """The daemon's StubRanker (contract §2.4): 0.5 + 0.4 focused + 0.2 GUI window + 0.1 busy, clamped to [0,1]."""
    col = {name: i for i, name in enumerate(contract.FEATURE_NAMES)}
    score = (
        0.5
        + 0.4 * (X[:, col["is_focused_group"]] > 0)
        + 0.2 * (X[:, col["has_gui_window_group"]] > 0)
        + 0.1 * (X[:, col["total_cpu_share"]] > 0.3)
    )
    return np.clip(score, 0.0, 1.0)


def random_scores(n: int) -> np.ndarray:
    """Random order: one tie block per query, scored in expectation."""
    return np.zeros(n)
