"""Services name options, never flags: the Python API shows parameter names, the command line shows flags."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smoothtask_trainer.cli import app
from smoothtask_trainer.errors import ConfigError, opt, render_options

PACKAGE = Path(__file__).resolve().parents[2] / "smoothtask_trainer"
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]+")
#: Command lines given as examples to type are text, not option references.
EXAMPLE = re.compile(r"smoothtask-trainer [a-z]|python -m smoothtask_trainer|cargo build")
#: Simulated processes' command lines: data, not messages.
DATA = {"catalog.py", "desktop.py"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _flag_markers(tree: ast.AST) -> set[int]:
    """String constants inside `Flag(...)`: the one place a flag is declared."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Flag":
            ids.update(id(sub) for sub in ast.walk(node) if isinstance(sub, ast.Constant))
    return ids


def _texts(tree: ast.AST, skip: set[int]) -> list[tuple[int, str]]:
    """(line, text) of every string: an f-string as a whole (its values as {}), other constants alone."""
    inside = {id(c) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for c in n.values}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            out.append((node.lineno, text))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip | inside:
            out.append((node.lineno, node.value))
    return out


def flag_spellings(path: Path) -> list[str]:
    """`file:line: text` of every string (not a docstring, not a Flag declaration) that spells a flag."""
    tree = ast.parse(path.read_text())
    skip = _docstrings(tree) | _flag_markers(tree)
    return [
        f"{path.relative_to(PACKAGE.parent)}:{line}: {text!r}"
        for line, text in _texts(tree, skip)
        if FLAG.search(text) and not EXAMPLE.search(text)
    ]


def test_no_module_outside_the_cli_spells_a_flag() -> None:
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if "cli" not in p.parts and p.name not in DATA]
    found = [hit for p in modules for hit in flag_spellings(p)]
    assert not found, "name options with errors.opt(...), not as flags:\n" + "\n".join(found)


def test_the_guard_sees_a_flag_in_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        'def f(x):\n    """--json in a docstring is fine."""\n    raise ValueError(f"use {x} --labels rules")\n'
        'EXAMPLE = "smoothtask-trainer collect LOGS --db STORE"\n'
    )
    assert [hit.split(": ", 1)[1] for hit in flag_spellings_in(bad)] == ["'use {} --labels rules'"]


def flag_spellings_in(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    return [f"{line}: {t!r}" for line, t in _texts(tree, _docstrings(tree)) if FLAG.search(t) and not EXAMPLE.search(t)]


def test_an_option_reads_as_a_parameter_in_python_and_as_a_flag_on_the_command_line() -> None:
    exc = ConfigError(f"more than allowed by {opt('collect.max_errors')}", hint=f"set {opt('dataset.labels')}")
    assert exc.message == "more than allowed by max_errors" and exc.hint == "set labels"
    assert str(exc) == "more than allowed by max_errors\nHint: set labels"
    from smoothtask_trainer.cli.errors import flag_name

    assert exc.render(flag_name) == ("more than allowed by --max-errors", "set --labels")
    assert render_options(opt("validation.min_time_span_s"), flag_name) == "--min-time-span"
    assert render_options(opt("outputs"), flag_name) == "--model-json/--model-onnx/--model-cbm"


def store_without_teacher(path: Path) -> Path:
    """A store like every real daemon log: no teacher labels."""
    from tests import factories as F

    records = [F.snapshot(i) for i in range(3)]
    for rec in records:
        for proc in rec["processes"]:
            proc.update(teacher_score=None, teacher_priority_class=None)
    return F.write_daemon_db(path, records)


def test_a_service_error_names_the_flag_on_the_command_line(tmp_path: Path) -> None:
    db = store_without_teacher(tmp_path / "s.db")
    res = CliRunner().invoke(app, ["validate", "--db", str(db), "--labels", "teacher"])
    assert res.exit_code == 2 and "--labels" in res.output and "{opt:" not in res.output


def test_the_same_error_names_the_parameter_in_python(tmp_path: Path) -> None:
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    db = store_without_teacher(tmp_path / "s.db")
    with pytest.raises(ConfigError) as info:
        build_dataset(db, DatasetSettings(labels="teacher"))
    assert info.value.setting == "dataset.labels"
    assert "set labels to rules" in str(info.value) and "--" not in str(info.value)
