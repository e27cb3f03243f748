"""Speed of the trainer's page: months a second for the 600-facility demo scenario.

Usage::

    python benchmarks/app_speed.py [--seconds 20]

Two figures are printed:

``headless``
    ``Workshop.step()`` and ``Workshop.frame()`` (one month simulated and its JPEG view
    drawn) in a loop, without a server or a browser: the ceiling of the page's speed;
    for the demo alone, and for the "Staff turnover" demonstration (two 600-facility
    copies of the demo in lockstep).

``in the page``
    ``lhsim app`` started on a free port, opened in headless Chromium (Debian's
    ``chromium``, driven by Playwright), *Play* pressed; the page's own speed reading
    (months a second over its last 30 months) and the months reached are read after
    ``--seconds`` seconds. Skipped, with a message, where Chromium is missing.

The target is 5 months a second or more in the page. This is not a test; it prints a
table. The machine's load (printed) changes the figures a lot on a small machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
TARGET = 5.0
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def headless(months: int = 60, *, contrast: bool = False) -> float:
    from sim.trainer.presets import default_presets_file, load_presets
    from sim.trainer.workshop import Workshop

    workshop = Workshop(DEMO)
    if contrast:
        demonstrations = load_presets(default_presets_file(ROOT / "scenarios"))
        workshop.load_demonstration(demonstrations[0])
    workshop.step()
    workshop.frame()
    start = time.perf_counter()
    done = 0
    while workshop.step():
        workshop.frame()
        done += 1
        if done >= months:
            break
    return done / (time.perf_counter() - start)


def in_the_page(seconds: float) -> tuple[float, int] | None:
    chromium = shutil.which("chromium")
    if chromium is None:
        print("in the page: skipped (install Chromium: sudo apt-get install -y chromium)")
        return None
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(180):
            try:
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                time.sleep(0.5)
        with tempfile.TemporaryDirectory() as profile, sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                profile, executable_path=chromium, args=FLAGS, headless=True
            )
            page = browser.new_page()
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".lhsim-view", timeout=120_000)
            page.click(".lhsim-play")
            time.sleep(seconds)
            text = page.inner_text(".lhsim-status")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=15)
    speed = re.search(r"([\d.]+) months/s", text)
    month = re.search(r"month (\d+)", text)
    if not speed or not month:
        raise SystemExit(f"could not read the page's speed from {text!r}")
    return float(speed.group(1)), int(month.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of play in the page")
    arguments = parser.parse_args()
    print(f"demo scenario: {DEMO.relative_to(ROOT)} (600 facilities, 20 districts)")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rate = headless()
    print(f"headless (step + frame): {rate:.1f} months/s")
    rate = headless(contrast=True)
    print(f"headless, two copies in lockstep (Staff turnover): {rate:.1f} months/s")
    page = in_the_page(arguments.seconds)
    if page is not None:
        speed, month = page
        verdict = "met" if speed >= TARGET else "NOT met"
        print(
            f"in the page: {speed:.1f} months/s over the last 30 months "
            f"(month {month} after {arguments.seconds:g} s of play); "
            f"target {TARGET:g}: {verdict}"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
