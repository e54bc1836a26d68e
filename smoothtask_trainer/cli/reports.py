"""Pieces every command's human report is made of: tables, plain lines, the daemon's config, a not-ready model."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


def line(console: Console, text: str) -> None:
    """A line of report text (rich markup allowed; numbers and paths not recoloured)."""
    console.print(text, highlight=False)


def table(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    right: Collection[str] = (),
    header: bool = True,
) -> None:
    """Print a simple table; the columns named in `right` are right-aligned, the others fold long text."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_header=header)
    for col in columns:
        if col in right:
            t.add_column(col, justify="right", no_wrap=True)
        else:
            t.add_column(col, overflow="fold")
    for row in rows:
        t.add_row(*(str(cell) for cell in row))
    console.print(t)


def daemon_config(console: Console, text: str | None, heading: bool = True) -> None:
    """The YAML to paste into the daemon's config, printed as is."""
    if not text:
        return
    if heading:
        console.print("\n[bold]For the SmoothTask daemon[/]", highlight=False)
    console.print(text, markup=False, highlight=False, soft_wrap=True)


def render_not_ready(console: Console, report: Any) -> None:
    """A model written with --allow-worse-than-stub (or never compared), said in the report itself."""
    from smoothtask_trainer.services.train import better_than_stub, comparison_parts

    focus = getattr(report, "focus", None)
    if report.metrics and better_than_stub(report.metrics, focus):
        return
    if report.metrics:
        line(
            console, "\n[bold red]This model is NOT better than the daemon's stub ranker on the held-out snapshots:[/]"
        )
        for text, beats in comparison_parts(report.metrics, focus):
            line(console, f"  {text}" + (" (better)" if beats else " [bold red](not better)[/]"))
    else:
        line(
            console, "\n[bold red]This model is NOT compared with the daemon's stub ranker (no held-out snapshots).[/]"
        )
    line(console, "The daemon's built-in stub ranker may rank as well or better: do not deploy it as an improvement.")


def focus_line(focus: Any, ranker: str = "model") -> str:
    """The label-free future-focus figures in one line (or why there are none)."""
    if focus is None:
        return "Future focus (label-free): not evaluated"
    head = f"Future focus (label-free, next {focus.horizon_s:g} s, {focus.window})"
    if focus.reason:
        return f"{head}: no figure: {focus.reason}"
    figures = [(ranker, focus.model), ("daemon stub ranker", focus.stub_ranker), ("random", focus.random)]
    shown = ", ".join(f"{name} {value:.4f}" for name, value in figures if value is not None)
    text = (
        f"{head}: NDCG@5 {shown} over {focus.judging_snapshots:,} judging snapshots "
        f"({focus.candidates_per_snapshot:g} focusable apps not focused, on average)"
    )
    if focus.stub_ranker is not None and focus.random is not None and focus.stub_ranker <= focus.random:
        text += "; the stub ranker orders the apps the user switches to no better than random"
    return text
