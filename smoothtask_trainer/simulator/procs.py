"""The process table: every simulated process's state, in numpy columns indexed by slot.

Per-snapshot work (CPU draws, counter growth, RSS drift) is vectorised over the live slots; strings that
never change for a process (exe, cmdline, cgroup) live in plain lists. Counters are cumulative, as in
/proc/<pid>/io and /proc/<pid>/status, so they only ever grow for a given pid.
"""

from __future__ import annotations

import numpy as np

from smoothtask_trainer.simulator.catalog import (
    ENV_DESKTOP,
    ENV_NONE,
    ENV_SSH,
    ENV_TERMINAL,
    MODE_ALWAYS,
    MODE_ANY_AUDIO,
    MODE_AUDIO,
    MODE_IDLE,
    Proc,
)

HZ = 100  # USER_HZ: /proc/<pid>/stat start_time is in clock ticks since boot
BLOCK = 4096  # read_bytes / write_bytes count whole blocks

# Exit states: a process that exits may still show up in one more scan, as the daemon's /proc walk races it.
LIVE, ZOMBIE, VANISHING = 0, 1, 2

# The daemon writes `format!("{:?}", stat.state)` of procfs's `state: char`, i.e. the char's Debug form.
STATE_SLEEP, STATE_RUN, STATE_DISK, STATE_IDLE, STATE_ZOMBIE = "'S'", "'R'", "'D'", "'I'", "'Z'"


def normalize_cgroup(path: str | None) -> str | None:
    """The daemon grouper's cgroup normalisation: cut after `session-*.scope`, `app.slice` or `system.slice`."""
    if path is None:
        return None
    kept = []
    for part in (p for p in path.split("/") if p):
        kept.append(part)
        if (part.startswith("session-") and part.endswith(".scope")) or part in ("app.slice", "system.slice"):
            break
    return "/" + "/".join(kept)


def systemd_unit(path: str | None) -> str | None:
    """The daemon's `extract_systemd_unit`: the last `.scope`/`.service` component, never for one-part paths."""
    if path is None:
        return None
    parts = [p for p in path.split("/") if p]
    if len(parts) <= 1:
        return None
    return next((p for p in reversed(parts) if p.endswith((".scope", ".service"))), None)


class ProcessTable:
    """Slots of simulated processes. A slot is reused only after its process has been reaped."""

    _FLOATS = (
        "cpu_idle",
        "cpu_busy",
        "ctx_rate",
        "read_rate",
        "write_rate",
        "io_p",
        "rss_base",
        "rss_walk",
        "swap",
        "cpu",
        "activity",
    )
    _INTS = (
        "pid",
        "ppid",
        "uid",
        "gid",
        "app",
        "bucket",
        "root",
        "start",
        "tty_nr",
        "nice",
        "ionice_class",
        "ionice_prio",
        "mode",
        "io_read",
        "io_write",
        "vctx",
        "ictx",
        "exit_state",
    )
    _BOOLS = ("alive", "kernel", "window", "audio", "env_display", "env_wayland", "env_ssh", "kidle")

    def __init__(self, rng: np.random.Generator, capacity: int = 256) -> None:
        self.rng = rng
        self.capacity = 0
        self.exe: list[str | None] = []
        self.cmdline: list[str | None] = []
        self.cgroup: list[str | None] = []
        self.unit: list[str | None] = []
        self.ptype: list[str | None] = []
        self.tags: list[tuple[str, ...]] = []
        self.term: list[str | None] = []
        self.proc: list[Proc | None] = []  # the template, so the scenario can find e.g. a browser's tabs
        self._buckets: dict[str, int] = {}
        self._free: list[int] = []
        self._released: list[int] = []  # freed this interval: reusable only after the snapshot is built
        self._grow(capacity)

    # --- storage ---------------------------------------------------------------------------------------
    def _grow(self, capacity: int) -> None:
        old = self.capacity
        for name in self._FLOATS:
            self._resize(name, capacity, np.float64)
        for name in self._INTS:
            self._resize(name, capacity, np.int64)
        for name in self._BOOLS:
            self._resize(name, capacity, np.bool_)
        for lst in (self.exe, self.cmdline, self.cgroup, self.unit, self.ptype, self.term, self.proc):
            lst.extend([None] * (capacity - old))
        self.tags.extend([()] * (capacity - old))
        # Lowest slots first, so a fresh table fills 0, 1, 2, ... (reproducible and cache-friendly).
        self._free = list(range(capacity - 1, old - 1, -1)) + self._free
        self.capacity = capacity

    def _resize(self, name: str, capacity: int, dtype: type) -> None:
        arr = np.zeros(capacity, dtype=dtype)
        if self.capacity:
            arr[: self.capacity] = getattr(self, name)
        setattr(self, name, arr)

    def live_slots(self) -> np.ndarray:
        return np.flatnonzero(self.alive)

    # --- life cycle --------------------------------------------------------------------------------------
    def spawn(
        self,
        proc: Proc,
        *,
        pid: int,
        ppid: int,
        parent: int | None,
        app: int,
        uid: int,
        cgroup: str | None,
        env: str,
        term: str | None,
        tty_nr: int,
        start_ticks: int,
        age_s: float,
        cmdline: str | None,
        nice: int | None = None,
    ) -> int:
        """Create a process; `age_s` > 0 back-fills counters for a process that was running before the log."""
        if not self._free:
            self._grow(self.capacity * 2)
        s = self._free.pop()
        rng = self.rng
        self.alive[s] = True
        self.exit_state[s] = LIVE
        self.pid[s], self.ppid[s] = pid, ppid
        self.uid[s] = proc.uid if proc.uid is not None else uid
        self.gid[s] = self.uid[s]
        self.app[s] = app
        self.kernel[s] = proc.kernel
        self.kidle[s] = proc.kernel and rng.random() < 0.7
        self.window[s], self.audio[s] = proc.window, proc.audio
        self.mode[s] = proc.mode
        self.exe[s], self.cmdline[s], self.ptype[s], self.tags[s] = proc.exe, cmdline, proc.ptype, proc.tags
        self.proc[s] = proc
        self.cgroup[s], self.unit[s] = cgroup, systemd_unit(cgroup)
        norm = normalize_cgroup(cgroup)
        self.bucket[s] = -1 if norm is None else self._buckets.setdefault(norm, len(self._buckets))
        # The grouper's tree: climb to the parent's root while the parent shares the bucket and is not init.
        same_tree = parent is not None and self.alive[parent] and self.bucket[parent] == self.bucket[s] and ppid != 1
        self.root[s] = self.root[parent] if same_tree else s
        self.start[s] = start_ticks
        self.tty_nr[s] = tty_nr
        self.nice[s] = proc.nice if nice is None else nice
        self.ionice_class[s], self.ionice_prio[s] = proc.ionice if proc.ionice else (-1, -1)
        self.env_display[s] = self.env_wayland[s] = env in (ENV_DESKTOP, ENV_TERMINAL)
        self.env_ssh[s] = env == ENV_SSH
        self.term[s] = term if env in (ENV_TERMINAL, ENV_SSH) else None
        # Per-instance spread: the same template yields different processes (heavy tails, lognormal).
        spread = rng.lognormal(0.0, 0.35)
        self.cpu_idle[s], self.cpu_busy[s] = proc.cpu[0] * spread, proc.cpu[1] * spread
        self.ctx_rate[s] = proc.ctx * rng.lognormal(0.0, 0.5)
        self.read_rate[s] = proc.io[0] * rng.lognormal(0.0, 0.8)
        self.write_rate[s] = proc.io[1] * rng.lognormal(0.0, 0.8)
        self.io_p[s] = proc.io_p
        self.rss_base[s] = proc.rss * rng.lognormal(0.0, 0.45) if not proc.kernel else 0.0
        self.rss_walk[s] = 0.0
        self.swap[s] = 0.0
        self.cpu[s] = self.activity[s] = 0.0
        if age_s > 0 and not proc.kernel:
            # Back-fill what the process did before logging started. Busy rates only apply in bursts, so the
            # share of its life spent busy is small and heavy-tailed.
            duty = rng.lognormal(-2.0, 0.6)
            io_duty = rng.lognormal(-4.0, 1.0)
            self.vctx[s] = int(rng.poisson(self.ctx_rate[s] * age_s * (0.05 + duty)))
            self.ictx[s] = int(self.vctx[s] * rng.lognormal(-3.0, 0.8))
            cold = self.rss_base[s] * 0.25e6 * rng.lognormal(0.0, 1.0)  # binary and libraries read at start
            reads = cold + self.read_rate[s] * proc.io_p * age_s * io_duty
            writes = self.write_rate[s] * proc.io_p * age_s * io_duty * rng.lognormal(0.0, 1.0)
            self.io_read[s] = int(reads) // BLOCK * BLOCK
            self.io_write[s] = int(writes) // BLOCK * BLOCK
            if rng.random() < 0.3:  # long-idle pages of old processes get swapped out
                self.swap[s] = min(self.rss_base[s] * 0.4, rng.lognormal(1.5, 1.0))
        elif proc.kernel:
            self.vctx[s] = int(rng.poisson(max(age_s, 1.0) * proc.ctx * rng.lognormal(-1.0, 1.0)))
            self.ictx[s] = int(self.vctx[s] * rng.lognormal(-4.0, 1.0))
            self.io_read[s] = self.io_write[s] = 0
        else:
            self.vctx[s] = self.ictx[s] = 0
            self.io_read[s] = int(self.rss_base[s] * 0.05e6 * rng.lognormal(0.0, 1.0)) // BLOCK * BLOCK
            self.io_write[s] = 0
        return s

    def exit(self, slot: int, state: int) -> None:
        """End a process: `ZOMBIE`/`VANISHING` keep it for one more scan, `LIVE` removes it at once."""
        if state == LIVE:
            self._remove(slot)
        else:
            self.exit_state[slot] = state
            self.window[slot] = self.audio[slot] = False

    def reap(self) -> None:
        """Remove the processes whose last appearance was the snapshot just built; recycle freed slots."""
        for s in np.flatnonzero(self.alive & (self.exit_state != LIVE)).tolist():
            self._remove(s)
        # A child still listed after its parent exited keeps pointing at the parent's slot (its tree root), so
        # slots are recycled only between snapshots, never within one.
        self._free.extend(self._released)
        self._released.clear()

    def _remove(self, slot: int) -> None:
        self.alive[slot] = False
        self.exit_state[slot] = LIVE
        self._released.append(slot)

    # --- per-snapshot dynamics ----------------------------------------------------------------------------
    def sample(
        self,
        live: np.ndarray,
        app_activity: np.ndarray,
        app_audio: np.ndarray,
        any_audio: bool,
        dt: float,
        ncpu: int,
        overload: float,
    ) -> tuple[np.ndarray, float, float]:
        """Draw one interval of CPU, context switches, IO and RSS drift for the live slots.

        Returns the CPU each process got (cores), the CPU wanted by all (cores) and the bytes moved to disk.
        """
        rng, n = self.rng, live.size
        mode = self.mode[live]
        act = app_activity[self.app[live]]
        act = np.where(mode == MODE_ALWAYS, 1.0, act)
        act = np.where(mode == MODE_AUDIO, app_audio[self.app[live]].astype(np.float64), act)
        act = np.where(mode == MODE_IDLE, 0.0, act)
        act = np.where(mode == MODE_ANY_AUDIO, 1.0 if any_audio else 0.0, act)
        act = np.where(self.exit_state[live] == ZOMBIE, 0.0, act)
        self.activity[live] = act
        lo, hi = self.cpu_idle[live], self.cpu_busy[live]
        want = (lo + (hi - lo) * act) * rng.gamma(2.0, 0.5, n)
        want = np.minimum(want, np.maximum(1.0, hi * 1.3))
        demand = float(want.sum())
        got = want * min(1.0, ncpu / demand) if demand > 0 else want
        self.cpu[live] = got

        self.vctx[live] += rng.poisson(dt * self.ctx_rate[live] * (0.03 + act))
        self.ictx[live] += rng.poisson(dt * got * (4.0 + 150.0 * overload))
        busy = 0.05 + act
        io_p = self.io_p[live]
        hit_r = rng.random(n) < io_p * np.minimum(1.0, busy)
        hit_w = rng.random(n) < io_p * np.minimum(1.0, busy)
        burst = rng.lognormal(0.0, 1.0, (2, n))
        reads = np.where(hit_r, self.read_rate[live] * busy * dt * burst[0] / np.maximum(io_p, 1e-3), 0.0)
        writes = np.where(hit_w, self.write_rate[live] * busy * dt * burst[1] / np.maximum(io_p, 1e-3), 0.0)
        reads = (reads // BLOCK).astype(np.int64) * BLOCK
        writes = (writes // BLOCK).astype(np.int64) * BLOCK
        self.io_read[live] += reads
        self.io_write[live] += writes
        # RSS: a mean-reverting log random walk; busy processes wander further.
        walk = self.rss_walk[live]
        self.rss_walk[live] = walk * 0.995 + rng.normal(0.0, 0.004 + 0.01 * act, n)
        return got, demand, float(reads.sum() + writes.sum())

    def grow_swap(self, live: np.ndarray, pressure: float) -> None:
        """Under memory pressure the kernel swaps out pages of idle processes."""
        if pressure <= 0:
            return
        idle = live[(self.activity[live] < 0.05) & ~self.kernel[live]]
        if idle.size:
            self.swap[idle] += self.rng.exponential(0.3 * pressure, idle.size)
            self.swap[idle] = np.minimum(self.swap[idle], self.rss_base[idle])

    def states(self, live: np.ndarray) -> list[str]:
        """The one-letter scheduler state of each live slot, in the daemon's quoted Debug form."""
        rng, n = self.rng, live.size
        u = rng.random(n)
        cpu = self.cpu[live]
        out = np.full(n, STATE_SLEEP, dtype=object)
        out[self.kidle[live]] = STATE_IDLE
        out[u < np.minimum(cpu, 0.95)] = STATE_RUN
        out[(u > 0.97) & (self.io_p[live] > 0.5) & (self.activity[live] > 0.5)] = STATE_DISK
        out[self.exit_state[live] == ZOMBIE] = STATE_ZOMBIE
        return out.tolist()

    def rss_mb(self, live: np.ndarray) -> np.ndarray:
        """VmRSS in whole MB (kB / 1024, floored), from the drifting baseline."""
        return np.floor(self.rss_base[live] * np.exp(self.rss_walk[live])).astype(np.int64)

    def env_of(self, slot: int) -> str:
        """The environment context a child inherits from `slot`."""
        if self.env_ssh[slot]:
            return ENV_SSH
        if self.term[slot] is not None:
            return ENV_TERMINAL
        return ENV_DESKTOP if self.env_display[slot] else ENV_NONE
