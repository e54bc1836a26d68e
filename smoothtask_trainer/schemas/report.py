"""What `report` wrote."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ReportResult(BaseModel):
    output: str
    figures: int = Field(description="figures drawn (sections without their input say what to run instead)")
    bytes_written: int
    seconds: float
    warnings: list[str] = Field(
        default_factory=list, description="what the daemon would refuse or ignore in the inputs"
    )
