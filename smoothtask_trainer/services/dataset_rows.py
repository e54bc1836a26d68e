"""SQL and array assembly behind `services.dataset`: the store's rows -> the float32 feature matrix.

The representative process of a group is `MIN(processes.rowid)` among the snapshot's processes with its
`app_group_id` (the daemon's first-listed member). One GROUP BY pass over `processes` finds it together with the
teacher aggregates (and, for the rule teacher, the member flags the daemon's rules look at).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

from smoothtask_trainer.contract import features as cf
from smoothtask_trainer.contract import policy

#: A snapshot's timestamp as epoch milliseconds (SQLite parses RFC 3339 with any offset, 'Z', or none = UTC).
TS_MS = "CAST(round((julianday(timestamp) - 2440587.5) * 86400000.0) AS INTEGER)"
WINDOW = "snapshot_id IN (SELECT snapshot_id FROM temp.ds_window)"

SNAPSHOT_FEATURES = tuple(f for f in cf.FEATURES if f.origin == "snapshot")
#: Snapshot columns the rule teacher reads besides the features.
SNAPSHOT_EXTRA = ("audio_xruns_delta",)
GROUP_FEATURES = tuple(f for f in cf.FEATURES if f.origin == "group" and f.kind != "categorical")
PROCESS_FEATURES = tuple(f for f in cf.FEATURES if f.origin == "process" and f.kind != "categorical")
GRADE_CASE = (
    "CASE teacher_priority_class "
    + " ".join(f"WHEN '{name}' THEN {grade}" for name, grade in policy.GRADE.items())
    + " END"
)


def _system_expr(a: str = "") -> str:
    exe = " OR ".join(f"instr({a}exe, '{m}') > 0" for m in policy.SYSTEM_EXE_MARKERS)
    prefix = " OR ".join(f"substr({a}cgroup_path, 1, {len(p)}) = '{p}'" for p in policy.SYSTEM_CGROUP_PREFIXES)
    marker = " OR ".join(f"instr({a}cgroup_path, '{m}') > 0" for m in policy.SYSTEM_CGROUP_MARKERS)
    return f"MAX(COALESCE({exe}, 0) OR COALESCE(({prefix}) AND ({marker}), 0))"


def snapshot_sql(windowed: bool) -> str:
    cols = ", ".join(f.column for f in SNAPSHOT_FEATURES) + ", " + ", ".join(SNAPSHOT_EXTRA)
    return f"SELECT snapshot_id, {cols} FROM snapshots" + (f" WHERE {WINDOW}" if windowed else "")


def class_grades_sql(windowed: bool) -> str:
    """(snapshot_id, app_group_id, best class grade) of groups whose members have no teacher_score."""
    where = f"{WINDOW} AND " if windowed else ""
    return (
        f"SELECT snapshot_id, app_group_id, MAX({GRADE_CASE}) FROM processes WHERE {where}teacher_score IS NULL "
        "AND teacher_priority_class IS NOT NULL AND app_group_id IS NOT NULL GROUP BY snapshot_id, app_group_id"
    )


@dataclass
class GroupRows:
    """The group-row query and the layout of its result columns."""

    source: str = "teacher_score"  # teacher_score | teacher_class | rules
    correction: bool = False
    numeric: list[str] = field(default_factory=list)  # names of the numeric result columns, in order

    def sql(self, windowed: bool) -> str:
        """The group-row query; sets `numeric` to the names of its numeric result columns."""
        grade = GRADE_CASE.replace("teacher_priority_class", "x.teacher_priority_class")
        rep_aggs = ["MIN(x.rowid) AS rid"]
        if self.source == "teacher_score":
            # Groups without any score are rare: their class grades come from `class_grades_sql` afterwards,
            # which keeps teacher_priority_class out of this query's sort.
            rep_aggs += ["MAX(x.teacher_score) AS t_score", "NULL AS t_grade"]
        elif self.source == "teacher_class":
            rep_aggs += ["NULL AS t_score", f"MAX({grade}) AS t_grade"]
        else:
            rep_aggs += ["NULL AS t_score", "NULL AS t_grade"]
        extra = ["t_score", "t_grade"]
        if self.source == "rules":
            rep_aggs += [
                "MAX(COALESCE(x.is_audio_client AND x.has_active_stream, 0)) AS audio_active",
                "MAX(COALESCE(x.has_tty AND x.env_term IS NOT NULL, 0)) AS tty_term",
                f"{_system_expr('x.')} AS system_group",
            ]
            # what the stock daemon does fill, for rules whose group-level signal it leaves empty
            rep_aggs += [
                "MAX(COALESCE(x.is_audio_client, 0)) AS audio_client",
                "'[' || COALESCE(group_concat(DISTINCT x.tags), '') || ']' AS member_tags",
                "'[' || COALESCE(group_concat(DISTINCT json_quote(x.process_type)), '') || ']' AS member_types",
            ]
            extra += ["audio_active", "tty_term", "system_group", "audio_client"]
        ctes = []
        source = "processes x" if windowed else "processes x NOT INDEXED"
        if self.correction:
            # What each process (same pid and start time) did since the store's previous snapshot, by a key
            # lookup into that snapshot: cheaper than a window function, which would sort every process row.
            ctes.append(
                "prev AS (SELECT snapshot_id AS sid, LAG(snapshot_id) OVER (ORDER BY snapshot_id) AS psid "
                "FROM snapshots)"
            )
            source += (
                " LEFT JOIN prev ON prev.sid = x.snapshot_id LEFT JOIN processes y ON "
                "y.snapshot_id = prev.psid AND y.pid = x.pid AND y.start_time IS x.start_time"
            )
            rep_aggs += [
                "SUM(MAX(0, x.involuntary_ctx - y.involuntary_ctx)) AS inv_delta",
                "SUM(CASE WHEN y.pid IS NOT NULL THEN MAX(0, COALESCE(x.io_read_bytes, 0) + "
                "COALESCE(x.io_write_bytes, 0) - COALESCE(y.io_read_bytes, 0) - COALESCE(y.io_write_bytes, 0)) END) "
                "AS io_delta",
            ]
            extra += ["inv_delta", "io_delta"]
        where = f"x.{WINDOW} AND " if windowed else ""
        ctes.append(
            f"rep AS (SELECT x.snapshot_id AS snapshot_id, x.app_group_id AS app_group_id, {', '.join(rep_aggs)} "
            f"FROM {source} WHERE {where}x.app_group_id IS NOT NULL GROUP BY x.snapshot_id, x.app_group_id)"
        )
        cols = [f"g.{f.column}" for f in GROUP_FEATURES] + [f"p.{f.column}" for f in PROCESS_FEATURES]
        cols += [f"r.{name}" for name in extra] + ["g.root_pid"]
        extra += ["root_pid"]  # with app_name, the group's identity through time (`attention.stable_keys`)
        self.numeric = [f.name for f in GROUP_FEATURES] + [f.name for f in PROCESS_FEATURES] + extra
        cols += [f"{'p' if column in ('process_type', 'env_term') else 'g'}.{column}" for _, column in STRING_SLOTS]
        if self.source == "rules":
            cols += ["r.member_tags", "r.member_types", "g.app_name"]  # MEMBER_SLOTS
        group_filter = f" WHERE g.{WINDOW}" if windowed else ""
        return (
            f"WITH {', '.join(ctes)} SELECT g.snapshot_id, g.app_group_id, {', '.join(cols)} FROM app_groups g "
            "LEFT JOIN rep r ON r.snapshot_id = g.snapshot_id AND r.app_group_id = g.app_group_id "
            f"LEFT JOIN processes p ON p.rowid = r.rid{group_filter}"
        )


#: The categorical slots read from the group-row query, and the result column each comes from.
STRING_SLOTS = (
    ("app_name", "app_name"),
    ("tags_joined", "tags"),
    ("process_type", "process_type"),
    ("env_term", "env_term"),
)


#: Trailing string columns of the rule teacher's query: member process tags (a JSON array of JSON arrays), member
#: process types (a JSON array) and the group's app name.
MEMBER_SLOTS = ("member_tags", "member_types", "app_name")


@dataclass
class Columns:
    """Group rows, converted chunk by chunk so that no chunk's Python objects outlive it.

    Numeric values become float64 (NaN = NULL); categorical strings become their hash codes at once (with
    their NULL counts); only the app group ids (keys) and, for the rule teacher, the tag sets are kept.
    """

    keep_tag_sets: bool = False
    sid: list[np.ndarray] = field(default_factory=list)
    gid: list[object] = field(default_factory=list)
    numeric: list[np.ndarray] = field(default_factory=list)
    codes: dict[str, list[np.ndarray]] = field(default_factory=lambda: {n: [] for n, _ in STRING_SLOTS})
    nulls: dict[str, int] = field(default_factory=lambda: {n: 0 for n, _ in STRING_SLOTS})
    tag_sets: list[frozenset[str]] = field(default_factory=list)
    member_sets: list[frozenset[str]] = field(default_factory=list)  # rule teacher: member tags and types
    app_names: list[str | None] = field(default_factory=list)  # rule teacher: raw app names

    def add(self, chunk: list[tuple], n_numeric: int) -> None:
        self.sid.append(np.fromiter((r[0] for r in chunk), dtype=np.int64, count=len(chunk)))
        self.gid.extend(r[1] for r in chunk)
        end = 2 + n_numeric
        self.numeric.append(np.array([r[2:end] for r in chunk], dtype=np.float64).reshape(len(chunk), n_numeric))
        for j, (slot, _column) in enumerate(STRING_SLOTS):
            values = [r[end + j] for r in chunk]
            self.nulls[slot] += values.count(None)
            if slot == "tags_joined":
                if self.keep_tag_sets:
                    self.tag_sets.extend(tag_set(v) for v in values)
                values = [tags_joined(v) for v in values]
            self.codes[slot].append(cf.hash_codes(values))
        if self.keep_tag_sets:
            base = end + len(STRING_SLOTS)
            self.member_sets.extend(member_set(r[base], r[base + 1]) for r in chunk)
            self.app_names.extend(r[base + 2] for r in chunk)


_TAG_CACHE: dict[str | None, str] = {}


def tags_joined(raw: str | None) -> str:
    """Group tags (JSON text) -> the daemon's `tags_joined` (sorted bytewise, '|'-joined, 'unknown' if none)."""
    hit = _TAG_CACHE.get(raw)
    if hit is None:
        try:
            tags = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            tags = []
        hit = cf.join_tags([t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [])
        if len(_TAG_CACHE) < 100_000:
            _TAG_CACHE[raw] = hit
    return hit


_TAGSET_CACHE: dict[str | None, frozenset[str]] = {}


def tag_set(raw: str | None) -> frozenset[str]:
    """Group tags (JSON text) as a set (for the rule teacher)."""
    hit = _TAGSET_CACHE.get(raw)
    if hit is None:
        try:
            tags = json.loads(raw) if raw else []
        except (TypeError, ValueError):
            tags = []
        hit = frozenset(t for t in tags if isinstance(t, str)) if isinstance(tags, list) else frozenset()
        if len(_TAGSET_CACHE) < 100_000:
            _TAGSET_CACHE[raw] = hit
    return hit


_MEMBER_CACHE: dict[tuple[str | None, str | None], frozenset[str]] = {}


def member_set(tags_json: str | None, types_json: str | None) -> frozenset[str]:
    """The members' process tags and process types, as one set (for the rule teacher)."""
    key = (tags_json, types_json)
    hit = _MEMBER_CACHE.get(key)
    if hit is None:
        out: set[str] = set()
        for raw in key:
            try:
                items = json.loads(raw) if raw else []
            except (TypeError, ValueError):
                items = []
            for item in items if isinstance(items, list) else []:
                if isinstance(item, str):
                    out.add(item)
                elif isinstance(item, list):
                    out.update(t for t in item if isinstance(t, str))
        hit = frozenset(out)
        if len(_MEMBER_CACHE) < 100_000:
            _MEMBER_CACHE[key] = hit
    return hit
