"""The ground-truth teacher: what a good scheduler should have done, given the simulation's hidden state.

The teacher sees what the daemon cannot (which app the user is really working in, who plays audio, whether a
build is being waited for, which job is the noisy neighbour) and decides per app group. Each rule is tied to
signals that do reach the 51 features (focus, GUI window, tags, process type, tty/TERM, user activity,
pressure), so a model can learn most of it, but no single feature gives it away. docs/simulator.md carries the
same rules as a table; keep the two in step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


#: An app the user left this recently is likely to be switched back to: keep it responsive.
WARM_S = 45.0
#: An app used within this many seconds is part of the current task; older ones can wait.
RECENT_S = 300.0
#: A build the user started this recently is still being waited for.
BUILD_WAIT_S = 120.0
#: The compositor is critical while input is this fresh.
INPUT_FRESH_S = 20.0
#: The audio server stays critical this long after the last sound (between tracks, a paused call).
SOUND_TAIL_S = 30.0


@dataclass(frozen=True)
class Context:
    """What the teacher knows about the user at one snapshot (hidden state, partly never logged)."""

    now: float
    focus: AppInst | None
    present: bool  # at the desk (input within minutes, or watching / playing)
    user_active: bool  # input within the daemon's idle timeout
    since_input: float  # seconds since the last input (inf before any)
    absorbed: bool  # in a game or a fullscreen video: not waiting for anything else
    noisy: int  # app index of the noisy neighbour, or -1
    terminal_focus: float  # when the terminal app (which hosts tmux clients) last had focus
    last_sound: float  # when any app last played audio


def _used(last_focus: float, ctx: Context) -> float:
    return ctx.now - last_focus


def decide(app: AppInst, ctx: Context) -> str:
    """The teacher class of one app group (first matching rule wins; see docs/simulator.md)."""
    kind = app.kind
    focused = app is ctx.focus
    noisy = ctx.noisy == app.idx
    game_running = kind == "game" and "game" in app.flags
    if kind in ("kernel", "system", "session_infra", "container_service"):
        return NORMAL  # infrastructure: leave it at the default, never boost or starve it
    if kind == "audio_server":
        # cheap and latency-critical while anything plays; the session manager only reacts to stream changes
        sounding = ctx.now - ctx.last_sound < SOUND_TAIL_S and app.spec.key != "wireplumber"
        return INTER if sounding else NORMAL
    if kind == "compositor":
        return CRIT if ctx.since_input < INPUT_FRESH_S or ctx.absorbed else INTER
    if focused:
        if game_running or kind == "video" or app.audio:
            return CRIT
        return INTER
    if game_running:
        return BACKGROUND  # a game left running behind other windows
    if app.audio:
        return INTER  # music, a media tab or a call must not stutter
    if app.build is not None:
        waited = ctx.now - app.build.started < BUILD_WAIT_S or _used(app.last_focus, ctx) < WARM_S
        if ctx.present and ctx.user_active and not ctx.absorbed and waited:
            return NORMAL  # the user is waiting for it: keep it fast, but below what they look at
        return IDLE if noisy else BACKGROUND
    if noisy:
        return IDLE  # the job that makes everyone else wait
    if kind == "ssh":
        if "rsync" in app.flags:
            return BACKGROUND
        return INTER if app.flags.get("remote_active") else NORMAL
    if kind in ("indexer", "maintenance", "updater"):
        return IDLE if ctx.user_active else BACKGROUND
    if kind == "torrent" and app.flags.get("downloading") and _used(app.last_focus, ctx) < RECENT_S:
        return NORMAL  # a download the user just looked at: they are waiting for it
    if kind in ("torrent", "container_batch", "helper", "game"):
        return BACKGROUND
    if kind == "input_method":
        return INTER if ctx.user_active else NORMAL
    if kind in DESKTOP_APPS or kind == "terminal_session":
        last = ctx.terminal_focus if kind == "terminal_session" else app.last_focus
        if not (ctx.present and ctx.user_active) or _used(last, ctx) >= RECENT_S:
            return BACKGROUND  # nobody there, or not part of what the user is doing now
        return INTER if _used(last, ctx) < WARM_S and not ctx.absorbed else NORMAL
    return NORMAL


def score(cls: str, *, has_gui: bool, recency: float, app_cpu: float) -> float:
    """teacher_score: the class's band centre, nudged up for visible and recently used apps, down for hogs."""
    hog = min(1.0, app_cpu / 4.0)
    value = BASE_SCORE[cls] + 0.04 * has_gui + 0.03 * recency - 0.05 * hog
    return round(min(1.0, max(0.0, value)), 4)


def recency(app: AppInst, now: float, focused: bool) -> float:
    """1 for the focused app, decaying with a 2-minute time constant since the app last had focus."""
    return 1.0 if focused else math.exp(-max(0.0, now - app.last_focus) / 120.0)
