"""`smoothtask-trainer export`: parse options, call `services.export.export`, render the result."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import examples, option
from smoothtask_trainer.cli.output import human_bytes
from smoothtask_trainer.cli.reports import daemon_config, table
from smoothtask_trainer.cli.state import AppState
from smoothtask_trainer.schemas.model import ExportFormat

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer export --model model.json --format onnx --output /opt/smoothtask/ranker.onnx",
    'smoothtask-trainer export --model model.cbm --format json -o model.json --metadata \'{"version": "1.1.0"}\'',
    "smoothtask-trainer export --model model.json --format onnx -o ranker.onnx --json",
    "python -m smoothtask_trainer.export_model --model model.json --format cbm --output model.cbm --no-validate",
)


@command()
def export(
    state: AppState,
    model: Annotated[Path, option("--model", help="The CatBoost model to export: a .json or .cbm file.")],
    format: Annotated[  # noqa: A002 - the flag is --format
        ExportFormat,
        option(
            "--format",
            help="onnx: what the daemon loads (sigmoid-squashed); json/cbm: for Python and re-export.",
            case_sensitive=False,
        ),
    ],
    output: Annotated[
        Path, option("--output", "-o", help="The file to write (suffix .onnx, .json or .cbm).", dir_okay=False)
    ],
    metadata: Annotated[
        str | None,
        option("--metadata", help='Extra metadata as a JSON object, e.g. \'{"version": "1.0.0", "author": "me"}\'.'),
    ] = None,
    validate: Annotated[
        bool,
        option(
            "--validate/--no-validate",
            help="Check the written file before it replaces OUTPUT (reload; ONNX: the daemon's contract and parity). "
            "(default: on)",
        ),
    ] = True,
) -> None:
    """Export a trained model to ONNX (for the daemon), JSON or CBM.

    The output is written under a temporary name, checked, then renamed into place, followed by its metadata
    sidecar OUTPUT.metadata.json. ONNX gets a sigmoid on the score, because the daemon clamps scores to [0, 1].
    """
    from smoothtask_trainer.services.export import export as run_export

    out = state.out
    result = run_export(model, format, output, metadata, validate)
    if not validate:
        out.warn("--no-validate: the file was not reloaded or checked")
    out.emit(result, lambda console: _render(console, result), quiet_line=result.output_model)


def _render(console: Console, result) -> None:  # noqa: ANN001 - ExportResult, imported lazily
    rows = [
        ("output", result.output_model),
        ("format", f"{result.output_format} (from {result.input_format} {result.input_model})"),
        ("size", human_bytes(result.output_size)),
        ("sha256", result.sha256),
        ("features", str(result.n_features)),
        ("squash", result.squash or "none (raw CatBoost score)"),
        ("metadata", result.metadata_path),
        ("checks", f"{len(result.checks)} passed" if result.validated else "skipped (--no-validate)"),
    ]
    table(console, f"export → {result.output_model}", ("key", "value"), rows, header=False)
    daemon_config(console, result.daemon_config, heading=False)
