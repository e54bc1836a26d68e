"""Benchmark: `pipeline` end to end against the separate subcommands on the same data.

    uv run python tests/benchmarks/bench_pipeline.py [--snapshots 2000] [--repeat 2]

Simulates the 2,000-snapshot workload as flat JSONL, then runs, as whole processes and interleaved:
`collect` + `validate` + `train` (ONNX out) one after the other, and `pipeline --snapshots ... --model-onnx`.
Prints each step's wall time and the totals. Target: the pipeline's total <= 1.1x the sum of the separate
subcommands (the pipeline decodes the logs once and builds the dataset once, for validate and train).
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

CLI = [sys.executable, "-m", "smoothtask_trainer"]


def step(args: list[str]) -> tuple[float, dict]:
    run = run_measured([*CLI, *args, "--json"])
    if run.returncode not in (0,):
        sys.exit(f"{' '.join(args)} failed ({run.returncode}):\n{run.stderr}")
    return run.seconds, json.loads(run.stdout)


TRAIN = ["train", "--allow-worse-than-stub"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        d = Path(tmp)
        src = d / "sim.jsonl"
        sim = run_measured([*CLI, "simulate", "--output", str(src), "--snapshots", str(args.snapshots), "-q"])
        print(
            f"python {sys.version.split()[0]}; {args.snapshots} snapshots, {src.stat().st_size / 1e6:,.0f} MB "
            f"flat JSONL (simulated in {sim.seconds:.1f} s)"
        )
        separate, together = [], []
        for i in range(args.repeat):
            c, _ = step(["collect", str(src), "--db", str(d / f"s{i}.db")])
            v, _ = step(["validate", "--db", str(d / f"s{i}.db")])
            # timing, not readiness: on simulated logs the model may lose to the stub by future focus (docs/train.md)
            t, _ = step([*TRAIN, "--db", str(d / f"s{i}.db"), "--model-onnx", str(d / f"m{i}.onnx")])
            separate.append((c, v, t))
            p, report = step(
                [
                    "pipeline",
                    "--snapshots",
                    str(src),
                    "--store",
                    str(d / f"p{i}.db"),
                    "--model-onnx",
                    str(d / f"p{i}.onnx"),
                    "--allow-worse-than-stub",
                ]
            )
            together.append((p, report))
        for (c, v, t), (p, report) in zip(separate, together, strict=True):
            steps = ", ".join(f"{s['name']} {s['seconds']:.2f}" for s in report["steps"])
            print(
                f"separate: collect {c:.2f} + validate {v:.2f} + train {t:.2f} = {c + v + t:.2f} s | "
                f"pipeline {p:.2f} s ({steps})"
            )
        best_sum = min(sum(x) for x in separate)
        best_p = min(p for p, _ in together)
        ratio = best_p / best_sum
        print(
            f"best pipeline {best_p:.2f} s / best sum of subcommands {best_sum:.2f} s = {ratio:.2f}x "
            f"(target <= 1.1x: {'met' if ratio <= 1.1 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
