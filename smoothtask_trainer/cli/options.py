"""Option aliases shared by the commands.

Settings-backed options default to ``None``: "not given" lets the environment, the config file or the default
decide (precedence: flag > env > file > default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOpt = Annotated[
    bool,
    typer.Option("--json", help="Print exactly one JSON document on stdout (for CI).", show_default=False),
]
QuietOpt = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="Print only the essential result (a path or a count).", show_default=False),
]
DbOpt = Annotated[
    Path,
    typer.Option("--db", help="The SQLite snapshot store.", dir_okay=False, show_default=False),
]
