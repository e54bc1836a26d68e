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
    assert "set labels to combined" in str(info.value) and "--" not in str(info.value)


def bad_log(path: Path) -> Path:
    """Two records without a snapshot_id: more bad records than ``max_errors=0`` allows."""
    path.write_text('{"x": 1}\n{"y": 2}\n')
    return path


def test_a_collect_error_names_max_errors_as_a_parameter_in_python(tmp_path: Path) -> None:
    from smoothtask_trainer.errors import IngestFailed
    from smoothtask_trainer.services.collect import collect
    from smoothtask_trainer.settings import CollectSettings

    with pytest.raises(IngestFailed) as info:
        collect([bad_log(tmp_path / "a.jsonl")], tmp_path / "s.db", CollectSettings(parallel=False, max_errors=0))
    exc = info.value
    assert "allowed by max_errors" in exc.message and "raise max_errors" in (exc.hint or "")
    assert "--" not in str(exc) and "{opt:" not in str(exc)
    assert "{opt:collect.max_errors}" in exc.raw_message  # kept for the command line to show as a flag
    # the report is data both interfaces show: the option by its settings key, never a flag or a reference
    note = exc.result.files[0].note  # type: ignore[attr-defined]
    assert "allowed by collect.max_errors" in note and exc.result.error == note  # type: ignore[attr-defined]


def test_the_same_collect_error_names_the_flag_on_the_command_line(tmp_path: Path) -> None:
    from tests.clirun import invoke

    log = bad_log(tmp_path / "a.jsonl")
    res = invoke("collect", str(log), "--db", str(tmp_path / "s.db"), "--max-errors", "0", "--no-parallel")
    assert res.exit_code == 1, res.output
    assert "allowed by --max-errors" in res.output and "raise --max-errors" in res.output
    assert "{opt:" not in res.output and "max_errors" not in res.output


def test_flag_names_registered_derived_and_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    from smoothtask_trainer.cli import errors as ce

    monkeypatch.setattr(ce, "FLAG_NAMES", dict(ce.FLAG_NAMES))
    assert ce.flag_name("collect.max_errors") == "--max-errors"  # pre-registered
    assert ce.flag_name("model_json") == "--model-json"
    assert ce.flag_name("validation.min_time_span_s") == "--min-time-span"
    assert ce.flag_name("train.eval_fraction") == "--eval-fraction"  # the default: last part, dashes
    assert ce.flag_name("some_service.any_param") == "--any-param"
    ce.register_flags({"train.eval_fraction": "--holdout", "any_param": "-p"})
    assert ce.flag_name("train.eval_fraction") == "--holdout" and ce.flag_name("any_param") == "-p"


def test_the_boundary_renders_flags_and_keeps_the_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from smoothtask_trainer.cli.errors import EXIT_USAGE, boundary

    @boundary
    def command() -> None:
        raise ConfigError(f"{opt('train.eval_fraction')} is too large", hint=f"set {opt('train.eval_fraction')} to 0")

    with pytest.raises(typer.Exit) as info:
        command()
    assert info.value.exit_code == EXIT_USAGE == ConfigError.exit_code
    err = capsys.readouterr().err
    assert "--eval-fraction is too large" in err and "set --eval-fraction to 0" in err and "{opt:" not in err


def rendered_text_in_raises(path: Path) -> list[str]:
    """`file:line: .attr` wherever an ``except ... as exc`` block raises a new error built from ``exc.message`` or
    ``exc.hint`` (option references already rendered as parameter names): compose from ``exc.raw_message`` /
    ``exc.raw_hint``, which keep them for the command line to show as flags."""
    tree = ast.parse(path.read_text())
    return [
        f"{path.name}:{raise_.lineno}: .{sub.attr}"
        for handler in ast.walk(tree)
        if isinstance(handler, ast.ExceptHandler) and handler.name
        for raise_ in ast.walk(handler)
        if isinstance(raise_, ast.Raise) and isinstance(raise_.exc, ast.Call)
        for arg in [*raise_.exc.args[:1], *(k.value for k in raise_.exc.keywords if k.arg == "hint")]
        for sub in ast.walk(arg)
        if isinstance(sub, ast.Attribute)
        and sub.attr in ("message", "hint")
        and isinstance(sub.value, ast.Name)
        and sub.value.id == handler.name
    ]


def test_errors_are_composed_from_raw_text() -> None:
    modules = [p for p in sorted(PACKAGE.rglob("*.py")) if "cli" not in p.parts]
    found = [hit for p in modules for hit in rendered_text_in_raises(p)]
    assert not found, "compose from exc.raw_message / exc.raw_hint, which keep {opt:...}:\n" + "\n".join(found)


def test_the_raw_text_guard_sees_a_rendered_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "try:\n    f()\nexcept E as exc:\n    raise E(f'x: {exc.message}', hint=exc.raw_hint)\n"
        "except F as exc:\n    raise E(exc.raw_message, hint=exc.hint, result=R(error=exc.message))\n"
    )
    assert rendered_text_in_raises(bad) == ["bad.py:4: .message", "bad.py:6: .hint"]


def test_a_wrapped_error_keeps_its_option_references() -> None:
    """An error composed from another's raw text names the option as a flag on the command line."""
    from smoothtask_trainer.cli.errors import flag_name
    from smoothtask_trainer.errors import ExportError

    inner = ExportError(f"bad {opt('model_onnx')}", hint=f"pass {opt('output')}")
    outer = ExportError(f"m.onnx: {inner.raw_message}", hint=inner.raw_hint)
    assert outer.render(flag_name) == ("m.onnx: bad --model-onnx", "pass --output")
    assert (outer.message, outer.hint) == ("m.onnx: bad model_onnx", "pass output")
