"""The ground-truth teacher: what a good scheduler should have done, given the simulation's hidden state.

The teacher sees what the daemon cannot (which app the user is really working in, who plays audio, whether a
build is being waited for, which job is the noisy neighbour) and decides per app group. Each rule is tied to
signals that do reach the 51 features (focus, GUI window, tags, process type, tty/TERM, user activity,
pressure), so a model can learn most of it, but no single feature gives it away. docs/simulator.md carries the
same rules as a table; keep the two in step.
"""

from __future__ import annotations

import math

from smoothtask_trainer.contract import policy
from smoothtask_trainer.contract.policy import BACKGROUND, IDLE, NORMAL
from smoothtask_trainer.contract.policy import CRIT_INTERACTIVE as CRIT
from smoothtask_trainer.contract.policy import INTERACTIVE as INTER
from smoothtask_trainer.simulator.world import AppInst

#: The daemon's classes, highest first.
CLASSES = tuple(reversed(policy.CLASSES))
#: Centre of each class's teacher_score band (`policy.CLASS_SCORE`); within-class adjustments stay inside ±0.09.
BASE_SCORE = policy.CLASS_SCORE
DESKTOP_APPS = frozenset({"browser", "ide", "terminal", "files", "music", "chat", "video"})


def decide(app: AppInst, *, focused: bool, user_active: bool, noisy: bool, attended: bool) -> str:
    """The teacher class of one app group (first matching rule wins; see docs/simulator.md)."""
    kind = app.kind
    game_running = kind == "game" and "game" in app.flags
    if kind in ("kernel", "system", "session_infra", "container_service"):
        return NORMAL  # infrastructure: leave it at the default, never boost or starve it
    if kind == "audio_server":
        return INTER  # cheap and latency-critical whenever anything plays
    if kind == "compositor":
        return CRIT if user_active else INTER
    if focused:
        if game_running or kind == "video" or app.audio:
            return CRIT
        return INTER
    if game_running:
        return BACKGROUND  # a game left running behind other windows
    if app.audio:
        return INTER  # music, a media tab or a call must not stutter
    if app.build is not None:
        if attended:
            return NORMAL  # the user is waiting for it: keep it fast, but below what they look at
        return IDLE if noisy else BACKGROUND
    if noisy:
        return IDLE  # the job that makes everyone else wait
    if kind == "ssh":
        if "rsync" in app.flags:
            return BACKGROUND
        return INTER if app.flags.get("remote_active") else NORMAL
    if kind in ("indexer", "maintenance", "updater"):
        return IDLE if user_active else BACKGROUND
    if kind in ("torrent", "container_batch", "helper", "game"):
        return BACKGROUND
    if kind == "input_method":
        return INTER if user_active else NORMAL
    if kind in DESKTOP_APPS or kind == "terminal_session":
        return NORMAL if user_active else BACKGROUND
    return NORMAL


def score(cls: str, *, has_gui: bool, recency: float, app_cpu: float) -> float:
    """teacher_score: the class's band centre, nudged up for visible and recently used apps, down for hogs."""
    hog = min(1.0, app_cpu / 4.0)
    value = BASE_SCORE[cls] + 0.04 * has_gui + 0.03 * recency - 0.05 * hog
    return round(min(1.0, max(0.0, value)), 4)


def recency(app: AppInst, now: float, focused: bool) -> float:
    """1 for the focused app, decaying with a 2-minute time constant since the app last had focus."""
    return 1.0 if focused else math.exp(-max(0.0, now - app.last_focus) / 120.0)
