"""The simulated machine: app instances, their process trees, pids, terminals and cgroups.

An app instance is one process tree inside one cgroup bucket, which is exactly what the daemon's grouper turns
into one app group, so the hidden per-app state here (focus, audio, builds) maps one-to-one onto groups.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from smoothtask_trainer.simulator import catalog as cat
from smoothtask_trainer.simulator import desktop as dk
from smoothtask_trainer.simulator.procs import HZ, LIVE, VANISHING, ZOMBIE, ProcessTable

if TYPE_CHECKING:
    from smoothtask_trainer.simulator.workload import Build

PTS_MAJOR = 136  # /dev/pts/N is (136 << 8) | N in /proc/<pid>/stat tty_nr
TTY2 = (4 << 8) | 2  # the graphical login's VT
PG_ROLES = ("checkpointer", "background writer", "walwriter", "autovacuum launcher", "logical replication launcher")


@dataclass
class AppInst:
    """One running app and the hidden state the teacher reasons about."""

    idx: int
    spec: cat.App
    ident: str
    root: int = -1
    alive: bool = True
    activity: float = 0.0
    audio: bool = False
    window: str | None = None  # None (no window), "open" or "minimized"
    last_focus: float = -1e9
    last_audio: float = -1e9  # last time the app played audio
    busy_until: float = -1.0  # end of the current burst (indexing, update, batch job, hashing)
    term: str | None = None
    build: Build | None = None  # while a build runs in one of this app's shells
    flags: dict = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.spec.kind


class Desktop:
    """App instances plus the process table, with helpers to start and end processes."""

    def __init__(self, rng: np.random.Generator, scale: float, boot_age_s: float, start_epoch_s: float) -> None:
        self.rng = rng
        self.scale = scale
        self.table = ProcessTable(rng)
        self.apps: list[AppInst] = []
        self.by_key: dict[str, AppInst] = {}
        self.t = 0.0  # seconds since the first snapshot
        self.boot_age_s = boot_age_s  # uptime at the first snapshot
        self.start_epoch_s = start_epoch_s
        self.next_pid = 3
        self.next_pts = 0
        self.counter = 0
        self._build_initial_roster()

    # --- time ---------------------------------------------------------------------------------------------
    def ticks_now(self) -> int:
        return int((self.boot_age_s + self.t) * HZ)

    def boot_epoch_s(self) -> int:
        return int(self.start_epoch_s - self.boot_age_s)

    # --- pids, ttys, identifiers -------------------------------------------------------------------------
    def _take_pid(self) -> int:
        # Threads share the pid space, so consecutive processes are rarely consecutive pids.
        pid = self.next_pid
        self.next_pid += int(self.rng.geometric(0.12))
        return pid

    def _new_pts(self) -> int:
        n = self.next_pts
        self.next_pts += 1
        return (PTS_MAJOR << 8) | n

    def hex_id(self, n: int) -> str:
        return "".join(f"{int(x):x}" for x in self.rng.integers(0, 16, n))

    # --- app instances ---------------------------------------------------------------------------------------
    def new_app(self, spec: cat.App) -> AppInst:
        ident = self.hex_id(64) if "docker" in (spec.cgroup or "") else str(int(self.rng.integers(1000, 99999)))
        app = AppInst(len(self.apps), spec, ident)
        if spec.key == "code" and self.rng.random() < 0.4:
            app.flags["from_terminal"] = True  # `code .` typed in a shell: every code process has TERM
        app.term = "tmux-256color" if spec.key == "tmux" else "xterm-256color"
        self.apps.append(app)
        self.by_key.setdefault(spec.key, app)
        return app

    def app_cgroup(self, app: AppInst) -> str | None:
        cg = app.spec.cgroup
        if cg is None:
            return None
        return cg.replace("{id}", app.ident).replace("{n}", app.flags.get("session", "3"))

    def spawn(
        self,
        app: AppInst,
        proc: cat.Proc,
        parent: int | None,
        *,
        age_s: float = 0.0,
        index: int = 0,
        start_s: float | None = None,
        nice: int | None = None,
        pid: int | None = None,
    ) -> int:
        """Start one process of `app` under `parent` (None: the app's root, parented per `app.spec.parent`)."""
        table = self.table
        if parent is None:
            ppid = {"init": 1, "kthreadd": 0}.get(app.spec.parent)
            if ppid is None:
                anchor = {"user": "user-manager", "gdm": "gdm", "sshd": "sshd"}[app.spec.parent]
                anchor_app = self.by_key.get(anchor)
                ppid = int(table.pid[anchor_app.root]) if anchor_app is not None else 1
            cgroup = self.app_cgroup(app)
            if proc is cat.SHIM:
                cgroup = cat.SYS + "containerd.service"
            env = cat.ENV_TERMINAL if app.flags.get("from_terminal") else app.spec.env
        else:
            ppid = int(table.pid[parent])
            cgroup = table.cgroup[parent]
            if table.exe[parent] == cat.SHIM.exe:
                cgroup = self.app_cgroup(app)
            elif app.spec.key == "gnome-terminal" and proc is cat.BASH:
                cgroup = cat.USER + f"app.slice/app-org.gnome.Terminal.slice/vte-spawn-{self.hex_id(8)}.scope"
            env = table.env_of(parent)
        if proc is dk.SSH_BASH:
            env = cat.ENV_SSH  # sshd puts SSH_* into the login shell's environment, not its own
        elif proc.tty and env == cat.ENV_DESKTOP:
            env = cat.ENV_TERMINAL
        if app.spec.key == "login-session" and proc.tty:
            tty_nr = TTY2
        elif proc.tty:
            tty_nr = int(table.tty_nr[parent]) if parent is not None and table.tty_nr[parent] else 0
            if tty_nr == 0 or proc is cat.BASH or proc is dk.SSH_BASH:
                tty_nr = self._new_pts()
        else:
            tty_nr = 0
        self.counter += 1
        arg = PG_ROLES[index % len(PG_ROLES)] if proc is cat.PG_CHILD else str(self.counter)
        cmd = None if proc.cmd is None else proc.cmd.replace("{id}", app.ident).replace("{n}", arg)
        if start_s is None:
            start_s = self.boot_age_s + self.t
        # A tmux server keeps the TERM of the terminal it was started in; its shells get tmux's own.
        term = "xterm-256color" if parent is None else app.term
        slot = table.spawn(
            proc,
            pid=self._take_pid() if pid is None else pid,
            ppid=ppid,
            parent=parent,
            app=app.idx,
            uid=app.spec.uid,
            cgroup=cgroup,
            env=env,
            term=term,
            tty_nr=tty_nr,
            start_ticks=int(start_s * HZ),
            age_s=age_s,
            cmdline=cmd,
            nice=nice,
        )
        if parent is None:
            app.root = slot
        return slot

    def start_app(self, spec: cat.App, **flags) -> AppInst:
        """Launch an app now: its whole template tree, counts drawn from each entry's range."""
        app = self.new_app(spec)
        app.flags.update(flags)
        slots: list[int] = []
        for proc, parent_i, lo, hi in spec.procs:
            for i in range(int(self.rng.integers(lo, hi + 1))):
                parent = None if parent_i < 0 else slots[parent_i] if parent_i < len(slots) else app.root
                slot = self.spawn(app, proc, parent, index=i)
                if i == 0:
                    slots.append(slot)
        app.window = "open" if any(p.window for p, *_ in spec.procs) else None
        return app

    def members(self, app: AppInst) -> np.ndarray:
        live = self.table.live_slots()
        return live[self.table.app[live] == app.idx]

    def children(self, slot: int) -> list[int]:
        live = self.table.live_slots()
        return live[self.table.ppid[live] == self.table.pid[slot]].tolist()

    def end_process(self, slot: int, *, short_lived: bool = False) -> None:
        """Exit a process and its descendants; some stay visible one more scan (zombie or half-read)."""
        table = self.table
        if not table.alive[slot] or table.exit_state[slot] != LIVE:
            return
        for child in self.children(slot):
            self.end_process(child, short_lived=short_lived)
        u = self.rng.random()
        p = 0.12 if short_lived else 0.04
        table.exit(slot, ZOMBIE if u < p else VANISHING if u < 2 * p else LIVE)

    def end_app(self, app: AppInst) -> None:
        if app.root >= 0:
            self.end_process(app.root)
        app.alive = False
        app.window = None
        app.audio = False

    # --- the desktop at the first snapshot --------------------------------------------------------------------
    def _roster(self) -> list[cat.App]:
        levels = ((1.5, 9), (1.0, 3), (0.5, 2), (0.25, 1))
        level = next((lvl for bound, lvl in levels if self.scale >= bound), 0)
        apps = [a for a in dk.ROSTER if a.optional <= level]
        for _ in range(1, int(math.floor(self.scale))):
            apps += [cat.POSTGRES, dk.FIREFOX]  # a bigger machine: more containers, a second browser profile
        if self.rng.random() < 0.35:
            apps = [a for a in apps if a is not dk.TMUX]
        return apps

    def _build_initial_roster(self) -> None:
        """Create everything running at the first snapshot, with start times spread over the uptime."""
        rng, boot = self.rng, self.boot_age_s
        login = rng.uniform(25.0, 90.0)
        pending: list[tuple[float, int, AppInst, cat.Proc, int, int]] = []  # start, seq, app, proc, parent, index
        for spec in self._roster():
            app = self.new_app(spec)
            if spec.kind == "kernel":
                t0 = 0.0
            elif spec.key == "systemd":
                t0 = -1.0
            elif spec.cgroup and spec.cgroup.startswith(cat.SYS):
                t0 = rng.uniform(1.5, 9.0)
            elif spec.key == "user-manager":
                t0 = login - 1.0
            elif spec.kind in ("session_infra", "audio_server", "compositor", "input_method"):
                t0 = login + rng.uniform(0.0, 4.0)
            elif spec.kind in ("helper", "indexer", "updater"):
                t0 = login + rng.uniform(4.0, 60.0)
            else:
                t0 = login + rng.uniform(60.0, max(120.0, boot - 600.0))
            first_of_entry: list[int] = []
            for proc, parent_i, lo, hi in spec.procs:
                lo, hi = self._scaled_count(spec, proc, lo, hi)
                for i in range(int(rng.integers(lo, hi + 1))):
                    if spec.kind == "kernel" and parent_i >= 0:
                        start = rng.uniform(0.2, 3.0) if rng.random() < 0.7 else rng.uniform(3.0, boot)
                    elif parent_i < 0:
                        start = t0
                    else:
                        parent_start = pending[first_of_entry[parent_i]][0]
                        start = parent_start + rng.uniform(0.05, 3.0) * (1 if i == 0 else rng.uniform(1, 400))
                        start = min(start, boot - 1.0)
                    parent_seq = first_of_entry[parent_i] if parent_i >= 0 else -1
                    pending.append((start, len(pending), app, proc, parent_seq, i))
                    if i == 0:
                        first_of_entry.append(len(pending) - 1)
            app.window = "open" if any(p.window for p, *_ in spec.procs) else None
        slots: dict[int, int] = {}
        for start, seq, app, proc, parent_seq, i in sorted(pending, key=lambda e: (e[0], e[1])):
            pid = 1 if app.spec.key == "systemd" else 2 if (app.spec.kind == "kernel" and parent_seq < 0) else None
            parent = slots[parent_seq] if parent_seq >= 0 else None
            slots[seq] = self.spawn(
                app, proc, parent, age_s=max(0.0, boot - max(start, 0.0)), index=i, start_s=max(start, 0.0), pid=pid
            )
        self.next_pid += int(rng.integers(200, 2000))  # processes that came and went before logging started

    def _scaled_count(self, spec: cat.App, proc: cat.Proc, lo: int, hi: int) -> tuple[int, int]:
        if proc is cat.KTHREAD or proc is dk.FF_TAB:
            return max(1, round(lo * self.scale)), max(1, round(hi * self.scale))
        if proc is cat.BASH and spec.key == "gnome-terminal" and self.scale < 0.5:
            return 1, 1
        return lo, hi
