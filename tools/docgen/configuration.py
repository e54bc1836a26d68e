"""docs/configuration.md: a table per settings section, from the settings model (`settings_fields`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from smoothtask_trainer.settings import SECTIONS
from smoothtask_trainer.settings_fields import FieldDoc, describe
from tools.docgen.common import cell


def _flag(doc: FieldDoc) -> str:
    if doc.flag is None:
        return "—"
    name = doc.flag_name or ""
    flags = [f"`{name}/--no-{name[2:]}`" if doc.kind == "bool" and doc.flag.negatable else f"`{name}`"]
    if doc.flag.shorthand:
        flags.append(f"`{doc.flag.shorthand[0]}` (= {doc.flag.shorthand[1]})")
    return ", ".join(flags)


def _default(doc: FieldDoc) -> str:
    """The default as the TOML file or the environment would write it."""
    if doc.default is None:
        unset = doc.flag.unset if doc.flag and doc.flag.unset else None
        return "unset" + (f" ({unset})" if unset else "")
    if doc.kind == "bool":
        return "`true`" if doc.default else "`false`"
    return f"`{cell(doc.default_text())}`"


def section_table(section: str) -> str:
    """Every key of `section`: type, default, bounds, environment variable, flag and meaning."""
    rows = [
        "| key | type | default | bounds | env var | flag | meaning |",
        "|---|---|---|---|---|---|---|",
    ]
    for doc in describe(SECTIONS[section], section):
        bounds = doc.bounds_text("x")
        rows.append(
            f"| `{doc.key}` | {cell(doc.type_text())} | {_default(doc)} | "
            f"{'`' + bounds + '`' if bounds else '—'} | `{doc.env}` | {_flag(doc)} | {cell(doc.description)} |"
        )
    return "\n".join(rows)


def sections_with_settings() -> list[str]:
    return [name for name, model in SECTIONS.items() if model.model_fields]


def blocks() -> dict[str, Callable[[], str]]:
    """Marker block name -> generator, one per section that has settings."""
    return {f"settings-{name}": partial(section_table, name) for name in sections_with_settings()}
