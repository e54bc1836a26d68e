"""The simulated desktop's applications and the processes its workload starts (builds, jobs, sessions).

Same conventions as `catalog`: medians and means that the process table draws heavy-tailed values around;
process types and tags as the daemon's pattern database would assign them.
"""

from __future__ import annotations

from smoothtask_trainer.simulator.catalog import (
    BASH,
    BATCH_CONTAINER,
    ENV_DESKTOP,
    ENV_TERMINAL,
    HELPERS,
    KERNEL,
    LOGIN_SESSION,
    MODE_ALWAYS,
    MODE_APP,
    MODE_AUDIO,
    MODE_IDLE,
    POSTGRES,
    SESSION_SERVICES,
    SYS,
    SYSTEM_SERVICES,
    SYSTEMD,
    USER,
    USER_MANAGER,
    USER_UID,
    App,
    Proc,
    one,
)

BROWSER_TAGS = ("browser", "firefox-family", "gui_interactive")
IDE_TAGS = ("gui_interactive", "ide")
TERMINAL_TAGS = ("gui_interactive", "terminal")

# fmt: off
# Hand-aligned data tables; the formatter would spread each entry over a dozen lines.
_FF = "/usr/lib/firefox/firefox"
_FF_CHILD = (_FF + " -contentproc -parentBuildID 20251201093012 -prefsLen 31021 -prefMapSize 244711 -appDir "
             "/usr/lib/firefox/browser {id} {n} true")


def _ff(kind: str, rss: float, cpu: tuple[float, float] = (0.002, 0.05), mode: int = MODE_IDLE, **kw) -> Proc:
    return Proc(_FF, _FF_CHILD + " " + kind, ptype="browser", tags=BROWSER_TAGS, rss=rss, cpu=cpu, mode=mode, **kw)


FF_MAIN = Proc(_FF, _FF, ptype="browser", tags=BROWSER_TAGS, rss=480, cpu=(0.008, 0.22), ctx=160.0,
               io=(1e5, 7e5), io_p=0.35, window=True, audio=True)
FF_TAB = _ff("tab", 190, cpu=(0.003, 0.04), ctx=40.0)
FF_FOREGROUND_TAB = _ff("tab", 260, cpu=(0.01, 0.35), ctx=150.0, mode=MODE_APP)
FF_MEDIA_TAB = _ff("tab", 240, cpu=(0.005, 0.3), ctx=120.0, mode=MODE_AUDIO)
FIREFOX = App(
    "firefox", "browser", USER + "app.slice/app-gnome-firefox-{id}.scope",
    (one(FF_MAIN), one(_ff("socket", 12), 0), one(_ff("privileged", 90), 0), one(_ff("extensions", 130), 0),
     one(_ff("rdd", 40, cpu=(0.0005, 0.15), mode=MODE_AUDIO), 0), one(_ff("utility", 20), 0),
     one(FF_FOREGROUND_TAB, 0), one(FF_MEDIA_TAB, 0), (FF_TAB, 0, 4, 8)),
    parent="user", uid=USER_UID, env=ENV_DESKTOP,
)

_CODE = "/usr/share/code/code"


def _code(args: str, rss: float, **kw) -> Proc:
    return Proc(_CODE, f"{_CODE} {args}", ptype="ide", tags=IDE_TAGS, rss=rss, **kw)


RUST_ANALYZER = Proc("/home/user/.vscode/extensions/rust-lang.rust-analyzer-0.3.2593-linux-x64/server/"
                     "rust-analyzer", "/home/user/.vscode/extensions/rust-lang.rust-analyzer-0.3.2593-linux-x64/"
                     "server/rust-analyzer", rss=1300, cpu=(0.002, 0.6), ctx=40.0, io=(4e5, 1e5))
CODE = App(
    "code", "ide", USER + "app.slice/app-gnome-code-{id}.scope",
    (one(_code("--unity-launch", 190, cpu=(0.004, 0.12), ctx=90.0, io=(2e4, 2e5), window=True)),
     one(_code("--type=zygote --no-zygote-sandbox", 60, mode=MODE_IDLE), 0),
     one(_code("--type=zygote", 60, mode=MODE_IDLE), 0),
     one(_code("--type=gpu-process --crashpad-handler-pid={n}", 150, cpu=(0.002, 0.12), ctx=80.0), 1),
     one(_code("--type=utility --utility-sub-type=network.mojom.NetworkService", 90, mode=MODE_IDLE), 0),
     one(_code("--type=renderer --crashpad-handler-pid={n} --app-path=/usr/share/code/resources/app",
               420, cpu=(0.005, 0.35), ctx=140.0), 2),
     one(_code("--type=utility --utility-sub-type=node.mojom.NodeService --lang=en-US --service-sandbox-type="
               "none", 380, cpu=(0.004, 0.15), ctx=50.0, io=(3e5, 5e4)), 0),
     one(RUST_ANALYZER, 6),
     one(_code("--type=utility --utility-sub-type=node.mojom.NodeService ptyHost", 60, mode=MODE_IDLE), 0),
     one(BASH, 8)),
    parent="user", uid=USER_UID, env=ENV_DESKTOP,
)

VIM = Proc("/usr/bin/vim.basic", "vim src/main.rs", ptype="ide", tags=("cli_interactive", "ide"), rss=14,
           cpu=(0.0, 0.02), ctx=3.0, tty=True)
HTOP = Proc("/usr/bin/htop", "htop", rss=6, cpu=(0.01, 0.03), ctx=4.0, tty=True, mode=MODE_ALWAYS)
TERMINAL = App(
    "gnome-terminal", "terminal", USER + "app.slice/app-org.gnome.Terminal.slice/gnome-terminal-server.service",
    (one(Proc("/usr/libexec/gnome-terminal-server", "/usr/libexec/gnome-terminal-server", ptype="terminal",
              tags=TERMINAL_TAGS, rss=65, cpu=(0.001, 0.1), ctx=60.0, window=True)),
     (BASH, 0, 2, 3), (VIM, 1, 0, 1)),
    parent="user", uid=USER_UID, env=ENV_DESKTOP,
)
TMUX = App(
    "tmux", "terminal_session", USER + "app.slice/app-org.gnome.Terminal.slice/vte-spawn-{id}.scope",
    (one(Proc("/usr/bin/tmux", "tmux new-session -s work", rss=6, cpu=(0.0002, 0.01), ctx=10.0)),
     (BASH, 0, 2, 2), (HTOP, 1, 0, 1)),
    parent="user", uid=USER_UID, env=ENV_TERMINAL, optional=3,
)
NAUTILUS = App(
    "nautilus", "files", USER + "app.slice/app-gnome-org.gnome.Nautilus-{id}.scope",
    (one(Proc("/usr/bin/nautilus", "/usr/bin/nautilus --gapplication-service", rss=150, cpu=(0.001, 0.15),
              ctx=40.0, io=(3e5, 1e4), window=True)),),
    parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=2,
)
RHYTHMBOX = App(
    "rhythmbox", "music", USER + "app.slice/app-gnome-rhythmbox-{id}.scope",
    (one(Proc("/usr/bin/rhythmbox", "/usr/bin/rhythmbox", ptype="audio", tags=("audio_client", "gui_interactive"),
              rss=140, cpu=(0.001, 0.06), ctx=150.0, io=(2.5e5, 0.0), io_p=0.4, window=True, audio=True,
              mode=MODE_AUDIO)),),
    parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=1,
)
_DISCORD = "/usr/share/discord/Discord"
DISCORD = App(
    "discord", "chat", USER + "app.slice/app-gnome-discord-{id}.scope",
    (one(Proc(_DISCORD, _DISCORD, rss=210, cpu=(0.003, 0.08), ctx=70.0, window=True)),
     one(Proc(_DISCORD, _DISCORD + " --type=zygote", rss=55, mode=MODE_IDLE), 0),
     one(Proc(_DISCORD, _DISCORD + " --type=gpu-process", rss=120, cpu=(0.002, 0.06), ctx=50.0), 0),
     one(Proc(_DISCORD, _DISCORD + " --type=renderer --app-path=/usr/share/discord/resources/app.asar", rss=330,
              cpu=(0.006, 0.2), ctx=90.0), 1),
     one(Proc(_DISCORD, _DISCORD + " --type=utility --utility-sub-type=audio.mojom.AudioService", rss=35,
              cpu=(0.0, 0.08), ctx=200.0, audio=True, mode=MODE_AUDIO), 0)),
    parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=2,
)
TRANSMISSION = App(
    "transmission", "torrent", USER + "app.slice/app-gnome-transmission-gtk-{id}.scope",
    (one(Proc("/usr/bin/transmission-gtk", "/usr/bin/transmission-gtk", ptype="torrent",
              tags=("batch_heavy", "torrent"), rss=70, cpu=(0.002, 0.12), ctx=60.0, io=(2e6, 7e6), io_p=0.8,
              window=True)),),
    parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=2,
)
_STEAM = "/home/user/.local/share/Steam"
STEAM = App(
    "steam", "game", USER + "app.slice/app-gnome-steam-{id}.scope",
    (one(Proc(_STEAM + "/ubuntu12_32/steam", _STEAM + "/ubuntu12_32/steam -srt-logger-opened", ptype="game",
              tags=("game", "gui_interactive"), rss=170, cpu=(0.003, 0.05), ctx=40.0, io=(5e4, 2e5),
              window=True)),
     one(Proc(_STEAM + "/ubuntu12_64/steamwebhelper", _STEAM + "/ubuntu12_64/steamwebhelper -lang=en_US "
              "-cachedir=/home/user/.local/share/Steam/config/htmlcache", rss=160, mode=MODE_IDLE), 0),
     one(Proc(_STEAM + "/ubuntu12_64/steamwebhelper", _STEAM + "/ubuntu12_64/steamwebhelper --type=renderer",
              rss=240, cpu=(0.002, 0.03), mode=MODE_IDLE), 1)),
    parent="user", uid=USER_UID, env=ENV_DESKTOP, optional=1,
)

# --- Processes and apps started by the workload itself (games, videos, bursts, builds, sessions). ---
GAME = Proc(_STEAM + "/steamapps/common/Proton 9.0/files/bin/wine64-preloader",
            "Z:\\home\\user\\.local\\share\\Steam\\steamapps\\common\\Hades\\x64Vk\\Hades.exe", rss=2600,
            cpu=(1.1, 2.6), ctx=900.0, io=(4e6, 3e5), io_p=0.4, window=True, audio=True)
WINESERVER = Proc(_STEAM + "/steamapps/common/Proton 9.0/files/bin/wineserver", "wineserver", rss=40,
                  cpu=(0.05, 0.2), ctx=600.0)
MPV = App(
    "mpv", "video", USER + "app.slice/app-gnome-mpv-{id}.scope",
    (one(Proc("/usr/bin/mpv", "/usr/bin/mpv --player-operation-mode=pseudo-gui -- /home/user/Videos/{n}.mkv",
              ptype="video", tags=("gui_interactive", "player"), rss=260, cpu=(0.05, 0.45), ctx=400.0,
              io=(3e6, 0.0), io_p=0.7, window=True, audio=True)),),
    parent="user", uid=USER_UID, env=ENV_DESKTOP,
)
TRACKER_EXTRACT = App(
    "tracker-extract-3", "indexer", USER + "app.slice/tracker-extract-3.service",
    (one(Proc("/usr/libexec/tracker-extract-3", "/usr/libexec/tracker-extract-3", rss=80, cpu=(0.3, 0.75), ctx=30.0,
              io=(1.5e7, 2e6), io_p=0.9, nice=19, ionice=(3, 0))),),
    parent="user", uid=USER_UID, env=ENV_DESKTOP,
)
MANDB = App("man-db", "maintenance", SYS + "man-db.service",
            (one(Proc("/usr/bin/mandb", "/usr/bin/mandb --quiet", rss=9, cpu=(0.4, 0.7), ctx=20.0,
                      io=(1.8e7, 3e6), io_p=0.9, nice=19, ionice=(3, 0), mode=MODE_ALWAYS)),))
SSH_BASH = Proc("/usr/bin/bash", "-bash", rss=5, cpu=(0.0, 0.004), tty=True)
SSH_SESSION = App(
    "ssh-session", "ssh", "/user.slice/user-1000.slice/session-{n}.scope",
    (one(Proc("/usr/lib/openssh/sshd-session", "sshd-session: user [priv]", rss=11, uid=0)),
     one(Proc("/usr/lib/openssh/sshd-session", "sshd-session: user@pts/{n}", rss=7, ctx=20.0), 0),
     one(SSH_BASH, 1)),
    parent="sshd", uid=USER_UID,
)
RSYNC = Proc("/usr/bin/rsync", "rsync --server -vlogDtpre.iLsfxCIvu . /home/user/backup/", ptype="batch",
             tags=("batch_heavy",), rss=9, cpu=(0.2, 0.35), ctx=200.0, io=(2e5, 3.5e7), io_p=0.95,
             mode=MODE_ALWAYS, tty=True)
APT_HTTP = Proc("/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", rss=10, cpu=(0.05, 0.12), ctx=80.0,
                io=(0.0, 8e6), io_p=0.9, mode=MODE_ALWAYS)
DPKG = Proc("/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 24 --no-triggers --unpack --auto-deconfigure", rss=28,
            cpu=(0.35, 0.5), ctx=150.0, io=(6e6, 3e7), io_p=0.95, mode=MODE_ALWAYS)
UDEV_WORKER = Proc("/usr/bin/udevadm", "(udev-worker)", rss=6, cpu=(0.02, 0.05), ctx=10.0, mode=MODE_ALWAYS)

# Build drivers and the compilers they fork; a build inherits the shell's tty and TERM. Only the drivers are in
# the pattern database (build_tools.yml), so compilers and linkers carry no type and no tags.
BUILD_TOOLS: dict[str, tuple[Proc, Proc, Proc]] = {
    "make": (
        Proc("/usr/bin/make", "make -j{n}", ptype="build_tool", tags=("build_tool",), rss=6, cpu=(0.01, 0.02),
             ctx=30.0, tty=True, mode=MODE_ALWAYS),
        Proc("/usr/lib/gcc/x86_64-linux-gnu/13/cc1", "/usr/lib/gcc/x86_64-linux-gnu/13/cc1 -quiet -I include "
             "src/module_{n}.c -O2 -o /tmp/cc{n}.s", rss=160, cpu=(0.9, 0.98), ctx=2.0, io=(2e6, 1e6), io_p=0.5,
             tty=True, mode=MODE_ALWAYS),
        Proc("/usr/bin/x86_64-linux-gnu-ld.bfd", "/usr/bin/ld -plugin /usr/libexec/gcc/x86_64-linux-gnu/13/"
             "liblto_plugin.so -o build/app", rss=420, cpu=(0.9, 0.98), ctx=5.0, io=(3e7, 4e7), io_p=0.9,
             tty=True, mode=MODE_ALWAYS),
    ),
    "cargo": (
        Proc("/home/user/.cargo/bin/cargo", "cargo build --release", ptype="build_tool", tags=("build_tool",),
             rss=90, cpu=(0.02, 0.05), ctx=60.0, io=(1e5, 2e5), tty=True, mode=MODE_ALWAYS),
        Proc("/home/user/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc",
             "/home/user/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/rustc --crate-name crate_{n} "
             "--edition=2021 -C opt-level=3", rss=520, cpu=(0.9, 0.99), ctx=4.0, io=(3e6, 5e6), io_p=0.5,
             tty=True, mode=MODE_ALWAYS),
        Proc("/usr/bin/ld.lld", "/usr/bin/ld.lld -pie -o target/release/app", rss=900, cpu=(0.9, 0.99), ctx=6.0,
             io=(5e7, 6e7), io_p=0.9, tty=True, mode=MODE_ALWAYS),
    ),
    "ninja": (
        Proc("/usr/bin/ninja", "ninja -C build", ptype="build_tool", tags=("build_tool",), rss=12,
             cpu=(0.01, 0.03), ctx=40.0, tty=True, mode=MODE_ALWAYS),
        Proc("/usr/lib/gcc/x86_64-linux-gnu/13/cc1plus", "/usr/lib/gcc/x86_64-linux-gnu/13/cc1plus -quiet "
             "-I ../include ../src/unit_{n}.cpp -O2 -o /tmp/cc{n}.s", rss=380, cpu=(0.9, 0.98), ctx=3.0,
             io=(2e6, 1e6), io_p=0.5, tty=True, mode=MODE_ALWAYS),
        Proc("/usr/bin/x86_64-linux-gnu-ld.gold", "/usr/bin/ld.gold -o build/app", rss=650, cpu=(0.9, 0.98),
             ctx=5.0, io=(4e7, 5e7), io_p=0.9, tty=True, mode=MODE_ALWAYS),
    ),
}

#: Every app present from the first snapshot on, most important first (scale < 1 drops optional ones).
ROSTER: tuple[App, ...] = (
    KERNEL, SYSTEMD, *SYSTEM_SERVICES, POSTGRES, BATCH_CONTAINER, USER_MANAGER, LOGIN_SESSION, *SESSION_SERVICES,
    *HELPERS, FIREFOX, CODE, TERMINAL, TMUX, NAUTILUS, RHYTHMBOX, DISCORD, TRANSMISSION, STEAM,
)
# fmt: on
