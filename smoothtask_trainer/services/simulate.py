"""`simulate`: write a realistic simulated desktop workload as snapshot logs (no CLI code here).

The simulator (`smoothtask_trainer.simulator`) is the data source for tests, demos and benchmarks; this
service wraps it with the project's options/result models, timing, progress and error conventions.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from smoothtask_trainer.errors import Interrupted
from smoothtask_trainer.schemas.simulate import SimulateOptions, SimulateResult


def simulate(options: SimulateOptions, on_progress: Callable[[int, int], None] | None = None) -> SimulateResult:
    """Simulate `options.snapshots` snapshots and write them to `options.output` atomically.

    Args:
        options: What to simulate and where to write it.
        on_progress: Called as `on_progress(snapshots_done, snapshots_total)` every few dozen snapshots and
            once at the end.

    Returns:
        What was written: row counts, file size, wall time.

    Raises:
        OutputPathError: The output is a directory, its directory is missing or not writable, or it exists
            and `options.overwrite` is False. No file (complete or partial) is left behind.
        Interrupted: Ctrl-C; the partial output has been removed.
    """
    from smoothtask_trainer.simulator import write_snapshots  # numpy and friends only when actually used

    started = time.perf_counter()
    try:
        stats = write_snapshots(
            options.output,
            options.format,
            count=options.snapshots,
            seed=options.seed,
            interval_ms=options.interval_ms,
            labels=options.labels,
            daemon_profile=options.daemon_profile,
            start=options.start,
            scale=options.scale,
            overwrite=options.overwrite,
            on_progress=on_progress,
        )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted: {options.output} was not written",
            hint="run it again; output is only ever renamed into place when complete",
        ) from None
    return SimulateResult(
        output=options.output,
        format=options.format,
        compressed=options.output.name.endswith(".gz"),
        snapshots=stats.snapshots,
        processes=stats.processes,
        app_groups=stats.app_groups,
        bytes_written=stats.bytes_written,
        seconds=round(time.perf_counter() - started, 3),
        labels=options.labels,
        daemon_profile=options.daemon_profile,
        seed=options.seed,
        scale=options.scale,
        interval_ms=options.interval_ms,
    )
