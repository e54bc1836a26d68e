"""`smoothtask-trainer train`: parse options, call `services.train.train`, render the report."""

from __future__ import annotations

from typing import TYPE_CHECKING

from smoothtask_trainer.cli import options as o
from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.reports import daemon_config, focus_line, line, render_not_ready, table
from smoothtask_trainer.cli.state import AppState
from smoothtask_trainer.schemas.outputs import ModelOutputs

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = o.examples(
    "smoothtask-trainer train --db store.db --model-json model.json --model-onnx model.onnx",
    "smoothtask-trainer train --db store.db --model-onnx model.onnx --iterations 300 --labels rules --json",
    "smoothtask-trainer train --db store.db --model-cbm model.cbm --no-eval --threads 2",
)


@command("train", "dataset", models=(ModelOutputs,))
def train(
    state: AppState,
    overrides: dict,
    outputs: ModelOutputs,
    db: o.DbInOpt = None,
    features: o.FeaturesOpt = None,
    report_html: o.ReportOpt = None,
) -> None:
    """Train the app-group ranker and export it (ONNX for the daemon, JSON/CBM for Python).

    The latest snapshots are held out (never a random shuffle across time) for early stopping and for the
    report: NDCG@1/3/5/10 of the model, of the daemon's stub ranker and of random order by the labels, and the
    label-free NDCG@5 of what the user focused next. A model whose held-out NDCG@5 is not strictly above the stub
    ranker's on each measure that could be computed is refused (exit 3, no file written) unless
    --allow-worse-than-stub.
    """
    from smoothtask_trainer.services.train import train as run_train

    o.one_input(db, features)
    if features is not None:
        from smoothtask_trainer.services.features_use import train_features as run_train
    from smoothtask_trainer.services import report_parts

    report_parts.check(report_html, ("store", db or features), *outputs.by_format().items())
    out = state.out
    settings = state.settings(overrides)
    with out.step_progress() as bars:
        report = run_train(
            db or features, outputs.by_format(), settings.train, settings.dataset, on_progress=bars and bars.train
        )
    if report_html is not None:
        report.report = report_parts.for_train(report, report_html)
    for warning in report.warnings:
        out.warn(warning)
    out.emit(report, lambda console: _render(console, report), quiet_line=" ".join(a.path for a in report.artifacts))


def _render(console: Console, report) -> None:  # noqa: ANN001 - TrainReport, imported lazily
    line(
        console,
        f"Trained {report.params['loss_function']} on {report.train.rows:,} rows / {report.train.queries:,} "
        f"snapshots of {report.db} (labels: {report.label_source}); {report.trees} trees, best iteration "
        f"{report.best_iteration}",
    )
    if report.metrics:
        cols = list(report.metrics["model"])
        rows = [[name.replace("_", " "), *(f"{v:.4f}" for v in m.values())] for name, m in report.metrics.items()]
        table(console, "held-out NDCG (latest snapshots)", ["ranker", *cols], rows, right=cols)
        line(console, f"  held out: {report.eval.rows:,} rows / {report.eval.queries:,} snapshots")
        line(console, focus_line(report.focus))
    line(console, "Top features: " + ", ".join(f"{n} {v:.1f}" for n, v in report.feature_importance[:6]))
    rows = [(a.format, a.path, f"{a.size_bytes:,}", a.sha256[:16]) for a in report.artifacts]
    table(console, "model files", ("format", "file", "size", "sha256"), rows)
    s = report.seconds
    line(console, f"Wall time: dataset {s['dataset']:.2f} s, fit {s['fit']:.2f} s, export {s['export']:.2f} s")
    render_not_ready(console, report)
    daemon_config(console, report.daemon_config)
    if report.report:
        line(console, f"Report written to {report.report}")
