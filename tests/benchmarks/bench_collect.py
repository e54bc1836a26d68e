"""Benchmark: `collect` against the ingest floor on the simulated 2,000-snapshot workload.

    uv run python tests/benchmarks/bench_collect.py [--snapshots 2000] [--repeat 2] [--shared ../shared]

Simulates the workload (flat JSONL, ~375k process rows), then runs, as whole processes and in the same run,
`shared/bench/ingest_floor.py` (single-threaded, validates nothing) and `smoothtask-trainer collect` on the same
file. Prints wall time, process rows/s, peak RSS and the ratio collect/floor (best of --repeat runs each, runs
interleaved so that both see the same machine load). Targets: ratio <= 0.75, peak RSS <= 300 MB at any input
size (a second, 4x smaller input shows that memory does not grow with the input).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import Run, run_measured  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def simulate(out: Path, snapshots: int, seed: int) -> Run:
    run = run_measured(
        [
            sys.executable,
            "-m",
            "smoothtask_trainer",
            "simulate",
            "--output",
            str(out),
            "--snapshots",
            str(snapshots),
            "--seed",
            str(seed),
            "--json",
        ]
    )
    if run.returncode != 0:
        sys.exit(f"simulate failed:\n{run.stderr}")
    return run


def floor(floor_script: Path, src: Path, db: Path) -> Run:
    run = run_measured([sys.executable, str(floor_script), str(src), str(db)])
    if run.returncode != 0:
        sys.exit(f"ingest_floor failed:\n{run.stderr}")
    return run


def collect(src: Path, db: Path) -> tuple[Run, dict]:
    run = run_measured([sys.executable, "-m", "smoothtask_trainer", "collect", str(src), "--db", str(db), "--json"])
    if run.returncode != 0:
        sys.exit(f"collect failed:\n{run.stderr}")
    return run, json.loads(run.stdout)


def quick_check_seconds(db: Path) -> tuple[float, int]:
    """Best of three timings of `PRAGMA quick_check` on `db` (what `collect` runs on an existing store)."""
    import sqlite3
    import time

    times = []
    for _ in range(3):
        con = sqlite3.connect(db)
        start = time.perf_counter()
        result = con.execute("PRAGMA quick_check").fetchone()[0]
        times.append(time.perf_counter() - start)
        con.close()
        if result != "ok":
            sys.exit(f"quick_check of {db} failed: {result}")
    return min(times), db.stat().st_size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = ap.parse_args()
    floor_script = args.shared / "bench" / "ingest_floor.py"
    if not floor_script.is_file():
        sys.exit(f"{floor_script} not found; pass --shared DIR")
    try:
        import orjson  # noqa: F401

        parser = "orjson"
    except ImportError:
        parser = "json"
    with tempfile.TemporaryDirectory(prefix="bench-collect-") as tmp:
        tmpdir = Path(tmp)
        sizes = [args.snapshots, max(args.snapshots // 4, 1)]
        print(f"floor parser: {parser}; python {sys.version.split()[0]}")
        for n in sizes:
            src = tmpdir / f"sim-{n}.jsonl"
            sim = simulate(src, n, args.seed)
            mb = src.stat().st_size / 1e6
            print(
                f"\n== {n} snapshots: {mb:,.0f} MB flat JSONL, simulated in {sim.seconds:.1f} s "
                f"(peak RSS {sim.peak_rss_mb:.0f} MB)"
            )
            floors, collects = [], []
            report: dict = {}
            for i in range(args.repeat):
                floors.append(floor(floor_script, src, tmpdir / f"floor-{n}-{i}.db"))
                run, report = collect(src, tmpdir / f"store-{n}-{i}.db")
                collects.append(run)
            rows = report["inserted"]["processes"]
            f = min(floors, key=lambda r: r.seconds)
            c = min(collects, key=lambda r: r.seconds)
            print(
                f"process rows: {rows:,}  (snapshots {report['inserted']['snapshots']:,}, "
                f"app groups {report['inserted']['app_groups']:,})"
            )
            print(f"{'':10}{'wall s':>9}{'rows/s':>12}{'peak RSS MB':>13}{'max 1 proc MB':>15}")
            for name, r in (("floor", f), ("collect", c)):
                print(
                    f"{name:10}{r.seconds:9.2f}{rows / r.seconds:12,.0f}"
                    f"{r.peak_rss_mb:13.0f}{r.max_single_rss_mb:15.0f}"
                )
            all_f = ", ".join(f"{r.seconds:.2f}" for r in floors)
            all_c = ", ".join(f"{r.seconds:.2f}" for r in collects)
            print(f"all runs: floor [{all_f}]  collect [{all_c}]")
            ratio = c.seconds / f.seconds
            check = quick_check_seconds(tmpdir / f"store-{n}-0.db")
            print(
                f"quick_check of the {check[1] / 1e6:,.0f} MB store (run by collect before appending to an existing "
                f"store): {check[0]:.2f} s = {check[0] / c.seconds:.0%} of this collect"
            )
            print(
                f"ratio collect/floor = {ratio:.2f}  (target <= 0.75: {'met' if ratio <= 0.75 else 'MISSED'}); "
                f"peak RSS {c.peak_rss_mb:.0f} MB (target <= 300: {'met' if c.peak_rss_mb <= 300 else 'MISSED'})"
            )


if __name__ == "__main__":
    main()
