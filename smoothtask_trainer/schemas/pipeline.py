"""Where a `pipeline` run's data comes from and what becomes of its store (the options besides the settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from smoothtask_trainer.flag import Flag

#: Snapshots the demo simulates: enough for a held-out evaluation that means something, done in seconds.
DEMO_SNAPSHOTS = 2000
#: Where the demo's model files go when neither an output directory nor a model file is named.
DEMO_OUT_DIR = Path("smoothtask-demo")


class PipelineInputs(BaseModel):
    """The data of a run: snapshot logs, an existing store, or the demo's simulation; and the store's fate."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    panel: ClassVar[str | None] = "Store"

    snapshots: Annotated[list[str] | None, Flag(unset="none")] = Field(
        default=None,
        description="snapshot logs to ingest: files, directories, globs, '-' for stdin (several may follow the option)",
    )
    db: Annotated[Path | None, Flag(unset="none")] = Field(
        default=None, description="train on this existing store instead (it is never modified)"
    )
    store: Annotated[Path | None, Flag(unset="smoothtask-store.db beside the first model file")] = Field(
        default=None, description="with snapshots: ingest into this store"
    )
    use_temp_db: Annotated[bool, Flag(negatable=False)] = Field(
        default=False, description="with snapshots: ingest into a temporary store, removed at the end"
    )
    keep_store: Annotated[bool, Flag(negatable=False)] = Field(
        default=False, description="keep the temporary store (its path is reported)"
    )
    demo: Annotated[bool, Flag(negatable=False)] = Field(
        default=False,
        description=f"simulate a realistic desktop ({DEMO_SNAPSHOTS} snapshots) and run the whole pipeline on it",
    )
    tune: Annotated[bool, Flag(negatable=False)] = Field(
        default=False,
        description="after training, tune the daemon's thresholds with the new ONNX model and write them to "
        "<model>.thresholds.yml",
    )
    report: Annotated[bool, Flag()] = Field(
        default=True, description="write report.html (the figures of the store and the model) beside the model"
    )
    out_dir: Annotated[Path | None, Flag(unset=f"./{DEMO_OUT_DIR}")] = Field(
        default=None, description="with demo: where the model files go"
    )


class GroundTruth(BaseModel):
    """A model judged on the simulator's teacher labels (only a simulated store has them), on train's held-out
    window."""

    snapshots: int = Field(description="held-out snapshots")
    ndcg5: dict[str, float] = Field(description="NDCG@5 of model, stub_ranker and random against the teacher")
