"""`smoothtask-trainer train`: parse options, call `services.train.train`, render the report."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smoothtask_trainer.cli import dataset_options as dso
from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import boundary
from smoothtask_trainer.cli.options import DbOpt, JsonOpt, QuietOpt

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer train --db store.db --model-json model.json --model-onnx model.onnx

  smoothtask-trainer train --db store.db --model-onnx model.onnx --iterations 300 --labels rules --json

  smoothtask-trainer train --db store.db --model-cbm model.cbm --no-eval --threads 2
"""

PARAMS = "Training"


class Loss(StrEnum):
    YetiRank = "YetiRank"
    YetiRankPairwise = "YetiRankPairwise"
    PairLogit = "PairLogit"
    PairLogitPairwise = "PairLogitPairwise"
    QueryRMSE = "QueryRMSE"
    QuerySoftMax = "QuerySoftMax"
    LambdaMart = "LambdaMart"


class Categorical(StrEnum):
    hashed = "hashed"
    native = "native"


def _opt(name: str, kind: Any, help_text: str, **kw: Any) -> Any:
    return Annotated[kind | None, typer.Option(name, help=help_text, show_default=False, rich_help_panel=PARAMS, **kw)]


ModelJsonOpt = Annotated[
    Path | None,
    typer.Option("--model-json", help="Write the model as CatBoost JSON.", dir_okay=False, show_default=False),
]
ModelOnnxOpt = Annotated[
    Path | None,
    typer.Option(
        "--model-onnx",
        help="Write the model as ONNX for the daemon (51 float inputs, a score in (0,1)).",
        dir_okay=False,
        show_default=False,
    ),
]
ModelCbmOpt = Annotated[
    Path | None,
    typer.Option("--model-cbm", help="Write the model as CatBoost CBM.", dir_okay=False, show_default=False),
]
NoEvalOpt = Annotated[
    bool, typer.Option("--no-eval", help="Train on every snapshot (no held-out figures).", rich_help_panel=PARAMS)
]
LossOpt = _opt("--loss", Loss, "Ranking loss. (default: YetiRank; settings key train.loss)")
IterationsOpt = _opt("--iterations", int, "Most trees. (default: 500)", min=1)
DepthOpt = _opt("--depth", int, "Tree depth. (default: 6)", min=1, max=16)
LearningRateOpt = _opt("--learning-rate", float, "Learning rate. (default: 0.1)", min=0.0, max=1.0)
SeedOpt = _opt("--seed", int, "Random seed: the same data and seed give the same model. (default: 42)", min=0)
ThreadsOpt = _opt("--threads", int, "CPU threads. (default: all cores)", min=1)
BorderOpt = _opt("--border-count", int, "Borders per float feature. (default: 254)", min=1, max=65535)
EvalFractionOpt = _opt(
    "--eval-fraction", float, "Latest share of snapshots held out. (default: 0.2)", min=0.0, max=0.95
)
EarlyStopOpt = _opt(
    "--early-stopping-rounds", int, "Stop after N iterations without a better held-out NDCG. (default: 50)", min=1
)
AllowWorseOpt = Annotated[
    bool,
    typer.Option(
        "--allow-worse-than-stub",
        help="Write the model even if its held-out NDCG@5 is not above the daemon's stub ranker's, or too few "
        "snapshots are held out to compare (it is reported as not ready). Without it, train exits 3 and writes "
        "nothing. (settings key train.allow_worse_than_stub)",
        rich_help_panel=PARAMS,
    ),
]
CategoricalOpt = _opt(
    "--categorical",
    Categorical,
    "hashed: the daemon's hash codes (ONNX-exportable); native: "
    "CatBoost categoricals (JSON/CBM only). (default: hashed)",
)


def train_overrides(
    loss: Loss | None,
    iterations: int | None,
    depth: int | None,
    learning_rate: float | None,
    seed: int | None,
    threads: int | None,
    border_count: int | None,
    eval_fraction: float | None,
    no_eval: bool,
    early_stopping_rounds: int | None,
    categorical: Categorical | None,
    allow_worse_than_stub: bool = False,
) -> dict[str, Any]:
    """The `[train]` settings the user gave as flags (None = not given)."""
    if no_eval and eval_fraction not in (None, 0):
        raise typer.BadParameter("--no-eval holds out nothing; drop --eval-fraction", param_hint="--no-eval")
    return {
        "loss": loss.value if loss else None,
        "iterations": iterations,
        "depth": depth,
        "learning_rate": learning_rate,
        "seed": seed,
        "threads": threads,
        "border_count": border_count,
        "eval_fraction": 0.0 if no_eval else eval_fraction,
        "early_stopping_rounds": early_stopping_rounds,
        "categorical": categorical.value if categorical else None,
        "allow_worse_than_stub": True if allow_worse_than_stub else None,
    }


@boundary
def train(
    ctx: typer.Context,
    db: DbOpt,
    model_json: ModelJsonOpt = None,
    model_onnx: ModelOnnxOpt = None,
    model_cbm: ModelCbmOpt = None,
    loss: LossOpt = None,
    iterations: IterationsOpt = None,
    depth: DepthOpt = None,
    learning_rate: LearningRateOpt = None,
    seed: SeedOpt = None,
    threads: ThreadsOpt = None,
    border_count: BorderOpt = None,
    eval_fraction: EvalFractionOpt = None,
    no_eval: NoEvalOpt = False,
    early_stopping_rounds: EarlyStopOpt = None,
    categorical: CategoricalOpt = None,
    allow_worse_than_stub: AllowWorseOpt = False,
    labels: dso.LabelsOpt = None,
    responsiveness_correction: dso.CorrectionOpt = None,
    max_snapshots: dso.MaxSnapshotsOpt = None,
    sample: dso.SampleOpt = None,
    sample_seed: dso.SeedOpt = None,
    since: dso.SinceOpt = None,
    until: dso.UntilOpt = None,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Train the app-group ranker and export it (ONNX for the daemon, JSON/CBM for Python).

    The latest snapshots are held out (never a random shuffle across time) for early stopping and for the
    report: NDCG@1/3/5/10 of the model, of the daemon's stub ranker and of random order. A model whose held-out
    NDCG@5 is not strictly above the stub ranker's is refused (exit 3, no file written) unless
    --allow-worse-than-stub.
    """
    from smoothtask_trainer.services.train import train as run_train

    state = state_of(ctx)
    out = state.output(json_out, quiet)
    settings = state.settings(
        {
            "train": train_overrides(
                loss,
                iterations,
                depth,
                learning_rate,
                seed,
                threads,
                border_count,
                eval_fraction,
                no_eval,
                early_stopping_rounds,
                categorical,
                allow_worse_than_stub,
            ),
            "dataset": dso.dataset_overrides(
                labels, responsiveness_correction, max_snapshots, sample, sample_seed, since, until
            ),
        }
    )
    outputs = {"json": model_json, "onnx": model_onnx, "cbm": model_cbm}
    with out.count_progress("training", settings.train.iterations) as progress:
        callback = None
        if progress is not None:

            def callback(done: int, total: int, metric: float | None) -> None:
                note = f"held-out {settings.train.eval_metric.split(';')[0]} {metric:.4f}" if metric is not None else ""
                progress(done, total, note)

        report = run_train(db, outputs, settings.train, settings.dataset, on_progress=callback)
    for warning in report.warnings:
        out.warn(warning)
    out.emit(report, lambda console: _render(console, report), quiet_line=" ".join(a.path for a in report.artifacts))


def _render(console: Console, report) -> None:  # noqa: ANN001 - TrainReport, imported lazily
    from rich import box
    from rich.table import Table

    console.print(
        f"Trained {report.params['loss_function']} on {report.train.rows:,} rows / "
        f"{report.train.queries:,} snapshots of {report.db} (labels: {report.label_source}); "
        f"{report.trees} trees, best iteration {report.best_iteration}",
        highlight=False,
    )
    if report.metrics:
        table = Table(title="held-out NDCG (latest snapshots)", title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("ranker")
        for k in report.metrics["model"]:
            table.add_column(k, justify="right")
        for name, values in report.metrics.items():
            table.add_row(name.replace("_", " "), *(f"{v:.4f}" for v in values.values()))
        console.print(table)
        console.print(f"  held out: {report.eval.rows:,} rows / {report.eval.queries:,} snapshots", highlight=False)
    top = ", ".join(f"{name} {value:.1f}" for name, value in report.feature_importance[:6])
    console.print(f"Top features: {top}", highlight=False)
    files = Table(title="model files", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("format", "file", "size", "sha256"):
        files.add_column(col, overflow="fold")
    for a in report.artifacts:
        files.add_row(a.format, a.path, f"{a.size_bytes:,}", a.sha256[:16])
    console.print(files)
    s = report.seconds
    console.print(
        f"Wall time: dataset {s['dataset']:.2f} s, fit {s['fit']:.2f} s, export {s['export']:.2f} s", highlight=False
    )
    render_not_ready(console, report)
    if report.daemon_config:
        console.print("\n[bold]For the SmoothTask daemon[/]", highlight=False)
        console.print(report.daemon_config, markup=False, highlight=False, soft_wrap=True)


def render_not_ready(console: Console, report) -> None:  # noqa: ANN001 - TrainReport
    """A model written with --allow-worse-than-stub (or never compared), said in the report itself."""
    from smoothtask_trainer.services.train import better_than_stub

    if report.metrics and better_than_stub(report.metrics):
        return
    if report.metrics:
        m, s = report.metrics["model"]["ndcg@5"], report.metrics["stub_ranker"]["ndcg@5"]
        what = f"NOT better than the daemon's stub ranker (held-out NDCG@5 model {m:.4f}, stub ranker {s:.4f})"
    else:
        what = "NOT compared with the daemon's stub ranker (no held-out snapshots)"
    console.print(f"\n[bold red]This model is {what}.[/]", highlight=False)
    console.print("The daemon's built-in stub ranker may rank as well or better: do not deploy it as an improvement.")
