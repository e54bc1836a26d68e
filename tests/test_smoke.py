"""The installed program as a user runs it: real processes, real signals."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from smoothtask_trainer import __version__
from tests import factories as F

PY = sys.executable


def cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PY, "-m", "smoothtask_trainer", *args], capture_output=True, text=True, timeout=120, **kwargs
    )


def test_module_and_console_script_run() -> None:
    res = cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"smoothtask-trainer {__version__}"
    exe = shutil.which("smoothtask-trainer")
    assert exe, "the console script is installed"
    res = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "collect" in res.stdout and "simulate" in res.stdout


def test_help_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from smoothtask_trainer.cli import main\n"
        "sys.argv = ['smoothtask-trainer', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('catboost', 'onnx', 'onnxruntime', 'pandas', 'numpy') if m in sys.modules)\n"
        "sys.stderr.write('HEAVY=' + ','.join(heavy))\n"
    )
    res = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=60)
    assert "HEAVY=" in res.stderr and res.stderr.rsplit("HEAVY=", 1)[1] == ""


def test_bad_gzip_line_exits_1_with_location_and_no_traceback(tmp_path: Path) -> None:
    src = tmp_path / "day.jsonl.gz"
    src.write_bytes(gzip.compress(F.lines([F.snapshot(0), F.snapshot(1), '{"snapshot_id": "x"}'])))
    res = cli("collect", str(src), "--db", str(tmp_path / "s.db"), "--strict")
    assert res.returncode == 1
    assert f"{src}:3:" in res.stderr and "Traceback" not in res.stderr


def test_debug_env_shows_traceback(tmp_path: Path) -> None:
    res = cli(
        "collect",
        str(tmp_path / "nope.jsonl"),
        "--db",
        str(tmp_path / "s.db"),
        env={**os.environ, "SMOOTHTASK_DEBUG": "1"},
    )
    assert res.returncode == 2 and "Traceback" in res.stderr


@pytest.mark.slow
def test_ctrl_c_exits_130_and_keeps_committed_files(tmp_path: Path) -> None:
    first = F.write_jsonl(tmp_path / "first.jsonl", [F.snapshot(0), F.snapshot(1)])
    db = tmp_path / "s.db"
    proc = subprocess.Popen(
        [PY, "-m", "smoothtask_trainer", "collect", str(first), "-", "--db", str(db), "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    proc.stdin.write(F.lines([F.snapshot(i) for i in range(10, 20)]))
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    committed = 0
    while time.monotonic() < deadline and not committed:
        time.sleep(0.1)
        try:
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1) as con:
                committed = con.execute("SELECT COUNT(*) FROM smoothtask_ingest_files").fetchone()[0]
        except sqlite3.Error:
            continue
    assert committed == 1, "the first file was committed before stdin finished"
    time.sleep(0.5)  # collect is now waiting for more stdin inside the second file's transaction
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert b"interrupted while ingesting <stdin>" in err and b"Traceback" not in err
    assert json.loads(out)["ok"] is False
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (2,)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_json_mode_prints_a_document_even_for_usage_errors(tmp_path: Path) -> None:
    exe = shutil.which("smoothtask-trainer")
    assert exe
    res = subprocess.run(
        [exe, "--json", "train", "--db", "x.db", "--model-json", "m.json", "--iterations", "abc"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert res.returncode == 2 and "--iterations" in res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["error"]["type"] == "UsageError"
    assert "--iterations" in doc["error"]["message"]  # the reason Click gave, on one line
    assert "\u2502" not in doc["error"]["message"] and doc["error"]["hint"] == "see smoothtask-trainer --help"
