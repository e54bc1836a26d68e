"""Benchmark: `features` on a local Dask cluster against the single-machine path, on the same files, in one run.

    uv run python tests/benchmarks/bench_features.py [--files 8] [--snapshots 2000] [--repeat 1]

Simulates `--files` hosts of the 2,000-snapshot workload (flat JSONL, ~190k app-group rows each), then runs as
whole processes:

- the single-process path: `collect --no-parallel` of every file into one store, then `validate --features-out`
  (one process from log to training rows);
- `features --workers 1` and `features --workers 2` (a local Dask cluster), each into a new dataset.

Prints wall time, rows/s, the ratio single-process / 2 workers (target >= 1.7 on a 2-core machine), the scaling
from 1 to 2 workers, the peak RSS of each Dask worker (target <= 400 MB) and the projected wall time of the
hundred-desktop week (100 desktops x 7 days x 86,400 snapshots at 1 Hz) on N workers from the measured per-worker
rate.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import Run, run_measured  # noqa: E402

CLI = [sys.executable, "-m", "smoothtask_trainer"]
#: The hundred-desktop week: snapshots at 1 Hz.
FLEET_SNAPSHOTS = 100 * 7 * 86_400


def must(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.exit(f"{what} failed:\n{run.stderr}")
    return run


def simulate(out: Path, snapshots: int, seed: int) -> None:
    cmd = [*CLI, "simulate", "--output", str(out), "--snapshots", str(snapshots), "--seed", str(seed), "-q"]
    must(run_measured(cmd), "simulate")


def single_process(files: list[Path], tmp: Path, tag: str) -> tuple[Run, Run]:
    db, matrix = tmp / f"store-{tag}.db", tmp / f"rows-{tag}.parquet"
    collect = must(run_measured([*CLI, "collect", *map(str, files), "--db", str(db), "--no-parallel", "-q"]), "collect")
    validate = run_measured([*CLI, "validate", "--db", str(db), "--features-out", str(matrix), "--json"])
    if validate.returncode not in (0, 3):  # a failed gate still writes the rows
        sys.exit(f"validate failed:\n{validate.stderr}")
    return collect, validate


def features(files: list[Path], out: Path, workers: int) -> tuple[Run, dict]:
    run = run_measured([*CLI, "features", *map(str, files), "--out", str(out), "--workers", str(workers), "--json"])
    must(run, "features")
    return run, json.loads(run.stdout)


SPIN = (
    "import time\nt = time.perf_counter()\nx = 0\nfor i in range(20_000_000):\n    x += i\n"
    "print(time.perf_counter() - t)"
)


def parallel_ceiling() -> float:
    """How much faster two CPU-bound processes finish than one after the other on this machine (2.0: two free
    cores; less where the virtual CPUs share hardware)."""
    import subprocess

    one = float(subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = max(float(p.communicate()[0]) for p in procs)
    return 2 * one / both


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as name:
        tmp = Path(name)
        files = [tmp / f"desk{i:02d}.jsonl" for i in range(args.files)]
        for i, path in enumerate(files):
            simulate(path, args.snapshots, 1000 + i)
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"{args.files} files x {args.snapshots:,} snapshots: {size:,.0f} MB JSONL; {os.cpu_count()} CPUs")
        best: dict[str, float] = {}
        reports: dict[int, dict] = {}
        peak: dict[int, float] = {}
        for r in range(args.repeat):
            collect, validate = single_process(files, tmp, str(r))
            best["single"] = min(best.get("single", 1e9), collect.seconds + validate.seconds)
            print(
                f"single process: collect {collect.seconds:.1f} s (peak {collect.peak_rss_mb:.0f} MB) + validate "
                f"{validate.seconds:.1f} s (peak {validate.peak_rss_mb:.0f} MB)"
            )
            for workers in (1, 2):
                run, report = features(files, tmp / f"ds-{workers}-{r}", workers)
                best[f"w{workers}"] = min(best.get(f"w{workers}", 1e9), run.seconds)
                reports[workers] = report
                peak[workers] = max(s["peak_rss_mb"] or 0 for s in report["sources"])
                print(
                    f"features --workers {workers}: {run.seconds:.1f} s; peak RSS of a worker {peak[workers]:.0f} MB; "
                    f"whole tree {run.peak_rss_mb:.0f} MB"
                )
        rows = reports[2]["rows"]
        assert rows == reports[1]["rows"], "the two runs built different datasets"
        single, w1, w2 = best["single"], best["w1"], best["w2"]
        print(f"\nrows: {rows:,} (snapshots {reports[2]['snapshots']:,})")
        print(f"single process   {single:7.1f} s  {rows / single:9,.0f} rows/s")
        print(f"1 Dask worker    {w1:7.1f} s  {rows / w1:9,.0f} rows/s")
        print(f"2 Dask workers   {w2:7.1f} s  {rows / w2:9,.0f} rows/s")
        print(f"ratio 2 workers / single process: {single / w2:.2f}x (target >= 1.7)")
        print(
            f"scaling 1 -> 2 workers: {w1 / w2:.2f}x (this machine's ceiling for two CPU-bound processes: "
            f"{parallel_ceiling():.2f}x)"
        )
        print(f"peak RSS per worker: {max(peak.values()):.0f} MB (target <= 400)")
        task = [s["seconds"] for s in reports[1]["sources"]]
        per_worker = args.snapshots * len(task) / sum(task)  # snapshots per second of one worker, tasks only
        row_rate = per_worker * rows / reports[2]["snapshots"]
        print(f"per-worker rate: {per_worker:,.0f} snapshots/s ({row_rate:,.0f} rows/s)")
        for n in (2, 16, 64, 256):
            hours = FLEET_SNAPSHOTS / (per_worker * n) / 3600
            print(f"100 desktops x 1 week ({FLEET_SNAPSHOTS / 1e6:.1f} M snapshots) on {n:3d} workers: {hours:7.1f} h")


if __name__ == "__main__":
    main()
