"""Every code block of the seed's README (../shared/seed/README.ru.md) runs against this project.

Only file paths change: each path the README names (snapshots.jsonl, /var/lib/smoothtask/snapshots.sqlite,
/path/to/model.json, ...) becomes the same path inside a temporary directory, prepared beforehand with small
simulated snapshot logs, stores and a trained model. Commands and code are otherwise run verbatim; training is
shortened with an environment variable only (SMOOTHTASK_TRAIN__ITERATIONS), never by editing a command.

- bash blocks: split into commands (`\\` continuations joined, `#` comment lines dropped, a quoted argument may
  span lines) and run with `bash -c`, one after the other, in the block's own working directory. Each must exit 0
  and write every file it names (a new file, not the prepared one), with a valid `<file>.metadata.json` beside
  each model.
- python blocks: executed in-process in a fresh namespace, in the block's working directory; their results are
  checked (statistics, data frames, model files).
- the json block (metadata example) must validate against `ExportMetadata`; the yaml block (the seed's wrong
  `ranker:` key) is not executed: docs/model.md must give the daemon's real keys instead.

Each block gets its own copy of the files it names, so blocks do not depend on each other and the bash blocks
(subprocesses: mostly Python start-up and imports) run two at a time in the background while the python blocks
run here.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT.parent / "shared" / "seed" / "README.ru.md"

if not SEED.is_file():
    pytest.skip(
        f"the seed README is not here: {SEED} (../shared/seed/README.ru.md beside the repository)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.slow

#: Snapshots per prepared log or store: small (a command's time is mostly Python start-up and imports), yet
#: enough for the README's own thresholds (min_snapshots 10, min_processes 100, min_groups 20) and a hold-out.
COUNT = 24
SCALE = 0.4
ITERATIONS = "20"
COMMAND_TIMEOUT = 300

#: Every file path the README's code names, and how it is prepared: (simulator format, seed, start, labels), or
#: "model" (trained once beforehand, so blocks that only read a model do not depend on others), or None (the
#: README creates it). Different starts give different snapshot ids, so files can be combined.
PATHS: dict[str, Any] = {
    "snapshots.jsonl": ("jsonl", 1, datetime(2025, 3, 1, 9), True),
    "snapshots1.jsonl": ("jsonl", 2, datetime(2025, 3, 2, 9), True),
    "snapshots2.jsonl": ("jsonl", 3, datetime(2025, 3, 3, 9), True),
    "snapshots2.jsonl.gz": ("jsonl-nested", 4, datetime(2025, 3, 4, 9), True),  # the daemon's serde shape
    "snapshots.jsonl.gz": ("jsonl", 5, datetime(2025, 3, 5, 9), True),
    "/var/lib/smoothtask/snapshots.jsonl": ("jsonl", 6, datetime(2025, 3, 6, 9), True),
    "snapshots.db": ("sqlite", 7, datetime(2025, 3, 7, 9), True),
    # a database as the real daemon writes it: no teacher labels (training falls back to the rule teacher)
    "/var/lib/smoothtask/snapshots.sqlite": ("sqlite", 8, datetime(2025, 3, 8, 9), False),
    "model.json": "model",
    "model.onnx": "model",
    "model.cbm": "model",
    "/path/to/model.json": "model",
    "/path/to/model.onnx": "model",
    "output.db": None,
    "test_snapshots.sqlite": None,
    "test_model.json": None,
}
_PATH_RE = re.compile(
    r"(?<![\w./-])(" + "|".join(re.escape(p) for p in sorted(PATHS, key=len, reverse=True)) + r")(?![\w.-])"
)
#: What looks like a file path in the README's code (to catch a path this test would not replace).
_PATHLIKE_RE = re.compile(r"[\w/.-]+\.(?:jsonl\.gz|jsonl|gz|db|sqlite|json|onnx|cbm)\b")
MODEL_SUFFIXES = {".json": "json", ".onnx": "onnx", ".cbm": "cbm"}


# ---- the README, parsed -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    index: int
    lang: str
    code: str
    line: int

    @property
    def id(self) -> str:
        return f"{self.index:02d}-{self.lang}-L{self.line}"

    def names(self) -> list[str]:
        """The README paths this block mentions, in order of first appearance."""
        return list(dict.fromkeys(_PATH_RE.findall(self.code)))


def parse_blocks(text: str) -> list[Block]:
    blocks = []
    for i, m in enumerate(re.finditer(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", text, re.S | re.M)):
        blocks.append(Block(i, m.group(1) or "text", m.group(2), text.count("\n", 0, m.start()) + 1))
    return blocks


def bash_commands(code: str) -> list[str]:
    """Split a bash block into commands: drop comment and blank lines between commands, join `\\`-continued
    lines, and keep a quoted argument that spans lines (`python -c "..."`) in one command."""
    commands: list[str] = []
    pending: list[str] = []
    for line in code.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending.append(line)
        text = "\n".join(pending)
        if text.endswith("\\"):
            continue
        try:
            shlex.split(text)
        except ValueError:  # an open quote: the argument goes on
            continue
        commands.append(re.sub(r"[ \t]*\\\n[ \t]*", " ", text).strip())
        pending = []
    assert not pending, f"unterminated command in a bash block: {pending}"
    return commands


BLOCKS = parse_blocks(SEED.read_text(encoding="utf-8"))


def blocks_of(*langs: str) -> list[Any]:
    return [pytest.param(b, id=b.id) for b in BLOCKS if b.lang in langs]


# ---- the prepared files ---------------------------------------------------------------------------------------


def local(ws: Path, name: str) -> Path:
    """Where a README path lives in a block's working directory (absolute paths are re-rooted there)."""
    return ws / name.lstrip("/")


def substitute(code: str, ws: Path) -> str:
    """The code with every README path replaced by its place in `ws` (and nothing else changed)."""
    return _PATH_RE.sub(lambda m: str(local(ws, m.group(1))), code)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every input the README takes for granted: snapshot logs, stores and a trained model."""
    base = tmp_path_factory.mktemp("seed-template")
    with pytest.MonkeyPatch.context() as mp:  # module scope: the per-test clean environment is not there yet
        mp.chdir(base)
        for name in [n for n in os.environ if n.upper().startswith("SMOOTHTASK_")]:
            mp.delenv(name)
        prepare(base)
    return base


def prepare(base: Path) -> None:
    from typer.testing import CliRunner

    from smoothtask_trainer.cli import app
    from smoothtask_trainer.simulator import write_snapshots

    for name, how in PATHS.items():
        if isinstance(how, tuple):
            fmt, seed, start, labels = how
            target = local(base, name)
            target.parent.mkdir(parents=True, exist_ok=True)
            write_snapshots(target, fmt, count=COUNT, seed=seed, start=start, labels=labels, scale=SCALE)
    args = ["train", "--db", str(base / "snapshots.db"), "--iterations", ITERATIONS, "--quiet"]
    for fmt in ("json", "onnx", "cbm"):
        args += [f"--model-{fmt}", str(base / f"model.{fmt}")]
    res = CliRunner().invoke(app, args, prog_name="smoothtask-trainer")
    assert res.exit_code == 0, res.output
    for name in ("/path/to/model.json", "/path/to/model.onnx"):
        target = local(base, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", ".metadata.json"):
            shutil.copy2(base / (Path(name).name + suffix), str(target) + suffix)


def workspace(template: Path, block: Block) -> Path:
    """A fresh working directory for one block, holding copies of the prepared files the block names."""
    ws = template.parent / f"block-{block.id}"
    ws.mkdir()
    for name in block.names():
        local(ws, name).parent.mkdir(parents=True, exist_ok=True)  # /path/to/ exists, as on the reader's machine
        source = local(template, name)
        for suffix in ("", ".metadata.json"):
            if Path(str(source) + suffix).exists():
                shutil.copy2(str(source) + suffix, str(local(ws, name)) + suffix)
    return ws


# ---- checks on what a block wrote -----------------------------------------------------------------------------


def stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_ino, st.st_mtime_ns, st.st_size


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_model_file(path: Path, before: dict[Path, Any], supplied: dict[str, Any] | None = None) -> dict:
    """`path` and its sidecar were (re)written by the block, and the sidecar describes the file."""
    from smoothtask_trainer import contract
    from smoothtask_trainer.schemas.model import ExportMetadata

    sidecar = Path(f"{path}.metadata.json")
    for p in (path, sidecar):
        assert p.is_file(), f"{p.name} was not written"
        assert stamp(p) != before.get(p), f"{p.name} is still the prepared file: nothing wrote it"
    meta = json.loads(sidecar.read_text())
    ExportMetadata.model_validate(meta)
    assert meta["export_format"] == MODEL_SUFFIXES[path.suffix], sidecar.name
    assert meta["features"] == list(contract.FEATURE_NAMES) and meta["n_features"] == contract.N_FEATURES
    assert meta["artifact"]["sha256"] == sha256(path), f"{sidecar.name} does not describe {path.name}"
    for key, value in (supplied or {}).items():
        if key == "features":  # a caller's feature list is kept aside; `features` states the model's real inputs
            assert meta["features_supplied"] == value
        else:
            assert meta[key] == value, (sidecar.name, key)
    return meta


def check_store(path: Path) -> None:
    import sqlite3

    assert path.is_file(), f"{path.name} was not written"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        counts = [con.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("snapshots", "app_groups")]
    assert min(counts) > 0, f"{path.name} holds no snapshots"


# ---- python blocks: run here ------------------------------------------------------------------------------------


def run_python_block(block: Block, ws: Path) -> tuple[dict[str, Any], str]:
    # The seed's snippets use `Path` without importing it; a reader would have it in their session. Nothing
    # else is provided: every other name must come from the snippet's own imports.
    namespace: dict[str, Any] = {"__name__": f"seed_readme_block_{block.index}", "Path": Path}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(substitute(block.code, ws), f"{SEED.name}:{block.line + 1}", "exec"), namespace)
    return namespace, out.getvalue()


def check_pipeline_api(ns: dict[str, Any], out: str, ws: Path, before: dict[Path, Any]) -> None:
    from smoothtask_trainer import TrainingPipeline

    assert isinstance(ns["pipeline"], TrainingPipeline)
    assert callable(getattr(ns["model"], "predict", None)), "run_complete_pipeline returns the trained model"
    ns["pipeline"].cleanup()  # not in the README: removes the temporary store the snippet leaves behind
    for name in ("model.json", "model.onnx"):
        check_model_file(local(ws, name), before)


def check_collect_api(ns: dict[str, Any], out: str, ws: Path, before: dict[Path, Any]) -> None:
    from smoothtask_trainer import contract

    assert before[local(ws, "output.db")] is None
    assert ns["db_path"] == local(ws, "output.db") and ns["db_path"].is_file()
    stats = ns["stats"]
    assert stats["snapshot_count"] == 2 * COUNT  # snapshots1.jsonl + snapshots2.jsonl.gz
    assert stats["process_count"] >= 50 and stats["group_count"] >= 10 and stats["validation_passed"] is True
    assert {"unique_processes", "unique_groups", "time_range"} <= set(stats)
    df = ns["df"]
    assert set(contract.FEATURE_NAMES) <= set(df.columns) and "label" in df.columns
    assert len(df) == stats["group_count"], "one training row per snapshot and app group"
    assert df["snapshot_id"].nunique() == 2 * COUNT


def check_validate_exported(ns: dict[str, Any], out: str, ws: Path, before: dict[Path, Any]) -> None:
    from smoothtask_trainer import contract

    result = ns["validation_result"]
    assert result["format"] == "onnx" and result["n_features"] == contract.N_FEATURES
    assert result["sha256"] == sha256(local(ws, "model.onnx"))
    assert out.startswith("Модель валидна: ")


def check_validate_dataset(ns: dict[str, Any], out: str, ws: Path, before: dict[Path, Any]) -> None:
    stats = ns["stats"]
    assert stats["snapshot_count"] == COUNT and stats["process_count"] >= 100 and stats["group_count"] >= 20
    printed = dict(line.split(": ", 1) for line in out.splitlines())
    assert printed == {
        "Снапшоты": str(stats["snapshot_count"]),
        "Процессы": str(stats["process_count"]),
        "Группы": str(stats["group_count"]),
        "Уникальные процессы": str(stats["unique_processes"]),
        "Уникальные группы": str(stats["unique_groups"]),
    }


def check_step_by_step(ns: dict[str, Any], out: str, ws: Path, before: dict[Path, Any]) -> None:
    from smoothtask_trainer import contract

    assert ns["stats"]["snapshot_count"] == COUNT
    X, y, group_id, df = ns["X"], ns["y"], ns["group_id"], ns["df"]
    assert X.shape == (len(df), contract.N_FEATURES) and list(X.columns) == list(contract.FEATURE_NAMES)
    assert len(y) == len(group_id) == len(df) and group_id.nunique() == COUNT
    assert ns["cat_features"] == []  # use_categorical=False: the hash codes stay numbers, as for ONNX
    assert callable(getattr(ns["model"], "predict", None))
    for name in ("model.json", "model.onnx"):
        check_model_file(local(ws, name), before)
    assert not Path(ns["db_path"]).exists(), "cleanup() removes the temporary store"


#: How each python block is recognised, and what its results must be. A new block must get a check here.
PYTHON_CHECKS = {
    "run_complete_pipeline(": check_pipeline_api,
    "collect_data_from_snapshots(": check_collect_api,
    "validate_exported_model(": check_validate_exported,
    'print(f"Снапшоты': check_validate_dataset,
    "pipeline.cleanup()": check_step_by_step,
}


@pytest.mark.parametrize("block", blocks_of("python"))
def test_python_block(
    block: Block, template: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if selected_bash_blocks(request.session):
        request.getfixturevalue("bash_runs")  # start the bash blocks first, so they run while this one does
    checks = [check for marker, check in PYTHON_CHECKS.items() if marker in block.code]
    assert len(checks) == 1, f"python block at line {block.line} has {len(checks)} checks in PYTHON_CHECKS"
    ws = workspace(template, block)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("SMOOTHTASK_TRAIN__ITERATIONS", ITERATIONS)
    before = {local(ws, n): stamp(local(ws, n)) for n in block.names()}
    before.update({Path(f"{p}.metadata.json"): stamp(Path(f"{p}.metadata.json")) for p in list(before)})
    namespace, out = run_python_block(block, ws)
    checks[0](namespace, out, ws, before)


# ---- bash blocks: run in the background, checked by their tests -------------------------------------------------


@dataclass
class CommandRun:
    command: str
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    before: dict[Path, Any] = field(default_factory=dict)


def command_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("SMOOTHTASK_")}
    env.update(
        # The README's commands are run from the project (after `uv pip install -e .`), with the data in the
        # working directory. Here the working directory is the block's temporary directory and UV_PROJECT tells
        # `uv run` where the project is: the command lines stay exactly as written (`--project`/`--directory`
        # would change them), relative paths resolve in the temporary directory, and `uv run` uses the project's
        # locked environment with its console scripts (smoothtask_trainer.train_pipeline, ...).
        UV_PROJECT=str(ROOT),
        UV_OFFLINE="1",  # never reach the network
        UV_FROZEN="1",  # the committed lock, as CI's `uv sync --frozen`
        UV_NO_PROGRESS="1",
        SMOOTHTASK_TRAIN__ITERATIONS=ITERATIONS,  # faster training: an environment variable, not a flag
        NO_COLOR="1",
        COLUMNS="120",
    )
    return env


OUTPUT_FLAGS = {"--model-json", "--model-onnx", "--model-cbm", "--output", "-o"}
INPUT_FLAGS = {"--snapshots", "--db", "--model"}


def command_files(command: str) -> tuple[list[str], list[str]]:
    """(inputs, outputs) a README command names, as README paths."""
    inputs: list[str] = []
    outputs: list[str] = []
    flag = None
    for token in shlex.split(command):
        if token.startswith("-"):
            flag = token
            continue
        if flag in OUTPUT_FLAGS:
            outputs.append(token)
        elif flag in INPUT_FLAGS:
            inputs.append(token)
        if flag != "--snapshots":  # --snapshots takes several files
            flag = None
    outputs += re.findall(r"create_test_database\('([^']+)'\)", command)
    return inputs, outputs


def run_bash_block(template: Path, block: Block, env: dict[str, str]) -> tuple[Path, list[CommandRun]]:
    ws = workspace(template, block)
    runs = []
    for command in bash_commands(block.code):
        _, outputs = command_files(command)
        watched = [local(ws, o) for o in outputs] + [Path(f"{local(ws, o)}.metadata.json") for o in outputs]
        before = {p: stamp(p) for p in watched}
        real = substitute(command, ws)
        t0 = time.monotonic()
        res = subprocess.run(
            ["bash", "-c", real], cwd=ws, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
        runs.append(
            CommandRun(
                command, shlex.split(real), res.returncode, res.stdout, res.stderr, time.monotonic() - t0, before
            )
        )
        if res.returncode != 0:
            break  # the rest of the block would run on a failed step
    return ws, runs


def selected_bash_blocks(session: pytest.Session) -> set[int]:
    """The bash blocks whose tests this session runs."""
    return {
        item.callspec.params["block"].index
        for item in session.items
        if getattr(item, "originalname", None) == "test_bash_block" and item.module.__name__ == __name__
    }


@pytest.fixture(scope="module")
def bash_runs(template: Path, request: pytest.FixtureRequest) -> Iterator[dict[int, Future] | None]:
    """Starts the selected bash blocks in the background (two at a time) and hands out their futures."""
    if shutil.which("uv") is None:
        yield None
        return
    env = command_env()
    wanted = selected_bash_blocks(request.session)
    pool = ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)), thread_name_prefix="seed-bash")
    futures = {
        b.index: pool.submit(run_bash_block, template, b, env)
        for b in BLOCKS
        if b.lang == "bash" and not is_install(b) and b.index in wanted
    }
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


def is_install(block: Block) -> bool:
    return bool(re.search(r"^\s*uv pip install\b", block.code, re.M))


def tail(text: str, n: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-n:])


@pytest.mark.parametrize("block", blocks_of("bash"))
def test_bash_block(block: Block, bash_runs: dict[int, Future] | None, request: pytest.FixtureRequest) -> None:
    if is_install(block):
        check_installed_like_uv_pip_install_e()
        pytest.skip(
            "`uv pip install -e .` is not run: it would reinstall the project into the environment this test suite "
            "runs in (uv sync has already installed it in editable mode, which is what the command does - checked "
            "above), and running it against a copy would need a fresh environment with every dependency "
            "(CatBoost, onnxruntime, pandas, pyarrow), which uv cannot resolve offline without the lock"
        )
    if bash_runs is None:
        pytest.skip("uv is not on PATH, and every command of the README is `uv run ...`")
    ws, runs = bash_runs[block.index].result()
    expected = bash_commands(block.code)
    for run in runs:
        request.node.add_report_section("call", "seed commands", f"{run.seconds:5.1f} s  {run.command}")
        assert run.returncode == 0, (
            f"`{run.command}` exited {run.returncode}\n--- stderr ---\n{tail(run.stderr)}\n"
            f"--- stdout ---\n{tail(run.stdout)}"
        )
        assert "Traceback" not in run.stderr, f"`{run.command}` printed a traceback:\n{tail(run.stderr)}"
        inputs, outputs = command_files(run.command)
        for name in inputs:
            assert local(ws, name).exists(), f"prepared input {name} is missing"
        supplied = None
        if "--metadata" in run.argv:
            supplied = json.loads(run.argv[run.argv.index("--metadata") + 1])
        for name in outputs:
            path = local(ws, name)
            if path.suffix in MODEL_SUFFIXES:
                meta = check_model_file(path, run.before, supplied)
                if "--no-validate" in run.argv:
                    assert meta["artifact"]["checks"] == [], "--no-validate skips the checks"
                elif "export_model" in run.command:
                    assert meta["artifact"]["checks"], "an export is checked by default (--validate)"
            else:
                assert stamp(path) != run.before.get(path), f"{name} was not written"
                check_store(path)
    assert len(runs) == len(expected), "a command failed, so the block stopped"
    assert expected, "a bash block without commands"


def check_installed_like_uv_pip_install_e() -> None:
    """What `uv pip install -e .` leaves behind: the project installed in editable mode from this directory, with
    the seed's console scripts."""
    dist = importlib_metadata.distribution("smoothtask-trainer")
    direct = json.loads(dist.read_text("direct_url.json") or "{}")
    assert direct.get("dir_info", {}).get("editable") is True, "the project is installed in editable mode"
    assert Path(direct["url"].removeprefix("file://")).resolve() == ROOT
    scripts = {ep.name for ep in dist.entry_points if ep.group == "console_scripts"}
    seed_scripts = {
        m.group(1) for b in BLOCKS if b.lang == "bash" for m in re.finditer(r"uv run (smoothtask_trainer\.\w+)", b.code)
    }
    assert seed_scripts <= scripts, f"console scripts missing from pyproject.toml: {sorted(seed_scripts - scripts)}"
    bindir = Path(sys.executable).parent
    for name in seed_scripts | {"smoothtask-trainer"}:
        assert (bindir / name).is_file(), f"{name} is not installed in {bindir} (run `uv sync`)"


# ---- json and yaml ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", blocks_of("json"))
def test_json_block_is_valid_export_metadata(block: Block) -> None:
    from smoothtask_trainer.schemas.model import ExportMetadata

    seed = json.loads(block.code)
    meta = ExportMetadata.model_validate(seed, strict=True)
    dumped = meta.model_dump()
    assert {k: dumped[k] for k in seed} == seed, "every key of the example keeps its value"


@pytest.mark.parametrize("block", blocks_of("yaml"))
def test_yaml_block_is_corrected_by_docs(block: Block) -> None:
    """The seed's daemon config uses a `ranker:` section the daemon does not read; docs/model.md gives the keys
    the daemon does read (`model.enabled`, `model.model_path`, and `policy_mode: hybrid` to use the model)."""
    assert re.search(r"^ranker:\s*$", block.code, re.M), "the seed's block is the `ranker:` example"
    model_md = (ROOT / "docs" / "model.md").read_text()
    deploy = [b for b in re.findall(r"^```yaml\n(.*?)^```", model_md, re.S | re.M) if "model_path" in b]
    assert deploy, "docs/model.md shows the daemon's YAML for a model"
    for text in deploy:
        assert re.search(r"^policy_mode: hybrid$", text, re.M)
        section = re.search(r"^model:\n((?:[ ]{2}.*\n)+)", text, re.M)
        assert section, "a top-level `model:` section"
        assert re.search(r"^  enabled: true$", section.group(1), re.M)
        assert re.search(r"^  model_path: /\S+\.onnx$", section.group(1), re.M), "an absolute path to the .onnx"
        assert not re.search(r"^ranker:", text, re.M)


# ---- the test itself covers the README -------------------------------------------------------------------------


def test_every_block_is_covered_and_every_path_replaced() -> None:
    langs = {b.lang for b in BLOCKS}
    assert langs <= {"bash", "python", "json", "yaml"}, f"a block in an unexpected language: {langs}"
    assert sum(b.lang == "bash" for b in BLOCKS) >= 10 and sum(b.lang == "python" for b in BLOCKS) >= 5
    code = "\n".join(b.code for b in BLOCKS if b.lang in ("bash", "python"))
    named = set(_PATHLIKE_RE.findall(code))
    assert named <= set(PATHS), f"paths this test does not replace: {sorted(named - set(PATHS))}"
    for token in _PATHLIKE_RE.findall(substitute(code, Path("/ws"))):
        assert token.startswith("/ws/"), f"{token} is not replaced"
    for block in BLOCKS:
        if block.lang == "bash":
            assert all(command.startswith("uv ") for command in bash_commands(block.code)), block.id


def test_bash_commands_are_split_like_bash() -> None:
    code = (
        "# a comment\nuv run a \\\n    --x 1 \\\n    --y 2\n\n# another\nuv run python -c \"\nimport x\nx.f('a')\n\"\n"
    )
    assert bash_commands(code) == ["uv run a --x 1 --y 2", "uv run python -c \"\nimport x\nx.f('a')\n\""]
    line = "--snapshots snapshots.jsonl snapshots2.jsonl.gz --db /var/lib/smoothtask/snapshots.sqlite"
    assert substitute(line, Path("/w")) == (
        "--snapshots /w/snapshots.jsonl /w/snapshots2.jsonl.gz --db /w/var/lib/smoothtask/snapshots.sqlite"
    )
