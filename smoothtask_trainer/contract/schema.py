"""The SmoothTask daemon's contract: the one place that owns its snapshot schema.

Everything that depends on what the daemon writes (the SQLite tables the store mirrors, the JSON shapes a log
can take) is derived from the tables below. The daemon is the authority: column names, order and SQL types are
the ones `smoothtask-core/src/logging/snapshots.rs` creates.
"""

from __future__ import annotations

from typing import Final

#: Bumped whenever anything in this module changes meaning (recorded in stores and model metadata).
CONTRACT_VERSION: Final = "1"

# --------------------------------------------------------------------------------------------------------------
# SQLite schema (daemon contract §3.2). Each entry: (column, SQL type). Order is the daemon's.
# --------------------------------------------------------------------------------------------------------------

SNAPSHOT_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("snapshot_id", "INTEGER"),
    ("timestamp", "TEXT"),
    ("cpu_user", "REAL"),
    ("cpu_system", "REAL"),
    ("cpu_idle", "REAL"),
    ("cpu_iowait", "REAL"),
    ("mem_total_kb", "INTEGER"),
    ("mem_used_kb", "INTEGER"),
    ("mem_available_kb", "INTEGER"),
    ("swap_total_kb", "INTEGER"),
    ("swap_used_kb", "INTEGER"),
    ("load_avg_one", "REAL"),
    ("load_avg_five", "REAL"),
    ("load_avg_fifteen", "REAL"),
    ("psi_cpu_some_avg10", "REAL"),
    ("psi_cpu_some_avg60", "REAL"),
    ("psi_io_some_avg10", "REAL"),
    ("psi_mem_some_avg10", "REAL"),
    ("psi_mem_full_avg10", "REAL"),
    ("user_active", "INTEGER"),
    ("time_since_last_input_ms", "INTEGER"),
    ("sched_latency_p95_ms", "REAL"),
    ("sched_latency_p99_ms", "REAL"),
    ("audio_xruns_delta", "INTEGER"),
    ("ui_loop_p95_ms", "REAL"),
    ("frame_jank_ratio", "REAL"),
    ("bad_responsiveness", "INTEGER"),
    ("responsiveness_score", "REAL"),
)

PROCESS_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("snapshot_id", "INTEGER"),
    ("pid", "INTEGER"),
    ("ppid", "INTEGER"),
    ("uid", "INTEGER"),
    ("gid", "INTEGER"),
    ("exe", "TEXT"),
    ("cmdline", "TEXT"),
    ("cgroup_path", "TEXT"),
    ("systemd_unit", "TEXT"),
    ("app_group_id", "TEXT"),
    ("state", "TEXT"),
    ("start_time", "INTEGER"),
    ("uptime_sec", "INTEGER"),
    ("tty_nr", "INTEGER"),
    ("has_tty", "INTEGER"),
    ("cpu_share_1s", "REAL"),
    ("cpu_share_10s", "REAL"),
    ("io_read_bytes", "INTEGER"),
    ("io_write_bytes", "INTEGER"),
    ("rss_mb", "INTEGER"),
    ("swap_mb", "INTEGER"),
    ("voluntary_ctx", "INTEGER"),
    ("involuntary_ctx", "INTEGER"),
    ("has_gui_window", "INTEGER"),
    ("is_focused_window", "INTEGER"),
    ("window_state", "TEXT"),
    ("env_has_display", "INTEGER"),
    ("env_has_wayland", "INTEGER"),
    ("env_term", "TEXT"),
    ("env_ssh", "INTEGER"),
    ("is_audio_client", "INTEGER"),
    ("has_active_stream", "INTEGER"),
    ("process_type", "TEXT"),
    ("tags", "TEXT"),
    ("nice", "INTEGER"),
    ("ionice_class", "INTEGER"),
    ("ionice_prio", "INTEGER"),
    ("teacher_priority_class", "TEXT"),
    ("teacher_score", "REAL"),
)

GROUP_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("snapshot_id", "INTEGER"),
    ("app_group_id", "TEXT"),
    ("root_pid", "INTEGER"),
    ("process_ids", "TEXT"),
    ("app_name", "TEXT"),
    ("total_cpu_share", "REAL"),
    ("total_io_read_bytes", "INTEGER"),
    ("total_io_write_bytes", "INTEGER"),
    ("total_rss_mb", "INTEGER"),
    ("has_gui_window", "INTEGER"),
    ("is_focused_group", "INTEGER"),
    ("tags", "TEXT"),
    ("priority_class", "TEXT"),
)

TABLES: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    "snapshots": SNAPSHOT_COLUMNS,
    "processes": PROCESS_COLUMNS,
    "app_groups": GROUP_COLUMNS,
}

#: Primary key columns per table (the daemon's).
PRIMARY_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "snapshots": ("snapshot_id",),
    "processes": ("snapshot_id", "pid"),
    "app_groups": ("snapshot_id", "app_group_id"),
}

#: Columns declared NOT NULL by the daemon (besides the INTEGER PRIMARY KEY).
NOT_NULL: Final[dict[str, tuple[str, ...]]] = {
    "snapshots": ("timestamp",),
    "processes": ("snapshot_id", "pid"),
    "app_groups": ("snapshot_id", "app_group_id"),
}

#: Columns holding a JSON array as text (`tags`: strings, `process_ids`: integers).
JSON_ARRAY_COLUMNS: Final = frozenset({"tags", "process_ids"})

#: Secondary indexes the daemon creates (name, table, column).
INDEXES: Final[tuple[tuple[str, str, str], ...]] = (
    ("idx_snapshots_timestamp", "snapshots", "timestamp"),
    ("idx_processes_pid", "processes", "pid"),
    ("idx_processes_app_group", "processes", "app_group_id"),
)

# --------------------------------------------------------------------------------------------------------------
# JSON shapes (daemon contract §3.3). The flat shape keeps every snapshot column at the top level; the daemon's
# serde shape nests the global metrics under `global` and the responsiveness metrics under `responsiveness`.
# --------------------------------------------------------------------------------------------------------------

GLOBAL_FIELDS: Final[tuple[str, ...]] = (
    "cpu_user",
    "cpu_system",
    "cpu_idle",
    "cpu_iowait",
    "mem_total_kb",
    "mem_used_kb",
    "mem_available_kb",
    "swap_total_kb",
    "swap_used_kb",
    "load_avg_one",
    "load_avg_five",
    "load_avg_fifteen",
    "psi_cpu_some_avg10",
    "psi_cpu_some_avg60",
    "psi_io_some_avg10",
    "psi_mem_some_avg10",
    "psi_mem_full_avg10",
    "user_active",
    "time_since_last_input_ms",
)

RESPONSIVENESS_FIELDS: Final[tuple[str, ...]] = (
    "sched_latency_p95_ms",
    "sched_latency_p99_ms",
    "audio_xruns_delta",
    "ui_loop_p95_ms",
    "frame_jank_ratio",
    "bad_responsiveness",
    "responsiveness_score",
)

#: Columns that hold 0/1 flags (JSON booleans in the daemon's serde shape).
BOOL_COLUMNS: Final = frozenset(
    {
        "user_active",
        "bad_responsiveness",
        "has_tty",
        "has_gui_window",
        "is_focused_window",
        "env_has_display",
        "env_has_wayland",
        "env_ssh",
        "is_audio_client",
        "has_active_stream",
        "is_focused_group",
    }
)

#: Extra per-process fields of the daemon's serde `ProcessRecord` that the SQLite log does not persist.
PROCESS_EXTRA_FIELDS: Final[tuple[str, ...]] = (
    "io_read_operations",
    "io_write_operations",
    "io_total_operations",
    "io_last_update_ns",
    "io_data_source",
    "energy_uj",
    "power_w",
    "energy_timestamp",
    "network_rx_bytes",
    "network_tx_bytes",
    "network_rx_packets",
    "network_tx_packets",
    "network_tcp_connections",
    "network_udp_connections",
    "network_last_update_ns",
    "network_data_source",
    "gpu_utilization",
    "gpu_memory_bytes",
    "gpu_time_us",
    "gpu_api_calls",
    "gpu_last_update_ns",
    "gpu_data_source",
    "memory_usage_details",
    "performance_metrics",
    "resource_utilization",
)

#: Extra per-group fields of the daemon's serde `AppGroupRecord` that the SQLite log does not persist.
GROUP_EXTRA_FIELDS: Final[tuple[str, ...]] = (
    "total_io_read_operations",
    "total_io_write_operations",
    "total_io_operations",
    "io_data_source",
    "total_energy_uj",
    "total_power_w",
    "total_network_rx_bytes",
    "total_network_tx_bytes",
    "total_network_rx_packets",
    "total_network_tx_packets",
    "total_network_tcp_connections",
    "total_network_udp_connections",
    "network_data_source",
)

#: Extra top-level fields of the daemon's serde `Snapshot`.
SNAPSHOT_EXTRA_FIELDS: Final[tuple[str, ...]] = ("extended_sensors",)


def column_names(table: str) -> tuple[str, ...]:
    """The daemon's column names of `table`, in order."""
    return tuple(name for name, _ in TABLES[table])


def create_table_sql(table: str) -> str:
    """`CREATE TABLE IF NOT EXISTS` for one of the daemon's tables, with its keys and foreign key."""
    parts = []
    for name, sqltype in TABLES[table]:
        decl = f"{name} {sqltype}"
        if table == "snapshots" and name == "snapshot_id":
            decl += " PRIMARY KEY"
        elif name in NOT_NULL[table]:
            decl += " NOT NULL"
        parts.append(decl)
    if table != "snapshots":
        parts.append(f"PRIMARY KEY ({', '.join(PRIMARY_KEYS[table])})")
        parts.append("FOREIGN KEY (snapshot_id) REFERENCES snapshots(snapshot_id)")
    return f"CREATE TABLE IF NOT EXISTS {table} ({', '.join(parts)})"


def create_index_sql() -> list[str]:
    """The daemon's secondary indexes, as `CREATE INDEX IF NOT EXISTS` statements."""
    return [f"CREATE INDEX IF NOT EXISTS {name} ON {table}({column})" for name, table, column in INDEXES]


def insert_sql(table: str, verb: str = "INSERT") -> str:
    """A parameterised insert over the table's full column list, in the daemon's order."""
    cols = column_names(table)
    return f"{verb} INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
