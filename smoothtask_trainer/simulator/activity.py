"""How busy each app is in the current interval, and which app is the noisy neighbour.

The activity level (0 = idle, 1 = fully busy) scales every member process between its template's idle and
busy CPU, context-switch and IO rates; the process table then draws the actual numbers around it.
"""

from __future__ import annotations

import numpy as np

from smoothtask_trainer.simulator.scenario import GUI_KINDS, Scenario

# Apps that may never be called the noisy neighbour: the scheduler must not starve them whatever they use.
PROTECTED = frozenset({"kernel", "compositor", "audio_server", "system", "session_infra"})


def app_levels(sc: Scenario, util: float) -> tuple[np.ndarray, np.ndarray]:
    """Activity level and "plays audio" flag of every app instance, indexed by app index."""
    desk, t = sc.desk, sc.desk.t
    n = len(desk.apps)
    level = np.zeros(n)
    audio = np.zeros(n, dtype=bool)
    interacting = sc.interacting
    building = any(a.build is not None for a in desk.apps)
    big_screen = sc.gaming() or sc.watching()
    for app in desk.apps:
        if not app.alive:
            continue
        kind, key = app.kind, app.spec.key
        busy = app.busy_until > t
        focused = app is sc.focus
        if kind in GUI_KINDS:
            x = (1.0 if interacting else 0.35) if focused else 0.06
            if kind == "video" and app.audio:
                x = 1.0
            elif kind == "game" and "game" in app.flags:
                x = 1.0 if focused else 0.45
            elif kind == "torrent":
                x = max(x, 1.0 if busy else 0.5 if app.flags.get("downloading") else 0.02)
            elif kind == "updater" and busy:
                x = 1.0
        elif kind == "compositor":
            x = 0.12 + 0.6 * interacting + 0.35 * big_screen
        elif kind == "kernel":
            x = 0.2 + 0.8 * util
        elif kind == "input_method":
            x = 0.05 + 0.6 * interacting
        elif kind in ("indexer", "container_batch", "container_service"):
            x = 1.0 if busy else 0.1 if kind == "container_service" else 0.0
        elif kind == "ssh":
            x = 0.6 if app.flags.get("remote_active") else 0.02
        elif kind == "terminal_session":
            x = 0.05 + 0.4 * (interacting and sc.focus is not None and sc.focus.kind == "terminal")
        elif key == "systemd-journald":
            x = 0.2 + 0.6 * building
        elif key == "containerd":
            x = 0.05 + 0.6 * any(a.kind == "container_batch" and a.busy_until > t for a in desk.apps)
        elif key == "dbus-user":
            x = 0.2 + 0.5 * interacting
        else:
            x = 0.04
        level[app.idx] = x
        audio[app.idx] = app.audio
    return level, audio


def find_noisy(sc: Scenario, app_cpu: np.ndarray, cpu_pressure: float) -> int:
    """The app hogging the CPU while others wait for it (index, or -1): big, unfocused and not protected."""
    desk = sc.desk
    candidates = [a for a in desk.apps if a.alive and a is not sc.focus and a.kind not in PROTECTED]
    if not candidates or cpu_pressure < 8.0:
        return -1
    best = max(candidates, key=lambda a: app_cpu[a.idx])
    # Hysteresis: the previous hog keeps the title while it still uses more than a core.
    if sc.noisy >= 0 and sc.noisy < len(desk.apps) and desk.apps[sc.noisy] in candidates and app_cpu[sc.noisy] > 1.0:
        return sc.noisy
    return best.idx if app_cpu[best.idx] > 1.5 else -1
