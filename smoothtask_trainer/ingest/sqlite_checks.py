"""Type checks of a daemon database's rows, set-wise inside SQLite, as strict as the JSONL path.

SQLite keeps whatever value a row was given (text in a REAL column stays text), so a source is checked before it
is copied: one scan per table with type tests in the WHERE clause collects the offending rows into a temporary
table; every snapshot with such a row is skipped whole (with its processes and groups). The rules are those of
`ingest.records` for JSONL:

- INTEGER columns hold numbers (a float is accepted, as the JSONL path accepts one); `pid` only an integer;
  process ids (`pid`, `ppid`, `root_pid`, the items of `process_ids`) are never negative;
- REAL columns hold numbers; TEXT columns text; flags the integers 0 or 1;
- `tags` / `process_ids` hold a JSON array of strings / of integers, as text;
- NULL wherever the contract allows it; `timestamp` is an ISO 8601 / RFC 3339 date-time, `snapshot_id` >= 0.

A process or group row's `snapshot_id` is not type-checked: a row that matches no snapshot is an orphan (counted
apart), one that matches is copied under that snapshot.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import datetime

from smoothtask_trainer import contract

#: Nullable columns holding process ids, which are never negative (as `ingest.records.PID_COLUMNS`).
PID_COLUMNS = frozenset({"ppid", "root_pid"})
BAD = "temp.smoothtask_bad_rows"
ISO_FN = "smoothtask_iso8601"

_EXPECTED_BY_TYPE = {"INTEGER": "a number", "REAL": "a number", "TEXT": "text"}


def _is_iso8601(value: str) -> int:
    try:
        datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return 0
    return 1


def _json_array(ref: str, bad_item: str) -> str:
    # CASE evaluates lazily: json_type() only ever sees valid JSON (it raises on anything else).
    return (
        f"CASE WHEN {ref} IS NULL OR {ref} = '[]' THEN 0 "
        f"WHEN typeof({ref}) <> 'text' OR NOT json_valid({ref}) OR json_type({ref}) <> 'array' THEN 1 "
        f"ELSE EXISTS (SELECT 1 FROM json_each({ref}) WHERE {bad_item}) END"
    )


def rule(table: str, column: str, sqltype: str, ref: str) -> tuple[str, str] | None:
    """(SQL that is true when `ref` breaks the rule, what was expected) for one column; None: not checked."""
    if column == "snapshot_id":
        if table != "snapshots":
            return None
        return f"(typeof({ref}) <> 'integer' OR {ref} < 0)", "an integer >= 0"
    if table == "snapshots" and column == "timestamp":
        return (
            f"(typeof({ref}) <> 'text' OR NOT {ISO_FN}({ref}))",
            "an ISO 8601 / RFC 3339 date-time as text",
        )
    if column == "tags":
        return _json_array(ref, "type <> 'text'"), "a JSON array of strings"
    if column == "process_ids":
        return _json_array(ref, "type <> 'integer' OR value < 0"), "a JSON array of process ids (integers >= 0)"
    if column == "pid":
        return f"(typeof({ref}) <> 'integer' OR {ref} < 0)", "a process id (an integer >= 0)"
    if column in PID_COLUMNS:
        return f"(+{ref} >= '' OR +{ref} < 0)", "a process id (a number >= 0)"
    if column in contract.NOT_NULL[table]:
        if sqltype == "INTEGER":
            return f"typeof({ref}) <> 'integer'", "an integer (not NULL)"
        return f"typeof({ref}) <> 'text'", "text (not NULL)"
    # SQLite orders values NULL < numbers < text < blob, and a comparison of a NULL is NULL (not bad). The unary
    # `+` drops the column's affinity, so nothing is converted per row: the text '1' stays unequal to 1 and `''`
    # stays text. These comparisons cost about a quarter of typeof() over a daemon database's process rows.
    plain = f"+{ref}"
    if column in contract.BOOL_COLUMNS:
        return f"{plain} NOT IN (0, 1)", "0 or 1"
    if sqltype == "TEXT":
        return f"({plain} < '' OR {plain} >= x'')", "text"
    return f"{plain} >= ''", _EXPECTED_BY_TYPE[sqltype]


def _rules(table: str, present: set[str]) -> list[tuple[str, str, str]]:
    """(column, bad-condition, expected) for the columns of `table` that the source has."""
    out = []
    for column, sqltype in contract.TABLES[table]:
        if column not in present:
            continue  # an older daemon's missing column is NULL, which every non-key column allows
        found = rule(table, column, sqltype, f"t.{column}")
        if found is not None:
            out.append((column, *found))
    return out


@dataclass
class BadRows:
    """Snapshots skipped because one of their rows holds a value of the wrong type."""

    snapshots: int = 0
    examples: list[str] = field(default_factory=list)


def find_bad_rows(con: sqlite3.Connection, src: str, present: dict[str, set[str]], max_examples: int) -> BadRows:
    """Fill `temp.smoothtask_bad_rows` with the source's ill-typed rows; count the snapshots they spoil.

    Call inside the copy's transaction, with the source attached as schema `src`. The temporary table stays for
    the copy (it names the snapshot ids to leave out) and is emptied by `clear`.
    """
    con.create_function(ISO_FN, 1, _is_iso8601, deterministic=True)
    # `snapshot_id` has no declared type: the comparisons with the source's ids apply that column's affinity.
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {BAD[5:]} (tbl INTEGER, rid INTEGER, snapshot_id, col TEXT)")
    con.execute(f"DELETE FROM {BAD}")
    for order, table in enumerate(contract.TABLES):
        rules = _rules(table, present[table])
        if not rules:
            continue
        first_bad = "CASE " + " ".join(f"WHEN {cond} THEN '{col}'" for col, cond, _ in rules) + " END"
        where = " OR ".join(f"({cond})" for _, cond, _ in rules)
        if table == "snapshots":
            # Rows without an id or a timestamp are counted apart (they cannot be stored at all).
            where = f"t.snapshot_id IS NOT NULL AND t.timestamp IS NOT NULL AND ({where})"
        con.execute(
            f"INSERT INTO {BAD} SELECT {order}, t.rowid, t.snapshot_id, {first_bad} FROM {src}.{table} t WHERE {where}"
        )
    if con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {BAD})").fetchone()[0]:
        return BadRows()
    con.execute(f"CREATE INDEX IF NOT EXISTS temp.smoothtask_bad_rows_sid ON {BAD[5:]} (snapshot_id)")
    count = con.execute(
        f"SELECT COUNT(*) FROM {src}.snapshots s WHERE s.snapshot_id IS NOT NULL AND s.timestamp IS NOT NULL "
        f"AND EXISTS (SELECT 1 FROM {BAD} b WHERE b.snapshot_id = s.snapshot_id)"
    ).fetchone()[0]
    return BadRows(snapshots=count, examples=_examples(con, src, max_examples))


def exclusion(alias: str) -> str:
    """SQL that is true when the snapshot `alias`.snapshot_id has no ill-typed row."""
    return f"NOT EXISTS (SELECT 1 FROM {BAD} b WHERE b.snapshot_id = {alias}.snapshot_id)"


def clear(con: sqlite3.Connection) -> None:
    con.execute(f"DELETE FROM {BAD}")


def _examples(con: sqlite3.Connection, src: str, limit: int) -> list[str]:
    """The first `limit` skipped snapshots, in the source's order, each with one offending value."""
    if limit <= 0:
        return []
    # One line per skipped snapshot: its first offending value (snapshot row, then processes, then groups).
    rows = con.execute(
        "SELECT tbl, rid, snapshot_id, col FROM (SELECT b.tbl, b.rid, s.snapshot_id, b.col, s.rowid AS srow, "
        "row_number() OVER (PARTITION BY s.rowid ORDER BY b.tbl, b.rid) AS k "
        f"FROM {BAD} b JOIN {src}.snapshots s ON s.snapshot_id = b.snapshot_id) WHERE k = 1 ORDER BY srow LIMIT ?",
        (limit,),
    ).fetchall()
    tables = list(contract.TABLES)
    types = {t: dict(cols) for t, cols in contract.TABLES.items()}
    out = []
    for tbl, rid, sid, col in rows:
        table = tables[tbl]
        kind, value = con.execute(f"SELECT typeof({col}), {col} FROM {src}.{table} WHERE rowid = ?", (rid,)).fetchone()
        found = rule(table, col, types[table][col], col)
        expected = found[1] if found else "?"
        where = "" if table == "snapshots" else f" (rowid {rid})"
        out.append(f"snapshot {sid}: {table}.{col} holds {describe(kind, value)}, expected {expected}{where}")
    return out


def describe(kind: str, value: object) -> str:
    """A value as a message shows it: its SQLite type and a short rendering."""
    if kind == "null":
        return "NULL"
    if kind == "blob":
        return f"a blob of {len(value)} bytes"  # type: ignore[arg-type]
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind} {shown}"
