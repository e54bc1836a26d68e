"""`train`, `replay` and `tune` with `--report FILE.html`: the report's sections of their part (no Typer or rich).

train: the model (learning curve, NDCG, importances, score spread) and the daemon config; replay: the policy it
replayed against the daemon's defaults; tune: the tuned thresholds against the starting ones, and the daemon
config. The output is checked before the command's work starts, so a bad path costs nothing.
"""

from __future__ import annotations

from pathlib import Path

from smoothtask_trainer.errors import ConfigError
from smoothtask_trainer.schemas.replay import ReplayReport
from smoothtask_trainer.schemas.train import TrainReport
from smoothtask_trainer.schemas.tune import TuneReport
from smoothtask_trainer.services.report import PARTS, check_output, report
from smoothtask_trainer.settings import PolicySettings


def check(output: Path | None, *inputs: tuple[str, str | Path | None]) -> None:
    """Before any work: the report is an .html file that is none of the command's inputs or outputs."""
    if output is not None:
        check_output(Path(output), [(role, Path(p) if p is not None else None) for role, p in inputs])


def for_train(result: TrainReport, output: Path) -> str:
    """The model and daemon-config sections of what `train` wrote (the ONNX model when there is one)."""
    files = {a.format: Path(a.path) for a in result.artifacts}
    model = files.get("onnx") or next(iter(files.values()), None)
    if model is None:
        raise ConfigError("no model file was written, so there is nothing to report")
    sections = PARTS["train"] if Path(result.db).is_file() else ("model", "daemon")  # a feature dataset: no store
    return report(result.db, output, model, sections=sections).output


def for_replay(result: ReplayReport, output: Path, config: Path | None, settings: PolicySettings) -> str:
    """The policy section: the replayed policy (`config`'s thresholds, else the defaults) with its ranker."""
    model = Path(result.model) if result.model else None
    return report(result.db, output, model, thresholds=config, policy=_ncpu(settings, result.ncpu),
                  sections=PARTS["replay"], ranker=result.ranker).output  # fmt: skip


def for_tune(result: TuneReport, output: Path, config: Path | None, settings: PolicySettings) -> str:
    """The policy section (the starting thresholds, `config`'s or the defaults, against the tuned ones, with
    tune's churn/lag curve) and the daemon config."""
    model = Path(result.model) if result.model else None
    return report(result.db, output, model, thresholds=result.output, policy=_ncpu(settings, result.ncpu),
                  curve=result.hysteresis_curve, sections=PARTS["tune"], baseline=config,
                  ranker=result.ranker).output  # fmt: skip


def _ncpu(settings: PolicySettings, ncpu: int) -> PolicySettings:
    return settings.model_copy(update={"ncpu": ncpu})
