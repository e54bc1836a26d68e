"""The simulated machine's static catalog: process templates, and the system side of the desktop.

Every number here is a *median* or a *mean* that the process table draws heavy-tailed values around. The
process types and tags imitate the daemon's pattern database (`configs/patterns/*.yml`: category = process
type, `tags` = the app's tags); processes the real database would not match (shells, compilers, kernel
threads, most session helpers) get no type and no tags, exactly as in the daemon's logs. The desktop
applications and the processes the workload starts are in `desktop`.
"""

from __future__ import annotations

from dataclasses import dataclass

# Activity modes: how a process's busy-ness follows its app's state (see `procs.ProcessTable.sample`).
MODE_APP = 0  # follows the app's activity level
MODE_ALWAYS = 1  # busy for as long as it lives (compilers, batch workers)
MODE_AUDIO = 2  # busy only while its app plays audio (media tab, decoder)
MODE_IDLE = 3  # never busier than its idle level
MODE_ANY_AUDIO = 4  # busy while anything on the desktop plays audio (the audio server)

# Environment contexts: which of DISPLAY / WAYLAND_DISPLAY / TERM / SSH_* the process's environ holds.
ENV_NONE = "none"  # system services, kernel threads, early user services
ENV_DESKTOP = "desktop"  # graphical session: DISPLAY and WAYLAND_DISPLAY
ENV_TERMINAL = "terminal"  # started from a terminal: desktop + TERM
ENV_SSH = "ssh"  # an ssh login: TERM + SSH_*

USER_UID = 1000


@dataclass(frozen=True)
class Proc:
    """One kind of process. `cmd` may hold `{n}` (a per-spawn counter) and `{id}` (the app's id)."""

    exe: str | None
    cmd: str | None
    ptype: str | None = None
    tags: tuple[str, ...] = ()
    rss: float = 10.0  # median VmRSS in MB (None-valued for kernel threads and zombies)
    cpu: tuple[float, float] = (0.0005, 0.01)  # mean cores when the app is idle / busy
    ctx: float = 2.0  # voluntary context switches per second when busy
    io: tuple[float, float] = (0.0, 0.0)  # read / write bytes per second when busy
    io_p: float = 0.2  # chance per snapshot interval that the process touches the disk
    nice: int = 0
    ionice: tuple[int, int] | None = None  # (class, level); class 0 ("none") reads as NULL in the daemon
    window: bool = False  # owns the app's top-level window
    audio: bool = False  # is the app's PipeWire client while it plays
    mode: int = MODE_APP
    uid: int | None = None  # None: the app's uid
    tty: bool = False  # has a controlling terminal (a pts)
    kernel: bool = False


@dataclass(frozen=True)
class App:
    """An app instance template: a process tree in one cgroup bucket, hence one daemon app group.

    `kind` is the hidden role the ground-truth teacher reasons about; `procs` lists (process, parent index,
    min count, max count) with parent -1 for the tree's root.
    """

    key: str
    kind: str
    cgroup: str | None
    procs: tuple[tuple[Proc, int, int, int], ...]
    parent: str = "init"  # init | user | kthreadd | gdm | sshd | shim: who the root's ppid is
    uid: int = 0
    env: str = ENV_NONE
    optional: int = 0  # 0: always present; higher values are dropped first when scale < 1


# fmt: off
# The tables below are hand-aligned data; the formatter would spread each entry over a dozen lines.
def one(proc: Proc, parent: int = -1, lo: int = 1, hi: int = 1) -> tuple[Proc, int, int, int]:
    return (proc, parent, lo, hi)


SYS = "/system.slice/"
USER = "/user.slice/user-1000.slice/user@1000.service/"


def _service(key: str, exe: str, cmd: str, optional: int, *, kind: str = "system", uid: int = 0,
             rss: float = 8.0, cpu: tuple[float, float] = (0.0008, 0.02), ctx: float = 3.0,
             io: tuple[float, float] = (0.0, 5e3), unit: str | None = None, **kw) -> App:
    unit = unit or f"{key}.service"
    proc = Proc(exe, cmd, rss=rss, cpu=cpu, ctx=ctx, io=io, **kw)
    return App(key, kind, SYS + unit, (one(proc),), uid=uid, optional=optional)


KTHREAD = Proc(None, None, rss=0.0, cpu=(0.0003, 0.004), ctx=6.0, kernel=True)
KTHREADD = Proc(None, None, rss=0.0, cpu=(0.0, 0.0002), ctx=0.2, kernel=True)

KERNEL = App("kernel", "kernel", None, (one(KTHREADD), (KTHREAD, 0, 100, 108)), parent="kthreadd")

SYSTEMD = App(
    "systemd", "system", "/init.scope",
    (one(Proc("/usr/lib/systemd/systemd", "/sbin/init splash", rss=13, cpu=(0.001, 0.02), ctx=15.0,
               io=(0.0, 2e3))),),
)

SYSTEM_SERVICES: tuple[App, ...] = (
    _service("systemd-journald", "/usr/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald",
             0, rss=40, cpu=(0.002, 0.03), ctx=25.0, io=(0.0, 9e4), io_p=0.6),
    _service("dbus", "/usr/bin/dbus-broker-launch", "/usr/bin/dbus-broker-launch --scope system --audit", 0,
             uid=101, rss=4),
    _service("systemd-logind", "/usr/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind", 1, rss=9),
    _service("systemd-udevd", "/usr/bin/udevadm", "/usr/lib/systemd/systemd-udevd", 1, rss=7),
    _service("NetworkManager", "/usr/sbin/NetworkManager", "/usr/sbin/NetworkManager --no-daemon", 1,
             rss=19, ctx=6.0),
    _service("containerd", "/usr/bin/containerd", "/usr/bin/containerd", 1, rss=45, cpu=(0.003, 0.05),
             ctx=30.0),
    _service("gdm", "/usr/sbin/gdm3", "/usr/sbin/gdm3", 1, rss=9),
    _service("packagekit", "/usr/libexec/packagekitd", "/usr/libexec/packagekitd", 1, kind="updater",
             rss=32, cpu=(0.0005, 0.45), ctx=40.0, io=(2e6, 2.5e7), io_p=0.6, ptype="maintenance",
             tags=("maintenance", "updater")),
    _service("sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 2,
             unit="ssh.service", rss=8),
    _service("polkit", "/usr/lib/polkit-1/polkitd", "/usr/lib/polkit-1/polkitd --no-debug", 2, uid=996,
             rss=10),
    _service("systemd-resolved", "/usr/lib/systemd/systemd-resolved", "/usr/lib/systemd/systemd-resolved", 2,
             uid=991, rss=13, ctx=4.0),
    _service("udisks2", "/usr/libexec/udisks2/udisksd", "/usr/libexec/udisks2/udisksd", 3, rss=12),
    _service("cron", "/usr/sbin/cron", "/usr/sbin/cron -f -P", 3, rss=2),
    _service("cups", "/usr/sbin/cupsd", "/usr/sbin/cupsd -l", 4, rss=9),
)

# A Docker container: the runc shim (in containerd.service, ppid 1) is the tree's root, so the shim and the
# container's processes form one daemon group even though they sit in different cgroups.
SHIM = Proc("/usr/bin/containerd-shim-runc-v2",
            "/usr/bin/containerd-shim-runc-v2 -namespace moby -id {id} -address /run/containerd/containerd.sock",
            ptype="container", tags=("container", "sandbox"), rss=12, cpu=(0.0005, 0.01), ctx=8.0)
PG_MAIN = Proc("/usr/lib/postgresql/16/bin/postgres", "postgres", rss=60, cpu=(0.002, 0.06), ctx=20.0,
               io=(2e4, 3e5), io_p=0.3, uid=999)
PG_CHILD = Proc("/usr/lib/postgresql/16/bin/postgres", "postgres: {n} ", rss=18, cpu=(0.0005, 0.02), ctx=6.0,
                io=(0.0, 4e5), io_p=0.15, uid=999)
POSTGRES = App("postgres", "container_service", SYS + "docker-{id}.scope",
               (one(SHIM), one(PG_MAIN, 0), (PG_CHILD, 1, 5, 5)), optional=2)
WORKER_MAIN = Proc("/usr/local/bin/python3.12", "python3 /app/worker.py --queue nightly", rss=310,
                   cpu=(0.003, 0.05), ctx=10.0, io=(1e5, 5e4))
WORKER = Proc("/usr/local/bin/python3.12", "python3 /app/worker.py --queue nightly --worker {n}", rss=820,
              cpu=(0.9, 0.97), ctx=3.0, io=(4e6, 1e6), io_p=0.5, mode=MODE_ALWAYS)
BATCH_CONTAINER = App("ml-worker", "container_batch", SYS + "docker-{id}.scope",
                      (one(SHIM), one(WORKER_MAIN, 0)), optional=1)

USER_MANAGER = App(
    "user-manager", "session_infra", USER + "init.scope",
    (one(Proc("/usr/lib/systemd/systemd", "/usr/lib/systemd/systemd --user", rss=11, ctx=8.0)),
     one(Proc("/usr/lib/systemd/systemd", "(sd-pam)", rss=5, cpu=(0.0, 0.0)), 0)),
    uid=USER_UID,
)
LOGIN_SESSION = App(
    "login-session", "session_infra", "/user.slice/user-1000.slice/session-2.scope",
    (one(Proc("/usr/libexec/gdm-session-worker", "gdm-session-worker [pam/gdm-password]", rss=11, uid=0)),
     one(Proc("/usr/libexec/gdm-wayland-session",
               "/usr/libexec/gdm-wayland-session env GNOME_SHELL_SESSION_MODE=ubuntu /usr/bin/gnome-session "
               "--session=ubuntu", rss=6, tty=True), 0),
     one(Proc("/usr/libexec/gnome-session-binary", "/usr/libexec/gnome-session-binary --session=ubuntu",
               rss=17, tty=True), 1)),
    parent="gdm", uid=USER_UID,
)

_AUDIO_TAGS = ("audio_client", "system_service")
SESSION_SERVICES: tuple[App, ...] = (
    App("pipewire", "audio_server", USER + "session.slice/pipewire.service",
        (one(Proc("/usr/bin/pipewire", "/usr/bin/pipewire", ptype="audio", tags=_AUDIO_TAGS, rss=18,
                   cpu=(0.001, 0.045), ctx=900.0, nice=-11, mode=MODE_ANY_AUDIO)),),
        parent="user", uid=USER_UID),
    App("wireplumber", "audio_server", USER + "session.slice/wireplumber.service",
        (one(Proc("/usr/bin/wireplumber", "/usr/bin/wireplumber", rss=26, cpu=(0.0008, 0.004), ctx=20.0,
                   nice=-11, mode=MODE_ANY_AUDIO)),),
        parent="user", uid=USER_UID),
    App("pipewire-pulse", "audio_server", USER + "session.slice/pipewire-pulse.service",
        (one(Proc("/usr/bin/pipewire-pulse", "/usr/bin/pipewire-pulse", ptype="audio", tags=_AUDIO_TAGS, rss=15,
                   cpu=(0.0005, 0.02), ctx=300.0, nice=-11, mode=MODE_ANY_AUDIO)),),
        parent="user", uid=USER_UID, optional=1),
    App("dbus-user", "session_infra", USER + "session.slice/dbus-broker.service",
        (one(Proc("/usr/bin/dbus-broker-launch", "/usr/bin/dbus-broker-launch --scope user", rss=4)),
         one(Proc("/usr/bin/dbus-broker", "dbus-broker --log 4 --controller 9 --machine-id {id} --max-bytes "
                   "100000000000000 --max-fds 25000000000000 --max-matches 5000000000", rss=6, ctx=40.0), 0)),
        parent="user", uid=USER_UID, optional=1),
    App("gnome-shell", "compositor", USER + "session.slice/org.gnome.Shell@wayland.service",
        (one(Proc("/usr/bin/gnome-shell", "/usr/bin/gnome-shell", rss=360, cpu=(0.01, 0.3), ctx=240.0,
                   io=(0.0, 2e4))),
         one(Proc("/usr/bin/Xwayland", "/usr/bin/Xwayland :0 -rootless -noreset -accessx -core -auth "
                   "/run/user/1000/.mutter-Xwaylandauth.{id} -listenfd 4 -listenfd 5 -displayfd 6 -initfd 7 "
                   "-byteswappedclients", rss=85, cpu=(0.001, 0.06), ctx=60.0), 0)),
        parent="user", uid=USER_UID),
    App("ibus", "input_method", USER + "session.slice/org.freedesktop.IBus.session.GNOME.service",
        (one(Proc("/usr/bin/ibus-daemon", "/usr/bin/ibus-daemon --panel disable --xim", rss=14,
                   cpu=(0.0005, 0.01), ctx=30.0)),
         one(Proc("/usr/libexec/ibus-engine-simple", "/usr/libexec/ibus-engine-simple", rss=8), 0),
         one(Proc("/usr/libexec/ibus-extension-gtk3", "/usr/libexec/ibus-extension-gtk3", rss=30), 0)),
        parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=2),
)


def _helper(key: str, exe: str, cmd: str, optional: int, *, rss: float = 12.0, kind: str = "helper",
            children: tuple[tuple[Proc, int, int, int], ...] = (), **kw) -> App:
    root = Proc(exe, cmd, rss=rss, **kw)
    return App(key, kind, USER + f"app.slice/{key}.service", (one(root), *children), parent="user",
               uid=USER_UID, env=ENV_DESKTOP, optional=optional)


HELPERS: tuple[App, ...] = (
    _helper("tracker-miner-fs-3", "/usr/libexec/tracker-miner-fs-3", "/usr/libexec/tracker-miner-fs-3", 0,
            kind="indexer", rss=55, cpu=(0.0008, 0.55), ctx=60.0, io=(3e6, 4e7), io_p=0.85, nice=19,
            ionice=(3, 0), ptype="indexer", tags=("indexer", "maintenance")),
    _helper("gvfs-daemon", "/usr/libexec/gvfsd", "/usr/libexec/gvfsd", 1, rss=9,
            children=(one(Proc("/usr/libexec/gvfsd-trash", "/usr/libexec/gvfsd-trash --spawner :1.4 "
                                "/org/gtk/gvfs/exec_spaw/0", rss=10), 0),
                      one(Proc("/usr/libexec/gvfsd-recent", "/usr/libexec/gvfsd-recent --spawner :1.4 "
                                "/org/gtk/gvfs/exec_spaw/1", rss=8), 0))),
    _helper("gnome-software", "/usr/bin/gnome-software", "/usr/bin/gnome-software --gapplication-service", 1,
            kind="updater", rss=190, cpu=(0.0005, 0.25), ctx=30.0, io=(5e5, 6e6), io_p=0.5,
            ptype="maintenance", tags=("gui_interactive", "maintenance", "updater")),
    _helper("evolution-source-registry", "/usr/libexec/evolution-source-registry",
            "/usr/libexec/evolution-source-registry", 2, rss=25),
    _helper("xdg-desktop-portal", "/usr/libexec/xdg-desktop-portal", "/usr/libexec/xdg-desktop-portal", 2,
            rss=14),
    _helper("gnome-keyring-daemon", "/usr/bin/gnome-keyring-daemon",
            "/usr/bin/gnome-keyring-daemon --foreground --components=pkcs11,secrets --control-directory="
            "/run/user/1000/keyring", 3, rss=8),
    _helper("gvfs-udisks2-volume-monitor", "/usr/libexec/gvfs-udisks2-volume-monitor",
            "/usr/libexec/gvfs-udisks2-volume-monitor", 4, rss=11),
    _helper("org.gnome.SettingsDaemon.Power", "/usr/libexec/gsd-power", "/usr/libexec/gsd-power", 3, rss=24),
    _helper("org.gnome.SettingsDaemon.MediaKeys", "/usr/libexec/gsd-media-keys", "/usr/libexec/gsd-media-keys",
            4, rss=27),
    _helper("org.gnome.SettingsDaemon.Housekeeping", "/usr/libexec/gsd-housekeeping",
            "/usr/libexec/gsd-housekeeping", 4, rss=9, io=(2e6, 0.0), io_p=0.05),
)

BASH = Proc("/usr/bin/bash", "bash", rss=5, cpu=(0.0, 0.004), ctx=1.0, tty=True)
# fmt: on
