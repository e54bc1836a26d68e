"""Option aliases shared by the commands: the ones that are not settings (paths, output mode, switches).

Options backed by a setting are not written here: `cli.command.command` makes them from the settings model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


def examples(*commands: str) -> str:
    """A command's help epilog: its example command lines."""
    return "Examples:\n\n" + "\n\n".join(f"  {c}" for c in commands) + "\n"


def option(*decls: str, help: str, panel: str | None = None, **kw: Any) -> Any:  # noqa: A002 - Typer's name
    """A Typer option whose default is not repeated in its help (the help says it when it matters)."""
    return typer.Option(*decls, help=help, show_default=False, rich_help_panel=panel, **kw)


JsonOpt = Annotated[bool, option("--json", help="Print exactly one JSON document on stdout (for CI).")]
QuietOpt = Annotated[bool, option("--quiet", "-q", help="Print only the essential result (a path or a count).")]
DbOpt = Annotated[Path, option("--db", help="The SQLite snapshot store.", dir_okay=False)]
DbInOpt = Annotated[Path | None, option("--db", help="The SQLite snapshot store (or --features).", dir_okay=False)]
FeaturesOpt = Annotated[
    Path | None,
    option(
        "--features",
        help="A Parquet feature dataset built by the features command, instead of --db (docs/scale.md).",
        file_okay=False,
    ),
]


HostOpt = Annotated[
    str | None,
    option("--host", help="With --features: the host to replay (needed when the dataset holds several)."),
]


def one_input(db: Path | None, features: Path | None) -> None:
    """Exactly one of --db and --features."""
    if (db is None) == (features is None):
        given = "both" if db is not None else "neither"
        raise typer.BadParameter(
            f"give the store with --db or a feature dataset with --features ({given} given)", param_hint="'--db'"
        )


ReportOpt = Annotated[
    Path | None,
    option(
        "--report",
        help="Also write the HTML report of this command's part (self-contained; docs/report.md).",
        dir_okay=False,
    ),
]


def host_needs_features(host: str | None, features: Path | None) -> None:
    """--host picks a host of a feature dataset: not with --db."""
    if host is not None and features is None:
        raise typer.BadParameter("--host picks a host of a feature dataset: give --features", param_hint="'--host'")


def report_needs_store(report: Path | None, features: Path | None) -> None:
    """--report draws from a store: not with --features."""
    if report is not None and features is not None:
        raise typer.BadParameter("the report reads a store: give --db to write it", param_hint="'--report'")
