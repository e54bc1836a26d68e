"""Writing tuned thresholds: a copy of the user's daemon config with only the tuned keys changed (comments and key
order kept), or a complete `thresholds:` block; checked with the daemon's rules first, written atomically."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smoothtask_trainer import __version__
from smoothtask_trainer.contract.thresholds import DEFAULTS, validate_thresholds
from smoothtask_trainer.errors import ConfigError, opt
from smoothtask_trainer.files import atomic_write_text, ensure_parent, refuse_same_files


def render(config_in: Path | None, values: Mapping[str, Any], header: list[str]) -> str:
    """The YAML text to write: the input config round-tripped with `values` set under `thresholds:`, or a
    complete block of every key."""
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip: comments, key order and quoting are kept
    yaml.preserve_quotes = True
    if config_in is not None:
        data = yaml.load(config_in.read_text(encoding="utf-8")) or {}
        block = data.setdefault("thresholds", {})
        for key, value in values.items():
            if key in block and block[key] == value:
                continue
            block[key] = value
    else:
        data = {"thresholds": {key: values.get(key, default) for key, default in DEFAULTS.items()}}
    buffer = io.StringIO()
    yaml.dump(data, buffer)
    return "".join(f"# {line}\n" for line in header) + buffer.getvalue()


def check_output(out: Path, db: str | Path, config_in: Path | None) -> None:
    """Before any work: the output may be neither the store nor the input config; its directory is created."""
    inputs: list[tuple[str, str | Path | None]] = [("store", db), ("input daemon config", config_in)]
    refuse_same_files(inputs, [("tuned config", out)])
    ensure_parent(out)


def write(out: Path, config_in: Path | None, values: Mapping[str, Any], header: list[str]) -> None:
    """Check the thresholds with every rule of the daemon, then write `out` atomically (never over the input)."""
    refuse_same_files([("input daemon config", config_in)], [("tuned config", out)])
    from ruamel.yaml import YAML

    text = render(config_in, values, header)
    thresholds = (YAML(typ="safe").load(text) or {}).get("thresholds") or {}
    problems = validate_thresholds(thresholds)
    if problems:
        raise ConfigError(
            f"the tuned thresholds would not pass the daemon's validation: {'; '.join(problems)}",
            hint=f"fix the input config ({opt('daemon_config')}) so that it passes first",
        )
    ensure_parent(out)
    atomic_write_text(out, text)


def header(db: str, fingerprint: str, model_sha: str | None) -> list[str]:
    return [
        f"thresholds tuned by smoothtask-trainer {__version__} on {datetime.now(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}",
        f"store: {db} (fingerprint {fingerprint})",
        f"model sha256: {model_sha or 'none (rules-only or the stub ranker)'}",
    ]
