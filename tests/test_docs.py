"""Generated documentation never drifts from the code."""

from __future__ import annotations

from smoothtask_trainer import docsgen


def test_generated_tables_are_current() -> None:
    for filename, blocks in docsgen.GENERATED.items():
        text = (docsgen.DOCS / filename).read_text()
        assert docsgen.render(text, blocks) == text, (
            f"docs/{filename} is stale: run `uv run python -m smoothtask_trainer.docsgen`"
        )


def test_features_table_lists_every_slot() -> None:
    table = docsgen.features_table()
    assert table.count("\n") == 52  # header, rule, 51 rows
    assert "| 43 | `has_gui_window_group` | bool | `app_groups.has_gui_window` |" in table
