"""NDCG with ties scored in expectation, the stub ranker, random order."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from smoothtask_trainer import contract, metrics


def brute_force_expected_ndcg(labels: list[float], scores: list[float], k: int) -> float:
    """Average NDCG@k over every order consistent with the scores (ties permuted)."""
    n = len(labels)
    ideal = sorted(labels, reverse=True)
    best = sum(g / np.log2(i + 2) for i, g in enumerate(ideal[:k]))
    total, count = 0.0, 0
    for perm in itertools.permutations(range(n)):
        if all(scores[perm[i]] >= scores[perm[i + 1]] for i in range(n - 1)):
            total += sum(labels[j] / np.log2(i + 2) for i, j in enumerate(perm[:k])) / best
            count += 1
    return total / count


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_ties_are_scored_in_expectation(k: int) -> None:
    labels = [3.0, 0.0, 2.0, 1.0, 0.5]
    scores = [0.5, 0.5, 0.9, 0.5, 0.1]
    got = metrics.ndcg(np.array(labels), np.array(scores), np.zeros(5, int), ks=(k,))[f"ndcg@{k}"]
    assert got == pytest.approx(brute_force_expected_ndcg(labels, scores, k), abs=1e-6)


def test_perfect_and_reversed_order_and_per_query_mean() -> None:
    y = np.array([3, 2, 1, 0, 1, 0], dtype=float)
    q = np.array([7, 7, 7, 7, 9, 9])
    perfect = metrics.ndcg(y, y, q)
    assert all(v == 1.0 for v in perfect.values())
    worst = metrics.ndcg(y, -y, q, ks=(1,))["ndcg@1"]
    assert worst == pytest.approx((0 / 3 + 0 / 1) / 2)
    # a query whose labels are all 0 counts as ideal
    assert metrics.ndcg(np.zeros(3), np.arange(3.0), np.zeros(3, int), ks=(3,))["ndcg@3"] == 1.0


def test_random_order_is_one_tie() -> None:
    y = np.array([1.0, 0.0, 0.0, 0.0])
    got = metrics.ndcg(y, metrics.random_scores(4), np.zeros(4, int), ks=(1,))["ndcg@1"]
    assert got == pytest.approx(0.25)


def test_stub_ranker_is_the_daemons_formula() -> None:
    col = {n: i for i, n in enumerate(contract.FEATURE_NAMES)}
    X = np.zeros((4, 51), np.float32)
    X[1, col["is_focused_group"]] = 1
    X[2, col["has_gui_window_group"]] = 1
    X[3, [col["is_focused_group"], col["has_gui_window_group"], col["total_cpu_share"]]] = [1, 1, 0.5]
    X[0, col["has_gui_window"]] = 1  # the process-level flag is not the stub's input
    assert metrics.stub_scores(X).tolist() == pytest.approx([0.5, 0.9, 0.7, 1.0])
