"""`smoothtask-trainer tune`: parse options, call `services.tune.tune`, write the thresholds, render the report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from smoothtask_trainer.cli.command import command
from smoothtask_trainer.cli.options import (
    DbInOpt,
    FeaturesOpt,
    HostOpt,
    ReportOpt,
    examples,
    host_needs_features,
    one_input,
    option,
    report_needs_store,
)
from smoothtask_trainer.cli.reports import line, table
from smoothtask_trainer.cli.state import AppState

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer tune --db store.db --output thresholds.yml",
    "smoothtask-trainer tune --db store.db --model model.onnx --daemon-config /etc/smoothtask/smoothtask.yml "
    "--output smoothtask.tuned.yml --ncpu 8",
    "smoothtask-trainer tune --db store.db --ranker stub --output t.yml --trials 50 --json",
    "smoothtask-trainer tune --features features/ --host desk-07 --model model.onnx --output t.yml",
)


@command("policy")
def tune(
    state: AppState,
    overrides: dict,
    output: Annotated[Path, option("--output", "-o", help="Where to write the tuned config (YAML).", dir_okay=False)],
    db: DbInOpt = None,
    features: FeaturesOpt = None,
    host: HostOpt = None,
    model: Annotated[
        Path | None, option("--model", help="Replay with this ONNX model (hybrid).", dir_okay=False)
    ] = None,
    ranker: Annotated[Literal["stub"] | None, option("--ranker", help="Replay with the daemon's stub ranker.")] = None,
    daemon_config: Annotated[
        Path | None,
        option(
            "--daemon-config",
            help="The daemon's YAML: its thresholds are the starting values, and OUTPUT is a copy of it with only "
            "the tuned keys changed (comments and order kept). Without it, OUTPUT is a complete thresholds: block.",
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, option("--force", help="Keep tuned values even where they do worse on the held-out snapshots.")
    ] = False,
    report_html: ReportOpt = None,
) -> None:
    """Tune the daemon's thresholds from its logs, each knob by an objective it is not computed from.

    Tunes on the earlier snapshots and judges on the latest (policy.holdout_fraction). A knob with nothing honest
    to learn from in these logs keeps its value, and the report says why.
    """
    from smoothtask_trainer.services import report_parts
    from smoothtask_trainer.services.tune import tune_policy

    one_input(db, features)
    host_needs_features(host, features)
    report_needs_store(report_html, features)
    report_parts.check(report_html, ("store", db or features), ("model", model), ("daemon config", daemon_config),
                       ("tuned config", output))  # fmt: skip
    settings = state.settings(overrides)
    report = tune_policy(
        db, output, daemon_config, model, stub=ranker == "stub", settings=settings.policy, force=force,
        features=features, host=host,
    )  # fmt: skip
    if report_html is not None:
        report.report = report_parts.for_tune(report, report_html, daemon_config, settings.policy)
    state.out.emit(report, lambda console: _render(console, report), quiet_line=str(output))


def _render(console: Console, r) -> None:  # noqa: ANN001 - TuneReport, imported lazily
    line(
        console,
        f"[bold]{r.db}[/]: tuned on {r.tuning_snapshots:,} snapshots, judged on the latest {r.holdout_snapshots:,}; "
        f"ncpu {r.ncpu}",
    )
    colour = {"tuned": "green", "unchanged": "yellow", "not-tunable": "dim"}
    rows = []
    for key, k in r.knobs.items():
        held = ""
        if k.objective:
            held = f"{k.objective.heldout['before']:.3f} -> {k.objective.heldout['after']:.3f}"
        rows.append((key, f"{k.before}", f"{k.after}", f"[{colour[k.status]}]{k.status}[/]", held, k.reason))
    table(console, "thresholds", ("key", "before", "after", "status", "held-out", "why"), rows)
    curve = [(c["stable_sec"], c["churn_per_group_hour"], c["lag_median_s"]) for c in r.hysteresis_curve]
    table(console, "hysteresis: churn and lag", ("stable s", "changes / group-hour", "lag median s"), curve)
    line(console, f"Written to {r.output}")
    if r.report:
        line(console, f"Report written to {r.report}")
