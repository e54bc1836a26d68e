"""What the user did next: future focus per app group, from logged columns only (no Typer, rich or SQL here).

Real logs carry no labels, but they do record, wherever an X11/Wayland introspector runs, which group has the
focused window at every snapshot. What a person needs from an app is close to whether they are about to use it,
so the future of the log is an outside judge of a ranking made at time t:

- `stable_keys`: the daemon's `app_group_id` is renumbered every snapshot, so a group is followed through time by
  (app_name, root_pid): the app's name and the pid of its tree's root, fixed while the app runs.
- `future_focus`: per row at time t, the share of the snapshots in (t, t + horizon] in which the same group has the
  focus, and the seconds until it next has it. Only the future of t is used, never the row's own snapshot.
- `focus_ndcg`: among the groups **not** focused at t, how well a ranking orders them by their future focus
  (NDCG@k, ties scored in expectation as the daemon breaks them at random). A snapshot after which no unfocused
  group gains focus within the horizon cannot tell rankings apart and is left out.

All functions are vectorised over rows that come in snapshot (time) order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from smoothtask_trainer import metrics

#: A gap longer than this many median polling intervals ends a logging session: the future stops there.
SESSION_GAP_INTERVALS = 3


def stable_keys(app_name: np.ndarray, root_pid: np.ndarray) -> np.ndarray:
    """An integer key per row for (app_name, root_pid). `app_name` may be strings (None for NULL) or their hash
    codes; a NULL root pid is a value like any other."""
    names = np.asarray(app_name)
    if names.dtype == object:
        names = np.array(["\0" if v is None else str(v) for v in names], dtype=object)
    _, name_code = np.unique(names, return_inverse=True)
    pids = np.nan_to_num(np.asarray(root_pid, dtype=np.float64), nan=-1).astype(np.int64)
    combined = name_code.astype(np.int64).ravel() * (1 << 32) + (pids & 0xFFFFFFFF)
    _, key = np.unique(combined, return_inverse=True)
    return key.astype(np.int64).ravel()


def _sessions(snap_ts: np.ndarray) -> np.ndarray:
    """Session number per snapshot (snapshots in time order)."""
    if snap_ts.size < 2:
        return np.zeros(snap_ts.size, dtype=np.int64)
    steps = np.diff(snap_ts)
    interval = float(np.median(steps)) or 1.0
    return np.r_[0, np.cumsum(steps > SESSION_GAP_INTERVALS * interval)].astype(np.int64)


@dataclass
class FutureFocus:
    """Per row: the focus share of its group over the horizon after its snapshot, and when it is next focused."""

    share: np.ndarray  #: in [0, 1]; NaN where the row's snapshot has no later snapshot in its session
    next_s: np.ndarray  #: seconds until the group next has the focus (inf: not within the session)
    known: np.ndarray  #: the row has a future to judge it by

    @property
    def rows(self) -> int:
        return int(self.known.sum())


def future_focus(
    query: np.ndarray, ts_ms: np.ndarray, key: np.ndarray, focused: np.ndarray, horizon_s: float
) -> FutureFocus:
    """Future focus of every row (rows in time order, `query` the snapshot id, `ts_ms` its time).

    The share counts the later snapshots of the same session within the horizon in which the row's key is focused,
    over all later snapshots of the session within the horizon (so a missing group counts as unfocused).
    """
    query, ts_ms = np.asarray(query), np.asarray(ts_ms, dtype=np.int64)
    key, focused = np.asarray(key, dtype=np.int64), np.asarray(focused, dtype=bool)
    starts = np.flatnonzero(np.r_[True, query[1:] != query[:-1]]) if query.size else np.zeros(0, dtype=np.int64)
    snap_of_row = np.cumsum(np.r_[True, query[1:] != query[:-1]]) - 1 if query.size else query
    snap_ts = ts_ms[starts]
    session = _sessions(snap_ts)
    horizon_ms = int(horizon_s * 1000)
    n_snap = snap_ts.size
    # Later snapshots of the same session within the horizon: indices (i, end] per snapshot i.
    session_end = np.searchsorted(session, session, side="right")  # first snapshot of the next session
    end = np.minimum(np.searchsorted(snap_ts, snap_ts + horizon_ms, side="right"), session_end)
    own = np.arange(n_snap)
    later = end - own - 1
    # Focused (key, snapshot index) events, sorted by key then time: count those of the row's key in (i, end].
    ev = np.flatnonzero(focused)
    ev_key, ev_snap = key[ev], snap_of_row[ev]
    order = np.lexsort((ev_snap, ev_key))
    ev_key, ev_snap = ev_key[order], ev_snap[order]
    combined_ev = ev_key * (n_snap + 1) + ev_snap
    i = snap_of_row
    lo = np.searchsorted(combined_ev, key * (n_snap + 1) + i, side="right")
    hi = np.searchsorted(combined_ev, key * (n_snap + 1) + end[i] - 1, side="right")
    count = (hi - lo).astype(np.float64)
    known = later[i] > 0
    share = np.full(i.size, np.nan)
    share[known] = count[known] / later[i][known]
    # The next focused snapshot of the key after i, within the session.
    nxt = lo  # the first event of this key after i (if it is still this key's)
    has = nxt < combined_ev.size
    nxt_snap = np.zeros(i.size, dtype=np.int64)
    if combined_ev.size:  # no focused row at all: nothing is ever focused next
        pick = np.minimum(nxt, combined_ev.size - 1)
        has &= ev_key[pick] == key
        nxt_snap = np.where(has, ev_snap[pick], 0)
    has &= np.where(has, session[nxt_snap] == session[i], False)
    next_s = np.where(has, (snap_ts[nxt_snap] - snap_ts[i]) / 1000.0, np.inf)
    return FutureFocus(share=share, next_s=next_s, known=known)


def focus_ndcg(
    scores: np.ndarray, query: np.ndarray, focused: np.ndarray, future: FutureFocus, k: int = 5
) -> tuple[float | None, int]:
    """NDCG@k of future focus among the rows not focused now; (mean, snapshots that could judge)."""
    rows = ~np.asarray(focused, dtype=bool) & future.known
    if not rows.any():
        return None, 0
    gain = np.where(rows, np.nan_to_num(future.share), 0.0)[rows]
    q = np.asarray(query)[rows]
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    informative = np.add.reduceat(gain, starts) > 0
    if not informative.any():
        return None, 0
    keep = np.repeat(informative, np.diff(np.r_[starts, q.size]))
    value = metrics.ndcg(gain[keep], np.asarray(scores)[rows][keep], q[keep], ks=(k,))[f"ndcg@{k}"]
    return float(value), int(informative.sum())
