"""The daemon's 51-float feature vector per app group (contract §1), and its category hash.

`smoothtask-core/src/model/features.rs::build_features` fills, for one app group of one snapshot:
33 numeric values, 12 flags (0/1) and 6 strings, in exactly the order of `FEATURES` below. The strings reach the
ONNX model as `float(category_hash(s))`. Values are raw (no scaling); a missing value becomes 0, 0 or "unknown".
The representative process ("rep") of a group is its first process as the daemon listed it: in the SQLite log,
the lowest rowid among the snapshot's processes with that `app_group_id`.

Every other place that needs the feature list (the dataset, the ONNX input width, the model metadata, the docs
table) derives it from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    import numpy as np

Kind = Literal["numeric", "bool", "categorical"]
#: Where a value comes from: the representative process, the snapshot, or the app group.
Origin = Literal["process", "snapshot", "group"]

UNKNOWN: Final = "unknown"


@dataclass(frozen=True)
class Feature:
    """One slot of the daemon's feature vector."""

    index: int
    name: str  # the trainer's column name (unique; slot 43 is `has_gui_window_group`)
    kind: Kind
    origin: Origin
    column: str  # the store column it is read from (in the table of `origin`)
    note: str = ""
    key: bool = False  # a value the daemon fills in normal operation: its NULL ratio is a data-quality gate

    @property
    def default(self) -> float | str:
        """The daemon's value when the source is missing: 0.0, 0 or "unknown"."""
        return UNKNOWN if self.kind == "categorical" else 0.0

    @property
    def source(self) -> str:
        """`table.column` in the store (the representative process's row for process features)."""
        table = {"process": "processes", "snapshot": "snapshots", "group": "app_groups"}[self.origin]
        return f"{table}.{self.column}"


def _f(name: str, kind: Kind, origin: Origin, column: str | None = None, note: str = "", key: bool = False) -> tuple:
    return (name, kind, origin, column or name, note, key)


_SPEC: Final = (
    # numeric 0-32
    _f("cpu_share_1s", "numeric", "process", note="never computed by the daemon: always 0 (dead)"),
    _f("cpu_share_10s", "numeric", "process", note="never computed by the daemon: always 0 (dead)"),
    _f("io_read_bytes", "numeric", "process", note="cumulative /proc/pid/io read_bytes", key=True),
    _f("io_write_bytes", "numeric", "process", note="cumulative", key=True),
    _f("rss_mb", "numeric", "process", note="VmRSS in MiB", key=True),
    _f("swap_mb", "numeric", "process", note="VmSwap in MiB"),
    _f("voluntary_ctx", "numeric", "process", note="cumulative", key=True),
    _f("involuntary_ctx", "numeric", "process", note="cumulative", key=True),
    _f("nice", "numeric", "process", note="0 when the group has no process", key=True),
    _f("ionice_class", "numeric", "process", note="NULL (0) unless set explicitly"),
    _f("ionice_prio", "numeric", "process"),
    _f("load_avg_one", "numeric", "snapshot", key=True),
    _f("load_avg_five", "numeric", "snapshot", key=True),
    _f("load_avg_fifteen", "numeric", "snapshot", key=True),
    _f("mem_used_kb", "numeric", "snapshot", note="total - available", key=True),
    _f("mem_available_kb", "numeric", "snapshot", key=True),
    _f("mem_total_kb", "numeric", "snapshot", key=True),
    _f("swap_total_kb", "numeric", "snapshot"),
    _f("swap_used_kb", "numeric", "snapshot"),
    _f("time_since_last_input_ms", "numeric", "snapshot", note="NULL (0) until the first input"),
    _f("cpu_user", "numeric", "snapshot", note="fraction; 0 on 2 of 3 snapshots (system-metrics cache)"),
    _f("cpu_system", "numeric", "snapshot", note="fraction; 0 on 2 of 3 snapshots"),
    _f("cpu_idle", "numeric", "snapshot", note="fraction; 0 on 2 of 3 snapshots (0 is not 'busy')"),
    _f("cpu_iowait", "numeric", "snapshot", note="fraction; 0 on 2 of 3 snapshots"),
    _f("psi_cpu_some_avg10", "numeric", "snapshot", note="raw kernel percent 0-100", key=True),
    _f("psi_cpu_some_avg60", "numeric", "snapshot", note="percent"),
    _f("psi_io_some_avg10", "numeric", "snapshot", note="percent"),
    _f("psi_mem_some_avg10", "numeric", "snapshot", note="percent"),
    _f("psi_mem_full_avg10", "numeric", "snapshot", note="percent"),
    _f("total_cpu_share", "numeric", "group", note="max of members' cpu_share_10s: always 0 (dead)"),
    _f("total_io_read_bytes", "numeric", "group", note="sum of members; NULL (0) when the sum is 0"),
    _f("total_io_write_bytes", "numeric", "group", note="sum of members"),
    _f("total_rss_mb", "numeric", "group", note="sum of members", key=True),
    # bool 33-44
    _f("user_active", "bool", "snapshot", note="input within thresholds.user_idle_timeout_sec", key=True),
    _f("bad_responsiveness", "bool", "snapshot", note="PSI percent vs 0-1 thresholds: often 1", key=True),
    _f("has_tty", "bool", "process"),
    _f("has_gui_window", "bool", "process", note="the representative process has a window"),
    _f("is_focused_window", "bool", "process"),
    _f("env_has_display", "bool", "process"),
    _f("env_has_wayland", "bool", "process"),
    _f("env_ssh", "bool", "process"),
    _f("is_audio_client", "bool", "process"),
    _f("has_active_stream", "bool", "process"),
    _f("has_gui_window_group", "bool", "group", "has_gui_window", note="any member has a window"),
    _f("is_focused_group", "bool", "group", note="any member is focused"),
    # categorical 45-50 (hashed for ONNX)
    _f("process_type", "categorical", "process"),
    _f("app_name", "categorical", "group", note="basename of the root process's exe"),
    _f("priority_class", "categorical", "group", note="never filled by the daemon: always 'unknown'"),
    _f("teacher_priority_class", "categorical", "process", note="a label: always 'unknown' in training"),
    _f("env_term", "categorical", "process"),
    _f("tags_joined", "categorical", "group", "tags", note="group tags sorted bytewise, '|'-joined; [] -> 'unknown'"),
)

FEATURES: Final[tuple[Feature, ...]] = tuple(Feature(i, *spec) for i, spec in enumerate(_SPEC))
FEATURE_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES)
N_FEATURES: Final = len(FEATURES)
NUMERIC: Final = tuple(f for f in FEATURES if f.kind == "numeric")
BOOL: Final = tuple(f for f in FEATURES if f.kind == "bool")
CATEGORICAL: Final = tuple(f for f in FEATURES if f.kind == "categorical")
#: Informational in the daemon (`cat_feature_indices`); the ONNX model receives these slots as hash codes.
CAT_FEATURE_INDICES: Final[tuple[int, ...]] = tuple(f.index for f in CATEGORICAL)
#: Label-like slots the daemon always sends as "unknown"; training must too, or the label leaks in.
FORCED_UNKNOWN: Final[tuple[str, ...]] = ("priority_class", "teacher_priority_class")
#: Slots that are constantly 0 in production (never computed by the daemon).
DEAD_FEATURES: Final[tuple[str, ...]] = ("cpu_share_1s", "cpu_share_10s", "total_cpu_share")
KEY_FEATURES: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES if f.key)

assert (len(NUMERIC), len(BOOL), len(CATEGORICAL), N_FEATURES) == (33, 12, 6, 51)
assert FEATURES[36].name == "has_gui_window" and FEATURES[43].name == "has_gui_window_group"

_MASK64: Final = (1 << 64) - 1
CATEGORY_BUCKETS: Final = 1000


def category_hash(value: str) -> int:
    """The daemon's hash of a categorical value: over the UTF-8 bytes, ``h = h*31 + b`` (u64 wrapping), ``h % 1000``.

    >>> category_hash("unknown"), category_hash(""), category_hash("firefox")
    (514, 0, 185)
    """
    h = 0
    for byte in value.encode("utf-8"):
        h = (h * 31 + byte) & _MASK64
    return h % CATEGORY_BUCKETS


#: Codes already computed (categoricals take few distinct values); None is the daemon's "unknown".
_CODE_CACHE: dict[str | None, float] = {}


def hash_codes(values: Sequence[str | None]) -> np.ndarray:
    """`category_hash` of every value (None counts as "unknown"), as a float32 array.

    Distinct values are hashed once and remembered, so this is a dictionary lookup per value.
    """
    import numpy as np  # not at module level: the ingest path uses this package without numpy

    codes = list(map(_CODE_CACHE.get, values))
    if None in codes:
        for i, code in enumerate(codes):
            if code is None:
                value = values[i]
                code = codes[i] = float(category_hash(value))  # type: ignore[arg-type]
                if len(_CODE_CACHE) < 1_000_000:
                    _CODE_CACHE[value] = code
    return np.array(codes, dtype=np.float32)


_CODE_CACHE[None] = float(category_hash(UNKNOWN))


def join_tags(tags: list[str] | None) -> str:
    """The daemon's `tags_joined`: group tags sorted bytewise and joined with '|'; none -> "unknown"."""
    if not tags:
        return UNKNOWN
    return "|".join(sorted(tags, key=lambda t: t.encode("utf-8")))
