"""Benchmark: each label strategy against the simulator's ground truth, on stock-daemon logs (docs/labels.md).

    uv run python tests/benchmarks/bench_labels.py [--seeds 1 2 3] [--snapshots 2000] [--horizons 30 60 120 300]

1. Per seed: `simulate --seed S` (stock daemon profile) and `collect` into a store, through the command line, as a
   user would. The store keeps the simulator's teacher columns: they are the ground truth here, and no strategy
   below reads them.
2. Per strategy (`rules`; `attention` and `combined` for each horizon H = `dataset.attention_horizon_s`): train with
   the defaults (latest 20 % of snapshots held out for early stopping) and score the model's predictions of the
   held-out snapshots against the ground truth (the same store built with `labels=teacher`): NDCG@5, next to the
   daemon's stub ranker and random order on the same rows. Also the labels themselves as a ranking (how close the
   teacher is to the truth, with its look at the future), and the label-free future-focus NDCG (H 120 s).
3. Prints one line per (seed, strategy, H) and the mean over seeds.
"""

from __future__ import annotations

import argparse
import functools
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import numpy as np  # noqa: E402


def make_store(work: Path, seed: int, snapshots: int) -> Path:
    db = work / f"stock-{seed}-{snapshots}.db"
    if db.exists():
        return db
    logs = work / f"stock-{seed}-{snapshots}.jsonl.gz"
    cli = [sys.executable, "-m", "smoothtask_trainer"]
    sim = ["simulate", "-o", str(logs), "--snapshots", str(snapshots), "--seed", str(seed), "--overwrite", "-q"]
    subprocess.run([*cli, *sim], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*cli, "collect", str(logs), "--db", str(db), "-q"], check=True, stdout=subprocess.DEVNULL)
    return db


@functools.cache
def _truth(db: Path):  # noqa: ANN202
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.settings import DatasetSettings

    return build_dataset(db, DatasetSettings(labels="teacher"))


def _figures(truth, rows: np.ndarray, scores: dict[str, np.ndarray], prefix: str) -> dict[str, float]:  # noqa: ANN001
    """NDCG@5 against the ground truth, and the label-free future-focus NDCG@5 (`services.focus`, H 120 s)."""
    from smoothtask_trainer import metrics
    from smoothtask_trainer.services import focus

    y, q = truth.y[rows], truth.query[rows]
    out = {f"{prefix}{name}": metrics.ndcg(y, s, q, ks=(5,))["ndcg@5"] for name, s in scores.items()}
    ff = focus.of_dataset(truth, rows, 120.0, {"model": scores["model"]}, "bench")
    out[f"{prefix}focus_model"] = np.nan if ff.model is None else ff.model
    out[f"{prefix}focus_stub"] = np.nan if ff.stub_ranker is None else ff.stub_ranker
    out[f"{prefix}focus_random"] = np.nan if ff.random is None else ff.random
    out[f"{prefix}focus_n"] = ff.judging_snapshots
    return out


def score(db: Path, other: Path, labels: str, horizon: float, work: Path) -> dict[str, float]:
    """Train on `db` with these labels; figures on its held-out snapshots and on all of `other` (another seed)."""
    from catboost import CatBoostRanker

    from smoothtask_trainer import metrics
    from smoothtask_trainer.services.dataset import build_dataset
    from smoothtask_trainer.services.train import time_split, train
    from smoothtask_trainer.settings import DatasetSettings, TrainSettings

    truth = _truth(db)
    _, held = time_split(truth, 0.2)
    dataset = DatasetSettings(labels=labels, attention_horizon_s=horizon)
    taught = build_dataset(db, dataset)
    path = work / f"model-{labels}-{horizon:g}.cbm"
    report = train(db, {"cbm": path}, TrainSettings(allow_worse_than_stub=True), dataset, prebuilt=taught)
    model = CatBoostRanker().load_model(str(path))

    def rankings(X: np.ndarray) -> dict[str, np.ndarray]:
        return {"model": model.predict(X), "stub": metrics.stub_scores(X), "random": metrics.random_scores(len(X))}

    out = _figures(truth, held, rankings(truth.X[held]), "")
    # the labels themselves as a ranking of the held-out snapshots they cover (they look at the future)
    both = held & np.isin(truth.query, taught.query)
    keys = lambda ds, rows: zip(ds.query[rows].tolist(), ds.app_group_id[rows].tolist(), strict=True)  # noqa: E731
    label_of = dict(zip(keys(taught, slice(None)), taught.y.tolist(), strict=True))
    lab = np.array([label_of[k] for k in keys(truth, both)])
    out["labels"] = metrics.ndcg(truth.y[both], lab, truth.query[both], ks=(5,))["ndcg@5"]
    second = _truth(other)
    out.update(_figures(second, np.ones(second.n_rows, bool), rankings(second.X), "other_"))
    out["trees"] = report.trees
    return out


COLS = (
    *("model", "stub", "random", "labels", "focus_model", "focus_stub", "focus_random", "focus_n"),
    *("other_model", "other_stub", "other_random", "other_focus_model", "other_focus_stub", "other_focus_random"),
    "other_focus_n",
)
HEADS = ("gt:mod", "stub", "random", "labels", "ff:mod", "stub", "random", "n")
HEADS += ("o-gt:mod", "stub", "random", "o-ff:mod", "stub", "random", "n")
LEGEND = (
    "gt: NDCG@5 against the simulator's ground truth on the held-out latest 20 %; labels: the labels themselves "
    "there; ff: the label-free future-focus NDCG@5 there (services.focus, H 120 s, over n judging snapshots); "
    "o-: the same on all of another seed's store, never trained on"
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--snapshots", type=int, default=2000)
    ap.add_argument("--horizons", type=float, nargs="+", default=[30.0, 60.0, 120.0, 300.0])
    ap.add_argument("--strategies", nargs="+", default=["rules", "attention", "combined"])
    ap.add_argument("--work", type=Path, help="keep the stores here (reused when present)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-labels-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        stores = {seed: make_store(work, seed, args.snapshots) for seed in args.seeds}
        runs = [(s, h) for s in args.strategies for h in (args.horizons if s != "rules" else [120.0])]
        results: dict[tuple[str, float], list[dict[str, float]]] = {run: [] for run in runs}
        print(LEGEND)
        print(f"{'seed':>4} {'labels':9} {'H s':>5} " + " ".join(f"{c:>8}" for c in HEADS))
        seeds = list(stores)
        for n, (seed, db) in enumerate(stores.items()):
            other = stores[seeds[(n + 1) % len(seeds)]]
            for strategy, horizon in runs:
                r = score(db, other, strategy, horizon, work)
                results[(strategy, horizon)].append(r)
                print(f"{seed:>4} {strategy:9} {horizon:5.0f} " + " ".join(f"{r[c]:8.3f}" for c in COLS), flush=True)
        print(f"\nmean over seeds {args.seeds} ({args.snapshots} snapshots each; NDCG@5 vs the ground truth):")
        for (strategy, horizon), rs in results.items():
            mean = {c: float(np.nanmean([r[c] for r in rs])) for c in COLS}
            print(f"     {strategy:9} {horizon:5.0f} " + " ".join(f"{mean[c]:8.3f}" for c in COLS))


if __name__ == "__main__":
    main()
