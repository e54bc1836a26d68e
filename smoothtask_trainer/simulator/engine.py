"""The simulator loop: one call to `Simulator.step` is one daemon loop iteration, i.e. one snapshot.

A step runs the scenario (user and workload events), draws the processes' resource use, updates the kernel
metrics, lists the processes in a shuffled order (the daemon's parallel /proc scan), groups them the way the
daemon's grouper does and, when asked, labels them with the ground-truth teacher. The result is a `Frame`:
plain columns in the contract's order that the renderers turn into JSON objects or SQLite rows.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from smoothtask_trainer import contract
from smoothtask_trainer.schemas.simulate import DEFAULT_START, DaemonProfile
from smoothtask_trainer.simulator import profile, teacher
from smoothtask_trainer.simulator.activity import app_levels, find_noisy
from smoothtask_trainer.simulator.grouping import Groups, Members, group_snapshot
from smoothtask_trainer.simulator.procs import HZ, VANISHING, ZOMBIE
from smoothtask_trainer.simulator.profile import PROFILES
from smoothtask_trainer.simulator.scenario import Scenario
from smoothtask_trainer.simulator.system import NCPU, Load, SystemModel, responsiveness
from smoothtask_trainer.simulator.world import Desktop

#: Seconds a player stays a PipeWire client after its last stream ended.
AUDIO_LINGER_S = 300.0
PROCESS_KEYS = contract.column_names("processes")[1:]
GROUP_KEYS = contract.column_names("app_groups")[1:]
SNAPSHOT_KEYS = contract.column_names("snapshots")


@dataclass
class Frame:
    """One snapshot as columns: `snapshot` maps every snapshot column to its value, `processes` and `groups`
    map each process / group column (without snapshot_id) to a list in listed order."""

    snapshot: dict[str, Any]
    processes: dict[str, list]
    groups: dict[str, list]

    @property
    def n_processes(self) -> int:
        return len(self.processes["pid"])

    @property
    def n_groups(self) -> int:
        return len(self.groups["app_group_id"])


def rfc3339(t_ns: int) -> str:
    """chrono's `to_rfc3339()`: seconds, then 3, 6 or 9 fraction digits as needed, then `+00:00`."""
    secs, ns = divmod(t_ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
    if ns == 0:
        frac = ""
    elif ns % 1_000_000 == 0:
        frac = f".{ns // 1_000_000:03d}"
    elif ns % 1_000 == 0:
        frac = f".{ns // 1_000:06d}"
    else:
        frac = f".{ns:09d}"
    return f"{base}{frac}+00:00"


def epoch_ms(start: datetime) -> int:
    """`start` in whole epoch milliseconds (naive datetimes are taken as UTC)."""
    if start.tzinfo is not None:
        start = start.astimezone(UTC)
    return calendar.timegm(start.timetuple()) * 1000 + start.microsecond // 1000


class Simulator:
    """A deterministic desktop: the same arguments always produce the same sequence of frames."""

    def __init__(
        self,
        *,
        seed: int = 42,
        interval_ms: int = 500,
        start: datetime = DEFAULT_START,
        labels: bool = True,
        scale: float = 1.0,
        psi: bool = True,
        daemon_profile: DaemonProfile = "stock",
    ) -> None:
        if daemon_profile not in PROFILES:
            raise ValueError(f"daemon_profile must be one of {', '.join(PROFILES)}, not {daemon_profile!r}")
        if interval_ms < 1:
            raise ValueError("interval_ms must be at least 1")
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.rng = np.random.default_rng(seed)
        self.labels = labels
        self.dt = interval_ms / 1000.0
        # Whole milliseconds, plus a jitter below half an interval, keep snapshot ids strictly increasing.
        self.start_ns = epoch_ms(start) * 1_000_000
        self.interval_ns = interval_ms * 1_000_000
        self.max_jitter_ns = min(self.interval_ns // 2, 40_000_000)
        boot_age = float(self.rng.uniform(2.5, 9.0) * 3600.0)
        self.desk = Desktop(self.rng, scale, boot_age, self.start_ns / 1e9)
        self.scenario = Scenario(self.desk, self.dt)
        self.system = SystemModel(self.rng, psi=psi)
        self.tick = 0
        self.demand = 0.0
        self.full = daemon_profile == "full"
        # The full profile's extra signals draw from their own stream: both profiles simulate the same desktop.
        self.extra_rng = np.random.default_rng([seed, 1])
        self.shares = profile.CpuShares()

    def step(self) -> Frame:
        """Advance one polling interval and return the snapshot the daemon would log."""
        desk, sc, table, rng = self.desk, self.scenario, self.desk.table, self.rng
        sc.step()
        live = table.live_slots()
        util = min(1.0, self.demand / NCPU)
        level, audio = app_levels(sc, util)
        any_audio = bool(audio.any())
        for i in np.flatnonzero(audio).tolist():
            desk.apps[i].last_audio = desk.t
        got, self.demand, io_bytes = table.sample(
            live, level, audio, any_audio, self.dt, NCPU, self.system.overload(self.demand)
        )
        if self.full:
            self.shares.update(table, live, got, self.dt, NCPU)
        rss = table.rss_mb(live)
        kernel_or_zombie = table.kernel[live] | (table.exit_state[live] == ZOMBIE)
        rss_total = float(rss[~kernel_or_zombie].sum())
        load = Load(float(got.sum()), self.demand, io_bytes, rss_total, float(table.swap[live].sum()), any_audio)
        glob, resp = self.system.step(self.tick, self.dt, load)
        table.grow_swap(live, self.system.memory_pressure(rss_total))
        app_cpu = np.bincount(table.app[live], weights=got, minlength=len(desk.apps))
        sc.noisy = find_noisy(sc, app_cpu, self.system.cpu_pressure)

        t_ns = self.start_ns + self.tick * self.interval_ns + int(rng.integers(0, max(1, self.max_jitter_ns)))
        perm = rng.permutation(live.size)
        listed = live[perm]
        cols, members = self._process_columns(listed, rss[perm], audio, t_ns)
        groups = group_snapshot(table, listed, rng, members)
        if self.full:
            self._fill(cols, groups, listed, glob, resp)
        else:
            groups.columns["tags"] = [[] for _ in groups.roots]
        cols["app_group_id"] = groups.member_group
        if self.labels:
            self._label(cols, groups, app_cpu)

        snapshot = {
            "snapshot_id": t_ns // 1_000_000,
            "timestamp": rfc3339(t_ns),
            **glob,
            "user_active": sc.user_active and self.full,  # the stock daemon's input tracker is never fed
            "time_since_last_input_ms": sc.idle_ms() if self.full else None,
            **resp,
        }
        snapshot = {k: snapshot[k] for k in SNAPSHOT_KEYS}
        table.reap()
        self.tick += 1
        desk.t = self.tick * self.dt
        return Frame(snapshot, {k: cols[k] for k in PROCESS_KEYS}, groups.columns)

    def _process_columns(
        self, listed: np.ndarray, rss: np.ndarray, app_audio: np.ndarray, t_ns: int
    ) -> tuple[dict, Members]:
        table, desk, sc = self.desk.table, self.desk, self.scenario
        n = listed.size
        slots = listed.tolist()
        zombie = table.exit_state[listed] == ZOMBIE
        io_null = table.exit_state[listed] == VANISHING  # died between reading stat and io
        no_mem = table.kernel[listed] | zombie  # no VmRSS line in /proc/<pid>/status
        zombie_pos = set(np.flatnonzero(zombie).tolist())

        def masked(values: list, mask: np.ndarray) -> list:
            for p in np.flatnonzero(mask).tolist():
                values[p] = None
            return values

        def alive_only(values: list) -> list:
            for p in zombie_pos:  # a zombie's exe link, cmdline and environ are gone
                values[p] = None
            return values

        now_s = t_ns // 1_000_000_000
        uptime = np.maximum(0, now_s - (desk.boot_epoch_s() + table.start[listed] // HZ))
        tty = table.tty_nr[listed]
        gui = np.zeros(n, dtype=bool)
        focused = np.zeros(n, dtype=bool)
        wstate: list[str | None] = [None] * n
        for p in np.flatnonzero(table.window[listed] & ~zombie).tolist():
            slot = slots[p]
            app = desk.apps[table.app[slot]]
            if app.window is None or slot != app.flags.get("window_slot", app.root):
                continue
            gui[p] = True
            focused[p] = is_focus = app is sc.focus
            if is_focus:
                wstate[p] = "Fullscreen" if app.flags.get("fullscreen") else "Focused"
            else:
                wstate[p] = "Minimized" if app.window == "minimized" else "Background"
        playing = table.audio[listed] & app_audio[table.app[listed]] & ~zombie
        # a player stays a PipeWire client for a while after its stream ends
        connected = np.array([desk.t - a.last_audio < AUDIO_LINGER_S for a in desk.apps])
        client = table.audio[listed] & (playing | connected[table.app[listed]]) & ~zombie
        env_ok = ~zombie
        ionice_none = (table.ionice_class[listed] < 0) | zombie
        io_read, io_write = table.io_read[listed], table.io_write[listed]
        exe = alive_only([table.exe[s] for s in slots])
        tags = [list(table.tags[s]) for s in slots]
        cols = {
            "pid": table.pid[listed].tolist(),
            "ppid": table.ppid[listed].tolist(),
            "uid": table.uid[listed].tolist(),
            "gid": table.gid[listed].tolist(),
            "exe": exe,
            "cmdline": alive_only([table.cmdline[s] for s in slots]),
            "cgroup_path": [table.cgroup[s] for s in slots],
            "systemd_unit": [table.unit[s] for s in slots],
            "app_group_id": None,
            "state": table.states(listed),
            "start_time": table.start[listed].tolist(),
            "uptime_sec": uptime.tolist(),
            "tty_nr": tty.tolist(),
            "has_tty": (tty != 0).tolist(),
            "cpu_share_1s": [None] * n,  # never computed by the daemon
            "cpu_share_10s": [None] * n,
            "io_read_bytes": masked(io_read.tolist(), io_null),
            "io_write_bytes": masked(io_write.tolist(), io_null),
            "rss_mb": masked(rss.tolist(), no_mem),
            "swap_mb": masked(np.floor(table.swap[listed]).astype(np.int64).tolist(), no_mem),
            "voluntary_ctx": table.vctx[listed].tolist(),
            "involuntary_ctx": table.ictx[listed].tolist(),
            "has_gui_window": gui.tolist(),
            "is_focused_window": focused.tolist(),
            "window_state": wstate,
            "env_has_display": (table.env_display[listed] & env_ok).tolist(),
            "env_has_wayland": (table.env_wayland[listed] & env_ok).tolist(),
            "env_term": alive_only([table.term[s] for s in slots]),
            "env_ssh": (table.env_ssh[listed] & env_ok).tolist(),
            "is_audio_client": client.tolist(),
            "has_active_stream": (playing & self.full).tolist(),  # stock: false for every client
            "process_type": [table.ptype[s] for s in slots],
            "tags": tags,
            "nice": table.nice[listed].tolist(),
            "ionice_class": masked(table.ionice_class[listed].tolist(), ionice_none),
            "ionice_prio": masked(table.ionice_prio[listed].tolist(), ionice_none),
            "teacher_priority_class": [None] * n,
            "teacher_score": [None] * n,
        }
        members = Members(table.pid[listed], exe, tags, gui, focused, io_read, io_write, io_null, rss, no_mem)
        return cols, members

    def _fill(self, cols: dict, groups: Groups, listed: np.ndarray, glob: dict, resp: dict) -> None:
        """The full profile's columns: CPU shares, stable group ids, the focused window's UI loop."""
        cols["cpu_share_1s"], cols["cpu_share_10s"] = self.shares.of(listed)
        groups.columns["total_cpu_share"] = profile.group_max(cols["cpu_share_10s"], groups.positions)
        root_pids = self.desk.table.pid[np.asarray(groups.roots, dtype=np.int64)].tolist()
        groups.columns["app_group_id"] = profile.stable_ids(groups.member_group, groups.positions, root_pids)
        focus = self.scenario.focus
        level = None if focus is None or focus.window is None else float(self.desk.table.activity[focus.root])
        ui, jank = profile.ui_loop(self.extra_rng, resp["sched_latency_p95_ms"], level, self.system.cpu_pressure)
        bad, score = responsiveness(
            glob["psi_cpu_some_avg10"], glob["psi_io_some_avg10"], resp["sched_latency_p99_ms"],
            resp["audio_xruns_delta"], ui,
        )  # fmt: skip
        resp.update(
            ui_loop_p95_ms=ui, frame_jank_ratio=jank, bad_responsiveness=bad, responsiveness_score=round(score, 6)
        )

    def _label(self, cols: dict, groups: Groups, app_cpu: np.ndarray) -> None:
        desk, sc, table = self.desk, self.scenario, self.desk.table
        terminal = desk.by_key.get("gnome-terminal")
        ctx = teacher.Context(
            now=desk.t,
            focus=sc.focus,
            present=sc.present,
            user_active=sc.user_active,
            since_input=float("inf") if sc.last_input is None else desk.t - sc.last_input,
            absorbed=sc.gaming() or sc.watching(),
            noisy=sc.noisy,
            terminal_focus=-1e9 if terminal is None else terminal.last_focus,
            last_sound=max(a.last_audio for a in desk.apps),
        )
        classes, scores = cols["teacher_priority_class"], cols["teacher_score"]
        states = cols["state"]
        for g, root in enumerate(groups.roots):
            app = desk.apps[table.app[root]]
            focused = app is sc.focus
            cls = teacher.decide(app, ctx)
            value = teacher.score(
                cls,
                has_gui=groups.columns["has_gui_window"][g],
                recency=teacher.recency(app, desk.t, focused),
                app_cpu=float(app_cpu[app.idx]),
            )
            for p in groups.positions[g].tolist():
                if states[p] == "'Z'":  # a zombie cannot be scheduled at all: the one per-process exception
                    classes[p], scores[p] = teacher.IDLE, 0.0
                else:
                    classes[p], scores[p] = cls, value
