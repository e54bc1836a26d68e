"""Typed decoding of one JSONL snapshot record into the store's row tuples.

Both JSON shapes are one schema here: the flat shape (every snapshot column at the top level) and the daemon's
serde shape (`global{}` / `responsiveness{}` sub-objects plus extra per-process fields the log never persists).
msgspec validates every value's type in C while decoding, so a wrong type is an error with a JSON path, not a
silently mis-typed column. Row tuples follow the contract's column order, never the record's key order.
A key given twice in one object is type-checked each time and the last value is kept (an exact duplicate check
would need a second, much slower parse). A value nested too deeply for msgspec's recursive decoder is a bad record.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any

import msgspec

from smoothtask_trainer import contract

I64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
#: A process id: Linux pids are never negative (ppid 0 is legal: the parent of init and of kernel threads).
Pid = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
#: A pid column that may be null; a whole float is accepted as for any INTEGER column, but not a negative one.
OptPid = Pid | Annotated[float, msgspec.Meta(ge=0)] | None
#: The columns whose values are process ids (`pid` itself is required and typed `Pid`).
PID_COLUMNS = frozenset({"ppid", "root_pid"})
#: A 0/1 flag: a JSON boolean, or the integers 0 and 1 (older writers).
Flag = bool | Annotated[int, msgspec.Meta(ge=0, le=1)]


class StrList(str):
    """`tags`: a JSON array of strings, kept as compact JSON text (as the daemon stores it)."""

    __slots__ = ()


class IntList(str):
    """`process_ids`: a JSON array of integers, kept as compact JSON text."""

    __slots__ = ()


_encode = msgspec.json.encode
_ITEM = {StrList: (str, "strings"), IntList: (int, "integers")}


def _dec_hook(tp: type, obj: Any) -> Any:
    item_type, what = _ITEM[tp]
    if type(obj) is not list:
        raise ValueError(f"expected an array of {what}, got {type(obj).__name__}")
    for item in obj:
        if type(item) is not item_type:
            raise ValueError(f"expected an array of {what}, found {type(item).__name__} {item!r:.30}")
    if tp is IntList and obj and min(obj) < 0:
        raise ValueError(f"expected an array of process ids, found the negative pid {min(obj)}")
    return tp(_encode(obj).decode())


def _column_type(name: str, sqltype: str) -> Any:
    if name in contract.BOOL_COLUMNS:
        return Flag | None
    if name == "tags":
        return StrList | None
    if name == "process_ids":
        return IntList | None
    if name in PID_COLUMNS:
        return OptPid
    if sqltype == "INTEGER":
        # INTEGER affinity stores a whole float as an integer, as SQLite itself would.
        return I64 | float | None
    if sqltype == "REAL":
        return float | None
    return str | None


def _fields(columns: tuple[tuple[str, str], ...], required: dict[str, Any]) -> list[tuple]:
    out: list[tuple] = []
    for name, _sqltype in columns:
        if name in required:
            out.append((name, required[name]))
    for name, sqltype in columns:
        if name not in required:
            out.append((name, _column_type(name, sqltype), None))
    return out


def _build_structs(forbid_unknown: bool) -> type:
    """The record types; `forbid_unknown` makes any key outside the contract a decode error."""
    kw = {"forbid_unknown_fields": forbid_unknown}
    extra = [(name, msgspec.Raw, None) for name in contract.PROCESS_EXTRA_FIELDS]
    proc = msgspec.defstruct("ProcessRecord", _fields(contract.PROCESS_COLUMNS[1:], {"pid": Pid}) + extra, **kw)
    extra = [(name, msgspec.Raw, None) for name in contract.GROUP_EXTRA_FIELDS]
    group = msgspec.defstruct(
        "AppGroupRecord", _fields(contract.GROUP_COLUMNS[1:], {"app_group_id": str}) + extra, **kw
    )
    types = dict(contract.SNAPSHOT_COLUMNS)
    glob = msgspec.defstruct(
        "GlobalMetrics", [(n, _column_type(n, types[n]), None) for n in contract.GLOBAL_FIELDS], **kw
    )
    resp = msgspec.defstruct(
        "ResponsivenessMetrics",
        [(n, _column_type(n, types[n]), None) for n in contract.RESPONSIVENESS_FIELDS],
        **kw,
    )
    snap_fields = _fields(
        contract.SNAPSHOT_COLUMNS,
        {"snapshot_id": Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)], "timestamp": str},
    )
    snap_fields += [
        ("global_", glob | None, msgspec.field(default=None, name="global")),
        ("responsiveness", resp | None, None),
        ("extended_sensors", msgspec.Raw, None),
        ("processes", list[proc] | None, None),
        ("app_groups", list[group] | None, None),
    ]
    return msgspec.defstruct("SnapshotRecord", snap_fields, **kw)


_BOOL = {True: 1, False: 0, None: None}


def _row_builder(name: str, columns: tuple[tuple[str, str], ...]) -> Any:
    """Compile `f(items, sid) -> [row, ...]` for one table: one comprehension, no per-value calls.

    Flags become exact 0/1 ints and JSON-array columns exact `str`, because sqlite3 binds exact types through a
    fast path (a bool or a str subclass goes through its adapter lookup, which doubles the insert time).
    """
    parts = ["sid"]
    for col, _ in columns[1:]:
        if col in contract.BOOL_COLUMNS:
            parts.append(f"B[r.{col}]")
        elif col in contract.JSON_ARRAY_COLUMNS:
            parts.append(f"(None if r.{col} is None else str(r.{col}))")
        else:
            parts.append(f"r.{col}")
    src = f"def {name}(items, sid, B=B):\n    return [({', '.join(parts)},) for r in items]\n"
    namespace: dict[str, Any] = {"B": _BOOL}
    exec(compile(src, f"<{name}>", "exec"), namespace)  # generated from the contract's fixed column list
    return namespace[name]


build_process_rows = _row_builder("build_process_rows", contract.PROCESS_COLUMNS)
build_group_rows = _row_builder("build_group_rows", contract.GROUP_COLUMNS)

_SNAP_COLS = contract.column_names("snapshots")
_GLOBAL = contract.GLOBAL_FIELDS
_RESP = contract.RESPONSIVENESS_FIELDS

StrictSnapshot = _build_structs(forbid_unknown=True)
LenientSnapshot = _build_structs(forbid_unknown=False)
_strict = msgspec.json.Decoder(StrictSnapshot, dec_hook=_dec_hook)
_lenient = msgspec.json.Decoder(LenientSnapshot, dec_hook=_dec_hook)

_KNOWN_KEYS = {
    "": {f.encode_name for f in msgspec.structs.fields(StrictSnapshot)},
    "global.": set(_GLOBAL),
    "responsiveness.": set(_RESP),
    "processes[].": set(contract.column_names("processes")[1:]) | set(contract.PROCESS_EXTRA_FIELDS),
    "app_groups[].": set(contract.column_names("app_groups")[1:]) | set(contract.GROUP_EXTRA_FIELDS),
}


class RecordError(ValueError):
    """A record that cannot be stored; the message says why (the caller adds file and line)."""


#: msgspec decodes (and skips) nested values recursively under Python's recursion limit, so a value nested
#: about a thousand levels deep raises RecursionError, whichever decoder meets it. No snapshot nests more than
#: four levels, so such a line is a bad record like any other.
TOO_DEEP = "a value is nested too deeply to decode (maximum recursion depth exceeded)"


#: One decoded snapshot: (snapshot_id, snapshot row, process rows, app-group rows).
Decoded = tuple[int, tuple, list[tuple], list[tuple]]


def _unknown_keys(line: bytes) -> Counter[str]:
    """Count the keys of a record that the contract does not know (slow path, rare)."""
    found: Counter[str] = Counter()
    try:
        obj = msgspec.json.decode(line)
    except (msgspec.DecodeError, RecursionError):
        return found
    if not isinstance(obj, dict):
        return found

    def scan(prefix: str, item: Any) -> None:
        if isinstance(item, dict):
            found.update(prefix + k for k in item if k not in _KNOWN_KEYS[prefix])

    scan("", obj)
    scan("global.", obj.get("global"))
    scan("responsiveness.", obj.get("responsiveness"))
    for key in ("processes", "app_groups"):
        for item in obj.get(key) or ():
            scan(f"{key}[].", item)
    return found


def _message(exc: msgspec.MsgspecError) -> str:
    text = str(exc)
    if isinstance(exc, msgspec.DecodeError) and not isinstance(exc, msgspec.ValidationError):
        return f"not valid JSON ({text})"
    if text.startswith("Object missing required field `snapshot_id`"):
        return "record has no snapshot_id"
    return text


def decode_record(line: bytes, unknown: Counter[str]) -> Decoded:
    """Decode one JSONL line into row tuples.

    Args:
        line: The raw line (without or with its newline).
        unknown: Updated with the dotted names of keys the contract does not know (they are ignored).

    Raises:
        RecordError: The line is not a valid snapshot record.
    """
    try:
        rec = _strict.decode(line)
    except msgspec.ValidationError as exc:
        if not str(exc).startswith("Object contains unknown field"):
            raise RecordError(_message(exc)) from None
        try:
            rec = _lenient.decode(line)
        except msgspec.MsgspecError as exc2:
            raise RecordError(_message(exc2)) from None
        except RecursionError:
            raise RecordError(TOO_DEEP) from None
        unknown.update(_unknown_keys(line))
    except msgspec.DecodeError as exc:
        raise RecordError(_message(exc)) from None
    except RecursionError:
        raise RecordError(TOO_DEEP) from None
    try:
        datetime.fromisoformat(rec.timestamp)
    except ValueError:
        raise RecordError(f"timestamp {rec.timestamp[:40]!r} is not an ISO 8601 / RFC 3339 date-time") from None
    sid = rec.snapshot_id
    values = {c: getattr(rec, c) for c in _SNAP_COLS}
    for sub, names in ((rec.global_, _GLOBAL), (rec.responsiveness, _RESP)):
        if sub is not None:
            for n in names:
                v = getattr(sub, n)
                if v is not None:
                    values[n] = v
    snap_row = tuple(_BOOL[v] if c in contract.BOOL_COLUMNS else v for c, v in values.items())
    procs = rec.processes or ()
    groups = rec.app_groups or ()
    if len({p.pid for p in procs}) != len(procs):
        dup = Counter(p.pid for p in procs).most_common(1)[0][0]
        raise RecordError(f"snapshot {sid} lists pid {dup} more than once")
    if len({g.app_group_id for g in groups}) != len(groups):
        dup = Counter(g.app_group_id for g in groups).most_common(1)[0][0]
        raise RecordError(f"snapshot {sid} lists app group {dup!r} more than once")
    return sid, snap_row, build_process_rows(procs, sid), build_group_rows(groups, sid)
