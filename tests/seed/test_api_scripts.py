"""The seed README's Python API, run the way users run it: a script without a ``__main__`` guard, ``python -``,
``python -c``, a notebook cell.

Each run is a fresh interpreter in a temporary directory holding the files the README names. The README's code is
run verbatim (its paths are relative, so nothing changes); the script only adds ``from pathlib import Path`` (the
README's snippets take it for granted), a marker printed once by the script body, and a count of the JSONL
decoder processes started, so the test knows the decoder child really ran. One input is over 16 MiB, so
`collect` decodes it in that child (smaller inputs are decoded in the calling process).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "README.ru.md"

if not SEED.is_file():
    pytest.skip(f"the seed README is not here: {SEED}", allow_module_level=True)

pytestmark = pytest.mark.slow

MARKER = "SCRIPT-BODY-RAN"
#: Snapshots of the large log: about 175 kB each, so over the 16 MiB from which collect uses the decoder process.
BIG_COUNT = 110
SMALL_COUNT = 24

PRELUDE = f"""\
import atexit
from pathlib import Path

import smoothtask_trainer.ingest.parse as _parse

_decoders = []
_init = _parse.ParserProcess.__init__


def _counting_init(self, **kwargs):
    _decoders.append(1)
    _init(self, **kwargs)


_parse.ParserProcess.__init__ = _counting_init
atexit.register(lambda: print("DECODER-STARTS", len(_decoders), flush=True))
print("{MARKER}", flush=True)
"""


def python_blocks() -> list[str]:
    text = SEED.read_text(encoding="utf-8")
    return [m.group(1) for m in re.finditer(r"^```python[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)]


BLOCKS = python_blocks()
COLLECT_BLOCK = next(b for b in BLOCKS if "collect_data_from_snapshots(" in b)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every file the README's Python blocks read; snapshots.jsonl and snapshots1.jsonl are over 16 MiB."""
    from smoothtask_trainer.simulator import write_snapshots

    base = tmp_path_factory.mktemp("api-inputs")
    write_snapshots(base / "snapshots1.jsonl", "jsonl", count=BIG_COUNT, seed=1, start=datetime(2025, 3, 1, 9))
    assert (base / "snapshots1.jsonl").stat().st_size > 16 << 20
    shutil.copyfile(base / "snapshots1.jsonl", base / "snapshots.jsonl")
    small = {
        "snapshots2.jsonl": ("jsonl", 2),
        "snapshots2.jsonl.gz": ("jsonl-nested", 3),
        "snapshots.db": ("sqlite", 4),
    }
    for i, (name, (fmt, seed)) in enumerate(small.items()):
        start = datetime(2025, 3, 2 + i, 9)
        write_snapshots(base / name, fmt, count=SMALL_COUNT, seed=seed, start=start, scale=0.4)
    return base


@pytest.fixture
def workdir(inputs: Path, tmp_path: Path) -> Path:
    ws = tmp_path / "ws"
    ws.mkdir()
    for f in inputs.iterdir():
        os.link(f, ws / f.name)  # inputs are only read
    return ws


def run_python(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SMOOTHTASK_")}
    env.update(SMOOTHTASK_TRAIN__ITERATIONS="20", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )


def check_ran_once(proc: subprocess.CompletedProcess[str], decoders: int) -> None:
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count(MARKER) == 1, f"the script body ran {proc.stdout.count(MARKER)} times\n{proc.stdout}"
    assert f"DECODER-STARTS {decoders}" in proc.stdout, proc.stdout
    assert "exited unexpectedly" not in proc.stderr


def check_collect_block_outputs(ws: Path) -> None:
    import sqlite3

    from smoothtask_trainer import store

    with contextlib.closing(sqlite3.connect(ws / "output.db")) as con:
        assert con.execute("SELECT COUNT(*) FROM snapshots").fetchone() == (BIG_COUNT + SMALL_COUNT,)
        assert con.execute(f"SELECT COUNT(*) FROM {store.INGEST_TABLE}").fetchone() == (2,)


def test_every_python_block_as_a_script_without_main_guard(workdir: Path) -> None:
    script = workdir / "train_script.py"
    script.write_text(PRELUDE + "\n\n".join(BLOCKS), encoding="utf-8")
    proc = run_python([script.name], workdir)
    # TrainingPipeline + train_from_snapshots, collect_data_from_snapshots, the step-by-step TrainingPipeline
    check_ran_once(proc, decoders=4)
    for name in ("model.json", "model.onnx"):
        assert (workdir / name).is_file() and (workdir / f"{name}.metadata.json").is_file()
    check_collect_block_outputs(workdir)
    assert "Модель валидна: " in proc.stdout and f"Снапшоты: {SMALL_COUNT}" in proc.stdout


def test_collect_block_piped_into_python_stdin(workdir: Path) -> None:
    proc = run_python(["-"], workdir, stdin=PRELUDE + COLLECT_BLOCK)
    check_ran_once(proc, decoders=1)
    check_collect_block_outputs(workdir)


def test_collect_block_as_python_dash_c(workdir: Path) -> None:
    proc = run_python(["-c", PRELUDE + COLLECT_BLOCK], workdir)
    check_ran_once(proc, decoders=1)
    check_collect_block_outputs(workdir)


def test_collect_block_as_a_notebook_cell(workdir: Path) -> None:
    try:
        import IPython  # noqa: F401
    except ImportError:
        pytest.skip("IPython is not installed in this environment (not a dependency of the project)")
    runner = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance()\n"
        "shell.run_cell(open('cell.py', encoding='utf-8').read()).raise_error()\n"
    )
    (workdir / "cell.py").write_text(PRELUDE + COLLECT_BLOCK, encoding="utf-8")
    proc = run_python(["-c", runner], workdir)
    check_ran_once(proc, decoders=1)
    check_collect_block_outputs(workdir)
