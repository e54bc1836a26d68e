"""`smoothtask-trainer replay`: parse options, call `services.replay.replay`, render the report."""

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
from smoothtask_trainer.cli.reports import focus_line, line, table
from smoothtask_trainer.cli.state import AppState

if TYPE_CHECKING:
    from rich.console import Console

EPILOG = examples(
    "smoothtask-trainer replay --db store.db --ranker stub --ncpu 8",
    "smoothtask-trainer replay --db store.db --model model.onnx --daemon-config /etc/smoothtask/smoothtask.yml",
    "smoothtask-trainer replay --db store.db --rules-only --classes-out classes.csv --json",
    "smoothtask-trainer replay --features features/ --host desk-07 --model model.onnx --ncpu 8",
)
RANKER = "Ranker"


@command("policy.ncpu", "policy.harm_latency_ms", "policy.harm_horizon_s", "dataset.attention_horizon_s")
def replay(
    state: AppState,
    overrides: dict,
    db: DbInOpt = None,
    features: FeaturesOpt = None,
    host: HostOpt = None,
    model: Annotated[
        Path | None, option("--model", help="Rank with this ONNX model (hybrid mode).", dir_okay=False, panel=RANKER)
    ] = None,
    ranker: Annotated[
        Literal["stub"] | None, option("--ranker", help="Rank with the daemon's built-in stub ranker.", panel=RANKER)
    ] = None,
    rules_only: Annotated[
        bool, option("--rules-only", help="No ranker: the daemon's default policy_mode.", panel=RANKER)
    ] = False,
    daemon_config: Annotated[
        Path | None,
        option(
            "--daemon-config",
            help="The daemon's YAML: its policy_mode, model.enabled and thresholds (default: the daemon's defaults).",
            dir_okay=False,
        ),
    ] = None,
    against_model: Annotated[
        Path | None,
        option("--against-model", help="Also replay with this ONNX model; show where the two differ.", dir_okay=False),
    ] = None,
    against_config: Annotated[
        Path | None,
        option(
            "--against-config",
            help="Also replay with this daemon YAML (its mode, model and thresholds); show where the two differ.",
            dir_okay=False,
        ),
    ] = None,
    classes_out: Annotated[
        Path | None,
        option(
            "--classes-out",
            help="Write snapshot_id,app_group_id,class,reason for every decision (.csv or .parquet).",
            dir_okay=False,
        ),
    ] = None,
    report_html: ReportOpt = None,
) -> None:
    """Replay the daemon's policy on a store: the class each app group would get, and why.

    Exactly the daemon's steps (flags, ranker, guardrails, rules, f32 percentile cut-offs, dynamic scaling and
    its hysteresis). The CPU count of the logging machine is not in the log: give it with --ncpu. Also the
    label-free future-focus NDCG@5 of the model, the stub ranker and random order over the whole store.
    """
    from smoothtask_trainer.services import report_parts
    from smoothtask_trainer.services.daemon_config import read_daemon_config
    from smoothtask_trainer.services.replay import PolicySpec, against_policy, choose_ranker
    from smoothtask_trainer.services.replay import replay as run_replay

    one_input(db, features)
    host_needs_features(host, features)
    report_needs_store(report_html, features)
    report_parts.check(report_html, ("store", db or features), ("model", model), ("daemon config", daemon_config),
                       ("classes output", classes_out))  # fmt: skip
    settings = state.settings(overrides)
    config = read_daemon_config(daemon_config) if daemon_config is not None else None
    kind, path, _ = choose_ranker(model, ranker == "stub", rules_only, config)
    thresholds = config.thresholds if config else None
    other = None
    if against_model is not None or against_config is not None:
        other_config = read_daemon_config(against_config) if against_config is not None else None
        other = against_policy(against_model, other_config, PolicySpec(kind, path, thresholds))
    report = run_replay(
        db,
        features=features,
        host=host,
        ranker=kind,
        model=path,
        thresholds=thresholds,
        ncpu=settings.policy.ncpu,
        classes_out=classes_out,
        against=other,
        settings=settings.policy,
        focus_horizon_s=settings.dataset.attention_horizon_s,
    )
    if report_html is not None:
        report.report = report_parts.for_replay(report, report_html, daemon_config, settings.policy)
    report.config_problems = config.problems if config else []
    for problem in report.config_problems:
        state.out.warn(f"{daemon_config}: the daemon would refuse this config: {problem}")
    state.out.emit(report, lambda console: _render(console, report), quiet_line=str(report.groups))


def _render(console: Console, r) -> None:  # noqa: ANN001 - ReplayReport, imported lazily
    line(
        console,
        f"[bold]{r.db}[/]: {r.snapshots:,} snapshots, {r.groups:,} decisions; policy {r.policy_mode}, ranker "
        f"{r.model or r.ranker}; ncpu {r.ncpu}",
    )
    share = {k: f"{v:,} ({v / max(r.groups, 1):.1%})" for k, v in r.class_mix.items()}
    ranked = {k: f"{v:,}" for k, v in r.ranker_class_mix.items()}
    table(console, "classes", ("class", "all groups", "ranker-decided"), [(k, share[k], ranked[k]) for k in share])
    table(console, "decisions by rule", ("rule", "decisions"), [(k, f"{v:,}") for k, v in r.decisions_by_rule.items()])
    loads = ", ".join(f"{k} {v:,}" for k, v in r.load_categories.items())
    line(console, f"Load: {loads} snapshots; {r.scaled:,} decisions scaled, {r.held:,} held by the hysteresis")
    b = r.bad_responsiveness
    line(
        console,
        f"bad_responsiveness: {b.recomputed_true:,} recomputed vs {b.logged_true:,} logged; {b.mismatches:,} "
        f"mismatches over {b.compared:,} snapshots",
    )
    for u in r.unreachable:
        line(console, f"  [yellow]cannot fire[/] {', '.join(u.rules)}: {u.reason}")
    if c := r.churn:
        churn = (
            f"{c.churn_per_group_hour:,} class changes per group-hour" if c.churn_per_group_hour is not None else "-"
        )
        lag = f"median {c.lag_median_s} s, p95 {c.lag_p95_s} s" if c.lag_median_s is not None else "-"
        line(
            console,
            f"Churn: {churn} (key {c.key}, stability {c.key_stability:.2f}); focus to INTERACTIVE: {lag} over "
            f"{c.focus_gains:,} focus gains, {c.focus_gains_never_interactive:,} never",
        )
    if (a := r.applied) and a.compared:
        line(
            console,
            f"Applied-class check: {a.match_rate:.1%} of {a.compared:,} signed process rows carry the replayed class",
        )
    if o := r.outcomes:
        xruns = f"{o.xruns_per_hour:,} xruns per hour" if o.xruns_per_hour is not None else "no xruns figure"
        p99 = (
            f"p99 median {o.sched_p99_median_ms} ms, p95 {o.sched_p99_p95_ms} ms" if o.sched_p99_median_ms else "no p99"
        )
        line(
            console,
            f"Outcomes (logged, for A/B): {o.harm_event_share:.1%} of snapshots harmed (p99 > {o.harm_latency_ms:g} ms "
            f"or xruns), {o.harm_followed_share:.1%} followed by harm within {o.harm_horizon_s:g} s; {xruns}; {p99} "
            f"over {o.observed_hours:.2f} h",
        )
    if r.focus is not None:
        line(console, focus_line(r.focus, ranker="model"))
    if r.teacher:
        t = r.teacher
        line(
            console,
            f"Teacher classes: {t.exact:.1%} exact, mean class distance {t.mean_class_distance:.3f} over "
            f"{t.rows:,} groups",
        )
    if r.against and r.diff:
        o, diff = r.against, r.diff
        line(console, f"\n[bold]Against[/] ranker {o.model or o.ranker} ({o.policy_mode}):")
        rows = [(k, f"{r.class_mix[k]:,}", f"{o.class_mix[k]:,}") for k in r.class_mix]
        table(console, "classes, this vs against", ("class", "this", "against"), rows)
        line(console, f"{diff.differing:,} decisions differ ({diff.share:.1%})")
        if o.focus is not None and o.focus.model is not None:
            line(console, focus_line(o.focus, ranker="against model"))
        moves = [(a, b, f"{n:,}") for a, row in diff.transitions.items() for b, n in row.items()]
        table(console, "differing decisions", ("this", "against", "decisions"), sorted(moves, key=lambda m: m[0]))
        sample = [(d.snapshot_id, d.app_group_id, d.this_reason, d.against_reason) for d in diff.sample]
        table(console, "sample", ("snapshot", "group", "this", "against"), sample)
    if r.classes_out:
        line(console, f"Decisions written to {r.classes_out}")
    if r.report:
        line(console, f"Report written to {r.report}")
