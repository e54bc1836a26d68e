"""Rendering for people (rich, stdout) and machines (`--json`, exactly one document on stdout).

Logs, warnings, hints and progress go to stderr; progress bars only when stderr is a terminal and neither
`--json` nor `--quiet` is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported lazily: start-up time matters for --help and shell completion
    from pydantic import BaseModel
    from rich.console import Console


@dataclass
class Output:
    """Global output mode, held in the Typer context (never in module state)."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False
    emitted: bool = False  #: a result or error document went to stdout

    @cached_property
    def stdout(self) -> Console:
        from rich.console import Console

        return Console(soft_wrap=False)

    @cached_property
    def stderr(self) -> Console:
        from rich.console import Console

        return Console(stderr=True, soft_wrap=True)

    @property
    def human(self) -> bool:
        return not (self.json or self.quiet)

    def emit(self, result: BaseModel, human: Callable[[Console], None], quiet_line: str | None = None) -> None:
        """Print a command's result in the selected mode."""
        self.emitted = True
        if self.json:
            sys.stdout.write(result.model_dump_json(indent=2) + "\n")
            sys.stdout.flush()
        elif self.quiet:
            if quiet_line is not None:
                sys.stdout.write(quiet_line + "\n")
        else:
            human(self.stdout)

    def emit_json(self, payload: dict[str, Any]) -> None:
        """One JSON document on stdout (for errors under `--json`)."""
        self.emitted = True
        sys.stdout.write(json.dumps(payload, indent=2) + "\n")

    def info(self, message: str) -> None:
        """A note for people, on stderr (silent under --json / --quiet)."""
        if self.human:
            self.stderr.print(message, highlight=False)

    def debug(self, message: str) -> None:
        """Shown with --verbose only."""
        if self.verbose and not self.json:
            self.stderr.print(f"[dim]{message}[/dim]", highlight=False)

    def warn(self, message: str) -> None:
        """A warning on stderr (kept under --json: stdout stays clean, stderr is for people)."""
        if not self.quiet:
            self.stderr.print(f"[yellow]warning:[/yellow] {message}", highlight=False)

    def error(self, message: str, hint: str | None = None) -> None:
        """An error on stderr, with the hint on its own line."""
        self.stderr.print(f"[bold red]error:[/bold red] {message}", highlight=False, markup=True)
        if hint:
            self.stderr.print(f"[cyan]hint:[/cyan] {hint}", highlight=False)

    @property
    def show_progress(self) -> bool:
        return self.human and sys.stderr.isatty() and os.environ.get("TERM") != "dumb"

    @contextlib.contextmanager
    def step_progress(self) -> Iterator[StepProgress | None]:
        """One display for every bar of a run (rich allows a single live display at a time), or None."""
        if not self.show_progress:
            yield None
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"))
        progress = Progress(*columns, TimeElapsedColumn(), TimeRemainingColumn(), console=self.stderr, transient=True)
        with progress:
            yield StepProgress(progress)

    @contextlib.contextmanager
    def byte_progress(self) -> Iterator[Callable[[str, int, int | None, int], None] | None]:
        """A callback `(label, bytes_done, bytes_total, records)` drawing one bar per source, or None."""
        with self.step_progress() as bars:
            yield bars.collect if bars else None

    @contextlib.contextmanager
    def count_progress(self, description: str, total: int) -> Iterator[Callable[..., None] | None]:
        """A callback `(done, total, note="")` drawing one bar with a short note after it, or None."""
        with self.step_progress() as bars:
            yield (lambda done, tot, note="": bars.count(description, done, tot, note)) if bars else None


class StepProgress:
    """The bars of one run: a byte bar per source while collecting, a count bar (training, simulating)."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._tasks: dict[str, Any] = {}

    def _update(self, label: str, total: int | None, done: int, detail: str) -> None:
        if label not in self._tasks:
            name = label if len(label) <= 40 else "…" + label[-39:]
            self._tasks[label] = self._progress.add_task(name, total=total, detail="")
        self._progress.update(self._tasks[label], completed=done, total=total, detail=detail)

    def collect(self, label: str, done: int, total: int | None, records: int) -> None:
        size = f"{done / 1e6:,.0f}/{total / 1e6:,.0f} MB" if total else f"{done / 1e6:,.0f} MB"
        self._update(label, total, done, f"{size}, {records:,} records")

    def count(self, label: str, done: int, total: int, note: str = "") -> None:
        self._update(label, total, done, f"{done:,}/{total:,}" + (f"  {note}" if note else ""))

    def train(self, done: int, total: int, metric: float | None) -> None:
        self.count("training", done, total, f"held-out NDCG {metric:.4f}" if metric is not None else "")


def human_bytes(n: int | None) -> str:
    """1536 -> '1.5 KiB'."""
    if n is None:
        return "-"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"  # pragma: no cover
