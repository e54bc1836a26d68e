"""`replay` on stores: equal to the scalar reference computed the slow way, the logged group order kept by `collect`
from every source kind, and the command line."""

from __future__ import annotations

import gzip
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest

from smoothtask_trainer.contract import replay as ref
from smoothtask_trainer.services.collect import collect
from smoothtask_trainer.services.replay import replay
from smoothtask_trainer.settings import CollectSettings
from smoothtask_trainer.simulator import write_snapshots
from tests.clirun import invoke


def reference_snapshots(db: Path, ranked: bool) -> list[ref.Snapshot]:
    """The store read the slow, obvious way: one query per snapshot, members as objects."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    out = []
    for s in con.execute("SELECT * FROM snapshots ORDER BY snapshot_id").fetchall():
        groups = []
        for g in con.execute("SELECT * FROM app_groups WHERE snapshot_id = ? ORDER BY rowid", (s["snapshot_id"],)):
            members = [
                ref.Member(
                    exe=p["exe"],
                    cgroup_path=p["cgroup_path"],
                    is_audio_client=bool(p["is_audio_client"]),
                    has_active_stream=bool(p["has_active_stream"]),
                    has_tty=bool(p["has_tty"]),
                    env_term=p["env_term"],
                )
                for p in con.execute(
                    "SELECT * FROM processes WHERE snapshot_id = ? AND app_group_id = ? ORDER BY rowid",
                    (s["snapshot_id"], g["app_group_id"]),
                )
            ]
            group = ref.Group(
                g["app_group_id"],
                is_focused_group=bool(g["is_focused_group"]),
                has_gui_window=bool(g["has_gui_window"]),
                total_cpu_share=g["total_cpu_share"],
                tags=json.loads(g["tags"] or "[]"),
                members=members,
            )
            group.score = ref.stub_score(group) if ranked else None
            groups.append(group)
        out.append(
            ref.Snapshot(
                s["snapshot_id"],
                groups,
                **{k: s[k] for k in ("psi_cpu_some_avg10", "psi_io_some_avg10", "psi_mem_some_avg10")},
                sched_latency_p99_ms=s["sched_latency_p99_ms"],
                ui_loop_p95_ms=s["ui_loop_p95_ms"],
                audio_xruns_delta=s["audio_xruns_delta"],
                time_since_last_input_ms=s["time_since_last_input_ms"],
                user_active=bool(s["user_active"]),
                load_avg_one=s["load_avg_one"] or 0.0,
                mem_total_kb=s["mem_total_kb"] or 0,
                mem_available_kb=s["mem_available_kb"] or 0,
            )
        )
    con.close()
    return out


@pytest.fixture(scope="module", params=["stock", "full"])
def sim(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A stock daemon's log, and a full one (stable group ids, so hysteresis holds; tags and activity filled)."""
    path = tmp_path_factory.mktemp("replay") / "sim.db"
    write_snapshots(path, "sqlite", count=60, seed=5, scale=0.4, daemon_profile=request.param)
    return path


@pytest.mark.parametrize("ranker", ["none", "stub"])
def test_the_store_replay_equals_the_slow_reference(sim: Path, tmp_path: Path, ranker: str) -> None:
    out = tmp_path / "classes.csv"
    report = replay(sim, ranker=ranker, ncpu=2, classes_out=out)
    got = pd.read_csv(out, keep_default_na=False)
    expected = [
        d
        for snap in ref.replay(reference_snapshots(sim, ranker == "stub"), ranked=ranker == "stub", ncpu=2)
        for d in snap
    ]
    assert list(zip(got["class"], got["reason"], strict=True)) == expected
    assert report.groups == len(expected) and report.scaled > 0 and report.bad_responsiveness.mismatches == 0


def _source_order(path: Path) -> list[list[str]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:
        return [[g["app_group_id"] for g in json.loads(line)["app_groups"]] for line in fh if line.strip()]


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl-nested", "sqlite"])
def test_collect_keeps_the_logged_group_order(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / ("src.db" if fmt == "sqlite" else "src.jsonl")
    write_snapshots(src, fmt, count=12, seed=3, scale=0.4)
    db = tmp_path / "store.db"
    collect([str(src)], db, CollectSettings(parallel=False))
    if fmt == "sqlite":
        with sqlite3.connect(src) as con:
            rows = con.execute("SELECT snapshot_id, app_group_id FROM app_groups ORDER BY snapshot_id, rowid")
            expected: dict[int, list[str]] = {}
            for sid, gid in rows:
                expected.setdefault(sid, []).append(gid)
        logged = list(expected.values())
    else:
        logged = _source_order(src)
    with sqlite3.connect(db) as con:
        stored: dict[int, list[str]] = {}
        for sid, gid in con.execute("SELECT snapshot_id, app_group_id FROM app_groups ORDER BY snapshot_id, rowid"):
            stored.setdefault(sid, []).append(gid)
    assert list(stored.values()) == logged
    assert any(order != sorted(order) for order in logged)  # the logged order is not just sorted ids


def test_replay_command(sim: Path, tmp_path: Path) -> None:
    res = invoke("replay", "--db", str(sim), "--ranker", "stub", "--ncpu", "2", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["ranker"] == "stub" and doc["ncpu"] == 2 and sum(doc["class_mix"].values()) == doc["groups"]
    with sqlite3.connect(sim) as con:
        stock = con.execute("SELECT COUNT(total_cpu_share) FROM app_groups").fetchone()[0] == 0
    assert any("R5" in u["rules"] for u in doc["unreachable"]) is stock  # a full daemon logs CPU shares
    conflict = invoke("replay", "--db", str(sim), "--ranker", "stub", "--rules-only")
    assert conflict.exit_code == 2 and "--rules-only" in conflict.output
    cfg = tmp_path / "smoothtask.yml"
    cfg.write_text("policy_mode: hybrid  # stub\nmodel:\n  enabled: false\nthresholds:\n  normal_percentile: 0.5\n")
    res = invoke("replay", "--db", str(sim), "--daemon-config", str(cfg), "--ncpu", "2", "--json")
    doc = json.loads(res.stdout)
    assert doc["ranker"] == "stub" and doc["thresholds"]["normal_percentile"] == 0.5
    assert invoke("replay", "--db", str(sim), "--classes-out", str(sim)).exit_code == 2  # never over the store


def test_two_policies_side_by_side(sim: Path, tmp_path: Path) -> None:
    from smoothtask_trainer.services.replay import PolicySpec

    same = replay(sim, ranker="stub", ncpu=2, against=PolicySpec("stub"))
    assert same.diff is not None and same.diff.differing == 0 and same.diff.sample == []
    other = replay(sim, ranker="stub", ncpu=2, against=PolicySpec("none"))
    d = other.diff
    assert d is not None and d.differing > 0 and 0 < len(d.sample) <= 12
    assert d.differing == sum(n for row in d.transitions.values() for n in row.values())
    assert all(r.this != r.against for r in d.sample) and other.against.ranker == "none"
    cfg = tmp_path / "alt.yml"
    cfg.write_text("policy_mode: hybrid\nmodel:\n  enabled: false\nthresholds:\n  interactive_percentile: 0.5\n")
    res = invoke("replay", "--db", str(sim), "--ranker", "stub", "--ncpu", "2", "--against-config", str(cfg), "--json")
    doc = json.loads(res.stdout)
    assert res.exit_code == 0 and doc["against"]["thresholds"]["interactive_percentile"] == 0.5
    assert doc["diff"]["differing"] > 0


def test_a_config_the_daemon_would_refuse_is_reported(sim: Path, tmp_path: Path) -> None:
    from smoothtask_trainer.contract.thresholds import DEFAULTS

    good = tmp_path / "good.yml"
    body = "".join(f"  {k}: {'null' if v is None else v}\n" for k, v in DEFAULTS.items())
    good.write_text("policy_mode: hybrid\nmodel:\n  enabled: false\nthresholds:\n" + body)
    doc = json.loads(invoke("replay", "--db", str(sim), "--daemon-config", str(good), "--ncpu", "2", "--json").stdout)
    assert doc["config_problems"] == [] and doc["ranker"] == "stub"
    bad = tmp_path / "bad.yml"
    bad.write_text(good.read_text().replace("normal_percentile: 0.3", "normal_percentile: 0.7"))
    res = invoke("replay", "--db", str(sim), "--daemon-config", str(bad), "--ncpu", "2", "--json")
    problems = json.loads(res.stdout)["config_problems"]
    assert res.exit_code == 0 and len(problems) == 1 and "background <= normal <= interactive" in problems[0]
