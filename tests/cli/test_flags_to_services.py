"""Cheap command-line tests: what each command hands its service for the flags that are not plain settings.

The service is replaced by a recorder; the end-to-end tests beside these run the real thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clirun import invoke


class Called(Exception):
    pass


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """record("module.function") -> the list that receives (args, kwargs) of each call."""

    def install(target: str) -> list[tuple[tuple, dict[str, Any]]]:
        calls: list[tuple[tuple, dict[str, Any]]] = []

        def recorder(*args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))
            raise Called

        monkeypatch.setattr(target, recorder)
        return calls

    return install


def test_strict_is_max_errors_zero(record) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.collect.collect")
    assert invoke("collect", "x.jsonl", "--db", "s.db", "--strict").exit_code == 1  # the recorder's "failure"
    assert calls[0][0][2].max_errors == 0
    res = invoke("collect", "x.jsonl", "--db", "s.db", "--strict", "--max-errors", "3")
    assert res.exit_code == 2 and "--strict" in res.output
    assert len(calls) == 1


def test_no_eval_holds_nothing_out(record) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.train.train")
    invoke("train", "--db", "s.db", "--no-eval")
    assert calls[0][0][2].eval_fraction == 0
    invoke("train", "--db", "s.db", "--no-eval", "--eval-fraction", "0")
    assert calls[1][0][2].eval_fraction == 0
    res = invoke("train", "--db", "s.db", "--no-eval", "--eval-fraction", "0.3")
    assert res.exit_code == 2 and "--no-eval" in res.output and len(calls) == 2


def test_outputs_and_settings_reach_train(record) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.train.train")
    invoke(
        "train", "--db", "s.db", "--model-onnx", "m.onnx", "--depth", "3", "--labels", "rules", "--since", "2026-01-02"
    )
    (db, outputs, train, dataset), _ = calls[0]
    assert str(db) == "s.db" and outputs == {"json": None, "onnx": Path("m.onnx"), "cbm": None}
    assert train.depth == 3 and dataset.labels == "rules" and dataset.since.year == 2026


def test_allow_worse_than_stub_only_turns_the_setting_on(record, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.train.train")
    invoke("train", "--db", "s.db")
    monkeypatch.setenv("SMOOTHTASK_TRAIN__ALLOW_WORSE_THAN_STUB", "true")
    invoke("train", "--db", "s.db")  # the flag not given: the environment decides
    monkeypatch.delenv("SMOOTHTASK_TRAIN__ALLOW_WORSE_THAN_STUB")
    invoke("train", "--db", "s.db", "--allow-worse-than-stub")
    assert [c[0][2].allow_worse_than_stub for c in calls] == [False, True, True]


def test_pipeline_demo_simulates_into_a_temporary_store(
    record, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.pipeline.run_pipeline")
    simulated: list[Path] = []

    def fake_simulate(scratch: Path, on_progress=None) -> Path:  # noqa: ANN001
        simulated.append(scratch / "demo.jsonl.gz")
        return simulated[-1]

    monkeypatch.setattr("smoothtask_trainer.services.demo.simulate_demo", fake_simulate)
    invoke("pipeline", "--demo", "--out-dir", str(tmp_path / "d"))
    kwargs = calls[0][1]
    assert kwargs["snapshots"] == [str(simulated[0])] and kwargs["use_temp_db"] is True
    assert kwargs["outputs"] == {f: tmp_path / "d" / f"model.{f}" for f in ("onnx", "json", "cbm")}


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--demo", "--db", "x.db"], ["--demo", "--snapshots", "--db", "--store"]),
        (["--demo", "--out-dir", "d", "--model-json", "m.json"], ["--out-dir"]),
        (["--out-dir", "d", "--db", "x.db", "--model-json", "m.json"], ["--out-dir", "--demo"]),
        (["--model-json", "m.json"], ["--snapshots", "--db", "--demo"]),
    ],
)
def test_pipeline_usage_errors_name_the_flags(args: list[str], names: list[str], record) -> None:  # noqa: ANN001
    calls = record("smoothtask_trainer.services.pipeline.run_pipeline")
    res = invoke("pipeline", *args)
    assert res.exit_code == 2 and not calls
    for name in names:
        assert name in res.stderr, (name, res.stderr)
