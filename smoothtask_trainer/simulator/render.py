"""Turn a `Frame` into the three shapes a snapshot can take: flat JSON, the daemon's serde JSON, SQLite rows.

The JSON shapes are built as msgspec Structs (cheap to create, fast to encode, key order = field order) and
converted to plain dicts only for callers that want dicts, so both paths share one definition.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import repeat
from typing import Any

import msgspec

from smoothtask_trainer import contract
from smoothtask_trainer.simulator.engine import GROUP_KEYS, PROCESS_KEYS, SNAPSHOT_KEYS, Frame

_encode = msgspec.json.Encoder().encode
_IO_EXTRAS = ("io_read_operations", "io_write_operations", "io_total_operations", "io_last_update_ns", "io_data_source")
_OTHER_PROCESS_EXTRAS = tuple(k for k in contract.PROCESS_EXTRA_FIELDS if k not in _IO_EXTRAS)
_GROUP_OPS = ("total_io_read_operations", "total_io_write_operations", "total_io_operations")
_OTHER_GROUP_EXTRAS = tuple(k for k in contract.GROUP_EXTRA_FIELDS if k not in (*_GROUP_OPS, "io_data_source"))

FlatProcess = msgspec.defstruct("FlatProcess", list(PROCESS_KEYS))
FlatGroup = msgspec.defstruct("FlatGroup", list(GROUP_KEYS))
FlatSnapshot = msgspec.defstruct("FlatSnapshot", [*SNAPSHOT_KEYS, "processes", "app_groups"])
NestedProcess = msgspec.defstruct("NestedProcess", [*PROCESS_KEYS, *_IO_EXTRAS, *_OTHER_PROCESS_EXTRAS])
NestedGroup = msgspec.defstruct("NestedGroup", [*GROUP_KEYS, *_GROUP_OPS, "io_data_source", *_OTHER_GROUP_EXTRAS])
NestedSnapshot = msgspec.defstruct(
    "Snapshot", ["snapshot_id", "timestamp", "global", "processes", "app_groups", "responsiveness", "extended_sensors"]
)


def _rows(columns: dict[str, list], keys: tuple[str, ...]) -> zip:
    return zip(*(columns[k] for k in keys), strict=True)


def flat_record(frame: Frame) -> msgspec.Struct:
    """The seed's flat JSONL record: every snapshot column at the top level, then `processes`, `app_groups`."""
    processes = [FlatProcess(*row) for row in _rows(frame.processes, PROCESS_KEYS)]
    groups = [FlatGroup(*row) for row in _rows(frame.groups, GROUP_KEYS)]
    return FlatSnapshot(*(frame.snapshot[k] for k in SNAPSHOT_KEYS), processes, groups)


def _io_ops(frame: Frame, t_ns: int) -> list[tuple]:
    """syscr/syscw-like operation counts, derived from monotone counters so they are monotone too."""
    p = frame.processes
    out = []
    for rb, wb, v, i in zip(
        p["io_read_bytes"], p["io_write_bytes"], p["voluntary_ctx"], p["involuntary_ctx"], strict=True
    ):
        if rb is None or wb is None:
            out.append((None, None, None, None, None))
        else:
            r_ops, w_ops = rb // 16384 + v // 8, wb // 8192 + i // 16
            out.append((r_ops, w_ops, r_ops + w_ops, t_ns, "procfs"))
    return out


def _sensors(frame: Frame) -> dict[str, list]:
    load = frame.snapshot["load_avg_one"]
    cpu_temp = round(min(92.0, 41.0 + 4.5 * load), 1)
    return {
        "temperatures_c": [
            ["k10temp Tctl", cpu_temp],
            ["nvme Composite", round(cpu_temp * 0.8, 1)],
            ["amdgpu edge", round(cpu_temp * 0.9, 1)],
        ],
        "additional_fan_speeds_rpm": [["fan2", round(780.0 + 140.0 * load, 1)]],
        "additional_voltages_v": [],
        "additional_currents_a": [],
        "additional_power_w": [],
        "additional_energy_j": [],
        "additional_humidity_percent": [],
        "pressure_pa": [],
        "illumination_lux": [],
        "custom_sensors": [],
    }


def nested_record(frame: Frame) -> msgspec.Struct:
    """The daemon's serde `Snapshot`: `global` and `responsiveness` nested, plus the fields SQLite drops."""
    snap = frame.snapshot
    ops = _io_ops(frame, snap["snapshot_id"] * 1_000_000)
    no_other = (None,) * len(_OTHER_PROCESS_EXTRAS)
    processes = [
        NestedProcess(*row, *extra, *no_other)
        for row, extra in zip(_rows(frame.processes, PROCESS_KEYS), ops, strict=True)
    ]
    ops_of = dict(zip(frame.processes["pid"], ops, strict=True))
    no_group_other = (None,) * len(_OTHER_GROUP_EXTRAS)
    groups = []
    for row, pids in zip(_rows(frame.groups, GROUP_KEYS), frame.groups["process_ids"], strict=True):
        totals = [sum(ops_of[pid][i] or 0 for pid in pids) or None for i in range(3)]
        groups.append(NestedGroup(*row, *totals, "procfs" if totals[0] else None, *no_group_other))
    return NestedSnapshot(
        snap["snapshot_id"],
        snap["timestamp"],
        {k: snap[k] for k in contract.GLOBAL_FIELDS},
        processes,
        groups,
        {k: snap[k] for k in contract.RESPONSIVENESS_FIELDS},
        _sensors(frame),
    )


def to_flat(frame: Frame) -> dict[str, Any]:
    """`flat_record` as plain dicts and lists."""
    return msgspec.to_builtins(flat_record(frame))


def to_nested(frame: Frame) -> dict[str, Any]:
    """`nested_record` as plain dicts and lists."""
    return msgspec.to_builtins(nested_record(frame))


#: shape -> (record builder for encoding, dict renderer)
SHAPES: dict[str, tuple[Callable[[Frame], msgspec.Struct], Callable[[Frame], dict[str, Any]]]] = {
    "flat": (flat_record, to_flat),
    "nested": (nested_record, to_nested),
}


class SqliteRows:
    """Row tuples for `contract.insert_sql`, with lists as compact JSON text (as serde_json writes them)."""

    def __init__(self) -> None:
        self._tags: dict[tuple[str, ...], str] = {}

    def _tag_text(self, tags: list[str]) -> str:
        key = tuple(tags)
        text = self._tags.get(key)
        if text is None:
            text = self._tags[key] = _encode(tags).decode()
        return text

    def snapshot(self, frame: Frame) -> tuple:
        return tuple(frame.snapshot[k] for k in SNAPSHOT_KEYS)

    def processes(self, frame: Frame) -> list[tuple]:
        p = dict(frame.processes)
        p["tags"] = [self._tag_text(t) for t in p["tags"]]
        return list(zip(repeat(frame.snapshot["snapshot_id"]), *(p[k] for k in PROCESS_KEYS), strict=False))

    def groups(self, frame: Frame) -> list[tuple]:
        g = dict(frame.groups)
        g["tags"] = [self._tag_text(t) for t in g["tags"]]
        g["process_ids"] = [_encode(ids).decode() for ids in g["process_ids"]]
        return list(zip(repeat(frame.snapshot["snapshot_id"]), *(g[k] for k in GROUP_KEYS), strict=False))
