"""`Flag`: the mark that makes a field of a settings or options model a command-line option as well."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flag:
    """Marks a field that is also a command-line option (`Annotated[int, Flag()]`).

    The option's name, help text, default, bounds and choices all come from the field; a field without a Flag is
    set by the config file and the environment only. Values given as flags are validated by the same model as the
    environment and the file, so all three accept exactly the same values.
    """

    name: str | None = None  #: the flag; default ``--`` + the field name with dashes
    short: str | None = None  #: a one-letter alias such as ``-o``
    negatable: bool = True  #: booleans: ``--x/--no-x``; False gives ``--x`` alone (it can only turn the setting on)
    unset: str | None = None  #: how a default of None reads in the help ("no limit")
    #: A switch that sets the field to one value, with its help: ("--strict", 0, "Fail ... (= --max-errors 0).")
    shorthand: tuple[str, Any, str] | None = None

    def flag_for(self, field: str) -> str:
        return self.name or "--" + field.replace("_", "-")
