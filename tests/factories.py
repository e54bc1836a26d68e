"""Tiny hand-made snapshot records whose every value a test can predict."""

from __future__ import annotations

import gzip
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from smoothtask_trainer import contract

BASE_ID = 1_765_520_031_000


def process(pid: int, group: str, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "pid": pid,
        "ppid": 1,
        "uid": 1000,
        "gid": 1000,
        "exe": f"/usr/bin/app{pid}",
        "cmdline": f"app{pid} --flag",
        "cgroup_path": f"/user.slice/app-{group}.scope",
        "systemd_unit": None,
        "app_group_id": group,
        "state": "S",
        "start_time": 1000 + pid,
        "uptime_sec": 60,
        "tty_nr": 0,
        "has_tty": False,
        "cpu_share_1s": None,
        "cpu_share_10s": None,
        "io_read_bytes": 4096 * pid,
        "io_write_bytes": 1024,
        "rss_mb": 100 + pid,
        "swap_mb": 0,
        "voluntary_ctx": 10,
        "involuntary_ctx": 2,
        "has_gui_window": True,
        "is_focused_window": False,
        "window_state": "normal",
        "env_has_display": True,
        "env_has_wayland": False,
        "env_term": None,
        "env_ssh": False,
        "is_audio_client": False,
        "has_active_stream": False,
        "process_type": "browser",
        "tags": ["browser"],
        "nice": 0,
        "ionice_class": 2,
        "ionice_prio": 4,
        "teacher_priority_class": "INTERACTIVE",
        "teacher_score": 0.5,
    }
    rec.update(extra)
    return rec


def group(gid: str, pids: list[int], **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "app_group_id": gid,
        "root_pid": pids[0],
        "process_ids": pids,
        "app_name": f"app{pids[0]}",
        "total_cpu_share": None,
        "total_io_read_bytes": 8192,
        "total_io_write_bytes": 2048,
        "total_rss_mb": 300,
        "has_gui_window": True,
        "is_focused_group": False,
        "tags": ["browser", "media"],
        "priority_class": None,
    }
    rec.update(extra)
    return rec


GLOBAL = {
    "cpu_user": 0.25,
    "cpu_system": 0.05,
    "cpu_idle": 0.68,
    "cpu_iowait": 0.02,
    "mem_total_kb": 16_000_000,
    "mem_used_kb": 6_000_000,
    "mem_available_kb": 10_000_000,
    "swap_total_kb": 2_000_000,
    "swap_used_kb": 0,
    "load_avg_one": 1.5,
    "load_avg_five": 1.2,
    "load_avg_fifteen": 1.0,
    "psi_cpu_some_avg10": 3.5,
    "psi_cpu_some_avg60": 2.0,
    "psi_io_some_avg10": 0.4,
    "psi_mem_some_avg10": 0.0,
    "psi_mem_full_avg10": 0.0,
    "user_active": True,
    "time_since_last_input_ms": 1200,
}
RESPONSIVENESS = {
    "sched_latency_p95_ms": 4.0,
    "sched_latency_p99_ms": 9.0,
    "audio_xruns_delta": 0,
    "ui_loop_p95_ms": 4.0,
    "frame_jank_ratio": None,
    "bad_responsiveness": True,
    "responsiveness_score": 0.8,
}


def snapshot(i: int, *, nested: bool = False, n_groups: int = 2, per_group: int = 2) -> dict[str, Any]:
    """Snapshot number `i`: `n_groups` groups of `per_group` processes, listed out of pid order."""
    sid = BASE_ID + i * 500
    procs, groups = [], []
    for g in range(n_groups):
        pids = [100 + g * 10 + k for k in range(per_group)]
        gid = f"cgroup-{g + i}"
        groups.append(group(gid, pids))
        procs.extend(process(p, gid) for p in reversed(pids))
    rec: dict[str, Any] = {"snapshot_id": sid, "timestamp": f"2025-12-12T06:33:{i % 60:02d}.123456789+00:00"}
    if nested:
        rec["global"] = dict(GLOBAL)
        rec["responsiveness"] = dict(RESPONSIVENESS)
        rec["extended_sensors"] = {"temperatures": [["cpu", 41.5]]}
        for p in procs:
            p.update(energy_uj=None, gpu_utilization=0.0, memory_usage_details={"heap": 1})
    else:
        rec.update(GLOBAL)
        rec.update(RESPONSIVENESS)
    rec["processes"] = procs
    rec["app_groups"] = groups
    return rec


def lines(records: Iterable[dict[str, Any] | str]) -> bytes:
    return b"".join((r if isinstance(r, str) else json.dumps(r)).encode() + b"\n" for r in records)


def write_jsonl(path: Path, records: Iterable[dict[str, Any] | str], *, gz: bool = False) -> Path:
    data = lines(records)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_daemon_db(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """A database as the daemon writes it: its schema, 0/1 flags, JSON text arrays, processes in list order."""
    con = sqlite3.connect(path)
    for table in contract.TABLES:
        con.execute(contract.create_table_sql(table))
    for ddl in contract.create_index_sql():
        con.execute(ddl)
    for rec in records:
        flat = {**rec, **rec.get("global", {}), **rec.get("responsiveness", {})}

        def cell(obj: dict[str, Any], col: str) -> Any:
            v = obj.get(col)
            if col in contract.JSON_ARRAY_COLUMNS and v is not None:
                return json.dumps(v, separators=(",", ":"))
            return int(v) if isinstance(v, bool) else v

        con.execute(contract.insert_sql("snapshots"), [cell(flat, c) for c in contract.column_names("snapshots")])
        for table, key in (("processes", "processes"), ("app_groups", "app_groups")):
            cols = contract.column_names(table)
            for item in rec[key]:
                con.execute(contract.insert_sql(table), [rec["snapshot_id"]] + [cell(item, c) for c in cols[1:]])
    con.commit()
    con.close()
    return path
