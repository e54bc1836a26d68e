"""docs/cli.md: the command-line reference, walked from the command tree Typer builds (typer.main.get_command)."""

from __future__ import annotations

import re
from typing import Any

from tools.docgen.common import PROG, REGENERATE
from tools.docgen.common import cell as _cell


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
        f"<!-- Generated from the program's command tree by `{REGENERATE}`; do not",
        "     edit by hand. tests/test_cli_reference.py fails when this file differs from the program. -->",
        "",
        f"Every command and option of `{PROG}`, as `{PROG} [COMMAND] --help` prints them (every command",
        "also takes `--help`). Global options go before the command. An option whose description names a",
        "settings key can also be set in the config file or the environment; the flag wins",
        "([configuration.md](configuration.md)). Exit codes are listed in the [README](../README.md#exit-codes).",
        "",
    ]
    return "\n".join(head + _command_section(root, ctx, PROG, rich_markup, 2)).rstrip() + "\n"
