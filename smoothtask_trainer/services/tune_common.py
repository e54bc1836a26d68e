"""What the knob tuners of `tune` share: the harm signal, the F-beta score, the replay window and the kept-input report.

No typer or rich here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from smoothtask_trainer.contract.policy import f32
from smoothtask_trainer.schemas.tune import KnobReport, Objective
from smoothtask_trainer.services import replay_engine as eng
from smoothtask_trainer.services.replay_metrics import harm, session_breaks

__all__ = ["Replay", "f_beta", "harm", "kept", "session_breaks", "short_cut"]


def f_beta(pred: np.ndarray, truth: np.ndarray, beta: float) -> float:
    tp = float((pred & truth).sum())
    fp = float((pred & ~truth).sum())
    fn = float((~pred & truth).sum())
    b2 = beta * beta
    denom = (1 + b2) * tp + b2 * fn + fp
    return (1 + b2) * tp / denom if denom else 0.0


@dataclass
class Replay:
    """What the replay-based knobs share: the store's arrays, the ranker's scores, the split and the CPU count."""

    g: eng.Groups
    s: eng.Snapshots
    extra: dict
    scores: np.ndarray | None
    cut: int  #: snapshots before this index tune; the rest judge
    ncpu: int


def exhaustive(
    candidates: np.ndarray, score: Callable[[float, np.ndarray], float], tuning: np.ndarray, current: float, name: str
) -> tuple[float, Objective]:
    """A one-dimensional exhaustive search: the candidate with the best `score` on the `tuning` rows, and the
    objective report with the input (`current`) and the best value judged on the other (held-out) rows."""
    scores = [score(float(x), tuning) for x in candidates]
    best = float(candidates[int(np.argmax(scores))])
    hold = ~tuning
    before, after = score(float(current), hold), score(best, hold)
    heldout = {"before": round(before, 4), "after": round(after, 4)}
    return best, Objective(name=name, tuning=round(max(scores), 4), heldout=heldout)


def kept(keys: Iterable[str], t_in: Mapping[str, Any], reason: str, status: str = "unchanged") -> dict[str, KnobReport]:
    """Each key at its input value, with the reason."""
    return {k: KnobReport(before=t_in[k], after=t_in[k], status=status, reason=reason) for k in keys}  # type: ignore[arg-type]


def short_cut(lo: float, hi: float, *, above: bool = True) -> float:
    """A short decimal threshold c, near the middle of (lo, hi), that the daemon's f32 comparison puts between
    them: `lo < f32(c) <= hi` (`above`: `p >= c` holds for hi, not for lo; the cut-offs), else
    `lo <= f32(c) < hi` (`v > c` holds for hi, not for lo; the CPU share)."""

    def fits(c: float) -> bool:
        x = f32(c)
        return lo < x <= hi if above else lo <= x < hi

    mid = (lo + hi) / 2
    for digits in range(1, 10):
        scale = 10**digits
        near = [k / scale for k in sorted({math.floor(mid * scale), math.ceil(mid * scale)}) if fits(k / scale)]
        if near:
            return min(near, key=lambda c: abs(c - mid))
    x = np.float32(hi if above else lo)  # the f32 value itself, written so that it reads back exactly
    if above and float(x) > hi:
        x = np.nextafter(x, np.float32(0.0))
    if not above and float(x) < lo:
        x = np.nextafter(x, np.float32(1.0))
    return float(x)
