"""The committed completion scripts are Typer's, current, and complete at TAB time.

`SMOOTHTASK_UPDATE_SNAPSHOTS=1 uv run pytest tests/test_completions.py` rewrites the scripts instead of failing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from smoothtask_trainer.cli import app
from tools import docgen as docsgen

SHELLS = list(docsgen.COMPLETION_FILES)
UPDATE = os.environ.get(docsgen.UPDATE_ENV) == "1"


def committed(shell: str) -> Path:
    return docsgen.COMPLETIONS / docsgen.COMPLETION_FILES[shell]


def command_names() -> list[str]:
    root = typer.main.get_command(app)
    ctx = typer.Context(root, info_name=docsgen.PROG)
    return [n for n in root.list_commands(ctx) if not root.get_command(ctx, n).hidden]


def program_dir() -> Path:
    """The directory holding the installed `smoothtask-trainer` console script (the venv's bin)."""
    found = shutil.which(docsgen.PROG) or shutil.which(docsgen.PROG, path=str(Path(sys.executable).parent))
    assert found, "the smoothtask-trainer console script is installed (uv sync)"
    return Path(found).parent


def program_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("_SMOOTHTASK", "_TYPER", "COMP_"))}
    env["PATH"] = f"{program_dir()}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@pytest.mark.parametrize("shell", SHELLS)
def test_committed_script_is_current(shell: str) -> None:
    problem = docsgen.sync_snapshot(
        committed(shell), docsgen.completion_script(shell), update=UPDATE, test="tests/test_completions.py"
    )
    assert problem is None, problem


@pytest.mark.parametrize("shell", SHELLS)
def test_script_is_what_show_completion_prints(shell: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The committed file is exactly what `--show-completion SHELL` prints (and `--install-completion` writes)."""
    # Typer's switch for `--show-completion SHELL` instead of detecting the running shell; it is read when the
    # command tree is built, before CliRunner applies its `env`
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    res = CliRunner().invoke(app, ["--show-completion", shell], prog_name=docsgen.PROG)
    assert res.exit_code == 0, res.output
    assert res.stdout == committed(shell).read_text()


@pytest.mark.parametrize(
    ("shell", "installed"),
    [
        ("bash", ".bash_completions/smoothtask-trainer.sh"),
        ("zsh", ".zfunc/_smoothtask-trainer"),
        ("fish", ".config/fish/completions/smoothtask-trainer.fish"),
    ],
)
def test_install_completion_installs_the_committed_script(
    shell: str, installed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--install-completion` (what the README offers besides the files) writes the same script under $HOME."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    res = CliRunner().invoke(app, ["--install-completion", shell], prog_name=docsgen.PROG)
    assert res.exit_code == 0, res.output
    assert f"{shell} completion installed in {tmp_path / installed}" in res.stdout
    assert (tmp_path / installed).read_text().rstrip("\n") == committed(shell).read_text().rstrip("\n")


def test_scripts_register_the_program_and_call_it_back() -> None:
    scripts = {shell: committed(shell).read_text() for shell in SHELLS}
    for text in scripts.values():
        assert f"{docsgen.COMPLETE_VAR}=complete_" in text or f"{docsgen.COMPLETE_VAR} = " in text
    assert "complete -o default -F _smoothtask_trainer_completion smoothtask-trainer" in scripts["bash"]
    assert scripts["zsh"].splitlines()[0] == "#compdef smoothtask-trainer"  # compinit reads only the first line
    assert "compdef _smoothtask_trainer_completion smoothtask-trainer" in scripts["zsh"]
    assert scripts["fish"].startswith("complete --command smoothtask-trainer ")
    assert "Register-ArgumentCompleter -Native -CommandName smoothtask-trainer" in scripts["powershell"]


def test_completion_script_rejects_an_unknown_shell() -> None:
    with pytest.raises(ValueError, match="shell must be one of"):
        docsgen.completion_script("tcsh")


# ---- TAB time: the scripts run the program with the completion variables set ----------------------------------


BASH_TAB = r"""
set -u
source "$1"
complete -p smoothtask-trainer
shift
for line in "$@"; do
    read -ra COMP_WORDS <<< "$line"
    [[ "$line" == *" " ]] && COMP_WORDS+=("")
    COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
    COMPREPLY=()
    _smoothtask_trainer_completion smoothtask-trainer "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s\t%s\n' "$line" "${COMPREPLY[*]}"
done
"""


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_at_tab_time() -> None:
    """Source the committed script in a real bash and press TAB: the function calls the installed program."""
    lines = [
        "smoothtask-trainer co",
        "smoothtask-trainer ",
        "smoothtask-trainer train --model-",
        "smoothtask-trainer simulate --format ",
        "smoothtask-trainer --ver",
    ]
    res = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", BASH_TAB, "bash", str(committed("bash")), *lines],
        capture_output=True,
        text=True,
        timeout=120,
        env=program_env(),
    )
    assert res.returncode == 0, res.stderr
    out = res.stdout.splitlines()
    assert out[0] == "complete -o default -F _smoothtask_trainer_completion smoothtask-trainer"
    offered = {line: reply.split() for line, reply in (row.split("\t") for row in out[1:])}
    assert offered["smoothtask-trainer co"] == ["collect"]
    assert offered["smoothtask-trainer "] == command_names()
    assert sorted(offered["smoothtask-trainer train --model-"]) == ["--model-cbm", "--model-json", "--model-onnx"]
    assert offered["smoothtask-trainer simulate --format "] == ["jsonl", "jsonl-nested", "sqlite"]
    assert offered["smoothtask-trainer --ver"] == ["--verbose", "--version"]


def test_program_answers_each_shells_protocol() -> None:
    """What the bash, zsh, fish and PowerShell scripts ask the program at TAB time, in-process (those shells are
    not needed: these are the variables each committed script sets before it runs the program)."""
    line = {"_TYPER_COMPLETE_ARGS": "smoothtask-trainer co"}
    asks = {
        "bash": {"COMP_WORDS": "smoothtask-trainer co", "COMP_CWORD": "1"},
        "zsh": line,
        "fish": {**line, "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
        "powershell": {**line, "_TYPER_COMPLETE_WORD_TO_COMPLETE": "co"},
    }
    for shell, env in asks.items():
        script = committed(shell).read_text()
        assert f"complete_{shell}" in script
        assert all(name in script for name in env if name.startswith("_TYPER")), shell
        res = CliRunner().invoke(
            app, [], env={**env, docsgen.COMPLETE_VAR: f"complete_{shell}"}, prog_name=docsgen.PROG
        )
        assert res.exit_code == 0, (shell, res.output)
        assert "collect" in res.stdout, (shell, res.stdout)
        assert "simulate" not in res.stdout, (shell, res.stdout)
    assert "collect:::Ingest snapshot logs" in res.stdout  # PowerShell also gets the help text
