"""Benchmark: ranking quality, training speed against a bare CatBoost fit, ONNX latency and sizes.

    uv run python tests/benchmarks/bench_train.py [--snapshots 2000] [--holdout-seed 7] [--explore]

1. Simulates the workload (seed 42, teacher labels) as a daemon store, and a second, differently seeded one
   that is never trained on.
2. Trains with the defaults through the `train` service (dataset, fit, export to ONNX/JSON/CBM) and, in the same
   run, a bare `CatBoostRanker.fit` on the same matrix with the same parameters (best of --repeat each).
3. Quality: NDCG@1/3/5/10 on the held-out latest snapshots and on the second simulation, for the model (from
   CatBoost and from the exported ONNX fed daemon-order vectors), the daemon's stub ranker and random order.
   Targets: NDCG@5 >= 0.95 and >= stub + 0.15.
4. ONNX batch-1 latency (the daemon scores one group per call): median over >= 10,000 calls; file sizes.
5. --explore: faster settings (loss, border count) and their NDCG@5 on the second simulation.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402


def onnx_scores(path: Path, X: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))
    name = session.get_inputs()[0].name
    return session.run(None, {name: X.astype(np.float32)})[0].reshape(-1)


def batch1_latency(path: Path, X: np.ndarray, calls: int) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path))  # default options, as the daemon's Session::builder()
    name = session.get_inputs()[0].name
    rows = [X[i % len(X)].reshape(1, -1).astype(np.float32) for i in range(calls)]
    times = np.empty(calls)
    for i, row in enumerate(rows):
        t = time.perf_counter_ns()
        session.run(None, {name: row})
        times[i] = time.perf_counter_ns() - t
    return float(np.median(times) / 1000)


def bare_fit(db: Path, settings, repeat: int) -> float:  # noqa: ANN001
    """A bare CatBoostRanker.fit on the same matrix, split and parameters as the service uses."""
    from catboost import CatBoostRanker, Pool

    from smoothtask_trainer import contract
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.train import catboost_params, time_split

    ds = build_dataset(db)
    tr, ev = time_split(ds, settings.eval_fraction)
    names = list(contract.FEATURE_NAMES)
    best = float("inf")
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            model = CatBoostRanker(**catboost_params(settings, tmp, True))
            t = time.perf_counter()
            model.fit(
                Pool(ds.X[tr], ds.y[tr], group_id=ds.query[tr], feature_names=names),
                eval_set=Pool(ds.X[ev], ds.y[ev], group_id=ds.query[ev], feature_names=names),
            )
            best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--holdout-seed", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--explore", action="store_true")
    args = ap.parse_args()

    from catboost import CatBoostRanker

    from smoothtask_trainer import metrics
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.train import train
    from smoothtask_trainer.settings import TrainSettings
    from smoothtask_trainer.simulator import write_snapshots

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        tmpdir = Path(tmp)
        db, other = tmpdir / "train.db", tmpdir / "holdout.db"
        write_snapshots(db, "sqlite", count=args.snapshots, seed=42)
        write_snapshots(other, "sqlite", count=max(args.snapshots // 4, 50), seed=args.holdout_seed)
        # timing, not readiness: on simulated logs the model may lose to the stub by future focus (docs/train.md)
        settings = TrainSettings(allow_worse_than_stub=True)
        reports = []
        bare = []
        for i in range(args.repeat):
            out = {"json": tmpdir / f"m{i}.json", "onnx": tmpdir / f"m{i}.onnx", "cbm": tmpdir / f"m{i}.cbm"}
            t = time.perf_counter()
            report = train(db, out, settings)
            reports.append((report, time.perf_counter() - t, out))
            bare.append(bare_fit(db, settings, 1))
        report, wall, out = min(reports, key=lambda r: r[0].seconds["fit"])
        fit, bare_best = report.seconds["fit"], min(bare)
        rows = report.train.rows + report.eval.rows
        print(
            f"python {sys.version.split()[0]}; store: {args.snapshots} snapshots, {rows:,} rows; "
            f"labels {report.label_source}; params {report.params}"
        )
        print(f"trees {report.trees} (best iteration {report.best_iteration}, early stopping on held-out NDCG@5)")
        print(
            "steps (s): " + ", ".join(f"{k} {v:.2f}" for k, v in report.seconds.items()) + f"; service wall {wall:.2f}"
        )
        print(
            f"fit: service {fit:.2f} s vs bare CatBoostRanker.fit {bare_best:.2f} s -> {fit / bare_best:.2f}x "
            f"(target <= 1.15x: {'met' if fit / bare_best <= 1.15 else 'MISSED'}); all service fits "
            + ", ".join(f"{r[0].seconds['fit']:.2f}" for r in reports)
            + "; all bare fits "
            + ", ".join(f"{b:.2f}" for b in bare)
        )
        print(f"whole train (dataset + fit + export) / bare fit = {report.seconds['total'] / bare_best:.2f}x")
        print("\nNDCG on the held-out latest snapshots (same simulation):")
        for name, values in report.metrics.items():
            print(f"  {name:12}" + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
        ds = build_dataset(other)
        raw = CatBoostRanker().load_model(str(out["cbm"])).predict(ds.X)
        onnx = onnx_scores(out["onnx"], ds.X)
        print(f"\nNDCG on a second simulation (seed {args.holdout_seed}, {ds.n_queries} snapshots, never trained on):")
        rows = {
            "model (CatBoost)": raw,
            "model (ONNX)": onnx,
            "stub ranker": metrics.stub_scores(ds.X),
            "random": metrics.random_scores(ds.n_rows),
        }
        results = {name: metrics.ndcg(ds.y, s, ds.query) for name, s in rows.items()}
        for name, values in results.items():
            print(f"  {name:17}" + "  ".join(f"{k} {v:.4f}" for k, v in values.items()))
        m5, s5 = results["model (ONNX)"]["ndcg@5"], results["stub ranker"]["ndcg@5"]
        print(
            f"targets on the second simulation: NDCG@5 {m5:.4f} >= 0.95: {'met' if m5 >= 0.95 else 'MISSED'}; "
            f">= stub {s5:.4f} + 0.15: {'met' if m5 >= s5 + 0.15 else 'MISSED'}; ONNX = CatBoost: "
            f"{'yes' if results['model (ONNX)'] == results['model (CatBoost)'] else 'NO'} "
            f"(max |onnx - sigmoid(raw)| {np.abs(onnx - 1 / (1 + np.exp(-raw))).max():.2e}; "
            f"ONNX range {onnx.min():.4f}..{onnx.max():.4f})"
        )
        print(
            f"\nONNX batch-1 latency: median {batch1_latency(out['onnx'], ds.X, args.calls):.1f} us per group "
            f"over {args.calls:,} calls"
        )
        print("file sizes: " + ", ".join(f"{fmt} {out[fmt].stat().st_size / 1024:.0f} KiB" for fmt in out))
        if args.explore:
            print("\nfaster settings (fit time; NDCG@5 on the second simulation):")
            base = results["model (CatBoost)"]["ndcg@5"]
            for label, update in (
                ("YetiRank, border_count 32", {"border_count": 32}),
                ("QueryRMSE", {"loss": "QueryRMSE"}),
                ("QueryRMSE, border_count 32", {"loss": "QueryRMSE", "border_count": 32}),
                ("YetiRank, depth 4", {"depth": 4}),
                ("YetiRank, 100 iterations", {"iterations": 100}),
                ("PairLogit", {"loss": "PairLogit"}),
            ):
                target = tmpdir / "explore.cbm"
                r = train(db, {"cbm": target}, settings.model_copy(update=update))
                score = metrics.ndcg(ds.y, CatBoostRanker().load_model(str(target)).predict(ds.X), ds.query)
                print(
                    f"  {label:28} fit {r.seconds['fit']:6.2f} s  trees {r.trees:4}  NDCG@5 {score['ndcg@5']:.4f} "
                    f"({score['ndcg@5'] - base:+.4f})"
                )


if __name__ == "__main__":
    main()
