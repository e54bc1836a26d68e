"""Benchmark: the replay's policy stage against a per-group Python loop of the same rules, and `replay` against
`validate` on the same store.

    uv run python tests/benchmarks/bench_replay.py [--snapshots 2000] [--repeat 3] [--policy-repeat 10] [--ncpu 4]

Simulates a daemon database, then measures in the same run (best of --policy-repeat rounds for the policy stage,
best of --repeat for the commands, interleaved):
1. the policy stage (flags, rules, ranking, f32 cut-offs, scaling and hysteresis) of `services.replay_engine` on the
   loaded arrays, against `contract.replay` (the scalar reference: one snapshot, one group at a time) on the same
   decisions, checked identical (classes and reasons); target: the engine at least 50x faster. The engine keeps
   its threshold-independent work on the store's arrays (`Groups.cache`), so it is timed twice: the first call on
   a store ("cold": a fresh `Groups` over the loaded arrays, so it includes that preparation; the key codes of
   `app_group_id` are part of the load, as before), and later calls on the same store ("warm": as `tune` makes
   them); for the warm figure the default thresholds repeat, so the hysteresis' forward-fill index for their
   `stable` is reused too; the cost of a new `stable` value on every call is printed alongside;
2. `smoothtask-trainer replay --ranker stub` against `smoothtask-trainer validate` on the store, each as a whole
   process; target: replay at most 1.5x validate;
3. `smoothtask-trainer tune --ranker stub --trials 200` against the same `validate`; target: at most 4x.
"""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import run_measured  # noqa: E402

CLI = [sys.executable, "-m", "smoothtask_trainer"]


def reference_input(g, s):  # noqa: ANN001, ANN201 - the engine's arrays as the reference's objects
    from smoothtask_trainer.contract import replay as ref

    snaps = []
    for i in range(s.snapshot_id.size):

        def val(a, i=i):  # noqa: ANN001, ANN202
            return None if a[i] != a[i] else float(a[i])

        snaps.append(
            ref.Snapshot(
                int(s.snapshot_id[i]),
                [],
                psi_cpu_some_avg10=val(s.psi_cpu),
                psi_io_some_avg10=val(s.psi_io),
                psi_mem_some_avg10=val(s.psi_mem),
                sched_latency_p99_ms=val(s.sched_p99),
                ui_loop_p95_ms=val(s.ui_p95),
                audio_xruns_delta=val(s.xruns),
                time_since_last_input_ms=val(s.tsli),
                user_active=bool(s.user_active[i]),
                load_avg_one=float(s.load_avg_one[i]),
                mem_total_kb=float(s.mem_total_kb[i]),
                mem_available_kb=float(s.mem_available_kb[i]),
            )
        )
    for r in range(g.snap.size):
        members = []
        if g.any_system[r]:
            members.append(ref.Member(exe="/usr/lib/systemd/systemd"))
        if g.any_audio_stream[r]:
            members.append(ref.Member(is_audio_client=True, has_active_stream=True))
        if g.any_tty_term[r]:
            members.append(ref.Member(has_tty=True, env_term="xterm"))
        tags = (["game"] if g.tag_game[r] else []) + (["updater"] if g.tag_background[r] else [])
        tcs = None if g.total_cpu_share[r] != g.total_cpu_share[r] else float(g.total_cpu_share[r])
        group = ref.Group(
            g.app_group_id[r],
            is_focused_group=bool(g.focused[r]),
            has_gui_window=bool(g.gui[r]),
            total_cpu_share=tcs,
            tags=tags,
            members=members,
        )
        group.score = ref.stub_score(group)
        snaps[int(g.snap[r])].groups.append(group)  # type: ignore[attr-defined]
    return snaps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each whole command (replay, validate, tune)")
    ap.add_argument(
        "--policy-repeat", type=int, default=10, help="rounds of the policy stage, loop and engine alike (each ~0.3 s)"
    )
    ap.add_argument("--ncpu", type=int, default=4)
    args = ap.parse_args()
    from smoothtask_trainer.contract import replay as ref
    from smoothtask_trainer.services import replay_engine as eng
    from smoothtask_trainer.services import replay_load

    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        db = Path(tmp) / "sim.db"
        sim = run_measured(
            [*CLI, "simulate", "--output", str(db), "--format", "sqlite", "--snapshots", str(args.snapshots)]
        )
        if sim.returncode != 0:
            sys.exit(sim.stderr)
        with sqlite3.connect(db) as con:
            g, s, _ = replay_load.load(con)
        print(f"store: {args.snapshots:,} snapshots, {g.snap.size:,} group rows; ncpu {args.ncpu}")
        snaps = reference_input(g, s)
        scores = eng.stub_scores(g)
        cold, warm, new_stable, slow, results = [], [], [], [], []
        for i in range(args.policy_repeat):
            fresh = dataclasses.replace(g, cache=None)  # the same arrays, nothing prepared
            t0 = time.perf_counter()
            results.append(eng.replay(fresh, s, scores=scores, ncpu=args.ncpu))
            cold.append(time.perf_counter() - t0)
            for _ in range(5):
                t0 = time.perf_counter()
                d = eng.replay(fresh, s, scores=scores, ncpu=args.ncpu)
                warm.append(time.perf_counter() - t0)
            results.append(d)
            for j in range(5):  # a value not seen before on every call
                t = {"priority_hysteresis_stable_sec": 30 + (i * 5 + j + 1) / 1000}
                t0 = time.perf_counter()
                eng.replay(fresh, s, t, scores=scores, ncpu=args.ncpu)
                new_stable.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            expected = ref.replay(snaps, ranked=True, ncpu=args.ncpu)
            slow.append(time.perf_counter() - t0)
        want = [decision for snap in expected for decision in snap]
        same = all(list(zip(r.classes(), r.reasons(), strict=True)) == want for r in results)
        runs = ", ".join(f"{x * 1000:.0f}" for x in slow)
        print(
            f"policy stage: per-group loop {min(slow) * 1000:.1f} ms (runs {runs}); "
            f"engine cold {min(cold) * 1000:.2f} ms, warm {min(warm) * 1000:.2f} ms "
            f"(new stable each call {min(new_stable) * 1000:.2f} ms); identical decisions and reasons: {same}"
        )
        for name, x in (("cold", cold), ("warm", warm)):
            ratio = min(slow) / min(x)
            print(f"  loop / engine {name} = {ratio:.0f}x  (target >= 50x: {'met' if ratio >= 50 else 'MISSED'})")
        rep, val = [], []
        for _ in range(args.repeat):
            val.append(run_measured([*CLI, "validate", "--db", str(db), "-q"]))
            rep.append(
                run_measured([*CLI, "replay", "--db", str(db), "--ranker", "stub", "--ncpu", str(args.ncpu), "-q"])
            )
        r, v = min(x.seconds for x in rep), min(x.seconds for x in val)
        print(
            f"replay {r:.2f} s vs validate {v:.2f} s (runs replay {', '.join(f'{x.seconds:.2f}' for x in rep)}; "
            f"validate {', '.join(f'{x.seconds:.2f}' for x in val)})"
        )
        print(
            f"  replay / validate = {r / v:.2f}  (target <= 1.5: {'met' if r / v <= 1.5 else 'MISSED'}); "
            f"peak RSS replay {max(x.peak_rss_mb for x in rep):.0f} MB"
        )
        out = Path(tmp) / "tuned.yml"
        tune_cmd = [*CLI, "tune", "--db", str(db), "--ranker", "stub", "--ncpu", str(args.ncpu), "--trials", "200"]
        tunes = [run_measured([*tune_cmd, "--output", str(out), "-q"]) for _ in range(args.repeat)]
        if any(x.returncode for x in tunes):
            sys.exit(tunes[0].stderr)
        tn = min(x.seconds for x in tunes)
        print(
            f"tune (200 trials per searched knob) {tn:.2f} s vs validate {v:.2f} s: {tn / v:.2f}x "
            f"(target <= 4: {'met' if tn / v <= 4 else 'MISSED'}); peak RSS {max(x.peak_rss_mb for x in tunes):.0f} MB"
        )


if __name__ == "__main__":
    main()
