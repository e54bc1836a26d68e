"""Helpers for the benchmark scripts: run a command as a whole process, measure wall time and peak RSS.

Commands run with Python's bytecode cache on, as after the first run of a normal install: an environment that
sets PYTHONDONTWRITEBYTECODE (some CI images do) would otherwise recompile every imported module from source in
every run, about 0.25 s per process here, and measure that instead of the command. The first run writes the cache;
the scripts report the best of several runs.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float  # the peak of the summed RSS of the process and its children (sampled every 20 ms)
    max_single_rss_mb: float  # the largest high-water mark of any one process of the tree
    returncode: int
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out.extend(int(x) for x in fh.read().split())
    except OSError:
        pass
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_measured(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    """Run `cmd` to completion; sample the RSS of its whole process tree."""
    if env is None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak_sum = 0
    peak_single = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak_sum, peak_single
        while not stop.is_set():
            tree = [proc.pid]
            i = 0
            while i < len(tree):
                tree.extend(_children(tree[i]))
                i += 1
            rss = [_status_kb(p, "VmRSS:") for p in tree]
            hwm = [_status_kb(p, "VmHWM:") for p in tree]
            peak_sum = max(peak_sum, sum(rss))
            peak_single = max([peak_single, *hwm])
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    stop.set()
    sampler.join()
    return Run(seconds, peak_sum / 1024, peak_single / 1024, proc.returncode, out, err)
