"""Finding and reading the TOML settings file (`--config`, `$SMOOTHTASK_CONFIG`, or the default places)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from smoothtask_trainer.errors import ConfigError, opt

DEFAULT_CONFIG_NAME = "smoothtask-trainer.toml"


def default_config_paths(cwd: Path | None = None) -> list[Path]:
    """The places a config file is looked for when none is named, in order."""
    cwd = cwd or Path.cwd()
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [cwd / DEFAULT_CONFIG_NAME, Path(xdg) / "smoothtask-trainer" / "config.toml"]


def resolve_config_path(explicit: Path | None) -> Path | None:
    """The TOML file to read: the explicit one (which must exist), else the first default that exists."""
    if explicit is None and os.environ.get("SMOOTHTASK_CONFIG"):
        explicit = Path(os.environ["SMOOTHTASK_CONFIG"])
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(
                f"config file {explicit} does not exist or is not a file",
                hint=f"pass an existing TOML file to {opt('config')} (or unset SMOOTHTASK_CONFIG)",
            )
        return explicit
    return next((p for p in default_config_paths() if p.is_file()), None)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        return tomllib.loads(text)
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"config file {path}:{line}: not valid UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start})",
            hint="TOML files are UTF-8: re-save the file as UTF-8",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}", hint="fix the file's syntax") from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc.strerror}") from exc
