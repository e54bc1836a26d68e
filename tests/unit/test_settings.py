"""Settings: precedence flag > env > file > default, unknown keys named with their source, docs complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.settings import SECTIONS, load_settings

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_defaults() -> None:
    s = load_settings()
    assert s.collect.max_errors is None and s.collect.parallel is True and s.collect.error_examples == 5


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = write(tmp_path / "c.toml", "[collect]\nmax_errors = 3\nerror_examples = 9\n")
    assert load_settings(cfg).collect.max_errors == 3
    monkeypatch.setenv("SMOOTHTASK_COLLECT__MAX_ERRORS", "7")
    s = load_settings(cfg)
    assert s.collect.max_errors == 7 and s.collect.error_examples == 9  # env on one key keeps the file's others
    s = load_settings(cfg, {"collect": {"max_errors": 0, "parallel": None}})
    assert s.collect.max_errors == 0 and s.collect.parallel is True  # None means "flag not given"


def test_default_file_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xdg = tmp_path / "xdg"
    write_dir = xdg / "smoothtask-trainer"
    write_dir.mkdir(parents=True)
    write(write_dir / "config.toml", "[collect]\nerror_examples = 2\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert load_settings().collect.error_examples == 2
    write(tmp_path / "smoothtask-trainer.toml", "[collect]\nerror_examples = 4\n")  # cwd wins over XDG
    assert load_settings().collect.error_examples == 4
    other = write(tmp_path / "other.toml", "[collect]\nerror_examples = 6\n")
    monkeypatch.setenv("SMOOTHTASK_CONFIG", str(other))
    assert load_settings().collect.error_examples == 6


def test_errors_name_key_and_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path / "bad.toml", "[collect\n"))
    cfg = write(tmp_path / "c.toml", "[collect]\nmax_error = 1\n[nope]\nx = 1\n")
    with pytest.raises(ConfigError) as info:
        load_settings(cfg)
    msg = str(info.value)
    assert f"unknown setting 'collect.max_error' (from config file {cfg})" in msg and "'nope'" in msg
    with pytest.raises(ConfigError, match=r"'collect.error_examples' \(from a command-line option\)"):
        load_settings(None, {"collect": {"error_examples": -1}})
    monkeypatch.setenv("SMOOTHTASK_COLECT__MAX_ERRORS", "1")
    with pytest.raises(ConfigError, match="environment variable SMOOTHTASK_COLECT__MAX_ERRORS"):
        load_settings()


def test_every_setting_is_documented() -> None:
    text = DOCS.read_text()
    for section, model in SECTIONS.items():
        assert f"[{section}]" in text
        for key in model.model_fields:
            assert f"`{section}.{key}`" in text, f"{section}.{key} missing from docs/configuration.md"
            assert f"SMOOTHTASK_{section.upper()}__{key.upper()}" in text
