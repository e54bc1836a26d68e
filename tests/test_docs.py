"""Generated documentation never drifts from the code."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tools import docgen as docsgen


def test_generated_tables_are_current() -> None:
    for filename, blocks in docsgen.GENERATED.items():
        text = (docsgen.DOCS / filename).read_text()
        assert docsgen.render(text, blocks) == text, f"docs/{filename} is stale: run `uv run python -m tools.docgen`"


def test_features_table_lists_every_slot() -> None:
    table = docsgen.features_table()
    assert table.count("\n") == 52  # header, rule, 51 rows
    assert "| 43 | `has_gui_window_group` | bool | `app_groups.has_gui_window` |" in table


def _data_format_example(name: str) -> dict:
    text = (docsgen.DOCS / "data-formats.md").read_text()
    match = re.search(rf"<!-- {name}:start -->\n```json\n(.*?)```\n<!-- {name}:end -->", text, re.S)
    assert match, f"docs/data-formats.md has no {name} block"
    return json.loads(match.group(1))


def test_data_format_examples_are_ingested_as_the_same_rows(tmp_path: Path) -> None:
    """The flat and the nested example of docs/data-formats.md, mixed in one JSONL file, store the same rows."""
    from smoothtask_trainer import contract
    from smoothtask_trainer.services.collect import collect

    flat, nested = _data_format_example("flat-example"), _data_format_example("nested-example")
    assert "global" not in flat and {"global", "responsiveness", "extended_sensors"} <= set(nested)
    log = tmp_path / "examples.jsonl"
    log.write_text("".join(json.dumps(record) + "\n" for record in (flat, nested)))
    result = collect([str(log)], tmp_path / "store.db")
    (report,) = result.files
    assert (report.status, report.snapshots_inserted, report.skipped_records) == ("ingested", 2, 0)
    assert report.unknown_keys == {}  # the nested shape's extra fields are known to the contract (and dropped)
    with sqlite3.connect(tmp_path / "store.db") as con:
        for table, skip in (("snapshots", 2), ("processes", 1), ("app_groups", 1)):
            rows = con.execute(f"SELECT * FROM {table} ORDER BY snapshot_id").fetchall()
            assert len(rows) == 2 and rows[0][skip:] == rows[1][skip:], table
            assert len(rows[0]) == len(contract.TABLES[table])
        proc = con.execute("SELECT has_gui_window, tags, state FROM processes").fetchone()
        assert proc == (1, '["browser"]', "'S'")
        assert con.execute("SELECT process_ids, is_focused_group FROM app_groups").fetchone() == ("[4242]", 1)
        user_active = con.execute("SELECT user_active, psi_io_some_avg10 FROM snapshots").fetchall()
        assert user_active == [(1, 0.17), (1, 0.17)]


def test_data_format_tables_come_from_the_contract() -> None:
    from smoothtask_trainer import contract

    text = (docsgen.DOCS / "data-formats.md").read_text()
    for table, columns in contract.TABLES.items():
        for column, sqltype in columns:
            assert f"| `{column}` | {sqltype} |" in text, (table, column)
    assert "| `pid` | INTEGER | PK part, NOT NULL, `idx_processes_pid` | integer, **required** |" in text
    assert "| `psi_cpu_some_avg10` | REAL |  | number | `global.psi_cpu_some_avg10` |" in text
    assert "PRIMARY KEY (snapshot_id, app_group_id),\n    FOREIGN KEY (snapshot_id) REFERENCES snapshots" in text
    assert "Index: `idx_smoothtask_ingest_files_sha256` (sha256)." in text
