"""Generated files: documentation and completion scripts that must never drift from the code they describe.

    uv run python -m smoothtask_trainer.docsgen      # rewrite every generated file in place

What is generated, and the test that fails when a committed copy differs from what this module generates:

- tables between `<!-- name:start -->` and `<!-- name:end -->` markers in docs/features.md and
  docs/data-formats.md, from the daemon contract and the store (`tests/test_docs.py`);
- docs/cli.md, the command-line reference, from the Typer app's command tree (`tests/test_cli_reference.py`);
- completions/*, the bash, zsh, fish and PowerShell completion scripts, from Typer (`tests/test_completions.py`).

The whole-file tests rewrite the committed copy instead of failing when `SMOOTHTASK_UPDATE_SNAPSHOTS=1` is set.
"""

from __future__ import annotations

import re
import sqlite3
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from smoothtask_trainer import contract

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
COMPLETIONS = ROOT / "completions"

PROG = "smoothtask-trainer"
#: The variable the completion scripts set when they call the program back at TAB time (Typer derives it from
#: the program name: `_<PROG_NAME>_COMPLETE`, upper case, dashes as underscores).
COMPLETE_VAR = "_SMOOTHTASK_TRAINER_COMPLETE"
#: Shell -> committed file name (the zsh file is named for `fpath` autoloading: `_<command>` with `#compdef`).
COMPLETION_FILES = {
    "bash": "smoothtask-trainer.bash",
    "zsh": "_smoothtask-trainer",
    "fish": "smoothtask-trainer.fish",
    "powershell": "smoothtask-trainer.ps1",
}
REGENERATE = "uv run python -m smoothtask_trainer.docsgen"
UPDATE_ENV = "SMOOTHTASK_UPDATE_SNAPSHOTS"


def _cell(text: str) -> str:
    """Text for one markdown table cell."""
    return " ".join(str(text).split()).replace("|", "\\|")


# --------------------------------------------------------------------------------------------------------------
# docs/features.md
# --------------------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------------------
# docs/data-formats.md: the JSON shapes and the SQLite store, from `contract` and `store`
# --------------------------------------------------------------------------------------------------------------

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


def render(text: str, blocks: dict) -> str:
    for name, make in blocks.items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n).*?(<!-- {name}:end -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"markers for {name!r} not found")
        text = pattern.sub(lambda m, make=make: m.group(1) + make() + "\n" + m.group(2), text)
    return text


# --------------------------------------------------------------------------------------------------------------
# completions/: generated by Typer itself, without a terminal or a shell
# --------------------------------------------------------------------------------------------------------------


def completion_script(shell: str) -> str:
    """The completion script Typer generates for `shell` (bash, zsh, fish or powershell).

    The same as `_SMOOTHTASK_TRAINER_COMPLETE=source_<shell> smoothtask-trainer`, run in-process. Leading and
    trailing blank lines are dropped, as `--show-completion` and `--install-completion` drop them (zsh reads
    `#compdef` only from a file's first line). The scripts call the program back at TAB time, so they change
    only when the program is renamed or Typer changes its templates.
    """
    from typer.testing import CliRunner

    from smoothtask_trainer.cli import app

    if shell not in COMPLETION_FILES:
        raise ValueError(f"shell must be one of {', '.join(COMPLETION_FILES)}, not {shell!r}")
    result = CliRunner().invoke(app, [], env={COMPLETE_VAR: f"source_{shell}"}, prog_name=PROG)
    script = result.stdout.strip()
    if result.exit_code != 0 or COMPLETE_VAR not in script:
        raise RuntimeError(f"Typer did not generate a {shell} completion script: {result.output!r}")
    return script + "\n"


# --------------------------------------------------------------------------------------------------------------
# docs/cli.md: the command-line reference, walked from the command tree Typer builds (typer.main.get_command)
# --------------------------------------------------------------------------------------------------------------


def _plain(text: str | None, rich_markup: bool) -> str:
    """Help text as `--help` shows it: Rich markup rendered to plain text when the app uses Rich markup."""
    if not text:
        return ""
    if rich_markup:
        from rich.text import Text

        text = Text.from_markup(text).plain
    return text


def _epilog(text: str) -> list[str]:
    """An epilog as markdown: an indented paragraph is a command line, so it goes into a code block."""
    out: list[str] = []
    code: list[str] = []
    for para in re.split(r"\n\s*\n", text.strip("\n")):
        lines = para.splitlines()
        if all(line.startswith("  ") for line in lines):
            code.extend(line.strip() for line in lines)
            continue
        if code:
            out += ["```bash", *code, "```", ""]
            code = []
        heading = para.strip()
        out += [f"**{heading[:-1]}**" if heading.endswith(":") and "\n" not in heading else heading, ""]
    if code:
        out += ["```bash", *code, "```", ""]
    return out


def _usage(cmd: Any, path: str) -> str:
    pieces = [path]
    params = [p for p in cmd.params if not getattr(p, "hidden", False)]
    if any(p.param_type_name == "option" for p in params):
        pieces.append("[OPTIONS]")
    for p in params:
        if p.param_type_name != "argument":
            continue
        name = p.metavar or (p.name or "").upper()
        if p.nargs != 1:
            name += "..."
        pieces.append(name if p.required else f"[{name}]")
    if hasattr(cmd, "list_commands"):
        pieces.append("COMMAND [ARGS]...")
    return " ".join(pieces)


def _subcommands(cmd: Any, ctx: Any) -> list[tuple[str, Any]]:
    if not hasattr(cmd, "list_commands"):
        return []
    found = [(name, cmd.get_command(ctx, name)) for name in cmd.list_commands(ctx)]
    return [(name, sub) for name, sub in found if sub is not None and not sub.hidden]


def _anchor(path: str) -> str:
    """GitHub's anchor for a heading that is `path` in backticks."""
    return re.sub(r"[^a-z0-9 _-]", "", path.lower()).replace(" ", "-")


def _command_section(cmd: Any, ctx: Any, path: str, rich_markup: bool, level: int) -> list[str]:
    import typer

    out = [f"{'#' * level} `{path}`", ""]
    if cmd.deprecated:
        out += ["*Deprecated.*", ""]
    help_text = _plain(cmd.help, rich_markup).strip()
    if help_text:
        out += [help_text, ""]
    out += ["```text", _usage(cmd, path), "```", ""]

    arguments: list[tuple[str, str]] = []
    panels: dict[str, list[tuple[str, str]]] = {}
    for param in cmd.params:
        record = param.get_help_record(ctx)
        if record is None:
            continue
        own_help = param.help or ""
        extras = record[1][len(own_help) :].strip() if record[1].startswith(own_help) else ""
        description = " ".join(part for part in (_plain(own_help, rich_markup).strip(), extras) if part)
        if param.param_type_name == "argument":
            name = (param.metavar or (param.name or "").upper()) + ("..." if param.nargs != 1 else "")
            arguments.append((name, description))
        else:
            panel = getattr(param, "rich_help_panel", None) or "Options"
            panels.setdefault(panel, []).append((record[0], description))
    if arguments:
        out += ["**Arguments**", "", "| argument | description |", "|---|---|"]
        out += [f"| `{_cell(name)}` | {_cell(text)} |" for name, text in arguments]
        out.append("")
    # as `--help` orders them: the default panel first, then the others as they first appear
    for panel in sorted(panels, key=lambda p: p != "Options"):
        rows = panels[panel]
        out += [f"**{panel}**", "", "| option | description |", "|---|---|"]
        out += [f"| `{_cell(name)}` | {_cell(text)} |" for name, text in rows]
        out.append("")

    subs = _subcommands(cmd, ctx)
    if subs:
        out += ["**Commands**", "", "| command | panel | what it does |", "|---|---|---|"]
        for name, sub in subs:
            short = _plain(sub.get_short_help_str(limit=300), rich_markup).strip()
            panel = getattr(sub, "rich_help_panel", None) or ""
            out.append(f"| [`{name}`](#{_anchor(f'{path} {name}')}) | {_cell(panel)} | {_cell(short)} |")
        out.append("")
    if cmd.epilog:
        out += _epilog(_plain(cmd.epilog, rich_markup))
    # the program's own commands are sections of the page, like the global options; deeper levels nest
    sub_level = level if ctx.parent is None else min(level + 1, 4)
    for name, sub in subs:
        sub_ctx = typer.Context(sub, info_name=name, parent=ctx)
        out += _command_section(sub, sub_ctx, f"{path} {name}", rich_markup, sub_level)
    return out


def cli_reference() -> str:
    """docs/cli.md: every command with its usage, arguments, options (help, defaults, ranges, env vars) and
    examples, from the command tree the program itself runs. Nothing depends on the terminal width."""
    import typer

    from smoothtask_trainer.cli import app

    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name=PROG)
    rich_markup = app.rich_markup_mode == "rich"
    head = [
        "# Command-line reference",
        "",
        "<!-- Generated from the program's command tree by `uv run python -m smoothtask_trainer.docsgen`; do not",
        "     edit by hand. tests/test_cli_reference.py fails when this file differs from the program. -->",
        "",
        f"Every command and option of `{PROG}`, as `{PROG} [COMMAND] --help` prints them (every command",
        "also takes `--help`). Global options go before the command. An option whose description names a",
        "settings key can also be set in the config file or the environment; the flag wins",
        "([configuration.md](configuration.md)). Exit codes are listed in the [README](../README.md#exit-codes).",
        "",
    ]
    return "\n".join(head + _command_section(root, ctx, PROG, rich_markup, 2)).rstrip() + "\n"


# --------------------------------------------------------------------------------------------------------------
# Everything together
# --------------------------------------------------------------------------------------------------------------


def whole_files() -> dict[Path, Callable[[], str]]:
    """Files generated in full: path -> generator."""
    files: dict[Path, Callable[[], str]] = {DOCS / "cli.md": cli_reference}
    for shell, name in COMPLETION_FILES.items():
        files[COMPLETIONS / name] = partial(completion_script, shell)
    return files


def sync_snapshot(path: Path, fresh: str, *, update: bool, test: str) -> str | None:
    """Compare the committed `path` with `fresh`; with `update`, rewrite it instead.

    Returns:
        None when the file is (now) current, else what is wrong and the command that fixes it.
    """
    current = path.read_text(encoding="utf-8") if path.is_file() else None
    if current == fresh:
        return None
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fresh, encoding="utf-8")
        return None
    state = "missing" if current is None else "stale"
    return (
        f"{path.relative_to(ROOT)} is {state}: run `{REGENERATE}` "
        f"(or `{UPDATE_ENV}=1 uv run pytest {test}`) and commit the result"
    )


def main() -> int:
    for filename, blocks in GENERATED.items():
        path = DOCS / filename
        text = path.read_text(encoding="utf-8")
        new = render(text, blocks)
        if new != text:
            path.write_text(new, encoding="utf-8")
        print(f"{'updated' if new != text else 'current'} {path.relative_to(ROOT)}")
    for path, make in whole_files().items():
        fresh = make()
        changed = not path.is_file() or path.read_text(encoding="utf-8") != fresh
        if changed:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(fresh, encoding="utf-8")
        print(f"{'updated' if changed else 'current'} {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
