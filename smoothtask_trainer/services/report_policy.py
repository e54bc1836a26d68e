"""The report's policy section: what the daemon would decide on the store with the default and the given thresholds.

Both replays use the same ranker (the model when given, else the daemon's stub ranker) and this machine's CPU count
unless `policy.ncpu` says otherwise, exactly as `replay` does. No Typer or rich here.
"""

from __future__ import annotations

from pathlib import Path

from smoothtask_trainer.contract import policy
from smoothtask_trainer.services.report import PALETTE, Page, axes
from smoothtask_trainer.settings import PolicySettings


def _share(r, cls: str) -> float:  # noqa: ANN001 - ReplayReport
    return r.class_mix.get(cls, 0) / max(r.groups, 1)


def policy_section(
    page: Page, db: Path, model: Path | None, thresholds: Path | None, settings: PolicySettings | None = None
) -> None:
    from smoothtask_trainer.services.daemon_config import read_daemon_config
    from smoothtask_trainer.services.replay import replay

    parts = page.section("Policy")
    if thresholds is None:
        page.note(
            parts,
            "No thresholds given: tune them (smoothtask-trainer tune --db STORE --model M.onnx --output T.yml) and "
            "pass the file with the thresholds option to compare the daemon's classes with the defaults and with them.",
        )
        return
    p = settings or PolicySettings()
    tuned = read_daemon_config(thresholds).thresholds
    ranker = "model" if model is not None else "stub"
    base = replay(db, ranker=ranker, model=model, ncpu=p.ncpu, settings=p)
    new = replay(db, ranker=ranker, model=model, thresholds=tuned, ncpu=p.ncpu, settings=p)
    names = list(policy.CLASSES)
    page.figure(
        parts,
        {
            "data": [
                {
                    "type": "bar",
                    "name": label,
                    "x": names,
                    "y": [r.class_mix.get(c, 0) / max(r.groups, 1) for c in names],
                    "marker": {"color": PALETTE[i]},
                }
                for i, (label, r) in enumerate((("daemon defaults", base), (thresholds.name, new)))
            ],  # fmt: skip
            "layout": {**axes("Class mix of all app groups", "class", "share of decisions"), "barmode": "group"},
        },
        f"{new.groups:,} decisions ({ranker} ranker, {new.ncpu} CPUs): "
        + ", ".join(f"{c} {_share(base, c):.0%} → {_share(new, c):.0%}" for c in names)
        + ".",
    )
    if new.teacher is not None:
        conf = new.teacher.confusion
        rows = [c for c in names if c in conf]
        z = [[conf[t].get(c, 0) for c in names] for t in rows]
        page.figure(
            parts,
            {
                "data": [
                    {
                        "type": "heatmap",
                        "x": names,
                        "y": rows,
                        "z": z,
                        "colorscale": "Cividis",
                        "colorbar": {"title": {"text": "decisions"}},
                    }
                ],  # fmt: skip
                "layout": axes(
                    f"Replayed classes ({thresholds.name}) against the store's labels", "replayed class", "label class"
                ),  # fmt: skip
            },
            f"{new.teacher.exact:.1%} of decisions match the label's class exactly (defaults: "
            f"{base.teacher.exact:.1%}); mean class distance {new.teacher.mean_class_distance:.3f}."
            if base.teacher
            else f"{new.teacher.exact:.1%} of decisions match the label's class exactly.",
        )
    if new.churn is not None and base.churn is not None:
        values = [base.churn.churn_per_group_hour or 0.0, new.churn.churn_per_group_hour or 0.0]
        page.figure(
            parts,
            {
                "data": [
                    {
                        "type": "bar",
                        "x": ["daemon defaults", thresholds.name],
                        "y": values,
                        "marker": {"color": [PALETTE[0], PALETTE[1]]},
                    }
                ],  # fmt: skip
                "layout": axes("Churn: class changes per group-hour", "thresholds", "class changes per group-hour"),
            },
            f"Churn {values[0]:,.0f} → {values[1]:,.0f} class changes per group-hour (key {new.churn.key}).",
        )
