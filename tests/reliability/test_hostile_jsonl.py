"""Hostile JSONL: deep nesting, over-long lines, a BOM inside gzip, binary inside gzip, all-bad files, bad pids and
duplicate keys. Each bad line is a located bad record (`file:line: reason`), never a traceback or a lost file."""

from __future__ import annotations

import gzip
import json
import os
import random
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from smoothtask_trainer.errors import IngestFailed
from smoothtask_trainer.services import collect as collect_service
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.settings import CollectSettings
from tests import factories as F
from tests.reliability.conftest import run_cli

DEPTH = 100_000
MiB = 1 << 20


def count(db: Path, table: str = "snapshots") -> int:
    with sqlite3.connect(db) as con:
        return con.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def deep_records() -> list[dict | str]:
    """Line 2: an ignored key nested 100,000 levels deep; line 4: the same in `extended_sensors` (kept raw)."""
    head = json.dumps(F.snapshot(1))[:-1]
    nested = json.dumps(F.snapshot(3, nested=True))
    sensors = '"extended_sensors": {"temperatures": [["cpu", 41.5]]}'
    assert sensors in nested
    return [
        F.snapshot(0),
        head + ', "debug": ' + "[" * DEPTH + "]" * DEPTH + "}",
        F.snapshot(2),
        nested.replace(sensors, '"extended_sensors": ' + "[" * DEPTH + "]" * DEPTH),
        F.snapshot(4),
    ]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_deep_nesting_is_a_located_bad_record_through_the_cli(tmp_path: Path, gz: bool) -> None:
    src = F.write_jsonl(tmp_path / ("deep.jsonl.gz" if gz else "deep.jsonl"), deep_records(), gz=gz)
    later = F.write_jsonl(tmp_path / "later.jsonl", [F.snapshot(10)])
    res = run_cli("collect", str(src), str(later), "--db", "s.db", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    for line in (2, 4):
        assert f"{src}:{line}: skipped: a value is nested too deeply" in res.stderr
    doc = json.loads(res.stdout)
    assert [f["status"] for f in doc["files"]] == ["ingested", "ingested"]
    assert doc["files"][0]["skipped_records"] == 2
    assert count(tmp_path / "s.db") == 4  # lines 1, 3, 5 of the first file and the later file


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_deep_nesting_in_the_decoder_process(tmp_path: Path, gz: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", 0)
    src = F.write_jsonl(tmp_path / "deep.jsonl", deep_records(), gz=gz)
    later = F.write_jsonl(tmp_path / "later.jsonl", [F.snapshot(10)])
    result = collect([src, later], tmp_path / "s.db", CollectSettings(parallel=True))
    assert [f.status for f in result.files] == ["ingested", "ingested"]
    assert [(s.line, s.reason.split(" (")[0]) for s in result.files[0].first_skipped] == [
        (2, "a value is nested too deeply to decode"),
        (4, "a value is nested too deeply to decode"),
    ]
    assert count(tmp_path / "s.db") == 4


_MEASURED = """\
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True)
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout.decode(), "stderr": proc.stderr.decode(),
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_measured(*args: str, cwd: Path, env: dict[str, str]) -> dict:
    """The CLI in a fresh subprocess, with the peak RSS of it and its children (the decoder process) in KiB."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SMOOTHTASK_")}
    full_env.update({"NO_COLOR": "1", "COLUMNS": "120", **env})
    wrapper = [sys.executable, "-c", _MEASURED, sys.executable, "-m", "smoothtask_trainer", *args]
    out = subprocess.run(wrapper, cwd=cwd, env=full_env, capture_output=True, timeout=300, check=True)
    return json.loads(out.stdout)


def write_nul_tail_log(path: Path, nul_bytes: int) -> None:
    """Lines 1-2 good, 3 `nul_bytes` NULs, 4-5 good, 6 broken JSON, 7 good, 8 NULs again (no newline after)."""
    good = F.lines([F.snapshot(0), F.snapshot(1)])
    after = F.lines([F.snapshot(2), F.snapshot(3), "{oops", F.snapshot(4)])
    with path.open("wb") as fh:
        fh.write(good)
        for _ in range(nul_bytes // MiB):
            fh.write(b"\0" * MiB)
        fh.write(b"\n" + after)
        fh.write(b"\0" * (nul_bytes // 4))


@pytest.mark.parametrize("parallel", ["--no-parallel", "--parallel"])
def test_a_huge_line_is_skipped_with_bounded_memory(tmp_path: Path, parallel: str) -> None:
    env = {"SMOOTHTASK_COLLECT__MAX_LINE_BYTES": str(MiB)}
    small = tmp_path / "small.jsonl"
    write_nul_tail_log(small, MiB // 2)  # no line over the limit: the baseline's memory
    big = tmp_path / "big.jsonl"
    nul = 20 * MiB  # with the decoder process (>= 16 MiB of input) when --parallel
    write_nul_tail_log(big, nul)
    base = run_measured("collect", str(small), "--db", "base.db", parallel, cwd=tmp_path, env=env)
    res = run_measured("collect", str(big), "--db", "s.db", parallel, "--json", cwd=tmp_path, env=env)
    assert base["rc"] == 0 and res["rc"] == 0, res["stderr"]
    assert "Traceback" not in res["stderr"]
    assert f"{big}:3: skipped: line is longer than 1,048,576 bytes ({nul:,} bytes" in res["stderr"]
    assert f"{big}:6: skipped: not valid JSON" in res["stderr"]  # line numbers after the long line are exact
    assert f"{big}:8: skipped: line is longer than 1,048,576 bytes ({nul // 4:,} bytes" in res["stderr"]
    report = json.loads(res["stdout"])["files"][0]
    assert report["skipped_records"] == 3 and report["records_read"] == 8
    assert report["size_bytes"] == big.stat().st_size
    assert report["sha256"] == collect_service.sha256_file(big)
    assert count(tmp_path / "s.db") == 5
    # Holding the line (or copying it per chunk) costs at least its 20 MB; the reader holds about one chunk.
    grown_kib = res["maxrss_kib"] - base["maxrss_kib"]
    assert grown_kib < 8 * 1024, (res["maxrss_kib"], base["maxrss_kib"])


def test_a_line_at_the_limit_is_decoded_one_byte_more_is_not(tmp_path: Path) -> None:
    recs = [F.snapshot(0), F.snapshot(1)]
    limit = max(len(json.dumps(r)) for r in recs) + 100
    for rec in recs:
        rec["pad"] = ""
        rec["pad"] = "x" * (limit - len(json.dumps(rec)))
    assert [len(json.dumps(r)) for r in recs] == [limit, limit]
    short = {"snapshot_id": 1, "timestamp": "2025-12-12T06:33:00+00:00"}
    src = F.write_jsonl(tmp_path / "a.jsonl", [*recs, short])
    at_limit = collect([src], tmp_path / "a.db", CollectSettings(parallel=False, max_line_bytes=limit))
    assert at_limit.files[0].snapshots_inserted == 3 and at_limit.files[0].skipped_records == 0
    over = collect([src], tmp_path / "b.db", CollectSettings(parallel=False, max_line_bytes=limit - 1))
    assert over.files[0].snapshots_inserted == 1
    expected = f"line is longer than {limit - 1:,} bytes ({limit:,} bytes"
    assert [(s.line, s.reason[: len(expected)]) for s in over.files[0].first_skipped] == [(1, expected), (2, expected)]


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_a_utf8_bom_is_dropped_at_the_start_only(tmp_path: Path, gz: bool) -> None:
    data = b"\xef\xbb\xbf" + F.lines([F.snapshot(0), F.snapshot(1)]) + b"\xef\xbb\xbf" + F.lines([F.snapshot(2)])
    src = tmp_path / ("bom.jsonl.gz" if gz else "bom.jsonl")
    src.write_bytes(gzip.compress(data) if gz else data)
    report = collect([src], tmp_path / "s.db", CollectSettings(parallel=False)).files[0]
    assert report.snapshots_inserted == 2
    assert [(s.line, s.reason.split(" (")[0]) for s in report.first_skipped] == [(3, "not valid JSON")]


def test_gzip_of_binary_is_refused_as_not_a_snapshot_log(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(200_000)
    assert not noise.lstrip().startswith(b"{")
    src = tmp_path / "noise.jsonl.gz"
    src.write_bytes(gzip.compress(noise))
    res = run_cli("collect", str(src), "--db", "s.db", cwd=tmp_path)
    assert res.returncode == 1, res.stderr  # as for a plain file that is not a snapshot log
    assert f"{src}:1: not a snapshot log" in res.stderr and "inside the gzip data" in res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "s.db").exists()
    # In a directory it is left out, like any file that is not a snapshot log.
    (tmp_path / "logs").mkdir()
    src.rename(tmp_path / "logs" / src.name)
    F.write_jsonl(tmp_path / "logs" / "good.jsonl.gz", [F.snapshot(0)], gz=True)
    res = run_cli("collect", "logs", "--db", "s.db", "--json", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert [f["source"] for f in json.loads(res.stdout)["files"]] == [str(Path("logs") / "good.jsonl.gz")]


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
def test_a_file_without_one_decodable_record_fails(
    tmp_path: Path, parallel: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(collect_service, "_PARALLEL_MIN_BYTES", 0)
    first = F.write_jsonl(tmp_path / "a.jsonl", [F.snapshot(0)])
    junk = F.write_jsonl(tmp_path / "b.jsonl", ["", '{"not": "a snapshot"}', "{oops", ""])
    with pytest.raises(IngestFailed) as info:
        collect([first, junk], tmp_path / "s.db", CollectSettings(parallel=parallel))
    assert str(info.value).startswith(f"{junk}:2: ")
    assert [f.status for f in info.value.result.files] == ["ingested", "failed"]
    assert count(tmp_path / "s.db") == 1
    # An empty file is not a bad one: it is ingested with nothing in it.
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n\n")
    assert collect([empty], tmp_path / "s.db", CollectSettings(parallel=parallel)).files[0].status == "ingested"


def test_negative_pids_are_bad_records_naming_the_field(tmp_path: Path) -> None:
    bad = [F.snapshot(i) for i in range(4)]
    bad[0]["processes"][1]["pid"] = -5
    bad[1]["processes"][0]["ppid"] = -1
    bad[2]["app_groups"][1]["root_pid"] = -1.0
    bad[3]["app_groups"][0]["process_ids"] = [100, -101]
    good = F.snapshot(4)
    good["processes"][0]["ppid"] = 0  # the parent of init and of kernel threads
    src = F.write_jsonl(tmp_path / "a.jsonl", [*bad, good])
    report = collect([src], tmp_path / "s.db", CollectSettings(parallel=False)).files[0]
    assert report.snapshots_inserted == 1
    reasons = {s.line: s.reason for s in report.first_skipped}
    assert "$.processes[1].pid" in reasons[1] and ">= 0" in reasons[1]
    assert "$.processes[0].ppid" in reasons[2] and ">= 0" in reasons[2]
    assert "$.app_groups[1].root_pid" in reasons[3] and ">= 0" in reasons[3]
    assert "$.app_groups[0].process_ids" in reasons[4] and "negative pid -101" in reasons[4]
    with sqlite3.connect(tmp_path / "s.db") as con:
        assert con.execute("SELECT MIN(ppid) FROM processes").fetchone()[0] == 0


def test_duplicate_keys_keep_the_last_value_each_checked(tmp_path: Path) -> None:
    rec = F.snapshot(0)
    text = json.dumps(rec)
    # the first process object: pid given twice; the snapshot: timestamp given twice
    first_pid = f'"pid": {rec["processes"][0]["pid"]}'
    assert first_pid in text
    twice = text.replace(first_pid, f'"pid": 7, {first_pid}', 1).replace(
        '"timestamp": ', '"timestamp": "yesterday", "timestamp": ', 1
    )
    checked = text.replace(first_pid, f'"pid": "seven", {first_pid}', 1)
    src = F.write_jsonl(tmp_path / "a.jsonl", [twice, checked])
    report = collect([src], tmp_path / "s.db", CollectSettings(parallel=False)).files[0]
    assert report.snapshots_inserted == 1
    assert [(s.line, "$.processes[0].pid" in s.reason) for s in report.first_skipped] == [(2, True)]
    with sqlite3.connect(tmp_path / "s.db") as con:
        pids = sorted(r[0] for r in con.execute("SELECT pid FROM processes"))
        ts = con.execute("SELECT timestamp FROM snapshots").fetchone()[0]
    assert pids == sorted(p["pid"] for p in rec["processes"])
    assert ts == rec["timestamp"]
