"""`smoothtask-trainer pipeline`: collect → validate → train → export, or the same on a simulated demo workload."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from smoothtask_trainer.cli import options as o
from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.errors import flag_name
from smoothtask_trainer.cli.reports import daemon_config, focus_line, line, render_not_ready, table
from smoothtask_trainer.cli.state import AppState
from smoothtask_trainer.errors import EXIT_GATE, ValidationFailed
from smoothtask_trainer.schemas.outputs import ModelOutputs
from smoothtask_trainer.schemas.pipeline import DEMO_SNAPSHOTS, PipelineInputs

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = o.examples(
    "smoothtask-trainer pipeline --demo",
    "smoothtask-trainer pipeline --snapshots day1.jsonl day2.jsonl.gz --model-json model.json --model-onnx model.onnx",
    "smoothtask-trainer pipeline --db /var/lib/smoothtask/snapshots.sqlite --model-onnx model.onnx --labels rules",
    "smoothtask-trainer pipeline --snapshots logs/ --store store.db --model-onnx model.onnx --min-snapshots 500 --json",
)


@command("validation", "train", "dataset", "policy.ncpu", models=(PipelineInputs, ModelOutputs))
def pipeline(
    state: AppState,
    overrides: dict,
    inputs: PipelineInputs,
    outputs: ModelOutputs,
) -> None:
    """Collect, validate, train and export in one run (the main job).

    Steps are shown as they run, each with its figures. A failed data-quality gate stops before training
    (exit 3), as does a model not better than the daemon's stub ranker (no file written; see train). Only
    what the pipeline created is ever deleted: a temporary store at the end (unless --keep-store); a store
    given with --db or --store is never removed.
    """
    from smoothtask_trainer.services.demo import demo_settings, prepare
    from smoothtask_trainer.services.pipeline import run_pipeline

    out = state.out
    settings = state.settings(overrides)
    with tempfile.TemporaryDirectory(prefix="smoothtask-demo-") as scratch:
        judged = inputs.demo  # only the demo's simulated store has a teacher to judge the model by
        if inputs.demo:
            out.info(f"simulating {DEMO_SNAPSHOTS} snapshots of a desktop workload …")
            settings = demo_settings(settings)
        with out.count_progress("simulating", DEMO_SNAPSHOTS) as progress:
            inputs, paths = prepare(inputs, outputs.by_format(), Path(scratch), progress)
        with out.step_progress() as bars:
            try:
                report = run_pipeline(
                    **inputs.model_dump(include={"snapshots", "db", "store", "use_temp_db", "keep_store", "tune"}),
                    report_html=inputs.report,
                    outputs=paths,
                    settings=settings,
                    ground_truth=judged,
                    on_step=lambda s: _show_step(out, s),
                    on_collect_progress=bars.collect if bars else None,
                    on_train_progress=bars.train if bars else None,
                )
            except ValidationFailed as exc:
                failed = exc.report
                if failed is None or not hasattr(failed, "steps"):
                    raise
                out.emit(failed, lambda console: _render(console, failed), quiet_line="failed")
                out.error(*exc.render(flag_name))
                raise typer.Exit(EXIT_GATE) from None
    artifacts = report.train.artifacts if report.train else []
    out.emit(report, lambda console: _render(console, report), quiet_line=" ".join(a.path for a in artifacts))


def _figures(figures: dict, sep: str = " ") -> str:
    return ", ".join(f"{k}{sep}{v}" for k, v in figures.items() if v not in (None, [], ""))


def _show_step(out, step) -> None:  # noqa: ANN001 - Output, StepReport
    if step.status == "running":
        out.info(f"[bold]▶ {step.name}[/] …")
        return
    mark = "[green]✓[/]" if step.status == "ok" else "[red]✗[/]"
    figures = _figures(step.figures)
    out.info(f"{mark} {step.name} ({step.seconds:.1f} s){': ' + figures if figures else ''}")


def _tuned_objectives(console: Console, tune) -> None:  # noqa: ANN001 - TuneReport, imported lazily
    """One line per objective of the tuned knobs: its value on the held-out snapshots before and after."""
    seen: dict[str, list[str]] = {}
    for key, knob in tune.knobs.items():
        if knob.status == "tuned" and knob.objective is not None:
            seen.setdefault(knob.objective.name, []).append(key)
    for name, keys in seen.items():
        held = tune.knobs[keys[0]].objective.heldout
        line(console, f"  {', '.join(keys)}: {name}, held out {held['before']:.4f} → {held['after']:.4f}")


def _render(console: Console, report) -> None:  # noqa: ANN001 - PipelineReport, imported lazily
    rows = [(s.name, s.status, f"{s.seconds:.1f}", _figures(s.figures, ": ")) for s in report.steps]
    table(console, "pipeline", ("step", "status", "seconds", "figures"), rows)
    kept = "kept" if report.store_kept else "removed"
    line(console, f"Store ({report.store_kind}): {report.store} — {kept}")
    if report.train:
        if m := report.train.metrics:
            ndcg = {k: f"{v['ndcg@5']:.4f}" for k, v in m.items()}
            line(
                console,
                f"Held-out NDCG@5 against the {report.train.label_source} labels it learnt: model {ndcg['model']}, "
                f"daemon stub ranker {ndcg['stub_ranker']}, random {ndcg['random']}",
            )
            line(console, focus_line(report.train.focus))
        if gt := report.ground_truth:
            g = {k: f"{v:.4f}" for k, v in gt.ndcg5.items()}
            line(
                console,
                f"Against the simulator's ground truth (which only a simulator knows; held-out NDCG@5): model "
                f"{g['model']}, daemon stub ranker {g['stub_ranker']}, random {g['random']}",
            )
        for a in report.train.artifacts:
            line(console, f"Model ({a.format}): {a.path}  (metadata: {a.metadata_path})")
        if report.train.artifacts:
            render_not_ready(console, report.train)
    if report.tune:
        tuned = [k for k, v in report.tune.knobs.items() if v.status == "tuned"]
        line(console, f"Thresholds tuned with this model ({', '.join(tuned) or 'none changed'}): {report.tune.output}")
        _tuned_objectives(console, report.tune)
    if report.report:
        line(console, f"Report: {report.report.output}  (open it in a browser; it works offline)")
    daemon_config(console, report.daemon_config)
