"""`policy.class_mix`: a class-mix budget for the groups the ranker decides, as text or a table.

Written as ``idle=0.1,background=0.15,normal=0.5,interactive=0.2,crit=0.05`` (flag, environment variable or a TOML
string) or as a TOML table with the same keys. Class names are the daemon's, in any case, with the aliases
``crit`` (CRIT_INTERACTIVE) and ``bg`` (BACKGROUND); a class left out wants a share of 0. Every share is in
[0, 1] and the shares sum to 1 (within `TOLERANCE`). No typer or rich here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from smoothtask_trainer.contract.policy import CLASSES

#: How far the shares may sum from 1 (they are then scaled to sum to exactly 1).
TOLERANCE = 1e-3
#: How the canonical text names each grade: the daemon's class names in lower case.
CANONICAL = tuple(name.lower() for name in CLASSES)
#: Name (lower case, "-" as "_") -> grade, with the short aliases.
_NAMES = {name: grade for grade, name in enumerate(CANONICAL)} | {
    "crit": CANONICAL.index("crit_interactive"),
    "bg": CANONICAL.index("background"),
}


def _pairs(value: str | Mapping[str, Any]) -> list[tuple[str, Any]]:
    if isinstance(value, Mapping):
        return [(str(k), v) for k, v in value.items()]
    pairs = []
    for part in value.split(","):
        if not part.strip():
            continue
        name, sep, share = part.partition("=")
        if not sep:
            raise ValueError(f"{part.strip()!r} is not class=share (e.g. normal=0.5)")
        pairs.append((name, share))
    return pairs


def parse_class_mix(value: str | Mapping[str, Any]) -> tuple[float, ...]:
    """The wanted share per grade (IDLE … CRIT_INTERACTIVE), summing to 1.

    Raises:
        ValueError: an unknown or repeated class, a share that is not a number in [0, 1], or shares that do not
            sum to 1.
    """
    shares = [0.0] * len(CLASSES)
    seen: set[int] = set()
    pairs = _pairs(value)
    if not pairs:
        raise ValueError("no class=share pairs")
    for raw_name, raw_share in pairs:
        name = raw_name.strip().lower().replace("-", "_")
        grade = _NAMES.get(name)
        if grade is None:
            known = ", ".join([*CANONICAL, "crit", "bg"])
            raise ValueError(f"unknown class {raw_name.strip()!r}; use {known}")
        if grade in seen:
            raise ValueError(f"class {CANONICAL[grade]} is given twice")
        seen.add(grade)
        try:
            share = float(raw_share.strip() if isinstance(raw_share, str) else raw_share)
        except (TypeError, ValueError):
            raise ValueError(f"the share of {CANONICAL[grade]} is not a number: {raw_share!r}") from None
        if isinstance(raw_share, bool) or not (0.0 <= share <= 1.0):  # NaN fails too
            raise ValueError(f"the share of {CANONICAL[grade]} must be in [0, 1], got {raw_share!r}")
        shares[grade] = share
    total = math.fsum(shares)
    if abs(total - 1.0) > TOLERANCE:
        raise ValueError(f"the shares must sum to 1, they sum to {total:g}")
    return tuple(s / total for s in shares)


def format_class_mix(shares: tuple[float, ...]) -> str:
    """The canonical text of a budget (every class, in grade order)."""
    return ",".join(f"{name}={share:.6g}" for name, share in zip(CANONICAL, shares, strict=True))


def normalise_class_mix(value: Any) -> str | None:
    """A setting's value as its canonical text; None or blank text means unset."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str | Mapping):
        raise ValueError(f"expected class=share pairs or a table, got {value!r}")
    return format_class_mix(parse_class_mix(value))
