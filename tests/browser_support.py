"""Shared by the real-browser tests: Debian's Chromium driven by Playwright, and `streamlit run` on a free port.

Never `playwright install`: the browser is /usr/bin/chromium. Without it the tests skip, except under CI=true,
where a missing browser is a failure.
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def require_browser() -> None:
    missing = None if CHROMIUM.exists() else f"{CHROMIUM} not found (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        missing = missing or "the playwright package is not installed"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(env: dict, log_path: Path, timeout_s: float = 90):
    """Base URL of a fresh `streamlit run streamlit_app.py` on 127.0.0.1 with `env` added; stopped afterwards."""
    port = free_port()
    with open(log_path, "w") as log:
        # No file watcher: the tests never edit sources, and watching the repo (and .venv) costs CPU.
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                                 "--server.headless", "true", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
                                 "--browser.gatherUsageStats", "false"],
                                cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"streamlit did not start: {Path(log_path).read_text()[-2000:]}")
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextlib.contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# Shared fixtures: a test module defines its own `server` (the app's URL) and imports these.
@pytest.fixture(scope="module")
def browser(server):
    with chromium() as launched:
        yield launched


@contextlib.contextmanager
def fresh_page(browser, width: int = 1400, height: int = 1000, timeout_ms: int | None = 30_000):
    """A page in a fresh browser context (no cookies, a new session), closed afterwards."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    if timeout_ms is not None:
        page.set_default_timeout(timeout_ms)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser):
    """A fresh page per test, 1400x1000."""
    with fresh_page(browser) as opened:
        yield opened


IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'


def settle(page, timeout_ms: float = 120_000) -> None:
    """Wait until Streamlit has finished rerunning: the app says its script is not running and the status widget
    (shown while a script runs, after a delay) is gone; then a moment for the browser to draw what it was sent.
    The generous timeout is for a loaded CI machine, not a speed budget."""
    page.wait_for_timeout(300)
    page.locator(IDLE).wait_for(timeout=timeout_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout_ms)
    page.wait_for_timeout(300)


def pick(scope, label: str, option: str) -> None:
    """Choose `option` in the combobox named `label` inside `scope` (a page or a locator), as a user types it."""
    box = scope.get_by_role("combobox", name=label)
    box.click()
    box.fill(option)
    box.press("Enter")
    settle(getattr(scope, "page", scope))  # a locator knows its page


def selectbox_input(page, label: str):
    """The input of the selectbox whose label holds `label`; its value is the option shown."""
    return page.locator('[data-testid="stSelectbox"]').filter(has_text=label).locator("input")


def selected(page, label: str) -> str:
    return selectbox_input(page, label).input_value()


def wait_for_selection(page, expected: dict[str, str], timeout_ms: float = 60_000) -> None:
    """Wait until each labelled selectbox shows its expected option (AssertionError if it never does): the rerun a
    click on a chart starts can begin after settle() has looked, on a loaded machine."""
    from playwright.sync_api import expect
    for label, value in expected.items():
        expect(selectbox_input(page, label)).to_have_value(value, timeout=timeout_ms)
        settle(page)


def assert_no_errors(page, *, error_boxes: bool = True) -> None:
    """No exception box and no traceback on the page; with `error_boxes` no st.error either (a test that expects
    one, for bad input, passes False and checks its text)."""
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, body[:2000]
    if error_boxes:
        assert page.locator('[data-testid="stAlertContentError"]').count() == 0, body[:2000]
