"""`smoothtask-trainer export`: parse options, call `services.export.export`, render the result."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from smoothtask_trainer.cli.app import state_of
from smoothtask_trainer.cli.errors import boundary
from smoothtask_trainer.cli.options import JsonOpt, QuietOpt
from smoothtask_trainer.cli.output import human_bytes

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = """\
Examples:

  smoothtask-trainer export --model model.json --format onnx --output /opt/smoothtask/ranker.onnx

  smoothtask-trainer export --model model.cbm --format json -o model.json --metadata '{"version": "1.1.0"}'

  smoothtask-trainer export --model model.json --format onnx -o ranker.onnx --json

  python -m smoothtask_trainer.export_model --model model.json --format cbm --output model.cbm --no-validate
"""


class Format(StrEnum):
    onnx = "onnx"
    json = "json"
    cbm = "cbm"


def _metadata(text: str | None) -> dict[str, Any] | None:
    """`--metadata` as a dict; a usage error (exit 2) naming the flag otherwise."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(
            f"not valid JSON ({exc.msg} at character {exc.pos}); quote the object for the shell: "
            """--metadata '{"version": "1.0.0"}'""",
            param_hint="--metadata",
        ) from None
    if not isinstance(value, dict):
        raise typer.BadParameter(f"must be a JSON object, not {type(value).__name__}", param_hint="--metadata")
    return value


@boundary
def export(
    ctx: typer.Context,
    model: Annotated[
        Path,
        typer.Option("--model", help="The CatBoost model to export: a .json or .cbm file.", show_default=False),
    ],
    format: Annotated[  # noqa: A002 - the flag is --format
        Format,
        typer.Option(
            "--format",
            help="onnx: what the daemon loads (sigmoid-squashed); json/cbm: for Python and re-export.",
            case_sensitive=False,
            show_default=False,
        ),
    ],
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            help="The file to write (suffix .onnx, .json or .cbm).",
            dir_okay=False,
            show_default=False,
        ),
    ],
    metadata: Annotated[
        str | None,
        typer.Option(
            "--metadata",
            help='Extra metadata as a JSON object, e.g. \'{"version": "1.0.0", "author": "me"}\'.',
            show_default=False,
        ),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option(
            "--validate/--no-validate",
            help="Check the written file before it replaces OUTPUT (reload; ONNX: the daemon's contract and parity).",
        ),
    ] = True,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Export a trained model to ONNX (for the daemon), JSON or CBM.

    The output is written under a temporary name, checked, then renamed into place, followed by its metadata
    sidecar OUTPUT.metadata.json. ONNX gets a sigmoid on the score, because the daemon clamps scores to [0, 1].
    """
    from smoothtask_trainer.services.export import export as run_export

    out = state_of(ctx).output(json_out, quiet)
    extra = _metadata(metadata)
    result = run_export(model, format.value, output, extra, validate)
    if not validate:
        out.warn("--no-validate: the file was not reloaded or checked")
    out.emit(result, lambda console: _render(console, result), quiet_line=result.output_model)


def _render(console: Console, result) -> None:  # noqa: ANN001 - ExportResult, imported lazily
    from rich import box
    from rich.table import Table

    table = Table(title=f"export → {result.output_model}", title_justify="left", box=box.SIMPLE_HEAD, show_header=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    squash = result.squash or "none (raw CatBoost score)"
    for key, value in (
        ("output", result.output_model),
        ("format", f"{result.output_format} (from {result.input_format} {result.input_model})"),
        ("size", human_bytes(result.output_size)),
        ("sha256", result.sha256),
        ("features", str(result.n_features)),
        ("squash", squash),
        ("metadata", result.metadata_path),
        ("checks", f"{len(result.checks)} passed" if result.validated else "skipped (--no-validate)"),
    ):
        table.add_row(key, value)
    console.print(table)
    if result.daemon_config:
        console.print(result.daemon_config, markup=False, highlight=False, soft_wrap=True)
