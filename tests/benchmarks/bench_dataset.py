"""Benchmark: building the training dataset against `collect`'s wall time on the same data.

    uv run python tests/benchmarks/bench_dataset.py [--snapshots 2000] [--repeat 3]

Simulates the 2,000-snapshot workload (teacher labels on), ingests it with `collect`, then builds the ranking
dataset (one row per snapshot and app group, 51 float32 features) in a fresh process. Runs are interleaved and
the best of each is shown. Targets: the build takes <= 25% of collect's wall time, and its peak RSS stays within
2x the float32 matrix + 150 MB. The build is reported twice: the `build_dataset` call alone, and the whole
process (interpreter start and imports included), which is how `collect` is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import run_measured  # noqa: E402

BUILD = """
import json, sys, time
t0 = time.perf_counter()
from smoothtask_trainer.services.dataset import build_dataset
from smoothtask_trainer.settings import DatasetSettings
t1 = time.perf_counter()
ds = build_dataset(sys.argv[1], DatasetSettings(labels=sys.argv[2]))
t2 = time.perf_counter()
print(json.dumps({"rows": ds.n_rows, "queries": ds.n_queries, "matrix_bytes": ds.X.nbytes,
                  "import_s": t1 - t0, "build_s": t2 - t1, "label_source": ds.label_source}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as tmp:
        tmpdir = Path(tmp)
        src = tmpdir / "sim.jsonl"
        sim = run_measured(
            [
                py,
                "-m",
                "smoothtask_trainer",
                "simulate",
                "--output",
                str(src),
                "--snapshots",
                str(args.snapshots),
                "--seed",
                str(args.seed),
                "-q",
            ]
        )
        if sim.returncode:
            sys.exit(sim.stderr)
        collects, builds, rules = [], [], []
        db = tmpdir / "store-0.db"
        for i in range(args.repeat):
            run = run_measured(
                [py, "-m", "smoothtask_trainer", "collect", str(src), "--db", str(tmpdir / f"store-{i}.db"), "-q"]
            )
            if run.returncode:
                sys.exit(run.stderr)
            collects.append(run)
            run = run_measured([py, "-c", BUILD, str(db), "auto"])
            if run.returncode:
                sys.exit(run.stderr)
            builds.append((run, json.loads(run.stdout)))
        run = run_measured([py, "-c", BUILD, str(db), "rules"])
        rules.append((run, json.loads(run.stdout)))
        c = min(collects, key=lambda r: r.seconds)
        b_run, b = min(builds, key=lambda rb: rb[1]["build_s"])
        b_wall = min(r.seconds for r, _ in builds)
        peak = max(r.peak_rss_mb for r, _ in builds)
        matrix_mb = b["matrix_bytes"] / 2**20
        budget = 2 * matrix_mb + 150
        print(
            f"python {sys.version.split()[0]}; {args.snapshots} snapshots; {b['rows']:,} group rows in "
            f"{b['queries']:,} queries; labels: {b['label_source']}; float32 matrix {matrix_mb:.1f} MB"
        )
        print(
            f"collect wall (best of {args.repeat}): {c.seconds:.2f} s  [runs: "
            + ", ".join(f"{r.seconds:.2f}" for r in collects)
            + "]"
        )
        print(
            f"dataset build, build_dataset call: {b['build_s']:.2f} s  [runs: "
            + ", ".join(f"{x['build_s']:.2f}" for _, x in builds)
            + f"]  (imports {b['import_s']:.2f} s)"
        )
        print(f"dataset build, whole process:      {b_wall:.2f} s")
        ratio, ratio_wall = b["build_s"] / c.seconds, b_wall / c.seconds
        print(
            f"build / collect = {ratio:.2f} (call), {ratio_wall:.2f} (whole process)  "
            f"(target <= 0.25: {'met' if ratio <= 0.25 else 'MISSED'} for the call, "
            f"{'met' if ratio_wall <= 0.25 else 'MISSED'} for the process)"
        )
        print(
            f"build peak RSS {peak:.0f} MB (budget 2 x {matrix_mb:.1f} + 150 = {budget:.0f} MB: "
            f"{'met' if peak <= budget else 'MISSED'})"
        )
        r_run, r = rules[0]
        print(
            f"rule teacher (labels=rules, responsiveness correction on): build {r['build_s']:.2f} s, "
            f"peak RSS {r_run.peak_rss_mb:.0f} MB"
        )


if __name__ == "__main__":
    main()
