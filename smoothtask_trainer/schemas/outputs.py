"""The model files a training run writes (`train`, `pipeline`): one option per format."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from smoothtask_trainer.flag import Flag


class ModelOutputs(BaseModel):
    """Where to write the trained model, per format (any of them, at least one)."""

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=())
    panel: ClassVar[str | None] = None

    model_json: Annotated[Path | None, Flag(unset="not written")] = Field(
        default=None, description="write the model as CatBoost JSON"
    )
    model_onnx: Annotated[Path | None, Flag(unset="not written")] = Field(
        default=None, description="write the model as ONNX for the daemon (51 float inputs, a score in (0,1))"
    )
    model_cbm: Annotated[Path | None, Flag(unset="not written")] = Field(
        default=None, description="write the model as CatBoost CBM"
    )

    def by_format(self) -> dict[str, Path | None]:
        """``{"json": path, "onnx": path, "cbm": path}`` (None: that format is not written): ``model_<format>``."""
        return {name.removeprefix("model_"): getattr(self, name) for name in type(self).model_fields}
