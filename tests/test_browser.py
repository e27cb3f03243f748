"""The trainer's page in a real browser: headless Chromium driven by Playwright.

Skipped, with an install hint, where Debian's Chromium is missing (``.ci/run`` installs
it, so CI always runs this test).
"""

from __future__ import annotations

import os
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


def _pick(page, name: str) -> None:
    """Choose a demonstration from the list and wait until its sentence is shown."""
    page.click(".lhsim-demonstration")
    page.locator(".menuable__content__active .v-list-item", has_text=name).first.click()
    page.wait_for_function(
        "name => (document.querySelector('.lhsim-notice') || {innerText: ''})"
        ".innerText.startsWith(name)",
        arg=name,
        timeout=120_000,
    )
    page.wait_for_function(
        "() => document.querySelector('.lhsim-status').innerText.startsWith('month 0 of')",
        timeout=60_000,
    )


def _month(page) -> int:
    found = re.match(r"month (\d+) of", page.inner_text(".lhsim-status"))
    assert found, page.inner_text(".lhsim-status")
    return int(found.group(1))


def _speed(text: str) -> float:
    found = re.search(r"([\d.]+) months/s", text)
    assert found, f"the page must show its speed: {text!r}"
    return float(found.group(1))


def test_a_demonstration_end_to_end(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    from sim.trainer.presets import default_presets_file, load_presets

    names = [d.name for d in load_presets(default_presets_file(ROOT / "scenarios"))]
    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    notes = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1920, "height": 1080},
            accept_downloads=True,
        )
        try:
            page = browser.new_page()
            page.goto(app_url, timeout=90_000)
            page.wait_for_selector(".lhsim-view", timeout=90_000)
            # every preset: pick it, run three months, keep a 1920 x 1080 screenshot
            for name in names:
                _pick(page, name)
                for month in (1, 2, 3):
                    page.click(".lhsim-step")
                    page.wait_for_function(
                        f"() => /^month {month} of/"
                        ".test(document.querySelector('.lhsim-status').innerText)",
                        timeout=60_000,
                    )
                slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
                shot = results / f"preset-{slug}.png"
                page.screenshot(path=str(shot))
                notes.append(f"screenshot: {shot.relative_to(ROOT)}")
            # one preset end to end: play, pause-and-explain, continue, export the log
            _pick(page, "Staff turnover")
            page.click(".lhsim-play")
            page.wait_for_selector(".lhsim-explain", timeout=300_000)
            explained = page.inner_text(".lhsim-explain")
            assert "Paused at month" in explained, explained
            assert "last trained staff member left" in explained, explained
            paused_at = _month(page)
            assert paused_at >= 1
            first = page.inner_text(".lhsim-status")
            page.screenshot(path=str(results / "preset-staff-turnover-paused.png"))
            page.evaluate(
                "() => { window.lhsimFrames = 0; new MutationObserver(() => "
                "window.lhsimFrames += 1).observe(document.querySelector('.lhsim-view'), "
                "{attributes: true, attributeFilter: ['src']}); }"
            )
            page.click(".lhsim-continue")
            page.wait_for_function(
                "least => parseInt(document.querySelector('.lhsim-status').innerText"
                ".split(' ')[1]) >= least",
                arg=paused_at + 31,
                timeout=300_000,
            )
            play = page.locator(".lhsim-play")
            if play.is_enabled():
                play.click()
            played = page.inner_text(".lhsim-status")
            frames = page.evaluate("() => window.lhsimFrames")
            months = _month(page) - paused_at
            assert frames >= months // 2, f"the view must redraw as it plays: {frames} frames"
            log = page.inner_text(".lhsim-log")
            assert re.search(r"month \d+ ", log) and "lost" in log, log[:300]
            with page.expect_download(timeout=60_000) as download:
                page.click("text=Export the log (CSV)")
            saved = results / "preset-staff-turnover-log.csv"
            download.value.save_as(str(saved))
            rows = saved.read_text().splitlines()
            assert rows[0] == "copy,month,kind,cause,country,district,facility,practice,text"
            assert len(rows) > 100, f"the whole run is exported: {rows[:3]}, {played}, {log[:200]}"
            assert any(",lost,turnover," in row for row in rows[1:])
            page.click(".lhsim-projector-switch")
            page.wait_for_function(
                "() => document.querySelector('.lhsim-view').naturalWidth === 1920"
                " && document.querySelector('.lhsim-projector') !== null",
                timeout=120_000,
            )
            page.wait_for_timeout(1000)  # let the picture settle on screen
            page.screenshot(path=str(results / "preset-staff-turnover-projector.png"))
        finally:
            browser.close()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    notes += [
        "Staff turnover preset (two 600-facility copies in lockstep), as fast as it goes:",
        f"until the pause at month {paused_at}: {first}",
        f"after Continue, over the last 30 months: {played}",
        f"frames the browser received after Continue: {frames} for {months} months",
        f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} cores",
    ]
    (results / "app-browser-presets.txt").write_text("\n".join(notes) + "\n")
    print("\n" + "\n".join(notes))
    assert _speed(played) > 0


def test_the_district_demonstration_in_the_browser(app_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    results = ROOT / "results"
    results.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            headless=True,
            viewport={"width": 1920, "height": 1080},
        )
        try:
            page = browser.new_page()
            page.goto(app_url, timeout=90_000)
            page.wait_for_selector(".lhsim-view", timeout=90_000)
            _pick(page, "Learning sessions in one district")
            funded = page.inner_text(".lhsim-funded")
            assert funded == "District learning sessions: funded in District 1", funded
            reading = page.inner_text(".lhsim-district-qoc")
            assert reading.startswith("by district: District 1 (learning sessions funded): "), (
                reading
            )
            assert "District 2 (no programme): " in reading, reading
            page.click(".lhsim-play")
            page.wait_for_selector(".lhsim-explain", timeout=300_000)
            explained = page.inner_text(".lhsim-explain")
            assert "Paused at month" in explained and "District 1" in explained, explained
            assert "first heard of through a district learning session" in explained, explained
            ledger = page.inner_text(".lhsim-ledger")
            assert "District 2 (no programme): lessons lost so far" in ledger, ledger[:300]
            page.screenshot(
                path=str(results / "preset-learning-sessions-in-one-district-paused.png")
            )
            # the per-district control: tick District 2 as well and fund both
            page.click(".lhsim-districts")
            page.locator(".menuable__content__active .v-list-item", has_text="District 2").click()
            page.keyboard.press("Escape")
            page.click(".lhsim-fund")
            page.wait_for_function(
                "() => document.querySelector('.lhsim-funded').innerText"
                " === 'District learning sessions: funded in District 1, District 2'",
                timeout=60_000,
            )
            page.wait_for_function(  # funding districts starts the run again
                "() => document.querySelector('.lhsim-status').innerText.startsWith('month 0 of')",
                timeout=60_000,
            )
            page.wait_for_function(  # both funded: no contrast to show
                "() => document.querySelector('.lhsim-district-qoc') === null", timeout=60_000
            )
            page.click(".lhsim-reset")
            page.wait_for_function(
                "() => document.querySelector('.lhsim-funded').innerText"
                " === 'District learning sessions: funded in District 1'",
                timeout=60_000,
            )
            page.wait_for_selector(".lhsim-district-qoc", timeout=60_000)  # the preset's again
        finally:
            browser.close()
