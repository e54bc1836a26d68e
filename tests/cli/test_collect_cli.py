"""The CLI contract of `collect`: exit codes, one JSON document under --json, stdout/stderr split."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from tests import factories as F
from tests.clirun import invoke as run


def test_human_output_is_a_table_on_stdout(tmp_path: Path) -> None:
    F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), F.snapshot(1)])
    res = run("collect", "a.jsonl", "--db", "store.db")
    assert res.exit_code == 0, res.output
    assert "a.jsonl" in res.stdout and "ingested" in res.stdout
    assert "Store now holds 2 snapshots" in res.stdout
    assert res.stderr == ""


def test_json_is_exactly_one_document(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    for args in (
        ("--json", "collect", str(src), "--db", "s1.db"),
        ("collect", str(src), "--db", "s2.db", "--json"),
    ):
        res = run(*args)
        assert res.exit_code == 0
        doc = json.loads(res.stdout)
        assert doc["ok"] is True and doc["inserted"]["snapshots"] == 1
        assert doc["files"][0]["status"] == "ingested"


def test_quiet_prints_only_the_count(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), F.snapshot(1)])
    res = run("-q", "collect", str(src), "--db", "s.db")
    assert res.exit_code == 0 and res.stdout == "2\n"


def test_skipped_lines_are_warned_on_stderr_with_file_and_line(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), "{oops"])
    res = run("collect", str(src), "--db", "s.db", "--json")
    assert res.exit_code == 0
    assert f"{src}:2: skipped: not valid JSON" in res.stderr
    assert json.loads(res.stdout)["files"][0]["skipped_records"] == 1


def test_strict_failure_exits_1_with_report_and_no_traceback(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), "{oops"])
    res = run("collect", str(src), "--db", "s.db", "--strict", "--json")
    assert res.exit_code == 1
    assert f"{src}:2: not valid JSON" in res.stderr and "Traceback" not in res.stderr
    doc = json.loads(res.stdout)
    assert doc["ok"] is False and doc["files"][0]["status"] == "failed"
    assert not (tmp_path / "s.db").exists()  # created by this run and left empty: removed


def test_usage_and_config_errors_exit_2(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    assert run("collect", str(src)).exit_code == 2  # --db missing
    assert run("collect", str(src), "--db", "s.db", "--max-errors", "-1").exit_code == 2
    res = run("collect", str(src), "--db", "s.db", "--strict", "--max-errors", "3")
    assert res.exit_code == 2 and "--strict" in res.stderr
    res = run("collect", str(tmp_path / "missing.jsonl"), "--db", "s.db")
    assert res.exit_code == 2 and "missing.jsonl does not exist" in res.stderr
    res = run("collect", str(src), "--db", str(src))
    assert res.exit_code == 2 and "same file as the input" in res.stderr
    res = run("collect", str(src), "--db", "s.db", env={"SMOOTHTASK_COLLECT__MAX_ERRORS": "many"})
    assert res.exit_code == 2 and "SMOOTHTASK_COLLECT__MAX_ERRORS" in res.stderr
    bad_toml = tmp_path / "c.toml"
    bad_toml.write_text("[collect]\nmax_error = 3\n")
    res = run("--config", str(bad_toml), "collect", str(src), "--db", "s.db", "--json")
    assert res.exit_code == 2 and "unknown setting 'collect.max_error'" in res.stderr and str(bad_toml) in res.stderr
    assert json.loads(res.stdout)["ok"] is False


def test_settings_precedence_flag_env_file(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0), "{bad", "{bad"])
    cfg = tmp_path / "c.toml"
    cfg.write_text("[collect]\nmax_errors = 0\n")
    assert run("-c", str(cfg), "collect", str(src), "--db", "a.db").exit_code == 1  # file: strict
    env = {"SMOOTHTASK_COLLECT__MAX_ERRORS": "5"}
    assert run("-c", str(cfg), "collect", str(src), "--db", "b.db", env=env).exit_code == 0  # env beats file
    args = ("-c", str(cfg), "collect", str(src), "--db", "c.db", "--max-errors", "1")
    assert run(*args, env=env).exit_code == 1  # flag beats env


def test_unexpected_schema_is_a_runtime_error_with_a_hint(tmp_path: Path) -> None:
    src = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    with sqlite3.connect(tmp_path / "other.db") as con:
        con.execute("CREATE TABLE snapshots (id INTEGER)")
    res = run("collect", str(src), "--db", "other.db")
    assert res.exit_code == 1
    assert "does not have the SmoothTask snapshot schema" in res.stderr and "hint:" in res.stderr
