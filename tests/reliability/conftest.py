"""Helpers for the reliability suite: run the real command line in a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`smoothtask-trainer ARGS` as a user runs it: a fresh interpreter, real stdin/stdout/stderr."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMOOTHTASK_")}
    full_env.update({"NO_COLOR": "1", "COLUMNS": "120"})
    full_env.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "smoothtask_trainer", *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        timeout=timeout,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    )


@pytest.fixture
def cli():
    return run_cli
