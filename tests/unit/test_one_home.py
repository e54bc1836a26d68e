"""One home per domain concept: class names and grades, model formats, exit codes, opening a store, output checks.

Each concept is defined once and the other modules derive from it; the guards below fail when a second definition
appears (a literal tuple of the class names or of the formats, an exit code written as a number).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from smoothtask_trainer.contract import policy

PACKAGE = Path(__file__).resolve().parents[2] / "smoothtask_trainer"
MODULES = sorted(PACKAGE.rglob("*.py"))


def literal_collections(path: Path, members: set[str], at_least: int) -> list[str]:
    """`file:line` of every tuple/list/set/dict-key literal holding `at_least` of the strings `members`."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, ast.Tuple | ast.List | ast.Set | ast.Dict) or items is None:
            continue
        found = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)} & members
        if len(found) >= at_least:
            out.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return out


# classes and grades: contract/policy.py


def test_class_names_grades_and_scores_are_the_policys() -> None:
    from smoothtask_trainer import labels
    from smoothtask_trainer.simulator import teacher

    assert policy.CLASSES == ("IDLE", "BACKGROUND", "NORMAL", "INTERACTIVE", "CRIT_INTERACTIVE")
    grades = (labels.IDLE, labels.BACKGROUND, labels.NORMAL, labels.INTERACTIVE, labels.CRIT)
    assert grades == tuple(policy.GRADE[c] for c in policy.CLASSES) == (0, 1, 2, 3, 4)
    assert [float(s) for s in labels.GRADE_SCORE] == pytest.approx([policy.CLASS_SCORE[c] for c in policy.CLASSES])
    highest_first = teacher.CLASSES
    assert highest_first == policy.CLASSES[::-1]
    assert teacher.BASE_SCORE is policy.CLASS_SCORE


def test_no_second_list_of_the_class_names() -> None:
    home = PACKAGE / "contract" / "policy.py"
    found = [hit for p in MODULES if p != home for hit in literal_collections(p, set(policy.CLASSES), 3)]
    assert not found, "derive from contract.policy.CLASSES / GRADE / CLASS_SCORE:\n" + "\n".join(found)


# model formats: schemas/model.py


def test_model_formats_and_suffixes_have_one_definition() -> None:
    from smoothtask_trainer.schemas import model
    from smoothtask_trainer.services import artifacts

    assert model.MODEL_FORMATS == get_args(model.ModelFormat) == ("onnx", "json", "cbm")
    assert model.ExportFormat is model.ModelFormat and artifacts.FORMATS is model.MODEL_FORMATS
    assert model.MODEL_SUFFIXES == {"onnx": ".onnx", "json": ".json", "cbm": ".cbm"}
    home = PACKAGE / "schemas" / "model.py"
    found = [hit for p in MODULES if p != home for hit in literal_collections(p, set(model.MODEL_FORMATS), 3)]
    assert not found, "use schemas.model.ModelFormat / MODEL_FORMATS / MODEL_SUFFIXES:\n" + "\n".join(found)


# exit codes: errors.py (importable from cli/errors.py)


def test_exit_codes_have_one_home() -> None:
    from smoothtask_trainer import errors
    from smoothtask_trainer.cli import errors as cli_errors

    for name in ("EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE", "EXIT_GATE", "EXIT_INTERRUPTED"):
        assert getattr(cli_errors, name) == getattr(errors, name)
    assert (errors.ConfigError.exit_code, errors.ValidationFailed.exit_code) == (errors.EXIT_USAGE, errors.EXIT_GATE)
    assert (errors.Interrupted.exit_code, errors.ExportError.exit_code) == (130, errors.EXIT_FAILURE)
    found = []
    for path in MODULES:
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            if any(n.startswith("EXIT_") or n == "exit_code" for n in names) and any(
                isinstance(c, ast.Constant) and isinstance(c.value, int) for c in ast.walk(node.value)
            ):
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not found, "exit codes are errors.EXIT_*:\n" + "\n".join(found)


# opening a store: store.py


def test_opening_a_store_lives_in_store_py(tmp_path: Path) -> None:
    from smoothtask_trainer import store
    from smoothtask_trainer.errors import InputNotFoundError, StoreError
    from smoothtask_trainer.services import dataset

    assert dataset.open_store_readonly is store.open_readonly  # the name services.dataset exported
    with pytest.raises(InputNotFoundError):
        store.open_readonly(tmp_path / "missing.db")
    (tmp_path / "text.db").write_text("not a database")
    with pytest.raises(StoreError):
        store.open_readonly(tmp_path / "text.db")
    readonly = [p.name for p in MODULES if "mode=ro" in p.read_text()]
    assert sorted(readonly) == ["sqlite_source.py", "store.py"]  # a store (store.py), a source log (ingest)


# output checks: services/artifacts.py::check_targets, for train and export


def test_train_and_export_share_the_output_checks(tmp_path: Path) -> None:
    from smoothtask_trainer.errors import ConfigError, OutputPathError
    from smoothtask_trainer.services import artifacts, export, train

    assert export.plan_targets is artifacts.check_targets  # the name services.export exported
    model = tmp_path / "model.json"
    model.write_text("{}")
    messages = []
    for run in (
        lambda out: train.train(tmp_path / "store.db", {"json": out}),
        lambda out: export.export(model, "json", out),
    ):
        with pytest.raises(ConfigError) as wrong_suffix:
            run(tmp_path / "m.onnx")
        (tmp_path / "dir.json").mkdir(exist_ok=True)
        with pytest.raises(OutputPathError) as directory:
            run(tmp_path / "dir.json")
        messages.append((wrong_suffix.value.message, directory.value.message))
    assert messages[0] == messages[1]
    assert "does not end in .json" in messages[0][0] and "is a directory" in messages[0][1]


def test_the_training_outputs_are_one_option_per_format() -> None:
    from smoothtask_trainer.schemas.model import MODEL_FORMATS
    from smoothtask_trainer.schemas.outputs import ModelOutputs

    outputs = ModelOutputs(model_json=Path("m.json"), model_cbm=Path("m.cbm"))
    assert outputs.by_format() == {"json": Path("m.json"), "onnx": None, "cbm": Path("m.cbm")}
    assert sorted(outputs.by_format()) == sorted(MODEL_FORMATS)
