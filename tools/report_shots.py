"""Screenshots of each section of the report, for docs/report.md: `uv run python -m tools.report_shots --db STORE
--model M.onnx --thresholds T.yml --out docs/report`.

Each section is written as a page of its own, opened in headless Chromium at 1280 px wide with the network
pointed nowhere, cropped below its last drawing and saved as a small palette PNG (`<out>-<section>.png`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image, ImageChops

from smoothtask_trainer.services.report import SECTIONS, report
from smoothtask_trainer.settings import PolicySettings

WIDTH, TALL = 1280, 6000
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>"]


def shoot(browser: str, page: Path, png: Path) -> None:
    subprocess.run(
        [
            browser,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--window-size={WIDTH},{TALL}",
            "--virtual-time-budget=20000",
            *OFFLINE,
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def crop_and_shrink(png: Path, out: Path, colours: int = 64) -> None:
    """Cut the white below the content and store the picture with a small palette."""
    img = Image.open(png).convert("RGB")
    box = ImageChops.difference(img, Image.new("RGB", img.size, (255, 255, 255))).getbbox()
    if box is not None:
        img = img.crop((0, 0, img.width, min(img.height, box[3] + 20)))
    img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, type=Path)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--thresholds", type=Path)
    ap.add_argument("--ncpu", type=int)
    ap.add_argument("--out", required=True, help="prefix of the PNG files, e.g. docs/report")
    args = ap.parse_args(argv)
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        for section in SECTIONS:
            page, raw = Path(tmp, f"{section}.html"), Path(tmp, f"{section}.png")
            report(
                args.db,
                page,
                args.model,
                thresholds=args.thresholds,
                policy=PolicySettings(ncpu=args.ncpu),
                sections=(section,),
            )
            shoot(browser, page, raw)
            out = Path(f"{args.out}-{section}.png")
            crop_and_shrink(raw, out)
            print(f"{out}: {out.stat().st_size / 1e3:.0f} kB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
