"""The Augmentation Lab in a real headless Chromium: an uploaded pipeline file whose content is a server path is
refused in one line and nothing of that file reaches the page; "this step only" is marked in the UI.

Screenshots: /tmp/seglab-lab-import-path.png, /tmp/seglab-lab-isolated.png.
"""
from __future__ import annotations

import pytest

from segcore import augment
from test_browser import SCREENSHOTS, _assert_no_errors, _open, _settle, browser, page, server  # noqa: F401

pytestmark = pytest.mark.browser


def _add(page, name: str):
    transform = page.get_by_role("combobox", name="Transform")
    transform.click()
    transform.fill(name)
    transform.press("Enter")
    _settle(page)
    page.get_by_role("button", name="Add to pipeline").click()
    _settle(page)


def test_lab_import_of_a_path_shows_an_error_not_the_server_file(server, page, tmp_path):
    server_file = tmp_path / "server-side.yaml"     # the server runs on this machine, so it could read it
    server_file.write_text(augment.dumps_pipeline([{**augment.default_step("RandomSunFlare"), "p": 0.7}], "yaml"))
    upload = tmp_path / "x.yaml"
    upload.write_text(str(server_file))
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    page.get_by_role("tab", name="Export / import").click()
    importer = page.locator('[data-testid="stFileUploader"]').filter(has_text="Import a saved pipeline")
    importer.locator('input[type="file"]').set_input_files(str(upload))
    error = page.locator('[data-testid="stAlertContentError"]').filter(has_text="x.yaml")
    error.wait_for()
    _settle(page)
    message = error.inner_text()
    assert "not an albumentations pipeline" in message and "\n" not in message.strip(), message
    body = page.locator("body").inner_text()
    assert "RandomSunFlare" not in body and "src_radius" not in body     # nothing of the server file
    assert page.locator('[data-testid="stExpander"]').count() == 0       # and nothing imported
    _assert_no_errors(page)
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-import-path.png"))


def test_lab_this_step_only_is_marked(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    _add(page, "HorizontalFlip")
    _add(page, "GaussNoise")
    step = page.locator('[data-testid="stExpander"]').filter(has_text="2. GaussNoise")
    step.get_by_text("this step only").click()
    page.get_by_text("Showing step 2 (GaussNoise) alone").wait_for()
    _settle(page)
    assert "SHOWN ALONE" in step.inner_text()
    assert "SHOWN ALONE" not in page.locator('[data-testid="stExpander"]').filter(
        has_text="1. HorizontalFlip").inner_text()
    _assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-isolated.png"), full_page=True)


def test_lab_statistics_tab(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    _add(page, "HorizontalFlip")
    _add(page, "Affine")
    page.get_by_role("tab", name="Statistics").click()
    page.get_by_role("button", name="Compute statistics").click()
    summary = page.get_by_text("on/off combinations occurred")
    summary.wait_for()
    _settle(page)
    # 200 seeded draws of two p=0.5 steps show all four patterns (with one shared seed: only 2).
    assert summary.inner_text().startswith("4 of 4 on/off combinations"), summary.inner_text()
    _assert_no_errors(page)
    summary.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-statistics.png"))
