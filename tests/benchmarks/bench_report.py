"""Benchmark: what the report costs, against the training it reports on, in the same run.

    uv run python tests/benchmarks/bench_report.py [--repeat 3]

Runs the README's `pipeline --demo --json` (2,000 simulated snapshots, train, tune, report) as whole processes and
reads each step's wall time from its JSON: the report step against the train step (target: at most 20 %). Then,
on the store of the last run, the report alone as a fresh process (`report --db --model --thresholds`), which
reads the store, scores it with the model and validates it itself; and the report's size (target: at most 10 MB).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.benchmarks._measure import run_measured  # noqa: E402

CLI = [sys.executable, "-m", "smoothtask_trainer"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    ratios, trains, reports = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "demo")
        for i in range(args.repeat):
            keep = ["--keep-store"] if i == args.repeat - 1 else []
            run = run_measured([*CLI, "pipeline", "--demo", "--out-dir", str(out), "--json", *keep])
            if run.returncode != 0:
                sys.exit(f"pipeline --demo failed ({run.returncode}):\n{run.stderr[-2000:]}")
            doc = json.loads(run.stdout)
            seconds = {s["name"]: s["seconds"] for s in doc["steps"]}
            trains.append(seconds["train"])
            reports.append(seconds["report"])
            ratios.append(seconds["report"] / seconds["train"])
            print(
                f"run {i + 1}: train {seconds['train']:.2f} s, tune {seconds['tune']:.2f} s, report "
                f"{seconds['report']:.3f} s ({ratios[-1]:.1%} of training), figures {doc['report']['figures']}"
            )
        page = Path(doc["report"]["output"])
        print(f"report of the demo: {page.stat().st_size / 1e6:.2f} MB (target <= 10 MB)")
        print(
            f"report step / train step: median {statistics.median(ratios):.1%} (target <= 20 %), "
            f"train median {statistics.median(trains):.2f} s, report median {statistics.median(reports):.3f} s"
        )
        store = Path(doc["store"])
        alone = run_measured(
            [
                *CLI,
                "report",
                "--db",
                str(store),
                "--model",
                str(out / "model.onnx"),
                "--thresholds",
                str(out / "model.thresholds.yml"),
                "--ncpu",
                "8",
                "-o",
                str(Path(tmp, "alone.html")),
                "--json",
            ]
        )
        if alone.returncode != 0:
            sys.exit(f"report failed ({alone.returncode}):\n{alone.stderr[-2000:]}")
        inner = json.loads(alone.stdout)["seconds"]
        print(
            f"report alone (a fresh process, its own validation and model scoring): {inner:.2f} s inside, "
            f"{alone.seconds:.2f} s wall, peak RSS {alone.peak_rss_mb:.0f} MB"
        )
        store.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
