"""The trainer's page in a real browser: headless Chromium driven by Playwright.

Skipped, with an install hint, where Debian's Chromium is missing (``.ci/run`` installs
it, so CI always runs this test).
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="Chromium not found: install it with 'sudo apt-get install -y chromium' "
        "(or run tools/install-chromium)",
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the app exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"the app did not answer at {url} within {seconds} s")


@pytest.fixture
def app_url(tmp_path: Path):
    port = _free_port()
    log = (tmp_path / "app.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, server, 90)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def test_play_updates_the_charts_and_the_event_log(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1500, "height": 1100},
        )
        try:
            page = browser.new_page()
            page.goto(app_url, timeout=90_000)
            page.wait_for_selector(".lhsim-view", timeout=90_000)
            status = page.locator(".lhsim-status")
            assert status.inner_text().startswith("month 0 of 60")
            qoc_before = page.inner_text(".lhsim-qoc")
            view_before = page.locator(".lhsim-view").screenshot()
            assert "Press play" in page.inner_text(".lhsim-log")

            page.click(".lhsim-play")
            page.wait_for_function(
                "() => /month ([6-9]|[1-9][0-9]) of/"
                ".test(document.querySelector('.lhsim-status').innerText)",
                timeout=90_000,
            )
            time.sleep(1.0)  # let the speed reading settle over more months
            text = status.inner_text()
            play = page.locator(".lhsim-play")
            if play.is_enabled():  # pause, unless the 60 months are already done
                play.click()

            assert page.inner_text(".lhsim-qoc") != qoc_before, "the QoC reading must move"
            assert page.locator(".lhsim-view").screenshot() != view_before, "charts must redraw"
            log = page.inner_text(".lhsim-log")
            assert "Press play" not in log and re.search(r"month \d+ ", log), log[:300]
            assert "lessons lost this month" in log or "started a trial" in log, log[:300]
            page.screenshot(path=str(results / "app-browser.png"), full_page=True)
        finally:
            browser.close()
    speed = re.search(r"([\d.]+) months/s", text)
    assert speed, f"the page must show its speed: {text!r}"
    (results / "app-browser.txt").write_text(f"{text}\n")
    print(f"\napp speed in the browser: {speed.group(1)} months/s ({text})")
