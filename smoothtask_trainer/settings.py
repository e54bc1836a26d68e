"""Settings: one pydantic-settings model with a section per concern.

Precedence, highest first: command-line flag > environment variable > TOML config file > default.

- Environment variables use the prefix ``SMOOTHTASK_`` and ``__`` between section and key:
  ``SMOOTHTASK_COLLECT__MAX_ERRORS=10``.
- The TOML file is the one given by ``--config``, else ``$SMOOTHTASK_CONFIG``, else ``./smoothtask-trainer.toml``,
  else ``$XDG_CONFIG_HOME/smoothtask-trainer/config.toml``. A missing default file is fine; a missing explicit file
  is an error.
- Flags reach the model as init keyword arguments holding only the options the user actually gave.

Unknown keys are rejected wherever they come from, and the error names the dotted key and its source.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from smoothtask_trainer.config_file import read_toml, resolve_config_path
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.flag import Flag
from smoothtask_trainer.settings_sections import (
    RANKING_METRICS,
    CollectSettings,
    DatasetSettings,
    ExportSettings,
    FeaturesSettings,
    PolicySettings,
    Section,
    TrainSettings,
    ValidationSettings,
)

ENV_PREFIX = "SMOOTHTASK_"
#: Environment variables with our prefix that are not settings.
BOOTSTRAP_ENV = frozenset({"SMOOTHTASK_CONFIG", "SMOOTHTASK_DEBUG", "SMOOTHTASK_UPDATE_SNAPSHOTS"})
#: The sections are defined in settings_sections.py; they are importable from here too.
__all__ = [
    "BOOTSTRAP_ENV",
    "ENV_PREFIX",
    "RANKING_METRICS",
    "SECTIONS",
    "CollectSettings",
    "DatasetSettings",
    "ExportSettings",
    "FeaturesSettings",
    "PolicySettings",
    "Section",
    "TrainSettings",
    "TrainerSettings",
    "ValidationSettings",
    "load_settings",
]


SECTIONS: dict[str, type[Section]] = {
    "collect": CollectSettings,
    "dataset": DatasetSettings,
    "validation": ValidationSettings,
    "train": TrainSettings,
    "export": ExportSettings,
    "policy": PolicySettings,
    "features": FeaturesSettings,
}


class TrainerSettings(BaseSettings):
    """All settings of smoothtask-trainer, one section per concern."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    collect: CollectSettings = Field(default_factory=CollectSettings)
    dataset: DatasetSettings = Field(default_factory=DatasetSettings)
    validation: ValidationSettings = Field(default_factory=ValidationSettings)
    train: TrainSettings = Field(default_factory=TrainSettings)
    export: ExportSettings = Field(default_factory=ExportSettings)
    policy: PolicySettings = Field(default_factory=PolicySettings)
    features: FeaturesSettings = Field(default_factory=FeaturesSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_file = _ACTIVE_TOML.get("path")
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


# The TOML path for the load in progress. pydantic-settings builds sources in a classmethod, so the path is
# handed over here for the duration of one `load_settings` call.
_ACTIVE_TOML: dict[str, Path | None] = {}


def _check_env_names(environ: Mapping[str, str]) -> None:
    """Reject SMOOTHTASK_* variables that name no section or key (pydantic-settings would ignore them)."""
    for name in environ:
        if not name.upper().startswith(ENV_PREFIX) or name.upper() in BOOTSTRAP_ENV:
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        section = SECTIONS.get(parts[0])
        if section is None or len(parts) != 2 or parts[1] not in section.model_fields:
            dotted = ".".join(parts)
            known = ", ".join(f"{s}.{k}" for s, m in SECTIONS.items() for k in m.model_fields) or "none"
            raise ConfigError(
                f"unknown setting {dotted!r} from environment variable {name}",
                hint=f"unset {name}; known settings: {known}",
            )


def _lookup(data: Mapping[str, Any], loc: tuple[Any, ...]) -> bool:
    node: Any = data
    for part in loc:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _flag_of(loc: tuple[Any, ...]) -> str | None:
    """``option --depth`` for ("train", "depth"), when that setting has a flag."""
    section = SECTIONS.get(str(loc[0])) if loc else None
    info = section.model_fields.get(str(loc[1])) if section is not None and len(loc) > 1 else None
    flag = next((m for m in info.metadata if isinstance(m, Flag)), None) if info is not None else None
    return f"option {flag.flag_for(str(loc[1]))}" if flag is not None else None


def _source_of(
    loc: tuple[Any, ...], overrides: Mapping[str, Any], toml_path: Path | None, toml_data: Mapping[str, Any]
) -> str:
    if _lookup(overrides, loc):
        return _flag_of(loc) or "a command-line option"
    env_name = ENV_PREFIX + "__".join(str(p).upper() for p in loc)
    if env_name in {k.upper() for k in os.environ}:
        return f"environment variable {env_name}"
    if toml_path is not None and _lookup(toml_data, loc):
        return f"config file {toml_path}"
    return "the defaults"


def load_settings(config: Path | None = None, overrides: Mapping[str, Any] | None = None) -> TrainerSettings:
    """Load settings with precedence flag > env > TOML file > default.

    Args:
        config: An explicit TOML file (``--config``); ``None`` looks in the default places.
        overrides: Nested dict of the options the user gave on the command line, e.g.
            ``{"collect": {"max_errors": 0}}``. ``None`` values are dropped ("not given").

    Returns:
        The validated settings.

    Raises:
        ConfigError: A missing or malformed config file, an unknown key, or an invalid value; the message names
            the dotted key and where it came from.
    """
    clean = _drop_none(dict(overrides or {}))
    toml_path = resolve_config_path(config)
    toml_data = read_toml(toml_path) if toml_path is not None else {}
    _check_env_names(os.environ)
    _ACTIVE_TOML["path"] = toml_path
    try:
        return TrainerSettings(**clean)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            dotted = ".".join(str(p) for p in loc)
            source = _source_of(loc, clean, toml_path, toml_data)
            if err["type"] == "extra_forbidden":
                lines.append(f"unknown setting {dotted!r} (from {source})")
            else:
                lines.append(f"invalid value for {dotted!r} (from {source}): {err['msg']}")
        first = ".".join(str(p) for p in exc.errors()[0]["loc"]) if exc.errors() else None
        raise ConfigError(
            "; ".join(lines), hint="see docs/configuration.md for every key, its type and default", setting=first
        ) from exc
    finally:
        _ACTIVE_TOML.pop("path", None)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            nested = _drop_none(value)
            if nested:
                out[key] = nested
        elif value is not None:
            out[key] = value
    return out
