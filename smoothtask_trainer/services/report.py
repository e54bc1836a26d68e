"""`report`: one self-contained HTML page with the figures of the data, the model and the policy (no Typer or rich).

Sections: Data (services/report_data.py), Model (report_model.py), Policy (report_policy.py) and the daemon's
configuration with its traps, as the terminal shows them. A section whose input is missing says what to run;
`train`, `replay` and `tune` write the sections of their part only. The page itself is report_page.py.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from smoothtask_trainer import store
from smoothtask_trainer.errors import ConfigError, InputFormatError, InputNotFoundError, opt
from smoothtask_trainer.files import atomic_write_text
from smoothtask_trainer.schemas.report import ReportResult
from smoothtask_trainer.schemas.validate import ValidationReport
from smoothtask_trainer.services.report_page import Page, render
from smoothtask_trainer.settings import PolicySettings
from smoothtask_trainer.sqlite_errors import translated

if TYPE_CHECKING:
    from smoothtask_trainer.services.dataset import Dataset

Section = Literal["data", "model", "policy", "daemon"]
#: Every section, in page order.
SECTIONS: tuple[Section, ...] = ("data", "model", "policy", "daemon")
#: The sections of each command's `--report`.
PARTS: dict[str, tuple[Section, ...]] = {
    "train": ("data", "model", "daemon"),
    "replay": ("policy",),
    "tune": ("policy", "daemon"),
}


def check_output(output: Path, inputs: Sequence[tuple[str, Path | None]]) -> None:
    """Before any work: the report is an .html file that is no input (nor a model's metadata sidecar), and where
    something else already stands (a directory, a device) it is refused rather than replaced."""
    from smoothtask_trainer.errors import OutputPathError
    from smoothtask_trainer.files import refuse_same_files

    named = [(role, p) for role, p in inputs if p is not None]
    named += [(f"{role}'s metadata", p.with_name(p.name + ".metadata.json")) for role, p in named if role == "model"]
    refuse_same_files(named, [("report", output)])
    if output.suffix.lower() not in (".html", ".htm"):
        raise ConfigError(f"{output}: the report is an HTML page", hint="name it FILE.html")
    if output.exists() and not output.is_file():
        raise OutputPathError(f"{output} exists and is not a regular file", hint="write the report somewhere else")


def config_inputs(config: Path, model: Path | None) -> tuple[str, Path | None, Path]:
    """(ranker, model, thresholds file) of a daemon YAML: its policy_mode and model unless `model` is given."""
    from smoothtask_trainer.services.daemon_config import read_daemon_config
    from smoothtask_trainer.services.replay import choose_ranker

    kind, path, _ = choose_ranker(model, False, False, read_daemon_config(config))
    if kind == "model" and model is None and path is not None and path.suffix != ".onnx":
        raise InputFormatError(
            f"{config} enables the model {path}, which is not ONNX: the daemon would fail to load it and run with "
            "no ranker at all",
            hint=f"point model_path at the .onnx file, or pass one with {opt('model')}",
        )
    return kind, path, config


def warnings_of(role: str, path: Path | None) -> list[str]:
    """What the daemon would refuse or ignore in a thresholds file (the report still draws what it would mean)."""
    if path is None:
        return []
    from smoothtask_trainer.services.daemon_config import read_daemon_config

    cfg = read_daemon_config(path)
    out = [f"{path} ({role}): the daemon would refuse this config: {p}" for p in cfg.problems]
    return out + [f"{path} ({role}): unknown thresholds key {k} (the daemon ignores it)" for k in cfg.unknown]


def daemon_section(page: Page, model: Path | None, thresholds: Path | None) -> None:
    """The YAML that makes the daemon use the model, its deployment traps, and the thresholds to merge into it."""
    from smoothtask_trainer.services.onnx_export import daemon_config_hint

    parts = page.section("Daemon config")
    if model is None or model.suffix != ".onnx":
        page.note(parts, "No ONNX model given: the daemon loads ONNX only; export one (smoothtask-trainer export "
                         f"--model M.cbm --format onnx --output M.onnx) and pass it with {opt('model')}.")  # fmt: skip
    else:
        page.text(parts, "Put this into the daemon's YAML config, and read the traps below it:")
        page.text(parts, daemon_config_hint(model), pre=True)
    if thresholds is not None:
        page.text(parts, f"The thresholds of {thresholds.name} (merge its thresholds: block into the same file):")
        page.text(parts, thresholds.read_text(encoding="utf-8"), pre=True)


def report(
    db: str | Path,
    output: str | Path,
    model: str | Path | None = None,
    validation: ValidationReport | None = None,
    thresholds: str | Path | None = None,
    policy: PolicySettings | None = None,
    *,
    curve: list[dict[str, float | None]] | None = None,
    sections: Sequence[Section] = SECTIONS,
    ranker: str | None = None,
    baseline: str | Path | None = None,
    dataset: Dataset | None = None,
) -> ReportResult:
    """Write the report of a store (and a model) to `output`, atomically.

    Args:
        validation: The store's report from `validate`, when the caller has it (the pipeline): no second pass.
        thresholds: A daemon YAML (or `tune`'s output) whose thresholds the policy section compares with the
            daemon's defaults.
        policy: `[policy]` settings: the harm definition and the CPU count of the logging machine.
        curve: `tune`'s churn/lag curve of its tuning window, when the caller has it.
        sections: Which sections to write (default: all).
        ranker: The policy section's ranker: "model", "stub" or "none" (rules-only); default: the model when
            given, else the daemon's stub ranker.
        baseline: A daemon YAML whose thresholds the given ones are compared with, instead of the defaults.
        dataset: The store's dataset, when the caller built it (the pipeline): the model's scores reuse it.
    """
    started = time.perf_counter()
    db, out = Path(db), Path(output)
    model_path, thresholds_path = (Path(model) if model else None), (Path(thresholds) if thresholds else None)
    policy = policy or PolicySettings()
    base = Path(baseline) if baseline else None
    check_output(out, [("store", db), ("model", model_path), ("thresholds", thresholds_path), ("baseline", base)])
    if model_path is not None and not model_path.is_file():
        raise InputNotFoundError(f"model {model_path} does not exist", hint="pass the model file train wrote")
    warnings = warnings_of("thresholds", thresholds_path) + warnings_of("baseline", base)
    page = Page()
    if "data" in sections:
        from smoothtask_trainer.services.report_data import data_section

        con = store.open_readonly(db)
        try:
            with translated(db, "reading"):
                data_section(page, con, db, policy, validation)
        finally:
            con.close()
    if "model" in sections:
        from smoothtask_trainer.services.report_model import model_section

        model_section(page, model_path)
    if "policy" in sections:
        from smoothtask_trainer.services.report_policy import policy_section

        policy_section(
            page, db, model_path, thresholds_path, policy, curve, ranker=ranker, baseline=base, dataset=dataset,
            warnings=warnings,
        )  # fmt: skip
    if "daemon" in sections:
        daemon_section(page, model_path, thresholds_path)
    text = render(page, f"SmoothTask trainer report: {db.name}")
    atomic_write_text(out, text)
    return ReportResult(
        output=str(out), figures=page.figures, bytes_written=out.stat().st_size,
        seconds=round(time.perf_counter() - started, 3), warnings=warnings,
    )  # fmt: skip
