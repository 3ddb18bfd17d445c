"""The dashboard in a real headless Chromium: `streamlit run` on a free port, driven with Playwright.

Needs /usr/bin/chromium (Debian's `chromium` package; never `playwright install`). Without it the tests are
skipped, except under CI=true, where a missing browser is a failure. Screenshots go to /tmp/seglab-*.png.
"""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import make_camvid_like
from test_app_pages import HISTORY_CSV, make_models_dir

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SCREENSHOTS = Path("/tmp")


def _require_browser():
    missing = None if CHROMIUM.exists() else f"{CHROMIUM} not found (apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        missing = missing or "the playwright package is not installed"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {missing}")
        pytest.skip(missing)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Base URL of a fresh `streamlit run streamlit_app.py` on temporary data and models folders."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    data = make_camvid_like(tmp / "data", splits=(("train", 2), ("val", 1)), size=(240, 320))
    models = make_models_dir(tmp / "models")
    port = _free_port()
    env = {**os.environ, "SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)}
    log = (tmp / "server.log").open("w")
    # No file watcher: the test never edits sources, and watching the repo (and .venv) costs CPU.
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
                             "--server.headless", "true", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.fileWatcherType", "none",
                             "--browser.gatherUsageStats", "false"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 45
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start: {(tmp / 'server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def _open(page, url: str, heading: str):
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    # Pages opened by URL are rerun through the entry script once; wait for the app's own navigation.
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Training Curves").wait_for()


def _assert_no_errors(page):
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.locator("body").inner_text()
    assert "Traceback" not in body, body[:2000]


def _settle(page):
    """Wait until Streamlit has finished rerunning (its status widget shows while a script runs)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden")


def test_home_in_browser(server, page):
    _open(page, server + "/", "SegLab")
    page.get_by_text("segnet-broken").first.wait_for()
    assert "missing 'arch'" in page.locator("body").inner_text()
    page.locator('[data-testid="stPageLink"]').nth(1).wait_for()      # Lab and Curves at least
    _settle(page)
    _assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-home.png"), full_page=True)
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Training Curves").click()
    page.get_by_role("heading", name="Training curves").wait_for()
    assert page.url.endswith("/training_curves")


def test_lab_slider_changes_the_output(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    augmented = page.locator('[data-testid="stImage"]').filter(has_text="augmented 320x240").locator("img")
    before = augmented.get_attribute("src")
    transform = page.get_by_role("combobox", name="Transform")
    transform.click()
    transform.fill("HorizontalFlip")
    transform.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Add to pipeline").click()
    step = page.locator('[data-testid="stExpander"]').filter(has_text="1. HorizontalFlip")
    step.wait_for()
    thumb = step.get_by_role("slider").first       # the step's probability p
    thumb.focus()
    thumb.press("End")                               # p = 1: the flip always fires
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                           arg=[augmented.element_handle(), before], timeout=20_000)
    _settle(page)
    assert float(step.get_by_role("slider").first.input_value()) == 1.0
    assert "p = 1.00" in step.inner_text()
    _assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab.png"), full_page=True)


def test_curves_upload_adds_a_run(server, page, tmp_path):
    _open(page, server + "/training_curves", "Training curves")
    legend = page.locator(".legendtext")
    legend.filter(has_text="unet-tiny · train").first.wait_for()
    upload = tmp_path / "uploaded-run.csv"
    upload.write_text(HISTORY_CSV.replace("0.38", "0.45"))
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    legend.filter(has_text="uploaded-run · val").first.wait_for()
    _settle(page)
    _assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-curves.png"), full_page=True)
