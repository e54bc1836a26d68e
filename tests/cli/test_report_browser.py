"""The report in a real browser: headless Chromium, no network, every figure rendered, no script error.

Chromium is Debian's package (`.ci/run` installs it when missing); without it the test is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]
BASE = ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,800", "--virtual-time-budget=20000"]


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, *BASE, *OFFLINE, *args], capture_output=True, text=True, timeout=180)  # type: ignore[list-item]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs Debian's package)")
def test_the_demos_report_renders_offline_in_chromium(demo, tmp_path: Path) -> None:
    res, out = demo
    assert res.exit_code == 0, res.output
    page = out / "report.html"
    text = page.read_text(encoding="utf-8")
    figures = text.count("plots.push(Plotly.newPlot(")
    assert figures >= 14 and page.stat().st_size < 10_000_000  # every section of the demo has its figures
    dom = _chromium("--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body is not None
    assert "data-render-error" not in body.group(1), body.group(1)
    assert f'data-rendered="{figures}"' in body.group(1)  # every figure's promise resolved
    assert "Uncaught" not in dom.stderr  # no script error reached the console
    for n in range(1, figures + 1):  # each plot area holds plotly's drawing
        part = dom.stdout.split(f'id="fig{n}"', 1)[1][:4000]
        assert "main-svg" in part and "js-plotly-plot" in dom.stdout.split(f'id="fig{n}"', 1)[0][-300:] + part[:300]
    shot = tmp_path / "shot.png"
    _chromium(f"--screenshot={shot}", page.as_uri())
    assert shot.exists() and shot.stat().st_size > 20_000  # a blank 1280x800 page compresses to a few kB
