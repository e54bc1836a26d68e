"""`pipeline --demo`: the whole pipeline on a simulated desktop, with nothing to prepare.

The decisions live here, not in the command: how much to simulate, where the models go when no output is
named, and which options cannot go with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from smoothtask_trainer.errors import ConfigError, opt
from smoothtask_trainer.schemas.model import MODEL_FORMATS, MODEL_SUFFIXES
from smoothtask_trainer.schemas.pipeline import DEMO_OUT_DIR, DEMO_SNAPSHOTS, PipelineInputs
from smoothtask_trainer.settings import TrainerSettings

#: Seed of the demo's simulation: the same demo every time.
DEMO_SEED = 42

Outputs = dict[str, Path | None]


def check_inputs(inputs: PipelineInputs) -> None:
    """The pipeline needs data: snapshot logs, a store, or the demo's simulation."""
    if inputs.out_dir is not None and not inputs.demo:
        raise ConfigError(f"{opt('out_dir')} goes with {opt('demo')}", setting="out_dir")
    if not inputs.demo and not inputs.snapshots and inputs.db is None:
        raise ConfigError(
            f"give {opt('snapshots')} FILES..., {opt('db')} STORE, or {opt('demo')}",
            hint="try `smoothtask-trainer pipeline --demo` for a run on simulated data",
        )


def demo_outputs(inputs: PipelineInputs, outputs: Mapping[str, Path | None]) -> Outputs:
    """The model files of a demo run: the ones named, else every format in `out_dir` (created)."""
    if inputs.snapshots or inputs.db or inputs.store:
        raise ConfigError(
            f"{opt('demo')} brings its own data: drop {opt('snapshots')}, {opt('db')} and {opt('store')}",
            setting="demo",
        )
    if inputs.out_dir is not None and any(outputs.values()):
        raise ConfigError(
            f"{opt('out_dir')} names where the demo's models go; with {opt('outputs')} you name them yourself: "
            "give one or the other",
            setting="out_dir",
        )
    if any(outputs.values()):
        return dict(outputs)
    target = inputs.out_dir or DEMO_OUT_DIR
    target.mkdir(parents=True, exist_ok=True)
    return {fmt: target / f"model{MODEL_SUFFIXES[fmt]}" for fmt in MODEL_FORMATS}


def demo_settings(settings: TrainerSettings) -> TrainerSettings:
    """The demo's settings: replay and tune with the simulated machine's CPU count unless the user set one (the log
    does not record it, and this machine's would skew the load levels); train without the teacher columns, as
    real logs must (labels `combined` where `auto` would pick the teacher), so that the simulator's teacher can
    judge the model afterwards."""
    from smoothtask_trainer.simulator.system import NCPU

    update = {}
    if settings.policy.ncpu is None:
        update["policy"] = settings.policy.model_copy(update={"ncpu": NCPU})
    if settings.dataset.labels == "auto":  # train as on real logs: without the simulator's teacher columns
        update["dataset"] = settings.dataset.model_copy(update={"labels": "combined"})
    return settings.model_copy(update=update) if update else settings


def simulate_demo(scratch: Path, on_progress: Callable[[int, int], None] | None = None) -> Path:
    """Simulate the demo's snapshot log into `scratch`; returns its path."""
    from smoothtask_trainer.schemas.simulate import SimulateOptions
    from smoothtask_trainer.services.simulate import simulate

    path = scratch / "demo-snapshots.jsonl.gz"
    simulate(SimulateOptions(output=path, snapshots=DEMO_SNAPSHOTS, seed=DEMO_SEED), on_progress=on_progress)
    return path


def prepare(
    inputs: PipelineInputs,
    outputs: Mapping[str, Path | None],
    scratch: Path,
    on_progress: Callable[[int, int], None] | None = None,
) -> tuple[PipelineInputs, Outputs]:
    """Check the inputs; for a demo, simulate its log into `scratch` and return the run it becomes."""
    check_inputs(inputs)
    if not inputs.demo:
        return inputs, dict(outputs)
    outputs = demo_outputs(inputs, outputs)
    log = simulate_demo(scratch, on_progress)
    # the demo shows the whole job: a model, and the thresholds tuned with it (when an ONNX file is written)
    update = {"snapshots": [str(log)], "use_temp_db": True, "demo": False, "tune": outputs.get("onnx") is not None}
    return inputs.model_copy(update=update), outputs
