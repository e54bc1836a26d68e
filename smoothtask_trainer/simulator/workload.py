"""The machine's own workload: builds in terminals, indexing and update bursts, batch jobs, ssh sessions, churn.

Like the user model in `scenario`, every event is a Poisson process with a rate per second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from smoothtask_trainer.simulator import catalog as cat
from smoothtask_trainer.simulator import desktop as dk
from smoothtask_trainer.simulator.world import AppInst

if TYPE_CHECKING:
    from smoothtask_trainer.simulator.scenario import Scenario


@dataclass
class Build:
    """A compile running in a shell: a driver (make/cargo/ninja) forking compilers, then one link step."""

    app: AppInst
    shell: int
    tool: str
    jobs: int
    end_t: float
    link_s: float
    nice: int
    driver: int = -1
    linker: int = -1
    compilers: dict[int, float] = field(default_factory=dict)  # slot -> exit time
    started: float = 0.0  # when the user started it (seconds since the first snapshot)


class Workload:
    """Background and build activity, driven one interval at a time by the `Scenario`."""

    def __init__(self, sc: Scenario) -> None:
        self.sc, self.desk, self.rng = sc, sc.desk, sc.rng

    # --- builds -------------------------------------------------------------------------------------------------
    def builds(self) -> None:
        desk, rng = self.desk, self.rng
        for app in desk.apps:
            if app.build is not None:
                self._advance_build(app.build)
        host = self.sc.focus
        if (
            self.sc.mode != "work"
            or not self.sc.interacting
            or host is None
            or host.kind not in ("terminal", "ide")
            or not self.sc.chance(1 / 45)
        ):
            return
        tmux = self.sc.app("tmux")
        if host.kind == "terminal" and tmux is not None and rng.random() < 0.4:
            host = tmux
        shells = [
            s
            for s in desk.members(host).tolist()
            if desk.table.exe[s] == "/usr/bin/bash" and desk.table.exit_state[s] == 0
        ]
        if not shells or host.build is not None:
            return
        tool = str(rng.choice(list(dk.BUILD_TOOLS)))
        duration = float(np.clip(rng.lognormal(math.log(45), 0.6), 10, 400))
        build = Build(
            host,
            int(rng.choice(shells)),
            tool,
            int(rng.choice([2, 4, 6, 8, 12, 16])),
            desk.t + duration,
            rng.uniform(2, 8),
            10 if rng.random() < 0.2 else 0,
        )
        build.started = desk.t
        build.driver = desk.spawn(host, dk.BUILD_TOOLS[tool][0], build.shell, nice=build.nice)
        host.build = build

    def _advance_build(self, b: Build) -> None:
        desk, rng, t = self.desk, self.rng, self.desk.t
        _, compiler, linker = dk.BUILD_TOOLS[b.tool]
        for slot, end in list(b.compilers.items()):
            if t >= end or t >= b.end_t - b.link_s:
                desk.end_process(slot, short_lived=True)
                del b.compilers[slot]
        if t < b.end_t - b.link_s:
            while len(b.compilers) < b.jobs:
                life = rng.lognormal(math.log(6.0 if b.tool == "cargo" else 2.5), 0.8)
                b.compilers[desk.spawn(b.app, compiler, b.driver, nice=b.nice)] = t + life
        elif t < b.end_t and b.linker < 0:
            b.linker = desk.spawn(b.app, linker, b.driver, nice=b.nice)
        elif t >= b.end_t:
            desk.end_process(b.driver, short_lived=True)
            b.app.build = None

    # --- background work ------------------------------------------------------------------------------------------
    def _burst(
        self,
        app: AppInst | None,
        rate: float,
        median_s: float,
        on_start: Callable[[AppInst], Callable[[], None] | None] | None = None,
    ) -> None:
        if app is None or app.busy_until > self.desk.t or not self.sc.chance(rate):
            return
        duration = self.rng.lognormal(math.log(median_s), 0.5)
        app.busy_until = self.desk.t + duration
        stop = on_start(app) if on_start else None
        if stop is not None:
            self.sc.after(duration, stop)

    def background_jobs(self) -> None:
        desk, rng = self.desk, self.rng
        away = 1.0 if self.sc.present else 3.0
        self._burst(self.sc.app("tracker-miner-fs-3"), away / 300, 35, self._extractor)
        self._burst(self.sc.app("packagekit"), away / 900, 90, self._update)
        self._burst(self.sc.app("gnome-software"), 1 / 900, 20)
        self._burst(self.sc.app("ml-worker"), 1 / 600, 100, self._batch_job)
        self._burst(self.sc.app("postgres"), 1 / 60, 8)
        torrent = self.sc.app("transmission")
        if torrent is not None:
            on = torrent.flags.get("downloading", False)
            if self.sc.chance(1 / 300 if on else 1 / 400):
                torrent.flags["downloading"] = not on
            self._burst(torrent, 1 / 700, 25)
        if self.sc.chance(1 / 1500) and self.sc.app("man-db") is None:
            desk.by_key.pop("man-db", None)
            job = desk.start_app(dk.MANDB)
            self.sc.after(rng.uniform(20, 45), lambda: desk.end_app(job))
        if self.sc.chance(1 / 1200) and self.sc.app("ssh-session") is None:
            self._ssh_session()
        ssh = self.sc.app("ssh-session")
        if ssh is not None:
            if self.sc.chance(1 / 60):
                ssh.flags["remote_active"] = not ssh.flags.get("remote_active", False)
            if "rsync" not in ssh.flags and self.sc.chance(1 / 200):
                shell = self.sc.slots_of(ssh, dk.SSH_BASH)
                if shell:
                    ssh.flags["rsync"] = desk.spawn(ssh, dk.RSYNC, shell[0])
                    self.sc.after(rng.uniform(30, 90), lambda: self._end_flag(ssh, "rsync"))

    def _end_flag(self, app: AppInst, flag: str) -> None:
        slot = app.flags.pop(flag, None)
        if slot is not None and app.alive:
            self.desk.end_process(slot)

    def _extractor(self, miner: AppInst) -> Callable[[], None]:
        desk = self.desk
        desk.by_key.pop("tracker-extract-3", None)
        extractor = desk.start_app(dk.TRACKER_EXTRACT)
        return lambda: desk.end_app(extractor)

    def _update(self, pk: AppInst) -> Callable[[], None]:
        desk = self.desk
        fetchers = [desk.spawn(pk, dk.APT_HTTP, pk.root) for _ in range(2)]

        def unpack() -> None:
            for slot in fetchers:
                desk.end_process(slot, short_lived=True)
            if pk.busy_until > desk.t:
                pk.flags["dpkg"] = desk.spawn(pk, dk.DPKG, pk.root)

        self.sc.after((pk.busy_until - desk.t) * 0.4, unpack)
        return lambda: self._end_flag(pk, "dpkg")

    def _batch_job(self, box: AppInst) -> Callable[[], None]:
        desk = self.desk
        main = self.sc.slots_of(box, cat.WORKER_MAIN)
        count = int(self.rng.integers(2, 5))
        workers = [desk.spawn(box, cat.WORKER, main[0]) for _ in range(count)] if main else []

        def stop() -> None:
            for slot in workers:
                desk.end_process(slot, short_lived=True)

        return stop

    def _ssh_session(self) -> None:
        desk = self.desk
        desk.by_key.pop("ssh-session", None)
        session = desk.start_app(dk.SSH_SESSION, session=str(int(self.rng.integers(3, 40))))
        session.flags["remote_active"] = True
        self.sc.after(self.rng.lognormal(math.log(400), 0.5), lambda: desk.end_app(session))

    def churn(self) -> None:
        """Tabs open and close, kernel workers come and go, udev forks workers, windows get closed."""
        desk, rng = self.desk, self.rng
        ff = self.sc.app("firefox")
        if ff is not None:
            tabs = self.sc.slots_of(ff, dk.FF_TAB)
            if self.sc.focus is ff and self.sc.interacting and len(tabs) < 12 * desk.scale and self.sc.chance(1 / 40):
                desk.spawn(ff, dk.FF_TAB, ff.root)
            elif len(tabs) > 1 and self.sc.chance(len(tabs) / 500):
                desk.end_process(int(rng.choice(tabs)))
        kernel = self.sc.app("kernel")
        if kernel is not None:
            if self.sc.chance(1 / 8):
                desk.spawn(kernel, cat.KTHREAD, kernel.root)
            if self.sc.chance(1 / 8):
                workers = self.sc.slots_of(kernel, cat.KTHREAD)
                if workers:
                    desk.table.exit(int(rng.choice(workers)), 0)
        udev = self.sc.app("systemd-udevd")
        if udev is not None and self.sc.chance(1 / 300):
            worker = desk.spawn(udev, dk.UDEV_WORKER, udev.root)
            self.sc.after(rng.uniform(1.5, 5.0), lambda: desk.end_process(worker, short_lived=True))
        files = self.sc.app("nautilus")
        if files is not None and files is not self.sc.focus and files.window and self.sc.chance(1 / 120):
            files.window = None
