"""The daemon's process grouper (`classify/grouper.rs`), reproduced with its counter-based, unstable ids.

Processes are bucketed by normalised cgroup path (cut after `app.slice`, `system.slice` or `session-*.scope`),
then split into process trees. Buckets are numbered in HashMap iteration order, which changes every loop, so
the same app is `cgroup-3-tree-7` in one snapshot and `cgroup-0-tree-2` in the next. Trees are numbered in the
order the (parallel, unordered) /proc scan met them. Processes without a cgroup (cgroup `/`, i.e. kernel
threads) become `tree-N`. Groups, their `process_ids` and their tags come out in HashMap order too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from smoothtask_trainer.simulator.procs import ProcessTable


@dataclass
class Groups:
    """One snapshot's app groups, as columns in output order, plus what the labeller needs."""

    member_group: list[str]  # app_group_id of each listed process
    columns: dict[str, list]  # GROUP columns (without snapshot_id)
    positions: list[np.ndarray]  # listed positions of each group's members, in process_ids order
    roots: list[int]  # root slot of each group


@dataclass
class Members:
    """The per-process inputs the grouper aggregates, in listed order (NULLs flagged by masks)."""

    pid: np.ndarray
    exe: list[str | None]
    tags: list[list[str]]
    gui: np.ndarray
    focused: np.ndarray
    io_read: np.ndarray
    io_write: np.ndarray
    io_null: np.ndarray
    rss: np.ndarray
    rss_null: np.ndarray


@lru_cache(maxsize=4096)
def _basename(exe: str) -> str:
    return os.path.basename(exe)


def _sums(group_of: np.ndarray, n_groups: int, values: np.ndarray, null: np.ndarray) -> list[int | None]:
    sums = np.bincount(group_of, weights=np.where(null, 0, values).astype(np.float64), minlength=n_groups)
    return [int(s) or None for s in sums.tolist()]  # the daemon turns a zero sum into None


def group_snapshot(table: ProcessTable, listed: np.ndarray, rng: np.random.Generator, m: Members) -> Groups:
    """Group the listed processes the way the daemon's grouper does."""
    n = listed.size
    roots = table.root[listed]
    uniq, first, inverse = np.unique(roots, return_index=True, return_inverse=True)
    by_first = np.argsort(first, kind="stable")  # groups in the order the scan first met them
    rank = np.empty_like(by_first)
    rank[by_first] = np.arange(by_first.size)
    group_of = rank[inverse]
    group_roots = uniq[by_first].tolist()
    n_groups = len(group_roots)

    ids = [""] * n_groups
    trees_of_bucket: dict[int, list[int]] = {}
    for g, root in enumerate(group_roots):
        trees_of_bucket.setdefault(int(table.bucket[root]), []).append(g)
    counter = 0
    cgroup_buckets = [b for b in trees_of_bucket if b >= 0]
    for k in rng.permutation(len(cgroup_buckets)).tolist():
        trees = trees_of_bucket[cgroup_buckets[k]]
        if len(trees) == 1:
            ids[trees[0]] = f"cgroup-{counter}"
        else:
            for tree, g in enumerate(trees):
                ids[g] = f"cgroup-{counter}-tree-{tree}"
        counter += 1
    bare = trees_of_bucket.get(-1, [])
    for k in rng.permutation(len(bare)).tolist():
        ids[bare[k]] = f"tree-{counter}"
        counter += 1

    # Members of each group in a random order (process_ids comes from iterating a HashMap).
    shuffled = rng.permutation(n)
    ordered = shuffled[np.argsort(group_of[shuffled], kind="stable")]
    bounds = np.cumsum(np.bincount(group_of, minlength=n_groups))[:-1]
    positions = np.split(ordered, bounds)
    pids = m.pid[ordered].tolist()
    starts = [0, *bounds.tolist()]
    ends = [*bounds.tolist(), n]

    # The root is the member whose parent is outside the group; a tree's root is always listed with it,
    # but fall back to the first member met (the daemon falls back to the smallest pid) to stay total.
    root_pos = first[by_first].copy()
    is_root = listed == roots
    root_pos[group_of[is_root]] = np.flatnonzero(is_root)
    tags: list[set[str]] = [set() for _ in range(n_groups)]
    for pos in np.flatnonzero(np.fromiter((bool(t) for t in m.tags), dtype=bool, count=n)).tolist():
        tags[group_of[pos]].update(m.tags[pos])
    gui = np.bincount(group_of, weights=m.gui, minlength=n_groups) > 0
    focused = np.bincount(group_of, weights=m.focused, minlength=n_groups) > 0
    columns = {
        "app_group_id": ids,
        "root_pid": m.pid[root_pos].tolist(),
        "process_ids": [pids[a:b] for a, b in zip(starts, ends, strict=True)],
        "app_name": [None if m.exe[p] is None else _basename(m.exe[p]) for p in root_pos.tolist()],
        "total_cpu_share": [None] * n_groups,  # the max of members' cpu_share_10s, which is never computed
        "total_io_read_bytes": _sums(group_of, n_groups, m.io_read, m.io_null),
        "total_io_write_bytes": _sums(group_of, n_groups, m.io_write, m.io_null),
        "total_rss_mb": _sums(group_of, n_groups, m.rss, m.rss_null),
        "has_gui_window": gui.tolist(),
        "is_focused_group": focused.tolist(),
        "tags": [sorted(t) for t in tags],
        "priority_class": [None] * n_groups,  # set to None by the grouper, never written back by the policy
    }
    # Groups themselves come out of a HashMap: shuffle them.
    out = rng.permutation(n_groups).tolist()
    columns = {k: [v[g] for g in out] for k, v in columns.items()}
    member_group = [ids[g] for g in group_of.tolist()]
    return Groups(member_group, columns, [positions[g] for g in out], [group_roots[g] for g in out])
