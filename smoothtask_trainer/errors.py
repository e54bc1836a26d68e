"""Domain exceptions of the service layer.

The CLI maps each to an exit code (see `smoothtask_trainer.cli.errors`); the Python API lets them propagate.
Where the seed's API promised a builtin type (`FileNotFoundError`, `ValueError`, `PermissionError`), the
exception also derives from it, so `except ValueError` in a user's script keeps working.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

#: The exit codes, one home for the CLI and the classes below (README "Exit codes").
EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_GATE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: An option named in a message or hint, written ``{opt:NAME}`` (see `opt`).
OPTION_REF = re.compile(r"\{opt:([a-z0-9_.]+)\}")


def opt(name: str) -> str:
    """Name an option in an error message, independently of the interface that shows it.

    `name` is a settings key (``"collect.max_errors"``) or a parameter of the service (``"model_json"``). The
    Python API shows the parameter (``max_errors``), the command line the flag (``--max-errors``): services never
    spell a flag themselves.
    """
    return "{opt:" + name + "}"


def parameter_name(name: str) -> str:
    """How the Python API names option `name`: the last part of a settings key, a parameter as it is."""
    return name.rsplit(".", 1)[-1]


def render_options(text: str | None, name_of: Callable[[str], str] = parameter_name) -> str | None:
    """`text` with every ``{opt:NAME}`` replaced by ``name_of(NAME)``."""
    if text is None:
        return None
    return OPTION_REF.sub(lambda m: name_of(m.group(1)), text)


def report_text(text: str) -> str:
    """`text` for a report that every interface shows (a file's note, a warning): each option named by its
    settings key as written in the TOML file (``collect.max_errors``), never as a flag or a Python parameter."""
    return OPTION_REF.sub(lambda m: m.group(1), text)


class SmoothtaskError(Exception):
    """Base of every expected failure. `hint` says what to do about it.

    `raw_message` and `raw_hint` keep the ``{opt:NAME}`` references (compose new messages from them); `message`
    and `hint` show them as the Python API's parameter names, `render` as anything else (the CLI's flags).
    `setting` is the settings key the failure is about, when it is about one.
    """

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None, setting: str | None = None) -> None:
        self.raw_message = message
        self.raw_hint = hint
        self.setting = setting
        super().__init__(render_options(message))

    @property
    def message(self) -> str:
        return render_options(self.raw_message) or ""

    @property
    def hint(self) -> str | None:
        return render_options(self.raw_hint)

    def render(self, name_of: Callable[[str], str]) -> tuple[str, str | None]:
        """(message, hint) with options named by `name_of`."""
        return render_options(self.raw_message, name_of) or "", render_options(self.raw_hint, name_of)

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class ConfigError(SmoothtaskError, ValueError):
    """A bad option, settings value, TOML file or environment variable (exit 2)."""

    exit_code = EXIT_USAGE


class InputNotFoundError(SmoothtaskError, FileNotFoundError):
    """An input file or store does not exist."""

    exit_code = EXIT_USAGE


class OutputPathError(SmoothtaskError, PermissionError):
    """An output path cannot be written (a directory, no permission, the same as an input)."""

    exit_code = EXIT_USAGE


class InputFormatError(SmoothtaskError, ValueError):
    """An input that is not what it claims to be, located by file and line where possible."""

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = str(path) if path is not None else None
        self.line = line


class StoreError(SmoothtaskError, ValueError):
    """The SQLite store is not one this tool can use (unexpected schema, not a database, locked)."""


class IngestFailed(SmoothtaskError):
    """A source file failed as a whole during `collect`; its rows were rolled back."""

    def __init__(self, message: str, *, result: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.result = result


class ExportError(SmoothtaskError, ValueError):
    """A model that cannot be exported or fails its checks (unreadable, wrong features, parity); exit 1."""


class ValidationFailed(SmoothtaskError, ValueError):
    """A data-quality gate failed (exit 3). `report` holds the full report."""

    exit_code = EXIT_GATE

    def __init__(self, message: str, *, report: object = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.report = report


class TrainingError(SmoothtaskError, ValueError):
    """CatBoost could not train or save a model."""


class Interrupted(SmoothtaskError):
    """The user pressed Ctrl-C; what was committed before stays consistent (exit 130)."""

    exit_code = EXIT_INTERRUPTED


class ClusterError(SmoothtaskError):
    """The Dask cluster cannot be reached or started (`features`); exit 1."""
