"""Reading the SmoothTask daemon's YAML config: the policy mode, the model switch and the `thresholds:` block."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoothtask_trainer.contract.thresholds import DEFAULTS, type_problem, validate_thresholds
from smoothtask_trainer.errors import ConfigError, InputNotFoundError, opt


@dataclass
class DaemonPolicy:
    """What the policy reads from the daemon's config (its defaults where a key is absent)."""

    policy_mode: str = "rules-only"
    model_enabled: bool = False
    model_path: str | None = None
    thresholds: dict[str, Any] = field(default_factory=dict)
    #: What the daemon's `Thresholds::validate` would reject (it would not load this file).
    problems: list[str] = field(default_factory=list)
    #: `thresholds:` keys the daemon does not know (it ignores them: a misspelt key changes nothing).
    unknown: list[str] = field(default_factory=list)


def read_daemon_config(path: Path) -> DaemonPolicy:
    """The policy part of a daemon config; unknown keys are ignored, as the daemon ignores them."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    if not path.is_file():
        raise InputNotFoundError(f"daemon config {path} does not exist", hint=f"check {opt('daemon_config')}")
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8")) or {}
    except (YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}", hint="fix the daemon config's syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the daemon config must be a mapping of keys")
    mode = data.get("policy_mode", "rules-only")
    if mode not in ("rules-only", "hybrid"):
        raise ConfigError(f"{path}: policy_mode {mode!r} is neither rules-only nor hybrid (the daemon refuses it)")
    model = data.get("model") or {}
    thresholds = data.get("thresholds") or {}
    if not isinstance(thresholds, dict):
        raise ConfigError(f"{path}: `thresholds:` must be a mapping")
    # a value of the wrong type is among the problems (the daemon would refuse the file); the replay uses the default
    known = {k: v for k, v in thresholds.items() if k in DEFAULTS and type_problem(k, v) is None}
    problems = validate_thresholds(thresholds) if "thresholds" in data else ["thresholds: missing (required)"]
    return DaemonPolicy(
        problems=problems,
        policy_mode=mode,
        model_enabled=bool(model.get("enabled", False)) if isinstance(model, dict) else False,
        model_path=model.get("model_path") if isinstance(model, dict) else None,
        thresholds=known,
        unknown=sorted(str(k) for k in thresholds if k not in DEFAULTS),
    )
