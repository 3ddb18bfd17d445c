"""The real app in headless Chromium: Side by Side shows both models' overlays, Evaluation draws confusion matrices
and a click on a matrix cell moves the pair picker. Screenshots go to /tmp for a human look."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from test_pages_models import build_runs

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
SHOTS = Path("/tmp")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}: {server.stdout.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} not healthy after {seconds} s")


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing on CI; install it with `apt-get install -y chromium`")
        pytest.skip(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`")
    data, models = build_runs(tmp_path_factory.mktemp("browser"))
    port = free_port()
    env = {**os.environ, "SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield url, data
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    # Tall: Streamlit scrolls inside its own container, so a full-page screenshot only shows the viewport.
    context = browser.new_context(viewport={"width": 1500, "height": 2400})
    yield context.new_page()
    context.close()


def settle(page, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished the current script run."""
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_ms)
    page.wait_for_timeout(500)


def open_page(page, url: str, title: str) -> None:
    """Start on Home and follow the sidebar link, as a user does."""
    page.goto(url)
    settle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, exact=False).first.wait_for(timeout=60_000)
    settle(page)


def no_errors(page) -> None:
    text = page.inner_text("body")
    assert "Traceback" not in text and "Error" not in text, text[:3000]
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0


def selected(page, label: str) -> str:
    return page.locator('[data-testid="stSelectbox"]').filter(has_text=label).locator("input").input_value()


def test_side_by_side_shows_both_models(app_url, page):
    url, data = app_url
    open_page(page, url, "Side by Side")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(
        str(data / "images" / "val" / "f000.png"))
    page.get_by_text("ms model").nth(1).wait_for(timeout=120_000)
    settle(page)
    captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
    assert "unet-tiny" in captions and "segnet-tiny" in captions, captions
    images = page.locator('[data-testid="stImage"] img')
    assert images.count() >= 5                                   # original, 2 overlays, disagreement, swipe
    assert all(images.nth(i).evaluate("img => img.complete && img.naturalWidth > 0") for i in range(images.count()))
    no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_side_by_side.png"))


def test_evaluation_draws_confusion_matrices_and_a_click_picks_a_cell(app_url, page):
    url, _ = app_url
    open_page(page, url, "Evaluation")
    heatmaps = page.locator(".js-plotly-plot .heatmaplayer")
    heatmaps.first.wait_for(timeout=60_000)
    assert heatmaps.count() == 2
    no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_evaluation.png"))

    # Click the cell in the first matrix's top row (truth Sky), second column (predicted Building).
    plot = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".heatmaplayer")).first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + area["width"] * 1.5 / 11, area["y"] + area["height"] * 0.5 / 11)
    settle(page)
    assert (selected(page, "Model"), selected(page, "Truth"), selected(page, "Predicted as")) == \
           ("unet-tiny", "Sky", "Building")
    no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_evaluation_clicked.png"))
