"""`smoothtask-trainer pipeline`: collect → validate → train → export, or the same on a simulated demo workload."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from smoothtask_trainer.cli import dataset_options as dso
from smoothtask_trainer.cli import train as tr
from smoothtask_trainer.cli import validate as va
from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import EXIT_GATE, boundary
from smoothtask_trainer.cli.options import JsonOpt, QuietOpt
from smoothtask_trainer.errors import ConfigError, ValidationFailed

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer pipeline --demo

  smoothtask-trainer pipeline --snapshots day1.jsonl day2.jsonl.gz --model-json model.json --model-onnx model.onnx

  smoothtask-trainer pipeline --db /var/lib/smoothtask/snapshots.sqlite --model-onnx model.onnx --labels rules

  smoothtask-trainer pipeline --snapshots logs/ --store store.db --model-onnx model.onnx --min-snapshots 500 --json
"""

STORE = "Store"
DEMO_SNAPSHOTS = 1000


@boundary
def pipeline(
    ctx: typer.Context,
    snapshots: Annotated[
        list[str] | None,
        typer.Option(
            "--snapshots",
            help="Snapshot logs to ingest (several may follow one --snapshots; files, directories, globs, '-').",
            show_default=False,
            rich_help_panel=STORE,
        ),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(
            "--db",
            help="Train on this existing store instead (it is never modified).",
            dir_okay=False,
            show_default=False,
            rich_help_panel=STORE,
        ),
    ] = None,
    model_json: tr.ModelJsonOpt = None,
    model_onnx: tr.ModelOnnxOpt = None,
    model_cbm: tr.ModelCbmOpt = None,
    store: Annotated[
        Path | None,
        typer.Option(
            "--store",
            help="With --snapshots: ingest into this store (default: smoothtask-store.db beside the first model file).",
            dir_okay=False,
            show_default=False,
            rich_help_panel=STORE,
        ),
    ] = None,
    use_temp_db: Annotated[
        bool,
        typer.Option(
            "--use-temp-db",
            help="With --snapshots: ingest into a temporary store, removed at the end.",
            rich_help_panel=STORE,
        ),
    ] = False,
    keep_store: Annotated[
        bool,
        typer.Option("--keep-store", help="Keep the temporary store (its path is reported).", rich_help_panel=STORE),
    ] = False,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"Simulate a realistic desktop ({DEMO_SNAPSHOTS} snapshots) and run the whole pipeline on it.",
        ),
    ] = False,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            "--out-dir",
            help="With --demo: where the model files go (default: ./smoothtask-demo).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    min_snapshots: va.MinSnapshots = None,  # type: ignore[valid-type]
    min_processes: va.MinProcesses = None,  # type: ignore[valid-type]
    min_groups: va.MinGroups = None,  # type: ignore[valid-type]
    min_groups_per_query: va.MinGroupsPerQuery = None,  # type: ignore[valid-type]
    min_label_signal: va.MinLabelSignal = None,  # type: ignore[valid-type]
    min_time_span: va.MinTimeSpan = None,  # type: ignore[valid-type]
    max_null_ratio: va.MaxNullRatio = None,  # type: ignore[valid-type]
    loss: tr.LossOpt = None,
    iterations: tr.IterationsOpt = None,
    depth: tr.DepthOpt = None,
    learning_rate: tr.LearningRateOpt = None,
    seed: tr.SeedOpt = None,
    threads: tr.ThreadsOpt = None,
    border_count: tr.BorderOpt = None,
    eval_fraction: tr.EvalFractionOpt = None,
    no_eval: tr.NoEvalOpt = False,
    early_stopping_rounds: tr.EarlyStopOpt = None,
    categorical: tr.CategoricalOpt = None,
    allow_worse_than_stub: tr.AllowWorseOpt = False,
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
    """Collect, validate, train and export in one run (the main job).

    Steps are shown as they run, each with its figures. A failed data-quality gate stops before training
    (exit 3), as does a model not better than the daemon's stub ranker (no file written; see train). Only
    what the pipeline created is ever deleted: a temporary store at the end (unless --keep-store); a store
    given with --db or --store is never removed.
    """
    from smoothtask_trainer.services.pipeline import run_pipeline

    state = state_of(ctx)
    out = state.output(json_out, quiet)
    settings = state.settings(
        {
            "validation": va.gate_overrides(
                min_snapshots,
                min_processes,
                min_groups,
                min_groups_per_query,
                min_label_signal,
                min_time_span,
                max_null_ratio,
            ),
            "train": tr.train_overrides(
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
    if out_dir is not None and not demo:
        raise typer.BadParameter("--out-dir goes with --demo", param_hint="--out-dir")
    with tempfile.TemporaryDirectory(prefix="smoothtask-demo-") as scratch:
        if demo:
            if snapshots or db or store:
                raise typer.BadParameter(
                    "--demo brings its own data: drop --snapshots, --db and --store", param_hint="--demo"
                )
            if out_dir is not None and any(outputs.values()):
                raise typer.BadParameter(
                    "--out-dir names where the demo's models go; with --model-* you name "
                    "them yourself: give one or the other",
                    param_hint="--out-dir",
                )
            snapshots, use_temp_db = [_simulate_demo(Path(scratch), out)], True
            if not any(outputs.values()):
                target = out_dir or Path("smoothtask-demo")
                target.mkdir(parents=True, exist_ok=True)
                outputs = {fmt: target / f"model.{fmt}" for fmt in ("onnx", "json", "cbm")}
        elif not snapshots and db is None:
            raise ConfigError(
                "give --snapshots FILES..., --db STORE, or --demo",
                hint="try `smoothtask-trainer pipeline --demo` for a run on simulated data",
            )
        with out.step_progress() as bars:
            try:
                report = run_pipeline(
                    snapshots=snapshots,
                    db=db,
                    outputs=outputs,
                    settings=settings,
                    store=store,
                    use_temp_db=use_temp_db,
                    keep_store=keep_store,
                    on_step=lambda s: _show_step(out, s),
                    on_collect_progress=bars.collect if bars else None,
                    on_train_progress=bars.train if bars else None,
                )
            except ValidationFailed as exc:
                failed = exc.report
                if failed is None or not hasattr(failed, "steps"):
                    raise
                out.emit(failed, lambda console: _render(console, failed), quiet_line="failed")
                out.error(exc.message, exc.hint)
                raise typer.Exit(EXIT_GATE) from None
    out.emit(
        report,
        lambda console: _render(console, report),
        quiet_line=" ".join(a.path for a in report.train.artifacts) if report.train else "",
    )


def _simulate_demo(scratch: Path, out) -> str:  # noqa: ANN001 - Output
    from smoothtask_trainer.schemas.simulate import SimulateOptions
    from smoothtask_trainer.services.simulate import simulate

    path = scratch / "demo-snapshots.jsonl.gz"
    out.info(f"simulating {DEMO_SNAPSHOTS} snapshots of a desktop workload …")
    with out.count_progress("simulating", DEMO_SNAPSHOTS) as progress:
        simulate(SimulateOptions(output=path, snapshots=DEMO_SNAPSHOTS, seed=42), on_progress=progress)
    return str(path)


def _show_step(out, step) -> None:  # noqa: ANN001 - Output, StepReport
    if step.status == "running":
        out.info(f"[bold]▶ {step.name}[/] …")
        return
    figures = ", ".join(f"{k} {v}" for k, v in step.figures.items() if v not in (None, [], ""))
    mark = "[green]✓[/]" if step.status == "ok" else "[red]✗[/]"
    out.info(f"{mark} {step.name} ({step.seconds:.1f} s){': ' + figures if figures else ''}")


def _render(console: Console, report) -> None:  # noqa: ANN001 - PipelineReport, imported lazily
    from rich import box
    from rich.table import Table

    table = Table(title="pipeline", title_justify="left", box=box.SIMPLE_HEAD)
    for col in ("step", "status", "seconds", "figures"):
        table.add_column(col, overflow="fold")
    for s in report.steps:
        figures = ", ".join(f"{k}: {v}" for k, v in s.figures.items() if v not in (None, [], ""))
        table.add_row(s.name, s.status, f"{s.seconds:.1f}", figures)
    console.print(table)
    kept = "kept" if report.store_kept else "removed"
    console.print(f"Store ({report.store_kind}): {report.store} — {kept}", highlight=False)
    if report.train:
        m = report.train.metrics
        if m:
            console.print(
                f"Held-out NDCG@5: model {m['model']['ndcg@5']:.4f}, daemon stub ranker "
                f"{m['stub_ranker']['ndcg@5']:.4f}, random {m['random']['ndcg@5']:.4f}",
                highlight=False,
            )
        for a in report.train.artifacts:
            console.print(f"Model ({a.format}): {a.path}  (metadata: {a.metadata_path})", highlight=False)
        if report.train.artifacts:
            tr.render_not_ready(console, report.train)
    if report.daemon_config:
        console.print("\n[bold]For the SmoothTask daemon[/]", highlight=False)
        console.print(report.daemon_config, markup=False, highlight=False, soft_wrap=True)
