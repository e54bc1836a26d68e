"""Global metrics and responsiveness, the way the daemon's collectors report them.

Quirks reproduced on purpose (daemon contract §3.4 and §7.9):

- The system-metrics cache (`system_metrics_cache_interval = 3`) re-reads /proc only on every third loop; the
  two loops in between reuse the same sample, so load, memory and PSI repeat and the CPU delta is empty, which
  the daemon reports as cpu_user = cpu_system = cpu_idle = cpu_iowait = 0.0. The very first loop has no
  previous sample either, so it reads 0.0 too.
- PSI is raw kernel percent (0-100, two decimals), compared against thresholds meant for a 0-1 scale.
- `ui_loop_p95_ms` is the scheduling-latency p95 (the caching collector copies it), `frame_jank_ratio` is
  never measured (NULL), `audio_xruns_delta` is always present.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

NCPU = 8
MEM_TOTAL_KB = 16_303_412
SWAP_TOTAL_KB = 4_194_300
KERNEL_USED_KB = 1_350_000  # slab, page tables, kernel stacks, unreclaimable caches
CACHE_INTERVAL = 3  # the daemon's default system_metrics_cache_interval

# Daemon defaults (thresholds:) used by bad_responsiveness / responsiveness_score.
PSI_CPU_HIGH = 0.6
PSI_IO_HIGH = 0.4
SCHED_P99_MS = 20.0
UI_P95_MS = 16.67


def responsiveness(
    psi_cpu: float | None, psi_io: float | None, p99: float | None, xruns: int | None, ui_p95: float | None
) -> tuple[bool, float]:
    """`bad_responsiveness` and `responsiveness_score` exactly as the daemon computes them (contract §3.4)."""
    bad = (
        (psi_cpu is not None and psi_cpu > PSI_CPU_HIGH)
        or (psi_io is not None and psi_io > PSI_IO_HIGH)
        or (p99 is not None and p99 > SCHED_P99_MS)
        or (xruns is not None and xruns > 0)
        or (ui_p95 is not None and ui_p95 > UI_P95_MS)
    )
    terms = []
    if psi_cpu is not None:
        terms.append((0.3, min(2.0, psi_cpu / PSI_CPU_HIGH)))
    if psi_io is not None:
        terms.append((0.2, min(2.0, psi_io / PSI_IO_HIGH)))
    if p99 is not None:
        terms.append((0.3, min(2.0, p99 / SCHED_P99_MS)))
    if xruns is not None:
        terms.append((0.1, 1.0 if xruns > 0 else 0.0))
    if ui_p95 is not None:
        terms.append((0.1, min(2.0, ui_p95 / UI_P95_MS)))
    if not terms:
        return bad, 1.0
    weighted = sum(w * v for w, v in terms) / sum(w for w, _ in terms)
    return bad, max(0.0, 1.0 - min(1.0, weighted))


@dataclass
class Load:
    """What the processes did during one interval, as the system sees it."""

    cpu_used: float  # cores actually run
    cpu_demand: float  # cores wanted
    io_bytes: float  # bytes read + written
    rss_mb: float  # sum of resident memory
    swap_mb: float
    audio_active: bool


class SystemModel:
    """Kernel-side state that evolves smoothly: load averages, PSI averages, the latency probe's window."""

    def __init__(self, rng: np.random.Generator, psi: bool = True) -> None:
        self.rng = rng
        self.psi = psi
        self.load = [rng.uniform(0.4, 1.6), rng.uniform(0.5, 1.4), rng.uniform(0.5, 1.2)]
        self.psi_cpu10 = self.psi_cpu60 = rng.uniform(0.05, 0.4)
        self.psi_io10 = rng.uniform(0.0, 0.2)
        self.psi_mem10 = self.psi_memfull10 = 0.0
        self.p99 = rng.uniform(0.3, 1.0)
        self.p95_ratio = 0.45
        self.cpu_window = 0.0  # core-seconds run since the last /proc/stat read
        self.io_window = 0.0
        self.window_s = 0.0
        self.cached: dict | None = None
        self.cpu_pressure = 0.0  # instantaneous CPU "some" percent, for the teacher's noisy-neighbour rule

    def overload(self, demand: float) -> float:
        """How far CPU demand exceeds what the cores absorb without queueing (0 = none)."""
        return max(0.0, demand / NCPU - 0.6)

    def step(self, tick: int, dt: float, load: Load) -> tuple[dict, dict]:
        """Advance one loop; return the `global` and `responsiveness` field dicts (contract field names)."""
        rng = self.rng
        over = self.overload(load.cpu_demand)
        io_mbps = load.io_bytes / dt / 1e6
        self.cpu_window += load.cpu_used * dt
        self.io_window += io_mbps * dt
        self.window_s += dt

        cpu_inst = 100.0 * (1.0 - math.exp(-1.5 * over)) + 0.9 * (load.cpu_demand / NCPU) ** 1.5 * rng.lognormal(0, 0.6)
        io_inst = 60.0 * (1.0 - math.exp(-io_mbps / 1500.0)) + 0.03 * rng.lognormal(0, 1.0)
        used_kb = KERNEL_USED_KB + load.rss_mb * 1024 * 0.82 + rng.normal(0, 20_000)
        used_kb = min(used_kb, MEM_TOTAL_KB - 150_000)
        avail_ratio = 1.0 - used_kb / MEM_TOTAL_KB
        mem_inst = 50.0 * max(0.0, (0.12 - avail_ratio) / 0.12) ** 1.5
        a10, a60 = 1 - math.exp(-dt / 10), 1 - math.exp(-dt / 60)
        self.psi_cpu10 += a10 * (cpu_inst - self.psi_cpu10)
        self.psi_cpu60 += a60 * (cpu_inst - self.psi_cpu60)
        self.psi_io10 += a10 * (io_inst - self.psi_io10)
        self.psi_mem10 += a10 * (mem_inst - self.psi_mem10)
        self.psi_memfull10 += a10 * (0.4 * mem_inst - self.psi_memfull10)
        self.cpu_pressure = cpu_inst
        runnable = load.cpu_demand + io_mbps / 60.0
        for i, tau in enumerate((60.0, 300.0, 900.0)):
            self.load[i] += (1 - math.exp(-dt / tau)) * (runnable - self.load[i])

        if tick % CACHE_INTERVAL == 0:
            self.cached = self._read_proc(tick, used_kb, load.swap_mb, io_mbps)
        glob = dict(self.cached)
        if tick % CACHE_INTERVAL != 0 or tick == 0:
            glob.update(cpu_user=0.0, cpu_system=0.0, cpu_idle=0.0, cpu_iowait=0.0)

        # The latency probe keeps a window of ~5000 wake-ups (~25 s), so its percentiles move slowly.
        target = 0.25 + 0.4 * load.cpu_demand / NCPU + 40.0 * over**1.2 + 8.0 * (mem_inst / 50.0)
        target *= rng.lognormal(0.0, 0.25)
        self.p99 += (1 - math.exp(-dt / 12.0)) * (target - self.p99)
        self.p95_ratio += 0.1 * (rng.uniform(0.3, 0.6) - self.p95_ratio)
        p99 = None if tick == 0 else round(self.p99, 3)
        p95 = None if tick == 0 else round(self.p99 * self.p95_ratio, 3)
        xruns = 0
        if load.audio_active:
            lam = 0.35 if (cpu_inst > 35.0 or target > 18.0) else 0.0005
            xruns = int(rng.poisson(lam))
        psi_cpu = glob["psi_cpu_some_avg10"]
        psi_io = glob["psi_io_some_avg10"]
        bad, score = responsiveness(psi_cpu, psi_io, p99, xruns, p95)
        resp = {
            "sched_latency_p95_ms": p95,
            "sched_latency_p99_ms": p99,
            "audio_xruns_delta": xruns,
            "ui_loop_p95_ms": p95,
            "frame_jank_ratio": None,
            "bad_responsiveness": bad,
            "responsiveness_score": round(score, 6),
        }
        return glob, resp

    def _read_proc(self, tick: int, used_kb: float, swap_mb: float, io_mbps: float) -> dict:
        """One /proc read: meminfo, loadavg, pressure/*, and CPU jiffies since the previous read."""
        total = max(1, round(NCPU * self.window_s * 100))  # USER_HZ jiffies over the window
        busy = min(1.0, self.cpu_window / max(self.window_s, 1e-9) / NCPU)
        iowait = min(0.25 * (1.0 - busy), self.io_window / max(self.window_s, 1e-9) / 2000.0)
        user_j = round(total * busy * 0.74)
        system_j = round(total * (busy * 0.24 + 0.004))
        iowait_j = round(total * iowait)
        idle_j = max(0, total - user_j - system_j - iowait_j)
        total = user_j + system_j + iowait_j + idle_j
        self.cpu_window = self.io_window = self.window_s = 0.0
        used = int(used_kb)
        swap_used = min(SWAP_TOTAL_KB, int(swap_mb * 1024 + 48_000))

        def pct(x: float) -> float | None:
            return round(max(0.0, min(100.0, x)), 2) if self.psi else None

        return {
            "cpu_user": user_j / total,
            "cpu_system": system_j / total,
            "cpu_idle": idle_j / total,
            "cpu_iowait": iowait_j / total,
            "mem_total_kb": MEM_TOTAL_KB,
            "mem_used_kb": used,
            "mem_available_kb": MEM_TOTAL_KB - used,
            "swap_total_kb": SWAP_TOTAL_KB,
            "swap_used_kb": swap_used,
            "load_avg_one": round(self.load[0], 2),
            "load_avg_five": round(self.load[1], 2),
            "load_avg_fifteen": round(self.load[2], 2),
            "psi_cpu_some_avg10": pct(self.psi_cpu10),
            "psi_cpu_some_avg60": pct(self.psi_cpu60),
            "psi_io_some_avg10": pct(self.psi_io10),
            "psi_mem_some_avg10": pct(self.psi_mem10),
            "psi_mem_full_avg10": pct(self.psi_memfull10),
        }

    def memory_pressure(self, rss_mb: float) -> float:
        """0..1: how close resident memory is to exhausting RAM (drives swap-out)."""
        used = KERNEL_USED_KB + rss_mb * 1024 * 0.82
        return max(0.0, (used / MEM_TOTAL_KB - 0.85) / 0.15)
