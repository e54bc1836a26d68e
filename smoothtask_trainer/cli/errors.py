"""The CLI's one error boundary: exceptions → message on stderr + exit code.

The exit codes are `errors.EXIT_*` (the exception classes carry them); they are importable from here too, as
the command modules use them. Services name options as ``{opt:NAME}`` (`errors.opt`); the boundary shows each
as its flag (`flag_name`).
"""

from __future__ import annotations

import functools
import os
import sqlite3
import traceback
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import typer

from smoothtask_trainer.errors import (
    EXIT_FAILURE,
    EXIT_GATE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    SmoothtaskError,
)
from smoothtask_trainer.sqlite_errors import translate

__all__ = [
    "EXIT_FAILURE",
    "EXIT_GATE",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "FLAG_NAMES",
    "boundary",
    "flag_name",
    "register_flags",
]

F = TypeVar("F", bound=Callable[..., Any])

#: Option name (a settings key or a service parameter) -> how the command line spells it, for the names that
#: the default rule (``--`` + the last part with dashes) would get wrong. The options derived from the settings
#: model add theirs with `register_flags`.
FLAG_NAMES: dict[str, str] = {
    "validation.min_time_span_s": "--min-time-span",
    "dataset.sample_seed": "--sample-seed",
    "collect.max_errors": "--max-errors",
    "model_json": "--model-json",
    "model_onnx": "--model-onnx",
    "model_cbm": "--model-cbm",
    "features_out": "--features-out",
    "outputs": "--model-json/--model-onnx/--model-cbm",
    "output": "--output",
    "snapshots": "--snapshots",
    "sources": "SOURCES",
}


def register_flags(mapping: Mapping[str, str]) -> None:
    """Name options on the command line: ``{"validation.min_time_span_s": "--min-time-span", ...}``."""
    FLAG_NAMES.update(mapping)


@functools.cache
def _settings_flags() -> dict[str, str]:
    """The flag each setting declares (its `Flag`), for a setting no one registered."""
    from smoothtask_trainer.settings_fields import flag_names

    return flag_names()


def flag_name(name: str) -> str:
    """How the command line names option `name` (a settings key or a service parameter) in a message.

    A registered name first, then the flag the setting declares, else ``--`` + the last part with dashes
    (``train.eval_fraction`` -> ``--eval-fraction``).
    """
    if name in FLAG_NAMES:
        return FLAG_NAMES[name]
    return _settings_flags().get(name) or "--" + name.rsplit(".", 1)[-1].replace("_", "-")


def debug_enabled() -> bool:
    return os.environ.get("SMOOTHTASK_DEBUG", "").lower() not in ("", "0", "false", "no")


def boundary(fn: F) -> F:
    """Run a command body, turning every exception into a clear message and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from smoothtask_trainer.cli.state import state_of

        ctx = kwargs.get("ctx")
        out = state_of(ctx).out if ctx is not None else None
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except SmoothtaskError as exc:
            _report(out, *exc.render(flag_name), type(exc).__name__, exc)
            raise typer.Exit(exc.exit_code) from None
        except sqlite3.Error as exc:  # a store failure a service did not name a file for: still say what it is
            err = translate(exc, "the SQLite file", "using")
            _report(out, *err.render(flag_name), "StoreError", exc)
            raise typer.Exit(err.exit_code) from None
        except KeyboardInterrupt as exc:
            _report(out, "interrupted", None, "Interrupted", exc)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:  # noqa: BLE001 - the boundary: anything else is a bug, reported in one line
            hint = None if debug_enabled() else "set SMOOTHTASK_DEBUG=1 to see the traceback"
            _report(out, f"unexpected error: {type(exc).__name__}: {exc}", hint, "UnexpectedError", exc)
            raise typer.Exit(EXIT_FAILURE) from None

    return wrapper  # type: ignore[return-value]


def _report(out: Any, message: str, hint: str | None, kind: str, exc: BaseException) -> None:
    if out is None:
        from smoothtask_trainer.cli.output import Output

        out = Output()
    if debug_enabled():
        out.stderr.print(traceback.format_exc(), markup=False, highlight=False)
    out.error(message, hint)
    result = getattr(exc, "result", None) or getattr(exc, "report", None)
    if out.json:
        if result is not None and hasattr(result, "model_dump"):
            out.emit_json(result.model_dump(mode="json"))
        else:
            out.emit_json({"ok": False, "error": {"type": kind, "message": message, "hint": hint}})
