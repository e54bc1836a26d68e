"""`pipeline`: collect → validate → train → export in one run, each step reported, nothing read twice.

The store is the user's (`db` or `store`: never deleted), a temporary one (`use_temp_db`: removed at the
end unless `keep_store`), or by default `smoothtask-store.db` beside the first model file (kept, so running the
same pipeline again ingests nothing new). The dataset `validate` builds is the one `train` trains on.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from smoothtask_trainer.errors import ConfigError, ValidationFailed, opt
from smoothtask_trainer.files import refuse_same_files
from smoothtask_trainer.schemas.collect import CollectResult
from smoothtask_trainer.schemas.pipeline import GroundTruth
from smoothtask_trainer.schemas.report import ReportResult
from smoothtask_trainer.schemas.train import TrainReport
from smoothtask_trainer.schemas.tune import TuneReport
from smoothtask_trainer.schemas.validate import ValidationReport
from smoothtask_trainer.settings import TrainerSettings

DEFAULT_STORE_NAME = "smoothtask-store.db"


class StepReport(BaseModel):
    name: str
    status: str = Field(description="ok, failed or skipped")
    seconds: float = 0.0
    figures: dict[str, Any] = Field(default_factory=dict)
    outputs: list[str] = Field(default_factory=list)


class PipelineReport(BaseModel):
    """One report for the whole run: per step its status, figures and outputs, and the full step reports."""

    ok: bool
    store: str
    store_kind: str = Field(description="given (db), named (store), default (beside the model) or temporary")
    store_kept: bool
    steps: list[StepReport] = Field(default_factory=list)
    collect: CollectResult | None = None
    validation: ValidationReport | None = None
    train: TrainReport | None = None
    tune: TuneReport | None = None
    report: ReportResult | None = None
    ground_truth: GroundTruth | None = Field(
        None, description="simulated stores only (the demo): the model against the simulator's teacher"
    )
    daemon_config: str | None = None
    seconds: float = 0.0


#: on_step(step report) — called when a step starts (status "running") and when it ends.
StepFn = Callable[[StepReport], None]


@dataclass
class StorePlan:
    """Where a run's store is, what kind it is, and the temporary directory to remove (only for "temporary")."""

    path: Path
    kind: str  #: given (an existing store), named, default (beside the first model file) or temporary
    tmpdir: Path | None = None

    def remove(self) -> None:
        """Remove the temporary store (nothing else is ever removed)."""
        if self.tmpdir is not None:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            self.tmpdir = None


def plan_store(
    snapshots: Sequence[str] | None,
    db: Path | None,
    store: Path | None,
    use_temp_db: bool,
    outputs: Mapping[str, Path | None],
) -> StorePlan:
    """The store of a run, after checking the combination of options (shared by the CLI and the Python API)."""
    if bool(snapshots) == (db is not None):
        raise ConfigError(
            f"give exactly one of {opt('snapshots')} and {opt('db')}",
            hint=f"{opt('snapshots')} FILES... to ingest logs, or {opt('db')} STORE to train on a store",
        )
    if db is not None:
        if store is not None or use_temp_db:
            raise ConfigError(f"{opt('store')} and {opt('use_temp_db')} go with {opt('snapshots')}, not {opt('db')}")
        return StorePlan(Path(db), "given")
    if store is not None and use_temp_db:
        raise ConfigError(f"give {opt('store')} or {opt('use_temp_db')}, not both")
    if store is not None:
        return StorePlan(Path(store), "named")
    if use_temp_db:
        tmp = Path(tempfile.mkdtemp(prefix="smoothtask-pipeline-"))
        return StorePlan(tmp / "store.db", "temporary", tmp)
    first = next((Path(p) for p in outputs.values() if p is not None), None)
    if first is None:
        raise ConfigError("no output file given", hint=f"name at least one of {opt('outputs')}")
    return StorePlan(first.parent / DEFAULT_STORE_NAME, "default")


def _inputs(snapshots: Sequence[str] | None, store_path: Path) -> list[tuple[str, str | Path | None]]:
    """What the run reads: every snapshot log (directories and globs expanded) and the store."""
    from smoothtask_trainer.ingest.reader import STDIN, expand_sources

    logs = [p for p in expand_sources(list(snapshots)) if p != STDIN] if snapshots else []
    return [("snapshot log", p) for p in logs] + [("store", store_path)]


def run_pipeline(
    *,
    snapshots: Sequence[str] | None,
    db: Path | None,
    outputs: dict[str, Path | None],
    settings: TrainerSettings,
    store: Path | None = None,
    use_temp_db: bool = False,
    keep_store: bool = False,
    tune: bool = False,
    ground_truth: bool = False,
    report_html: bool = True,
    on_step: StepFn | None = None,
    on_collect_progress: Callable[..., None] | None = None,
    on_train_progress: Callable[..., None] | None = None,
) -> PipelineReport:
    """Run collect (with `snapshots`), validate, train and export; with `tune`, then tune the daemon's thresholds
    with the new ONNX model and write them to `<model>.thresholds.yml`. With `ground_truth` (a simulated store
    that has teacher labels, trained without them), judge the ONNX model on the teacher too.

    Raises:
        ValidationFailed: A data-quality gate failed (`.report` is the PipelineReport): before training, or the
            model is not better than the daemon's stub ranker (see `services.train.train`); no model file written.
        The errors of each step (collect, validate, train, export) otherwise.
    """
    from smoothtask_trainer.services.collect import collect
    from smoothtask_trainer.services.train import check_outputs, train
    from smoothtask_trainer.services.validate import gates_hint, validate_and_build

    started = time.perf_counter()
    plan = plan_store(snapshots, db, store, use_temp_db, outputs)
    path = plan.path
    try:
        # Before any work: a bad output path must not cost a collect, and no output may replace an input.
        check_outputs(outputs, settings.train, inputs=_inputs(snapshots, path))
        if tune and outputs.get("onnx") is None:
            raise ConfigError(
                f"{opt('tune')} tunes with the ONNX model the run trains", hint=f"add {opt('model_onnx')}"
            )
        if tune:
            thresholds_out = Path(outputs["onnx"]).with_suffix(".thresholds.yml")  # type: ignore[arg-type]
            refuse_same_files(_inputs(snapshots, path), [("tuned thresholds", thresholds_out)])
        if report_html and (first := next((p for p in outputs.values() if p is not None), None)) is not None:
            refuse_same_files(_inputs(snapshots, path), [("report", Path(first).parent / "report.html")])
    except BaseException:
        plan.remove()
        raise
    temporary = plan.tmpdir is not None
    report = PipelineReport(ok=False, store=str(path), store_kind=plan.kind, store_kept=not temporary or keep_store)

    def step(name: str) -> StepReport:
        item = StepReport(name=name, status="running")
        report.steps.append(item)
        if on_step:
            on_step(item)
        return item

    def done(item: StepReport, t0: float, status: str = "ok") -> None:
        item.status, item.seconds = status, round(time.perf_counter() - t0, 3)
        if on_step:
            on_step(item)

    try:
        if snapshots:
            item, t0 = step("collect"), time.perf_counter()
            report.collect = collect(list(snapshots), path, settings.collect, on_progress=on_collect_progress)
            c = report.collect
            item.figures = {
                "files": len(c.files),
                "snapshots_inserted": c.inserted.snapshots,
                "processes_inserted": c.inserted.processes,
                "store_snapshots": c.store.snapshots,
                "skipped_records": sum(f.skipped_records for f in c.files),
            }
            item.outputs = [str(path)]
            done(item, t0)
        item, t0 = step("validate"), time.perf_counter()
        report.validation, ds = validate_and_build(path, settings.validation, settings.dataset)
        v = report.validation
        item.figures = {
            "snapshots": v.stats.snapshot_count,
            "rows": v.rows,
            "label_source": v.labels.source if v.labels else None,
            "failed_gates": [g.name for g in v.failed],
        }
        if not v.ok:
            done(item, t0, "failed")
            report.steps.append(StepReport(name="train", status="skipped"))
            raise ValidationFailed(
                "data-quality gate(s) failed: " + "; ".join(f"{g.name}: {g.message}" for g in v.failed),
                report=report,
                hint=gates_hint(v),
            )
        done(item, t0)
        item, t0 = step("train"), time.perf_counter()
        try:
            report.train = train(
                path, outputs, settings.train, settings.dataset, on_progress=on_train_progress, prebuilt=ds
            )
        except ValidationFailed as exc:  # a gate of train's own (e.g. not better than the stub ranker): no files
            if isinstance(exc.report, TrainReport):
                report.train = exc.report
                item.figures = _train_figures(exc.report)
            done(item, t0, "failed")
            raise ValidationFailed(exc.raw_message, report=report, hint=exc.raw_hint) from exc
        t = report.train
        item.figures = _train_figures(t)
        item.outputs = [a.path for a in t.artifacts]
        report.daemon_config = t.daemon_config
        done(item, t0)
        if ground_truth and outputs.get("onnx") is not None:
            from smoothtask_trainer.services.ground_truth import against_ground_truth

            report.ground_truth = against_ground_truth(path, Path(outputs["onnx"]), settings.train, settings.dataset)
        if tune:
            from smoothtask_trainer.services.tune import tune_policy

            item, t0 = step("tune"), time.perf_counter()
            onnx = Path(outputs["onnx"])  # type: ignore[arg-type]
            report.tune = tune_policy(path, onnx.with_suffix(".thresholds.yml"), None, onnx, settings=settings.policy)
            item.figures = {"tuned": sorted(k for k, v in report.tune.knobs.items() if v.status == "tuned")}
            item.outputs = [report.tune.output or ""]
            done(item, t0)
        if report_html and t.artifacts:
            from smoothtask_trainer.services.report import report as write_report

            item, t0 = step("report"), time.perf_counter()
            model = Path(outputs.get("onnx") or t.artifacts[0].path)
            tuned = report.tune.output if report.tune else None
            curve = report.tune.hysteresis_curve if report.tune else None
            report.report = write_report(
                path,
                model.parent / "report.html",
                model,
                report.validation,
                tuned,
                settings.policy,
                curve=curve,
                dataset=ds,
            )
            item.figures = {"figures": report.report.figures}
            item.outputs = [report.report.output]
            done(item, t0)
        report.ok = True
    finally:
        if not keep_store:
            plan.remove()
        report.seconds = round(time.perf_counter() - started, 3)
    return report


def _train_figures(t: TrainReport) -> dict[str, Any]:
    return {
        "trees": t.trees,
        "best_iteration": t.best_iteration,
        "ndcg@5": t.metrics.get("model", {}).get("ndcg@5"),
        "stub_ndcg@5": t.metrics.get("stub_ranker", {}).get("ndcg@5"),
        "focus_ndcg@5": t.focus.model if t.focus else None,
        "stub_focus_ndcg@5": t.focus.stub_ranker if t.focus else None,
        **t.seconds,
    }
