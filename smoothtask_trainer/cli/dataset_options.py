"""Options that choose the dataset window and its labels (shared by validate, train and pipeline)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

PANEL = "Dataset"


class LabelMode(StrEnum):
    auto = "auto"
    teacher = "teacher"
    rules = "rules"


class SampleMode(StrEnum):
    latest = "latest"
    uniform = "uniform"


LabelsOpt = Annotated[
    LabelMode | None,
    typer.Option(
        "--labels",
        help="Label source: teacher columns, the rule teacher, or auto (teacher where present). "
        "(default: auto; settings key dataset.labels)",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
CorrectionOpt = Annotated[
    bool | None,
    typer.Option(
        "--responsiveness-correction/--no-responsiveness-correction",
        help="Rule teacher: push down groups that hold CPU/IO while the system is unresponsive. "
        "(default: on; settings key dataset.responsiveness_correction)",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
MaxSnapshotsOpt = Annotated[
    int | None,
    typer.Option(
        "--max-snapshots",
        min=1,
        help="Use at most N snapshots (see --sample).",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
SampleOpt = Annotated[
    SampleMode | None,
    typer.Option(
        "--sample",
        help="With --max-snapshots: the latest N, or N uniformly at random. (default: latest)",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--sample-seed",
        help="Random seed of --sample uniform. (default: 42)",
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
SinceOpt = Annotated[
    datetime | None,
    typer.Option(
        "--since",
        help="Only snapshots at or after this time (ISO 8601, UTC if no offset).",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
        show_default=False,
        rich_help_panel=PANEL,
    ),
]
UntilOpt = Annotated[
    datetime | None,
    typer.Option(
        "--until",
        help="Only snapshots before this time (ISO 8601, UTC if no offset).",
        formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"],
        show_default=False,
        rich_help_panel=PANEL,
    ),
]


def dataset_overrides(
    labels: LabelMode | None,
    correction: bool | None,
    max_snapshots: int | None,
    sample: SampleMode | None,
    seed: int | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    """The `[dataset]` settings the user gave as flags (None = not given)."""
    return {
        "labels": labels.value if labels else None,
        "responsiveness_correction": correction,
        "max_snapshots": max_snapshots,
        "sample": sample.value if sample else None,
        "sample_seed": seed,
        "since": since,
        "until": until,
    }
