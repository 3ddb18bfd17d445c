"""The real app in headless Chromium: Side by Side shows both models' overlays, Evaluation draws confusion matrices
and a click on a matrix cell moves the pair picker. Screenshots go to /tmp for a human look."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import (assert_no_errors, chromium, fresh_page, require_browser, selected, settle,
                             streamlit_server, wait_for_selection)
from test_pages_models import build_runs

SHOTS = Path("/tmp")

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    data, models = build_runs(tmp)
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)},
                          tmp / "server.log") as url:
        yield url, data


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):
    # Tall: Streamlit scrolls inside its own container, so a full-page screenshot only shows the viewport.
    with fresh_page(browser, 1500, 2400, timeout_ms=None) as opened:
        yield opened


def open_page(page, url: str, title: str) -> None:
    """Start on Home and follow the sidebar link, as a user does."""
    page.goto(url)
    settle(page)
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, exact=False).first.wait_for(timeout=60_000)
    settle(page)


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
    images.nth(4).wait_for()                                     # original, 2 overlays, disagreement, swipe
    # Every picture decoded (waits: a loaded machine can draw the last ones after settle() has looked).
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                           ".every(img => img.complete && img.naturalWidth > 0)", timeout=60_000)
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_side_by_side.png"))


def test_evaluation_draws_confusion_matrices_and_a_click_picks_a_cell(app_url, page):
    url, _ = app_url
    open_page(page, url, "Evaluation")
    heatmaps = page.locator(".js-plotly-plot .heatmaplayer")
    heatmaps.first.wait_for(timeout=60_000)
    from playwright.sync_api import expect
    expect(heatmaps).to_have_count(2, timeout=60_000)
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_evaluation.png"))

    # Click the cell in the first matrix's top row (truth Sky), second column (predicted Building).
    plot = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".heatmaplayer")).first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    page.mouse.click(area["x"] + area["width"] * 1.5 / 11, area["y"] + area["height"] * 0.5 / 11)
    wait_for_selection(page, {"Truth": "Sky", "Predicted as": "Building"})
    assert (selected(page, "Model"), selected(page, "Truth"), selected(page, "Predicted as")) == \
           ("unet-tiny", "Sky", "Building")
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab_evaluation_clicked.png"))
