"""What a settings field says about itself: key, type, default, bounds, choices, environment variable and flag.

The command-line options, their help texts, docs/configuration.md and the tests that hold the flag, the
environment and the config file to the same rules all read fields through `describe`, so a setting is declared
once, in its pydantic model, and appears everywhere from there. No typer or rich here.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types as at
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from smoothtask_trainer.flag import Flag
from smoothtask_trainer.settings import ENV_PREFIX, SECTIONS


@dataclass(frozen=True)
class FieldDoc:
    """One field of a settings section (or of another options model, `section` None)."""

    section: str | None
    name: str
    kind: str  #: "int", "float", "bool", "str", "datetime", "path", "choice" or "list" (of text)
    optional: bool  #: None is a valid value (the default of "unset" settings)
    default: Any
    choices: tuple[str, ...]
    bounds: tuple[tuple[str, float], ...]  #: ((">=", 0), ("<", 1)), as declared
    description: str
    flag: Flag | None

    @property
    def key(self) -> str:
        return f"{self.section}.{self.name}" if self.section else self.name

    @property
    def env(self) -> str | None:
        return f"{ENV_PREFIX}{self.section.upper()}__{self.name.upper()}" if self.section else None

    @property
    def flag_name(self) -> str | None:
        return self.flag.flag_for(self.name) if self.flag else None

    @property
    def required(self) -> bool:
        return self.default is PydanticUndefined

    def default_text(self) -> str:
        """The default as a reader should see it ("500", "on", "no limit")."""
        if self.required:
            return "required"
        if self.default is None:
            return (self.flag.unset if self.flag and self.flag.unset else None) or "unset"
        if self.kind == "bool":
            return "on" if self.default else "off"
        if isinstance(self.default, float) and self.default.is_integer() and abs(self.default) < 1e15:
            return str(int(self.default))
        return str(self.default)

    def bounds_text(self, var: str = "x") -> str:
        """The bounds as one inequality chain, e.g. ``1 <= x <= 16`` or ``x >= 0`` ("" without bounds)."""
        low = next(((op, v) for op, v in self.bounds if op in (">=", ">")), None)
        high = next(((op, v) for op, v in self.bounds if op in ("<=", "<")), None)
        if low and high:
            return f"{_num(low[1])} {'<=' if low[0] == '>=' else '<'} {var} {high[0]} {_num(high[1])}"
        if low:
            return f"{var} {low[0]} {_num(low[1])}"
        if high:
            return f"{var} {high[0]} {_num(high[1])}"
        return ""

    def type_text(self) -> str:
        if self.kind == "choice":
            text = " | ".join(self.choices)
        else:
            text = {"datetime": "date-time (ISO 8601)"}.get(self.kind, self.kind)
        return text + (" or unset" if self.optional else "")


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:_}".replace("_", ",") if isinstance(value, int) and abs(value) >= 10_000 else str(value)


_KINDS: dict[Any, str] = {int: "int", float: "float", bool: "bool", str: "str", datetime: "datetime", Path: "path"}
_OPS = ((at.Ge, ">=", "ge"), (at.Gt, ">", "gt"), (at.Le, "<=", "le"), (at.Lt, "<", "lt"))


def _kind(annotation: Any) -> tuple[str, bool, tuple[str, ...]]:
    """(kind, optional, choices) of a field's annotation."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        kind, _, choices = _kind(args[0])
        return kind, len(args) < len(get_args(annotation)), choices
    if origin is list:
        return "list", False, ()
    if origin is Literal:
        return "choice", False, tuple(str(a) for a in get_args(annotation))
    if annotation in _KINDS:
        return _KINDS[annotation], False, ()
    raise TypeError(f"settings field of unsupported type {annotation!r}")


def _bounds(info: FieldInfo) -> tuple[tuple[str, float], ...]:
    out = []
    for item in info.metadata:
        for cls, op, attr in _OPS:
            if isinstance(item, cls):
                out.append((op, getattr(item, attr)))
    return tuple(out)


def describe_field(section: str | None, name: str, info: FieldInfo) -> FieldDoc:
    kind, optional, choices = _kind(info.annotation)
    flag = next((m for m in info.metadata if isinstance(m, Flag)), None)
    return FieldDoc(
        section=section,
        name=name,
        kind=kind,
        optional=optional,
        default=info.default,
        choices=choices,
        bounds=_bounds(info),
        description=(info.description or "").strip(),
        flag=flag,
    )


def describe(model: type[BaseModel], section: str | None = None) -> list[FieldDoc]:
    """Every field of `model`, in declaration order."""
    return [describe_field(section, name, info) for name, info in model.model_fields.items()]


def all_settings() -> list[FieldDoc]:
    """Every setting of every section, in the order of the sections."""
    return [doc for name, model in SECTIONS.items() for doc in describe(model, name)]


def flag_names() -> dict[str, str]:
    """Settings key -> its command-line flag, for every setting that has one."""
    return {doc.key: doc.flag_name for doc in all_settings() if doc.flag_name}
