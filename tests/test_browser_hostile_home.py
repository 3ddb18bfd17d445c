"""Home in a real headless Chromium with a models folder holding one good run and runs with bad meta.json files:
the good run shows, each bad one is listed as broken with its reason, and no traceback (with server paths) appears.
Screenshot: /tmp/seglab-home-bad-meta.png."""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import chromium, fresh_page, require_browser, streamlit_server
from conftest import make_camvid_like
from test_hostile_app import BAD_META, META, make_run, stored_evaluation

pytestmark = pytest.mark.browser
SCREENSHOT = Path("/tmp/seglab-home-bad-meta.png")


def test_home_shows_the_good_run_and_the_bad_ones_as_broken(tmp_path):
    require_browser()
    data = make_camvid_like(tmp_path / "data", splits=(("train", 2), ("val", 1)))
    models = tmp_path / "models"
    make_run(models, "unet-good", evaluation=stored_evaluation())
    for name, change in BAD_META.items():
        make_run(models, name, {**META, **change})
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)},
                          tmp_path / "server.log", timeout_s=45) as url, chromium() as browser, \
            fresh_page(browser, 1500, 1400) as page:
        page.goto(url)
        page.get_by_role("heading", name="Trained runs").wait_for()
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Evaluation").wait_for()
        page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]')
        page.locator('[data-testid="stDataFrame"]').first.wait_for()
        page.wait_for_timeout(1000)
        page.screenshot(path=str(SCREENSHOT))
        body = page.locator("body").inner_text()
        assert page.locator('[data-testid="stException"]').count() == 0
        assert "Traceback" not in body and "File \"" not in body, body[:2000]
        # The table is drawn on a canvas; its accessible copy (a hidden table) holds the cell texts.
        cells = page.locator('[data-testid="stDataFrame"] table').first.inner_text()
        assert "unet-good" in cells and "ok" in cells
        for name, change in BAD_META.items():
            assert name in cells and f"{name} can't be used" in body
            assert f"'{next(iter(change))}'" in body
        assert cells.count("broken: ") == len(BAD_META)
