"""Commands whose options are derived from pydantic models: the settings sections, `SimulateOptions`, ...

`command(...)` adds one option per field marked with `Flag` to a command. Flag, help text (description,
default, bounds, settings key), choices and panel all come from the field, so nothing is restated here. The
values reach the command as ``overrides``, keyed by the model's own names, and are validated by the model itself
(not by Click), so a flag accepts exactly what the environment variable and the config file accept; a rejected
value is a usage error (exit 2) naming the flag.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeVar

import typer
from pydantic import BaseModel

from smoothtask_trainer.cli.errors import boundary
from smoothtask_trainer.cli.options import JsonOpt, QuietOpt
from smoothtask_trainer.cli.state import state_of
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.settings import SECTIONS
from smoothtask_trainer.settings_fields import FieldDoc, describe, flag_names

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M", bound=BaseModel)

_KW = inspect.Parameter.KEYWORD_ONLY
_CTX = inspect.Parameter("ctx", _KW, annotation=typer.Context)
_JSON = inspect.Parameter("json_out", _KW, default=False, annotation=JsonOpt)
_QUIET = inspect.Parameter("quiet", _KW, default=False, annotation=QuietOpt)
_METAVAR = {"int": "INTEGER", "float": "NUMBER", "datetime": "DATETIME", "str": "TEXT", "path": "PATH"}


def help_text(doc: FieldDoc) -> str:
    """The option's help: the field's description, then its default, bounds and settings key."""
    text = doc.description[:1].upper() + doc.description[1:].rstrip(".")
    facts = [] if doc.required else [f"default: {doc.default_text()}"]
    if doc.bounds:
        facts.append(doc.bounds_text("N").replace("<=", "≤").replace(">=", "≥"))
    if doc.section:
        facts.append(f"settings key {doc.key}")
    return f"{text}." + (f" ({'; '.join(facts)})" if facts else "")


def _parameter(param: str, doc: FieldDoc, panel: str | None) -> inspect.Parameter:
    flag = doc.flag
    assert flag is not None
    decls = [flag.flag_for(doc.name), *([flag.short] if flag.short else [])]
    kw: dict[str, Any] = {"help": help_text(doc), "show_default": False, "rich_help_panel": panel}
    default: Any = None
    if doc.kind == "bool" and flag.negatable:
        decls[0] = f"{decls[0]}/--no-{decls[0][2:]}"
        kind: Any = bool | None
    elif doc.kind == "bool":  # a switch that only turns the setting on: not given, env/file/default decide
        kind, default = bool, False
    elif doc.kind == "choice":
        kind = Literal[doc.choices] | None  # type: ignore[valid-type]
    elif doc.kind == "list":
        kind = list[str] | None
    else:  # the model parses the text, as it parses an environment variable
        kind, kw["metavar"] = str | None, _METAVAR[doc.kind]
    if doc.required:
        kind, default = str, ...
    annotation = Annotated[kind, typer.Option(*decls, **kw)]
    return inspect.Parameter(param, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _fields(models: Iterable[tuple[str | None, type[BaseModel]]]) -> list[tuple[str, FieldDoc, str | None]]:
    out = []
    for section, model in models:
        panel = getattr(model, "panel", None)
        for doc in describe(model, section):
            if doc.flag is not None:
                out.append((f"_{section}__{doc.name}" if section else doc.name, doc, panel))
    return out


def _shorthand(param: str, doc: FieldDoc, panel: str | None) -> inspect.Parameter:
    name, _, help_ = doc.flag.shorthand  # type: ignore[union-attr, misc]
    option = typer.Option(name, help=help_, show_default=False, rich_help_panel=panel)
    return inspect.Parameter(param + "_short", _KW, default=False, annotation=Annotated[bool, option])


def _apply_shorthand(doc: FieldDoc, given: Any, on: bool) -> Any:
    """The field's value once its shorthand switch (`on`) is applied; the switch and another value conflict."""
    if not on:
        return given
    name, value, _ = doc.flag.shorthand  # type: ignore[union-attr, misc]
    try:
        same = given is None or float(given) == float(value)
    except ValueError:
        same = False
    if not same:
        raise typer.BadParameter(f"{name} means {doc.flag_name} {value}; give one or the other", param_hint=name)
    return value


def command_help(doc: str | None) -> str | None:
    """A docstring as `--help` shows it: each paragraph one line (rich wraps it to the terminal), so the source's
    line breaks do not cut sentences in the middle."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines()) for p in paragraphs)


def command(*sections: str, models: Sequence[type[BaseModel]] = ()) -> Callable[[F], F]:
    """Make `fn` a command: the flags of these settings sections and of `models`' fields, --json and --quiet,
    and the error boundary (`cli.errors.boundary`).

    `fn` takes ``state`` (the invocation's `AppState`, its output mode already set by --json/--quiet),
    ``overrides`` (``{section: {key: value}}``, the settings given as flags; None: not given) and, for each of
    `models`, a parameter annotated with it (the model built from its flags), besides its own options, which
    keep their places before the derived ones.
    """
    # "policy" shows a section's flags; "policy.ncpu" only that key's
    wanted = {s.partition(".")[0]: set() for s in sections}
    for s in sections:
        if "." in s:
            wanted[s.partition(".")[0]].add(s.partition(".")[2])
    fields = _fields([*((s, SECTIONS[s]) for s in wanted), *((None, m) for m in models)])
    fields = [
        f for f in fields if f[1].section is None or not wanted[f[1].section] or f[1].name in wanted[f[1].section]
    ]

    def decorate(fn: F) -> F:
        signature = inspect.signature(fn, eval_str=True).parameters.values()
        built = {p.name: p.annotation for p in signature if p.annotation in models}
        names = {p.name for p in signature}
        own = [p.replace(kind=_KW) for p in signature if p.name not in ("state", "overrides", *built)]
        derived = [_parameter(param, doc, panel) for param, doc, panel in fields]
        derived += [_shorthand(p, doc, panel) for p, doc, panel in fields if doc.flag and doc.flag.shorthand]

        @functools.wraps(fn)
        def run(ctx: typer.Context, json_out: bool, quiet: bool, **kwargs: Any) -> Any:
            state = state_of(ctx)
            state.output(json_out, quiet)
            overrides: dict[str, Any] = {}
            for param, doc, _ in fields:
                value = kwargs.pop(param)
                if doc.flag is not None and doc.flag.shorthand:
                    value = _apply_shorthand(doc, value, kwargs.pop(param + "_short"))
                if doc.kind == "bool" and doc.flag is not None and not doc.flag.negatable and value is False:
                    value = None
                target = overrides if doc.section is None else overrides.setdefault(doc.section, {})
                target[doc.name] = value
            kwargs.update({name: build_model(model, overrides) for name, model in built.items()})
            given = {"state": state, "overrides": overrides}
            return fn(**kwargs, **{k: v for k, v in given.items() if k in names})

        params = [_CTX, *own, *derived, _JSON, _QUIET]
        run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in params}  # evaluated: no names to resolve
        del run.__wrapped__  # Typer must see the new signature, not the function's own
        run.__doc__ = command_help(fn.__doc__)
        return boundary(run)  # type: ignore[return-value]

    return decorate


def build_model(model: type[M], overrides: dict[str, Any]) -> M:
    """`model` from its flags, taken out of `overrides` (None: not given, the model's default); a bad value is a
    usage error naming its flag."""
    from pydantic import ValidationError

    given = {name: overrides.pop(name) for name in model.model_fields if name in overrides}
    try:
        return model(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        err = exc.errors()[0]
        doc = next((d for d in describe(model) if err["loc"] and d.name == err["loc"][0]), None)
        hint = f"'{doc.flag_name}'" if doc is not None and doc.flag_name else None
        raise typer.BadParameter(err["msg"], param_hint=hint) from None


def usage_error(exc: ConfigError, given: Mapping[str, Any]) -> typer.BadParameter | None:
    """A settings error caused by a value given as a flag, as Click's usage error naming that flag (exit 2)."""
    from pydantic import ValidationError

    cause = exc.__cause__
    if not isinstance(cause, ValidationError):
        return None
    flags = flag_names()
    for err in cause.errors():
        key = ".".join(str(p) for p in err["loc"])
        section, _, name = key.partition(".")
        if key in flags and (given.get(section) or {}).get(name) is not None:
            return typer.BadParameter(err["msg"], param_hint=f"'{flags[key]}'")
    return None
