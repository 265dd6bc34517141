"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Starts `csto dashboard` on 127.0.0.1 with a free port, loads the page, moves a slider, waits for
the cohesion plot to be redrawn, checks the shown value, saves the settings as a scenario and
validates the file, and keeps a screenshot. Every request the page makes is checked: anything
but loopback is blocked and fails the test. Set CSTO_DASHBOARD_SCREENSHOT=PATH to keep the
screenshot at PATH too: docs/img/dashboard.png is made with CSTO_DASHBOARD_TEST_RUNS=300
CSTO_DASHBOARD_SCREENSHOT=docs/img/dashboard.png.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from dashboard.server import wait_until_listening
from simulation.scenario import load_scenario

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
SLIDER = ".csto-agents-BLR-beta_loyalty"
RUNS = os.environ.get("CSTO_DASHBOARD_TEST_RUNS", "100")  # 300 for the README's screenshot

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (CI installs it)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    if parsed.scheme in ("data", "blob", "about"):
        return True
    return parsed.hostname in LOOPBACK


@pytest.fixture
def dashboard_url(tmp_path: Path):
    port = free_port()
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "dashboard",
            "history-2022",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--runs",
            RUNS,
            "--save-dir",
            str(tmp_path),
        ],
        cwd=Path(__file__).resolve().parents[2],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert wait_until_listening("127.0.0.1", port, 45, process), (
            tmp_path / "server.log"
        ).read_text()
        yield f"http://127.0.0.1:{port}/"
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(15)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()


def test_dashboard_in_chromium(dashboard_url: str, tmp_path: Path):
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1500, "height": 1000})

            def guard(route):
                if is_local(route.request.url):
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", guard)
            page = context.new_page()
            page.on("websocket", lambda ws: None if is_local(ws.url) else outside.append(ws.url))
            page.goto(dashboard_url)

            cohesion = page.locator(".csto-cohesion img")
            cohesion.wait_for(state="visible", timeout=45_000)
            before_plot = cohesion.get_attribute("src")
            value = page.locator(f"{SLIDER} .csto-value")
            before_value = value.inner_text()
            base_value = load_scenario("history-2022").agents["BLR"].beta_loyalty
            assert float(before_value) == pytest.approx(base_value)

            track = page.locator(f"{SLIDER} .v-slider").first
            track.scroll_into_view_if_needed()
            box = track.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.6, box["y"] + box["height"] / 2)
            page.wait_for_function(
                "([selector, old]) => document.querySelector(selector)?.src !== old",
                arg=[".csto-cohesion img", before_plot],
                timeout=30_000,
            )
            after_value = value.inner_text()
            assert after_value != before_value
            assert float(after_value) == pytest.approx(6.0, abs=0.2)

            page.locator("button.csto-save").click()
            saved = page.locator(".csto-saved")
            saved.wait_for(state="visible", timeout=15_000)
            page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=False)
            keep = os.environ.get("CSTO_DASHBOARD_SCREENSHOT")
            if keep:
                shutil.copy(tmp_path / "dashboard.png", keep)

            # why did it do that: open the decision behind one event of the single run
            page.get_by_role("tab", name="Single run").click()
            step = page.get_by_role("button", name="Step")
            step.wait_for(state="visible", timeout=30_000)
            why = page.locator(".csto-why-event").first
            for _ in range(12):
                step.click()
                page.wait_for_timeout(300)
                if why.count():
                    break
            why.wait_for(state="visible", timeout=15_000)
            page.wait_for_timeout(2_000)  # let the steps' renders settle before clicking
            event_text = why.inner_text()
            table = page.locator(".csto-why-table")
            for _ in range(3):  # a click on a button being re-rendered can be lost: retry
                if not table.count():
                    why.click()
                try:
                    table.wait_for(state="visible", timeout=10_000)
                    break
                except PlaywrightTimeout:
                    continue
            table.wait_for(state="visible", timeout=10_000)
            explanation = table.inner_text()
        finally:
            browser.close()

    path = tmp_path / "history-2022-tweaked.toml"
    assert path.exists(), saved.inner_text()
    text = path.read_text()
    assert 'extends = "history-2022"' in text
    spec = load_scenario(path)
    assert spec.agents["BLR"].beta_loyalty == pytest.approx(float(after_value))
    assert spec.agents["ARM"] == load_scenario("history-2022").agents["ARM"]
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000
    assert event_text.lower().startswith("why: ")
    assert (
        "prob." in explanation
        or "not chosen by utility" in explanation
        or "forced by the scenario" in explanation
    ), explanation
    assert outside == [], f"the page reached beyond loopback: {outside}"
    assert time.monotonic() - started < 150
