"""The dashboard in a real headless Chromium: `streamlit run` on a free port, driven with Playwright.

Needs /usr/bin/chromium (Debian's `chromium` package; never `playwright install`). Without it the tests are
skipped, except under CI=true, where a missing browser is a failure. Screenshots go to /tmp/seglab-*.png.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import assert_no_errors, browser, page, require_browser, settle, streamlit_server  # noqa: F401
from conftest import make_camvid_like
from test_app_pages import HISTORY_CSV, make_models_dir

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Base URL of a fresh `streamlit run streamlit_app.py` on temporary data and models folders."""
    require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    data = make_camvid_like(tmp / "data", splits=(("train", 2), ("val", 1)), size=(240, 320))
    models = make_models_dir(tmp / "models")
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)},
                          tmp / "server.log", timeout_s=45) as url:
        yield url


def _open(page, url: str, heading: str):
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for()
    # Pages opened by URL are rerun through the entry script once; wait for the app's own navigation.
    page.locator('[data-testid="stSidebarNav"]').get_by_text("Training Curves").wait_for()


def test_home_in_browser(server, page):
    _open(page, server + "/", "SegLab")
    page.get_by_text("segnet-broken").first.wait_for()
    assert "missing 'arch'" in page.locator("body").inner_text()
    page.locator('[data-testid="stPageLink"]').nth(1).wait_for()      # Lab and Curves at least
    settle(page)
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-home.png"), full_page=True)
    page.locator('[data-testid="stMain"]').get_by_role("link", name="Training Curves").click()
    page.get_by_role("heading", name="Training curves").wait_for()
    assert page.url.endswith("/training_curves")


def test_lab_slider_changes_the_output(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    page.get_by_role("button", name="Clear").click()          # the Lab opens on a default pipeline
    page.get_by_text("The pipeline is empty").wait_for()
    settle(page)
    augmented = page.locator('[data-testid="stImage"]').filter(has_text="augmented 320x240").locator("img")
    before = augmented.get_attribute("src")
    transform = page.get_by_role("combobox", name="Transform")
    transform.click()
    transform.fill("HorizontalFlip")
    transform.press("Enter")
    settle(page)
    page.get_by_role("button", name="Add to pipeline").click()
    step = page.locator('[data-testid="stExpander"]').filter(has_text="1. HorizontalFlip")
    step.wait_for()
    step.locator("summary").click()                  # steps are collapsed to one line: open it
    thumb = step.get_by_role("slider").first       # the step's probability p
    thumb.focus()
    thumb.press("End")                               # p = 1: the flip always fires
    page.wait_for_function("([el, old]) => el.getAttribute('src') !== old",
                           arg=[augmented.element_handle(), before], timeout=60_000)
    settle(page)
    assert float(step.get_by_role("slider").first.input_value()) == 1.0
    assert "p = 1.00" in step.inner_text()
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab.png"), full_page=True)


def test_curves_upload_adds_a_run(server, page, tmp_path):
    _open(page, server + "/training_curves", "Training curves")
    legend = page.locator(".legendtext")
    legend.filter(has_text="unet-tiny · train").first.wait_for()
    upload = tmp_path / "uploaded-run.csv"
    lines = HISTORY_CSV.replace("0.38", "0.45").splitlines()         # with when each epoch ended
    upload.write_text("\n".join([lines[0] + ",relative_time"] + [f"{line},{1800 * (n + 1)}"
                                                                   for n, line in enumerate(lines[1:])]) + "\n")
    page.locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(str(upload))
    legend.filter(has_text="uploaded-run · val").first.wait_for()
    settle(page)
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-curves.png"), full_page=True)
    x_axis = page.locator('[data-testid="stMain"]').get_by_role("combobox", name="X axis")
    x_axis.click()
    x_axis.fill("Training time")
    x_axis.press("Enter")
    page.locator(".xtitle").filter(has_text="training time (hours)").wait_for()
    settle(page)
    assert page.locator(".legendtext").filter(has_text="unet-tiny").count() == 0       # its history has no times
    assert "Not drawn against training time (hours): unet-tiny" in page.locator('[data-testid="stMain"]').inner_text()
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-curves-training-time.png"), full_page=True)
