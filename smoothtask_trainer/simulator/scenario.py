"""What the user does: input and idle periods, focus, work/leisure/gaming modes, media, videos and games.

Every event is a Poisson process with a rate per second, so the interval between snapshots only changes how
finely the same behaviour is sampled. Rates are compressed (a 2000-snapshot, 17-minute run sees several focus
changes, builds, idle periods and background bursts) so that small datasets still cover every situation. The
machine's own workload (builds, indexing, updates, batch jobs, churn) is in `workload`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from smoothtask_trainer.simulator import catalog as cat
from smoothtask_trainer.simulator import desktop as dk
from smoothtask_trainer.simulator.workload import Workload
from smoothtask_trainer.simulator.world import AppInst, Desktop

IDLE_TIMEOUT_S = 120.0  # the daemon's thresholds.user_idle_timeout_sec
GUI_KINDS = frozenset({"browser", "ide", "terminal", "files", "music", "chat", "torrent", "game", "video", "updater"})
FOCUS_WEIGHTS = {
    "work": {
        "code": 0.32,
        "gnome-terminal": 0.28,
        "firefox": 0.25,
        "discord": 0.05,
        "nautilus": 0.05,
        "rhythmbox": 0.02,
        "transmission": 0.02,
        "gnome-software": 0.01,
    },
    "leisure": {
        "firefox": 0.5,
        "discord": 0.15,
        "rhythmbox": 0.08,
        "nautilus": 0.07,
        "gnome-terminal": 0.08,
        "transmission": 0.05,
        "code": 0.04,
        "steam": 0.03,
    },
    "gaming": {"steam": 0.85, "discord": 0.1, "firefox": 0.05},
}

#: Chance that a focus switch goes back to the app just left (alt-tab), rather than to any app of the mode.
RETURN_P = 0.45

MODE_CHANGES = {
    "work": (["leisure", "gaming"], [0.75, 0.25]),
    "leisure": (["work", "gaming"], [0.7, 0.3]),
    "gaming": (["work", "leisure"], [0.5, 0.5]),
}


class Scenario:
    """Drives a `Desktop` one interval at a time."""

    def __init__(self, desk: Desktop, dt: float) -> None:
        self.desk, self.rng, self.dt = desk, desk.rng, dt
        rng = self.rng
        self.mode = str(rng.choice(["work", "leisure", "gaming"], p=[0.5, 0.35, 0.15]))
        self.present = rng.random() < 0.85
        self.away_until = 0.0 if self.present else rng.lognormal(math.log(90), 0.6)
        self.pause_until = 0.0
        self.last_input: float | None = None
        self.focus: AppInst | None = None
        self.previous: AppInst | None = None  # the app focused before the current one
        self.noisy = -1
        self.timers: list[tuple[float, Callable[[], None]]] = []
        self.work = Workload(self)
        for app in desk.apps:
            if app.spec.key in ("rhythmbox", "transmission") or (app.spec.key == "steam" and rng.random() < 0.5):
                app.window = "minimized" if app.spec.key != "steam" else None
            if app.spec.key == "nautilus" and rng.random() < 0.5:
                app.window = None
        self._switch_focus()
        if self.mode == "gaming":
            self._start_game()
        if rng.random() < 0.3:
            self._music(True)

    # --- helpers ------------------------------------------------------------------------------------------
    def chance(self, rate_per_s: float) -> bool:
        return self.rng.random() < 1.0 - math.exp(-rate_per_s * self.dt)

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        self.timers.append((self.desk.t + seconds, action))

    def app(self, key: str) -> AppInst | None:
        app = self.desk.by_key.get(key)
        return app if app is not None and app.alive else None

    def slots_of(self, app: AppInst, proc: cat.Proc) -> list[int]:
        table = self.desk.table
        return [s for s in self.desk.members(app).tolist() if table.proc[s] is proc and table.exit_state[s] == 0]

    @property
    def interacting(self) -> bool:
        return self.present and self.last_input is not None and self.desk.t - self.last_input < 2.0

    @property
    def user_active(self) -> bool:
        return self.last_input is not None and self.desk.t - self.last_input < IDLE_TIMEOUT_S

    def idle_ms(self) -> int | None:
        return None if self.last_input is None else int((self.desk.t - self.last_input) * 1000)

    def watching(self) -> bool:
        return self.focus is not None and self.focus.kind == "video" and self.focus.audio

    def gaming(self) -> bool:
        steam = self.app("steam")
        return steam is not None and "game" in steam.flags

    # --- one interval -----------------------------------------------------------------------------------------
    def step(self) -> None:
        desk = self.desk
        due = [a for t, a in self.timers if t <= desk.t]
        self.timers = [(t, a) for t, a in self.timers if t > desk.t]
        for action in due:
            action()
        self._user()
        if self.present and self.chance(1 / 200 if self.mode == "gaming" else 1 / 300):
            self._change_mode()
        if self.mode == "gaming":  # long stretches in the game, short alt-tabs out of it
            rate = 1 / 150 if self.focus is not None and self.focus.spec.key == "steam" else 1 / 12
        else:
            rate = 1 / 200 if self.watching() else 1 / 30
        if self.interacting and self.chance(rate):
            self._switch_focus()
        self._media()
        self.work.builds()
        self.work.background_jobs()
        self.work.churn()

    def _user(self) -> None:
        t, rng = self.desk.t, self.rng
        if self.present:
            if not (self.watching() or self.gaming()) and self.chance(1 / 180):
                self.present = False
                self.away_until = t + rng.lognormal(math.log(180), 0.7)
                return
            if t >= self.pause_until:
                if self.chance(1 / 0.6):
                    self.last_input = t - rng.uniform(0.0, self.dt)
                if self.watching() and self.chance(1 / 20):
                    self.pause_until = t + rng.lognormal(math.log(90), 0.5)
                elif self.chance(1 / 120 if self.gaming() else 1 / 25):
                    self.pause_until = t + min(300.0, rng.lognormal(math.log(6), 1.0))
        elif t >= self.away_until:
            self.present = True
            self.last_input = t

    def _change_mode(self) -> None:
        modes, p = MODE_CHANGES[self.mode]
        self.mode = str(self.rng.choice(modes, p=p))
        if self.mode == "gaming":
            self._start_game()  # and focuses it
        else:
            self._stop_game()
            self._switch_focus()

    def _switch_focus(self) -> None:
        back = self.previous
        if back is not None and back.alive and back is not self.focus and self.rng.random() < RETURN_P:
            key = back.spec.key
            if key in FOCUS_WEIGHTS[self.mode] and self.app(key) is back:
                self.set_focus(back)  # alt-tab back to the app just left
                return
        weights = {k: w for k, w in FOCUS_WEIGHTS[self.mode].items() if self.app(k) is not None}
        if self.focus is not None and len(weights) > 1:
            weights.pop(self.focus.spec.key, None)
        if not weights:
            return
        keys = list(weights)
        p = np.array([weights[k] for k in keys])
        self.set_focus(self.app(str(self.rng.choice(keys, p=p / p.sum()))))

    def set_focus(self, app: AppInst | None) -> None:
        if self.focus is not None:
            self.focus.last_focus = self.desk.t
            self.previous = self.focus
        self.focus = app
        if app is not None:
            app.last_focus = self.desk.t
            if app.window != "open":
                app.window = "open"  # focusing a minimised or closed app raises (or opens) its window

    # --- media, games, video ---------------------------------------------------------------------------------
    def _music(self, on: bool) -> None:
        player = self.app("rhythmbox")
        if player is not None:
            player.audio = on
            if on:
                self.after(self.rng.lognormal(math.log(240), 0.5), lambda: self._music(False))

    def _media(self) -> None:
        rng = self.rng
        ff, player = self.app("firefox"), self.app("rhythmbox")
        if player is not None and not player.audio and self.present and self.chance(1 / 450):
            self._music(True)
        media_rate = 2 / 300 if self.mode == "leisure" else 1 / 300
        if ff is not None and not ff.audio and self.present and self.chance(media_rate):
            ff.audio = True
            self.after(rng.lognormal(math.log(150), 0.6), lambda: setattr(ff, "audio", False))
        discord = self.app("discord")
        if discord is not None and not discord.audio and self.present and self.chance(1 / 1500):
            discord.audio = True
            self.after(rng.lognormal(math.log(300), 0.5), lambda: setattr(discord, "audio", False))
        if (
            self.mode == "leisure"
            and self.interacting
            and self.app("mpv") is None
            and not self.gaming()
            and self.chance(1 / 250)
        ):
            self._start_video()

    def _start_video(self) -> None:
        desk = self.desk
        desk.by_key.pop("mpv", None)
        video = desk.start_app(dk.MPV)
        video.audio = True
        video.flags["fullscreen"] = True
        self.set_focus(video)

        def stop() -> None:
            desk.end_app(video)
            if self.focus is video:
                self.set_focus(self.app("firefox"))

        self.after(self.rng.lognormal(math.log(200), 0.5), stop)

    def _start_game(self) -> None:
        desk = self.desk
        steam = self.app("steam")
        if steam is None:
            desk.by_key.pop("steam", None)
            steam = desk.start_app(dk.STEAM)
        if "game" in steam.flags:
            return
        game = desk.spawn(steam, dk.GAME, steam.root)
        desk.spawn(steam, dk.WINESERVER, game)
        steam.flags.update(game=game, window_slot=game, fullscreen=True)
        steam.audio = True
        self.set_focus(steam)

    def _stop_game(self) -> None:
        steam = self.app("steam")
        if steam is not None and "game" in steam.flags:
            self.desk.end_process(steam.flags.pop("game"))
            steam.flags.pop("window_slot", None)
            steam.flags.pop("fullscreen", None)
            steam.audio = False
            steam.window = None  # back to the tray
