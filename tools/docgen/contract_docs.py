"""Tables generated from the daemon contract and the store: docs/features.md and docs/data-formats.md."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from functools import partial

from smoothtask_trainer import contract
from tools.docgen.common import cell as _cell


def features_table() -> str:
    """The daemon's 51 features as a markdown table, from `contract.FEATURES`."""
    lines = [
        "| # | name | kind | source | default | key | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for f in contract.FEATURES:
        default = f'"{f.default}"' if f.kind == "categorical" else "0"
        lines.append(
            f"| {f.index} | `{f.name}` | {f.kind} | `{f.source}` | {default} | {'yes' if f.key else ''} | "
            f"{f.note.replace('|', chr(92) + '|')} |"
        )
    return "\n".join(lines)


_JSON_TYPES = {"INTEGER": "integer", "REAL": "number", "TEXT": "string"}


def _json_type(table: str, column: str, sqltype: str) -> str:
    if column in contract.BOOL_COLUMNS:
        return "`true`/`false` (or 0/1)"
    if column == "tags":
        return "array of strings"
    if column == "process_ids":
        return "array of integers"
    if table == "snapshots" and column == "timestamp":
        return "string, RFC 3339"
    return _JSON_TYPES[sqltype]


def _required(table: str) -> set[str]:
    """JSON keys a record must have: the table's NOT NULL and key columns, except the parent's snapshot_id."""
    keys = set(contract.NOT_NULL[table]) | set(contract.PRIMARY_KEYS[table])
    if table != "snapshots":
        keys.discard("snapshot_id")
    return keys


def _sql_constraints(table: str, column: str) -> str:
    parts = []
    if column in contract.PRIMARY_KEYS[table]:
        parts.append("PK" if len(contract.PRIMARY_KEYS[table]) == 1 else "PK part")
    if column in contract.NOT_NULL[table]:
        parts.append("NOT NULL")
    if table != "snapshots" and column == "snapshot_id":
        parts.append("FK → snapshots")
    parts.extend(f"`{name}`" for name, t, c in contract.INDEXES if t == table and c == column)
    return ", ".join(parts)


def _nested_key(column: str) -> str:
    if column in contract.GLOBAL_FIELDS:
        return f"`global.{column}`"
    if column in contract.RESPONSIVENESS_FIELDS:
        return f"`responsiveness.{column}`"
    return f"`{column}`"


def fields_table(table: str) -> str:
    """One daemon table as a markdown table: each SQLite column, its type and constraints, and the JSON key and
    value that fill it. Process and group objects use the column names as keys in both shapes; only the
    snapshot's own fields move under `global` / `responsiveness` in the nested shape."""
    snapshot = table == "snapshots"
    head = "| column = flat key | SQLite type | SQLite constraints | JSON value |"
    rule = "|---|---|---|---|"
    if snapshot:
        head, rule = head + " nested key |", rule + "---|"
    lines = [head, rule]
    required = _required(table)
    for column, sqltype in contract.TABLES[table]:
        if not snapshot and column == "snapshot_id":
            json_value = "none: the snapshot's `snapshot_id`"
        else:
            json_value = _json_type(table, column, sqltype) + (", **required**" if column in required else "")
        row = f"| `{column}` | {sqltype} | {_sql_constraints(table, column)} | {json_value} |"
        lines.append(row + (f" {_nested_key(column)} |" if snapshot else ""))
    return "\n".join(lines)


def nested_extras_table() -> str:
    """Keys of the daemon's serde shape that the log never persists (accepted, then dropped)."""
    rows = [
        ("snapshot", contract.SNAPSHOT_EXTRA_FIELDS),
        ("`processes[]`", contract.PROCESS_EXTRA_FIELDS),
        ("`app_groups[]`", contract.GROUP_EXTRA_FIELDS),
    ]
    lines = ["| object | keys accepted and dropped |", "|---|---|"]
    for where, names in rows:
        lines.append(f"| {where} | {', '.join(f'`{n}`' for n in names)} |")
    return "\n".join(lines)


def _split_top_level(body: str) -> list[str]:
    """Split a column list on the commas that are not inside parentheses."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(body):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i].strip())
            start = i + 1
    parts.append(body[start:].strip())
    return parts


def store_ddl() -> str:
    """The statements that create the daemon's tables and indexes (`contract.create_table_sql`), laid out."""
    out = []
    for table in contract.TABLES:
        sql = contract.create_table_sql(table)
        head, body = sql.split(" (", 1)
        columns = _split_top_level(body[:-1])
        out.append(head + " (\n" + ",\n".join(f"    {c}" for c in columns) + "\n);")
    out.extend(f"{ddl};" for ddl in contract.create_index_sql())
    return "```sql\n" + "\n".join(out) + "\n```"


def indexes_table() -> str:
    lines = ["| index | table | column |", "|---|---|---|"]
    lines.extend(f"| `{name}` | `{table}` | `{column}` |" for name, table, column in contract.INDEXES)
    return "\n".join(lines)


#: What each bookkeeping column holds. Generation fails on a column without a note, so a new column is documented.
BOOKKEEPING_NOTES = {
    "smoothtask_ingest_files": {
        "id": "row id",
        "source": "the input as given, made absolute; `<stdin>` for `-`",
        "kind": "`jsonl`, `jsonl.gz`, `sqlite` or `sqlite.gz`",
        "sha256": "of the file's bytes as stored (compressed for `.gz`); a re-run skips a file whose hash is here",
        "size_bytes": "file size",
        "ingested_at": "UTC, ISO 8601 with milliseconds",
        "records_read": "JSON records read, or snapshots read from a database",
        "snapshots_inserted": "rows added to `snapshots`",
        "processes_inserted": "rows added to `processes`",
        "app_groups_inserted": "rows added to `app_groups`",
        "duplicate_snapshots": "snapshots skipped because their `snapshot_id` was already stored",
        "skipped_records": "bad records skipped (JSON: each reported as `file:line: reason`; a database: rows "
        "that reference no snapshot)",
        "tool_version": "smoothtask-trainer version that ingested the file",
    },
    "smoothtask_meta": {
        "key": "`store_format`, `contract_version` or `created_by`",
        "value": "`1`; the contract version the rows follow; `smoothtask-trainer <version>` that created the store",
    },
}


def bookkeeping_tables() -> str:
    """The store's own tables, read back from `store.BOOKKEEPING_DDL` run in an in-memory database."""
    from smoothtask_trainer import store

    con = sqlite3.connect(":memory:")
    try:
        for ddl in store.BOOKKEEPING_DDL:
            con.execute(ddl)
        out = []
        for table in (store.INGEST_TABLE, store.META_TABLE):
            notes = BOOKKEEPING_NOTES[table]
            out += [f"`{table}`:", "", "| column | type | constraints | holds |", "|---|---|---|---|"]
            for _cid, name, sqltype, notnull, default, pk in con.execute(f"PRAGMA table_info({table})"):
                if name not in notes:
                    raise ValueError(f"docsgen.BOOKKEEPING_NOTES has no note for {table}.{name}")
                constraints = ["PK"] if pk else []
                if notnull:
                    constraints.append("NOT NULL")
                if default is not None:
                    constraints.append(f"DEFAULT `{default}`")
                out.append(f"| `{name}` | {sqltype} | {_cell(', '.join(constraints))} | {_cell(notes[name])} |")
            indexes = [
                f"`{row[1]}` ({', '.join(c[2] for c in con.execute(f'PRAGMA index_info({row[1]})'))})"
                for row in con.execute(f"PRAGMA index_list({table})")
                if row[3] == "c"  # created by CREATE INDEX (not the implicit primary-key index)
            ]
            if indexes:
                out += ["", f"Index: {', '.join(indexes)}."]
            out.append("")
        return "\n".join(out).rstrip()
    finally:
        con.close()


GENERATED: dict[str, dict[str, Callable[[], str]]] = {
    "features.md": {"features": features_table},
    "data-formats.md": {
        "snapshot-fields": partial(fields_table, "snapshots"),
        "process-fields": partial(fields_table, "processes"),
        "group-fields": partial(fields_table, "app_groups"),
        "nested-extras": nested_extras_table,
        "store-ddl": store_ddl,
        "store-indexes": indexes_table,
        "bookkeeping": bookkeeping_tables,
    },
}
