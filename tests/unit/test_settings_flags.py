"""Every setting with a flag: the flag, the environment variable and the config file accept and reject the same
values, and give the same value. The command's service is replaced by a recorder, so no command does real work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from smoothtask_trainer.cli import app
from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.settings import load_settings
from smoothtask_trainer.settings_fields import FieldDoc, all_settings

#: The command that shows each section's flags, its required arguments, and the service it calls.
COMMANDS = {
    "collect": (["collect", "x.jsonl", "--db", "s.db"], "smoothtask_trainer.services.collect.collect"),
    "dataset": (["validate", "--db", "s.db"], "smoothtask_trainer.services.validate.validate"),
    "validation": (["validate", "--db", "s.db"], "smoothtask_trainer.services.validate.validate"),
    "train": (["train", "--db", "s.db"], "smoothtask_trainer.services.train.train"),
    "policy": (["tune", "--db", "s.db", "--output", "o.yml"], "smoothtask_trainer.services.tune.tune"),
    "features": (["features", "x.jsonl", "--out", "ds"], "smoothtask_trainer.services.features.build_features"),
}
FLAGGED = [doc for doc in all_settings() if doc.flag is not None]
DATES = ["2026-01-02", "2026-01-02T03:04:05", "2026-01-02 03:04:05", "2026-01-02T03:04:05+02:00", "yesterday", ""]


class Called(Exception):
    """Raised by the recorder in place of the service: the command got as far as calling it."""


def candidates(doc: FieldDoc) -> list[str]:
    """Values to try: each side of each bound, the default, and text no number or choice is."""
    if doc.kind == "choice":
        return [*doc.choices, doc.choices[0].upper(), "bogus", ""]
    if doc.kind == "datetime":
        return DATES
    values = {"abc", "", "1e3", "inf", "nan", " 7 ", "0x10", "1_000"}
    if doc.default not in (None,):
        values.add(str(doc.default))
    for _, bound in doc.bounds:
        step = 1 if doc.kind == "int" else 0.001
        values |= {str(bound), str(bound - step), str(bound + step)}
        if doc.kind == "int":
            values.add(f"{bound}.5")
    return sorted(values)


def via_flag(doc: FieldDoc, args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[bool, Any]:
    """(accepted, value) when `args` are given to the command that shows `doc`'s flag."""
    argv, target = COMMANDS[doc.section]  # type: ignore[index]
    seen: list[tuple[tuple, dict[str, Any]]] = []

    def recorder(*a: Any, **kw: Any) -> None:
        seen.append((a, kw))
        raise Called

    module, name = target.rsplit(".", 1)
    monkeypatch.setattr(f"{module}.{name}", recorder)
    res = CliRunner().invoke(app, [*argv, *args])
    if res.exit_code == 2:
        return False, None
    assert seen, f"{args}: exit {res.exit_code} without reaching the service: {res.output}"
    args, kwargs = seen[0]
    section = next((x for x in [*args, *kwargs.values()] if type(x).__name__.lower().startswith(doc.section)), None)  # type: ignore[union-attr]
    return True, getattr(section, doc.name) if section is not None else kwargs[doc.name]


def via_env(doc: FieldDoc, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[bool, Any]:
    monkeypatch.setenv(doc.env, text)  # type: ignore[arg-type]
    try:
        return True, getattr(getattr(load_settings(), doc.section), doc.name)  # type: ignore[arg-type]
    except ConfigError:
        return False, None
    finally:
        monkeypatch.delenv(doc.env)  # type: ignore[arg-type]


def via_toml(doc: FieldDoc, literal: str, tmp_path: Path) -> tuple[bool, Any]:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[{doc.section}]\n{doc.name} = {literal}\n")
    try:
        return True, getattr(getattr(load_settings(cfg), doc.section), doc.name)  # type: ignore[arg-type]
    except ConfigError:
        return False, None


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.mark.parametrize("doc", FLAGGED, ids=lambda d: d.key)
def test_flag_env_and_file_agree(doc: FieldDoc, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    if doc.kind == "bool":
        on = [doc.flag_name] if doc.flag_name else []
        cases = [(on, "true", "true", True)]
        if doc.flag.negatable:  # type: ignore[union-attr]
            cases.append(([f"--no-{doc.flag_name[2:]}"], "false", "false", False))  # type: ignore[index]
        for args, env, toml, expected in cases:
            assert via_flag(doc, args, monkeypatch) == (True, expected)
            assert via_env(doc, env, monkeypatch) == (True, expected)
            assert via_toml(doc, toml, tmp_path) == (True, expected)
        return
    outcomes = []
    for text in candidates(doc):
        flag = via_flag(doc, [doc.flag_name, text], monkeypatch)  # type: ignore[list-item]
        env = via_env(doc, text, monkeypatch)
        toml = via_toml(doc, toml_string(text), tmp_path)
        assert flag == env == toml, f"{doc.key} = {text!r}: flag {flag}, env {env}, file {toml}"
        outcomes.append(flag[0])
        if doc.kind in ("int", "float") and text.strip().lstrip("-").replace(".", "", 1).isdigit():
            # a bare TOML number means what the same text means everywhere else
            assert via_toml(doc, text.strip(), tmp_path)[0] == flag[0], f"{doc.key} = {text} (bare TOML)"
    assert any(outcomes) and not all(outcomes), f"{doc.key}: the candidates must include accepted and rejected values"


def test_a_rejected_flag_names_the_flag_and_exits_2() -> None:
    res = CliRunner().invoke(app, ["train", "--db", "s.db", "--learning-rate", "0"])
    assert res.exit_code == 2
    assert "--learning-rate" in res.output and "greater than 0" in res.output


def test_every_section_with_flags_has_a_command() -> None:
    assert {doc.section for doc in FLAGGED} <= set(COMMANDS)
