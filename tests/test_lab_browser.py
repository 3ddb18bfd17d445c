"""The Augmentation Lab in a real headless Chromium: an uploaded pipeline file whose content is a server path is
refused in one line and nothing of that file reaches the page; "this step only" is marked in the UI; a OneOf
group is built with the mouse and its exported file is what `segcore train --augment` runs.

Screenshots: /tmp/seglab-lab-import-path.png, /tmp/seglab-lab-isolated.png, /tmp/seglab-lab-statistics.png,
/tmp/seglab-lab-oneof.png.
"""
from __future__ import annotations

import json

import pytest

from segcore import augment
from segcore.labels import CAMVID11
from browser_support import assert_no_errors, browser, page, pick, settle  # noqa: F401 - fixtures
from test_browser import SCREENSHOTS, _open, server  # noqa: F401 - the dashboard fixture

pytestmark = pytest.mark.browser


def _add(page, name: str, where: str = "the pipeline"):
    pick(page, "Transform", name)
    pick(page, "Add to", where)
    page.locator(".st-key-lab_add button").click()
    settle(page)


def _clear(page):
    """The Lab opens on a light weather pipeline; start from an empty one."""
    page.get_by_role("button", name="Clear").click()
    page.get_by_text("The pipeline is empty").wait_for()
    settle(page)


def _open_step(page, title: str):
    """A step's collapsed line, opened to show its widgets."""
    step = page.locator('[data-testid="stExpander"]').filter(has_text=title)
    step.locator("summary").click()
    settle(page)
    return step


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
    settle(page)
    message = error.inner_text()
    assert "not an albumentations pipeline" in message and "\n" not in message.strip(), message
    body = page.locator("body").inner_text()
    assert "RandomSunFlare" not in body and "src_radius" not in body     # nothing of the server file
    steps = page.locator('[data-testid="stMain"] [data-testid="stExpander"]')
    assert steps.count() == 6                                             # the opening pipeline, unchanged
    assert_no_errors(page, error_boxes=False)                            # the one expected error is checked above
    error.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-import-path.png"))


def test_lab_this_step_only_is_marked(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    _clear(page)
    _add(page, "HorizontalFlip")
    _add(page, "GaussNoise")
    page.get_by_role("tab", name="Cost").click()
    settle(page)
    step = _open_step(page, "2. GaussNoise")
    step.get_by_text("this step only").click()
    page.get_by_text("Showing step 2 (GaussNoise) alone").wait_for()
    settle(page)
    # The note came above the preview's tabs; the tab the user chose stays chosen.
    assert page.get_by_role("tab", name="Cost").get_attribute("aria-selected") == "true"
    assert "SHOWN ALONE" in step.inner_text()
    assert "SHOWN ALONE" not in page.locator('[data-testid="stExpander"]').filter(
        has_text="1. HorizontalFlip").inner_text()
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-isolated.png"), full_page=True)


def test_lab_statistics_tab(server, page):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    _clear(page)
    _add(page, "HorizontalFlip")
    _add(page, "Affine")
    page.get_by_role("tab", name="Statistics").click()
    page.get_by_role("button", name="Compute statistics").click()
    summary = page.get_by_text("on/off combinations occurred")
    summary.wait_for()
    settle(page)
    # 200 seeded draws of two p=0.5 steps show all four patterns (with one shared seed: only 2).
    assert summary.inner_text().startswith("4 of 4 on/off combinations"), summary.inner_text()
    assert_no_errors(page)
    summary.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-statistics.png"))


def test_lab_builds_a_one_of_group_and_exports_what_training_runs(server, page, tmp_path):
    _open(page, server + "/augmentation_lab", "Augmentation lab")
    page.get_by_text("augmented 320x240").wait_for()
    settle(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-default.png"), full_page=True)
    _clear(page)
    _add(page, "RandomSnow", "a new OneOf group")
    _add(page, "RandomFog", "group 1 (OneOf)")
    _add(page, "HorizontalFlip")
    titles = page.locator('[data-testid="stMain"] [data-testid="stExpander"] summary').all_inner_texts()
    assert [t.splitlines()[-1].split(" (")[0] for t in titles] == [                 # after the icon's name
        "1. OneOf of 2", "1.1. RandomSnow", "1.2. RandomFog", "2. HorizontalFlip"], titles
    page.get_by_role("tab", name="Export / import").click()
    # A rerun in flight would replace the button's file before the browser fetched it ("Download canceled").
    settle(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download JSON").click()
    path = tmp_path / "pipeline.json"
    download.value.save_as(path)
    trained = augment.load_training_pipeline(path, mask_fill=CAMVID11.ignore_index)
    assert json.loads(json.dumps(trained)) == json.loads(path.read_text())     # the file is what training runs
    one_of = trained["transform"]["transforms"][0]
    assert one_of["__class_fullname__"] == "OneOf"
    assert [t["__class_fullname__"] for t in one_of["transforms"]] == ["RandomSnow", "RandomFog"]
    page.get_by_role("tab", name="Grid of draws").click()
    page.get_by_text("seed 0 · fired").first.wait_for()
    settle(page)
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-lab-oneof.png"), full_page=True)
