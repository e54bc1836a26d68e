"""The validation gates at their thresholds, and where a pipeline's store is (or which options are refused)."""

from __future__ import annotations

from pathlib import Path

import pytest

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.services.pipeline import DEFAULT_STORE_NAME, plan_store
from smoothtask_trainer.services.validate import validate_and_build
from smoothtask_trainer.settings import ValidationSettings
from tests import factories as F


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gates") / "s.db"
    return F.write_daemon_db(path, [F.snapshot(i, n_groups=3) for i in range(6)])


def gates(store: Path, **thresholds: float) -> dict[str, bool]:
    report, _ = validate_and_build(store, ValidationSettings(**thresholds))
    return {g.name: g.passed for g in report.gates}


def test_every_gate_passes_at_its_threshold_and_fails_just_past_it(store: Path) -> None:
    report, _ = validate_and_build(store, ValidationSettings(min_label_signal=0, min_groups_per_query=0))
    measured = {g.name: g.measured for g in report.gates}
    assert set(measured) == set(ValidationSettings.model_fields)
    for name, value in measured.items():
        kind = ValidationSettings.model_fields[name].annotation
        at = int(value) if kind is int else value
        if name.startswith("min_"):
            past = at + 1 if kind is int else value + 0.01
        else:  # max_null_ratio: a share; at 0 nothing can be "just below"
            if value == 0:
                continue
            past = value - 0.01
        assert gates(store, **{name: at})[name], f"{name} at {at} should pass (measured {value})"
        assert not gates(store, **{name: past})[name], f"{name} at {past} should fail (measured {value})"


def test_the_measured_figures_are_the_store_s(store: Path) -> None:
    report, _ = validate_and_build(store)
    measured = {g.name: g.measured for g in report.gates}
    assert measured["min_snapshots"] == 6 and measured["min_groups"] == 18 and measured["min_processes"] == 36
    assert measured["min_groups_per_query"] == 3


def test_store_plan_for_each_kind(tmp_path: Path) -> None:
    models = {"json": tmp_path / "out" / "m.json", "onnx": None}
    assert plan_store(None, tmp_path / "s.db", None, False, models).kind == "given"
    named = plan_store(["a.jsonl"], None, tmp_path / "n.db", False, models)
    assert (named.kind, named.path, named.tmpdir) == ("named", tmp_path / "n.db", None)
    default = plan_store(["a.jsonl"], None, None, False, models)
    assert (default.kind, default.path) == ("default", tmp_path / "out" / DEFAULT_STORE_NAME)
    temp = plan_store(["a.jsonl"], None, None, True, models)
    assert temp.kind == "temporary" and temp.tmpdir is not None and temp.tmpdir.is_dir()
    assert temp.path.parent == temp.tmpdir
    temp.remove()
    assert temp.tmpdir is None and not temp.path.parent.exists()


@pytest.mark.parametrize(
    ("snapshots", "db", "store", "temp", "outputs", "says"),
    [
        (None, None, None, False, {"json": Path("m.json")}, "exactly one of snapshots and db"),
        (["a"], Path("s.db"), None, False, {"json": Path("m.json")}, "exactly one of snapshots and db"),
        (None, Path("s.db"), Path("n.db"), False, {}, "store and use_temp_db go with snapshots"),
        (["a"], None, Path("n.db"), True, {}, "give store or use_temp_db, not both"),
        (["a"], None, None, False, {"json": None}, "no output file given"),
    ],
)
def test_store_plan_refuses_contradictions(snapshots, db, store, temp, outputs, says) -> None:  # noqa: ANN001
    with pytest.raises(ConfigError, match=says):
        plan_store(snapshots, db, store, temp, outputs)
