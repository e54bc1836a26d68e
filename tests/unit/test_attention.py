"""Future focus from the log itself: stable keys, the share of the horizon focused, and the label-free NDCG."""

from __future__ import annotations

import numpy as np

from smoothtask_trainer.attention import focus_ndcg, future_focus, stable_keys

# 4 snapshots 1 s apart with groups A and B; A has the focus at 0 and 1, B at 2 and 3
Q = np.repeat([10, 11, 12, 13], 2)
TS = (Q - 10) * 1000
KEY = np.tile([0, 1], 4)
FOCUSED = np.array([1, 0, 1, 0, 0, 1, 0, 1], bool)


def test_the_share_counts_only_the_future_within_the_horizon() -> None:
    f = future_focus(Q, TS, KEY, FOCUSED, horizon_s=2)
    assert np.allclose(f.share[:6], [0.5, 0.5, 0.0, 1.0, 0.0, 1.0])  # the row's own snapshot never counts
    assert np.isnan(f.share[6:]).all() and not f.known[6:].any()  # the last snapshot has no future
    assert f.next_s.tolist()[:4] == [1.0, 2.0, np.inf, 1.0]


def test_a_gap_ends_the_future() -> None:
    ts = np.array([0, 0, 1000, 1000, 60_000, 60_000, 61_000, 61_000])  # 59 s gap after the second snapshot
    f = future_focus(Q, ts, KEY, FOCUSED, horizon_s=120)
    assert np.allclose(f.share[:2], [1.0, 0.0]) and not f.known[2:4].any()
    assert f.next_s[1] == np.inf  # B's focus at 60 s is another session


def test_focus_ndcg_rewards_ranking_the_next_focused_group_first() -> None:
    q = np.repeat([0, 1, 2], 3)
    key = np.tile([0, 1, 2], 3)
    focused = np.array([1, 0, 0, 1, 0, 0, 0, 0, 1], bool)  # group 2 gains focus at the last snapshot
    f = future_focus(q, q * 1000, key, focused, horizon_s=5)
    good, n = focus_ndcg(np.tile([0.0, 0.1, 0.9], 3), q, focused, f, k=1)
    bad, _ = focus_ndcg(np.tile([0.0, 0.9, 0.1], 3), q, focused, f, k=1)
    tie, _ = focus_ndcg(np.zeros(9), q, focused, f, k=1)
    assert n == 2 and good == 1.0 and bad == 0.0 and 0.0 < tie < 1.0


def test_stable_keys_follow_name_and_root_pid() -> None:
    keys = stable_keys(np.array(["firefox", None, "firefox", "firefox"], dtype=object), np.array([10, 2, 10, 11]))
    assert keys[0] == keys[2] and len({keys[0], keys[1], keys[3]}) == 3
    codes = stable_keys(np.array([5.0, 5.0, 7.0]), np.array([np.nan, np.nan, 1.0]))  # hash codes, NULL pids
    assert codes[0] == codes[1] != codes[2]


def test_a_log_where_nothing_is_ever_focused() -> None:
    f = future_focus(Q, TS, KEY, np.zeros(Q.size, bool), horizon_s=2)
    assert np.allclose(f.share[:6], 0.0) and np.isinf(f.next_s).all()
