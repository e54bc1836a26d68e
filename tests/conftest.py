"""Shared fixtures: a clean environment, a temporary working directory, a fixed terminal width; the CLI runner
and a small simulated store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.clirun import invoke


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("SMOOTHTASK_") and name.upper() != "SMOOTHTASK_UPDATE_SNAPSHOTS":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def sim_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small simulated daemon database (40 snapshots, a small desktop), shared read-only by the tests."""
    from smoothtask_trainer.simulator import write_snapshots

    path = tmp_path_factory.mktemp("sim-store") / "sim.db"
    write_snapshots(path, "sqlite", count=40, seed=2, scale=0.4)
    return path


@pytest.fixture
def cli():  # noqa: ANN201
    """`cli("train", "--db", ...)`: run the command line in this process and return the result."""
    return invoke


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201 - (typer Result, output folder)
    """The README's `pipeline --demo`, run once, in a clean environment, for the tests that look at its output."""
    base = tmp_path_factory.mktemp("demo")
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("SMOOTHTASK_"):
                mp.delenv(name, raising=False)
        mp.setenv("COLUMNS", "120")
        mp.setenv("NO_COLOR", "1")
        mp.setenv("XDG_CONFIG_HOME", str(base / "xdg-config"))
        mp.chdir(base)
        res = invoke("pipeline", "--demo", "--out-dir", str(base / "demo"))
    return res, base / "demo"
