"""Benchmark: `features` on a local Dask cluster against the single-process path, on the same files, in one run.

    uv run python tests/benchmarks/bench_features.py [--files 8] [--snapshots 2000] [--repeat 2]

Simulates `--files` hosts of the 2,000-snapshot workload (flat JSONL, ~82k app-group rows each), then, `--repeat`
times and interleaved (the order rotates from one repeat to the next, so that neither path always runs first or
last), runs as whole processes:

- the single-process path: `collect --no-parallel` of every file into one store, then `validate --features-out`
  (one process from log to training rows, the same rows);
- `features --workers 1` and `features --workers 2` (a local Dask cluster), each into a new dataset;
- this machine's parallel CPU: a CPU-bound Python loop alone, then two copies at once (2.0: two free cores).

Prints each run, then the median of the repeats: wall time, rows/s, the ratio single process / 2 workers (target
>= 1.7 on a 2-core machine), the scaling from 1 to 2 workers beside the machine's own two-process figure (a machine
limit and a software limit look different there), the peak RSS of each Dask worker (target <= 400 MB) and the
projected wall time of the hundred-desktop week (100 desktops x 7 days x 86,400 snapshots at 1 Hz) on N workers
from the measured per-worker rate.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import Run, run_measured  # noqa: E402

CLI = [sys.executable, "-m", "smoothtask_trainer"]
#: The hundred-desktop week: snapshots at 1 Hz.
FLEET_SNAPSHOTS = 100 * 7 * 86_400
SPIN = (
    "import time\nt = time.perf_counter()\nx = 0\nfor i in range(30_000_000):\n    x += i\n"
    "print(time.perf_counter() - t)"
)


def must(run: Run, what: str) -> Run:
    if run.returncode != 0:
        sys.exit(f"{what} failed:\n{run.stderr}")
    return run


def simulate(out: Path, snapshots: int, seed: int) -> None:
    cmd = [*CLI, "simulate", "--output", str(out), "--snapshots", str(snapshots), "--seed", str(seed), "-q"]
    must(run_measured(cmd), "simulate")


def single_process(files: list[Path], tmp: Path, tag: str) -> dict:
    db, matrix = tmp / f"store-{tag}.db", tmp / f"rows-{tag}.parquet"
    collect = must(run_measured([*CLI, "collect", *map(str, files), "--db", str(db), "--no-parallel", "-q"]), "collect")
    validate = run_measured([*CLI, "validate", "--db", str(db), "--features-out", str(matrix), "--json"])
    if validate.returncode not in (0, 3):  # a failed gate still writes the rows
        sys.exit(f"validate failed:\n{validate.stderr}")
    db.unlink()
    matrix.unlink()
    print(
        f"  single process: {collect.seconds + validate.seconds:6.1f} s = collect {collect.seconds:.1f} s "
        f"(peak {collect.peak_rss_mb:.0f} MB) + validate {validate.seconds:.1f} s (peak {validate.peak_rss_mb:.0f} MB)"
    )
    return {"seconds": collect.seconds + validate.seconds}


def features(files: list[Path], out: Path, workers: int) -> dict:
    run = run_measured([*CLI, "features", *map(str, files), "--out", str(out), "--workers", str(workers), "--json"])
    must(run, "features")
    report = json.loads(run.stdout)
    peaks = {}
    for s in report["sources"]:
        peaks[s["worker"]] = max(peaks.get(s["worker"], 0.0), s["peak_rss_mb"] or 0.0)
    tasks = [s["seconds"] for s in report["sources"]]
    print(
        f"  features --workers {workers}: {run.seconds:6.1f} s; tasks {min(tasks):.1f}-{max(tasks):.1f} s "
        f"(sum {sum(tasks):.1f} s); peak RSS per worker {', '.join(f'{p:.0f}' for p in sorted(peaks.values()))} MB"
    )
    return {"seconds": run.seconds, "report": report, "peak": max(peaks.values()), "task_sum": sum(tasks)}


def parallel_cpu() -> dict:
    """A CPU-bound loop alone, then two at once: how much faster two finish than one after the other (2.0: two
    free cores; less where other load or the virtual CPUs' host takes a share)."""
    one = float(subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True, check=True).stdout)
    procs = [subprocess.Popen([sys.executable, "-c", SPIN], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    both = max(float(p.communicate()[0]) for p in procs)
    print(f"  CPU-bound loop: alone {one:.2f} s, two at once {both:.2f} s -> {2 * one / both:.2f}x")
    return {"seconds": 2 * one / both}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-features-") as name:
        tmp = Path(name)
        files = [tmp / f"desk{i:02d}.jsonl" for i in range(args.files)]
        for i, path in enumerate(files):
            simulate(path, args.snapshots, 1000 + i)
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"{args.files} files x {args.snapshots:,} snapshots: {size:,.0f} MB JSONL; {os.cpu_count()} CPUs")
        steps = {
            "single": lambda r: single_process(files, tmp, str(r)),
            "w1": lambda r: features(files, tmp / f"ds-1-{r}", 1),
            "w2": lambda r: features(files, tmp / f"ds-2-{r}", 2),
            "cpu": lambda r: parallel_cpu(),
        }
        order = list(steps)
        runs: dict[str, list[dict]] = {k: [] for k in steps}
        for r in range(args.repeat):
            print(f"repeat {r + 1}:")
            for key in order[r % len(order) :] + order[: r % len(order)]:
                runs[key].append(steps[key](r))
        med = {k: statistics.median(x["seconds"] for x in v) for k, v in runs.items()}
        report = runs["w2"][-1]["report"]
        rows, snapshots = report["rows"], report["snapshots"]
        assert rows == runs["w1"][-1]["report"]["rows"], "the two runs built different datasets"
        single, w1, w2 = med["single"], med["w1"], med["w2"]
        print(f"\nmedian of {args.repeat}; rows: {rows:,} (snapshots {snapshots:,})")
        print(f"single process   {single:7.1f} s  {rows / single:9,.0f} rows/s")
        print(f"1 Dask worker    {w1:7.1f} s  {rows / w1:9,.0f} rows/s  ratio to single process {single / w1:.2f}x")
        print(f"2 Dask workers   {w2:7.1f} s  {rows / w2:9,.0f} rows/s  ratio to single process {single / w2:.2f}x")
        print(f"ratio 2 workers / single process: {single / w2:.2f}x (target >= 1.7)")
        print(f"scaling 1 -> 2 workers: {w1 / w2:.2f}x; two CPU-bound processes on this machine: {med['cpu']:.2f}x")
        peak = max(x["peak"] for x in runs["w1"] + runs["w2"])
        print(f"peak RSS per worker: {peak:.0f} MB (target <= 400)")
        task_sum = statistics.median(x["task_sum"] for x in runs["w1"])
        per_worker = snapshots / task_sum  # snapshots per second of one worker alone, task time only
        print(f"per-worker rate (1 worker, task time): {per_worker:,.0f} snapshots/s ({rows / task_sum:,.0f} rows/s)")
        for n in (2, 16, 64, 256):
            hours = FLEET_SNAPSHOTS / (per_worker * n) / 3600
            print(f"100 desktops x 1 week ({FLEET_SNAPSHOTS / 1e6:.1f} M snapshots) on {n:3d} workers: {hours:7.1f} h")


if __name__ == "__main__":
    main()
