"""Side by Side in headless Chromium: an ONNX model (built here with the onnx helper) brought in through Home's
"Bring a model" upload, and a Keras run (an untrained tiny U-Net: weights are all that differ from a trained one),
on an uploaded image, both masks on screen. Screenshots: /tmp/seglab_home_bring_a_model.png,
/tmp/seglab_side_by_side_onnx_keras.png."""
from __future__ import annotations

from pathlib import Path

import pytest
from browser_support import assert_no_errors, chromium, fresh_page, pick, require_browser, settle, streamlit_server
from test_onnx_import import foreign_onnx, sample_image, save_png, trained_like_run

SHOT = Path("/tmp/seglab_side_by_side_onnx_keras.png")
HOME_SHOT = Path("/tmp/seglab_home_bring_a_model.png")
pytestmark = [pytest.mark.browser, pytest.mark.slow]
LOADED = """names => names.every(name => [...document.querySelectorAll('[data-testid="stImage"]')].some(element => {
  const caption = element.querySelector('[data-testid="stImageCaption"]');
  const img = element.querySelector('img');
  return caption && caption.innerText.trim() === name && img && img.complete && img.naturalWidth > 0;
}))"""


def test_an_onnx_run_and_a_keras_run_side_by_side(tmp_path):
    require_browser()
    models = tmp_path / "models"
    trained_like_run(models / "unet-tiny")
    model_file = foreign_onnx(tmp_path / "foreign-onnx.onnx")
    image = save_png(tmp_path / "street.png", sample_image(3, (60, 80)))
    with streamlit_server({"SEGLAB_MODELS_DIR": str(models), "SEGLAB_DATA_DIR": str(tmp_path)},
                          tmp_path / "server.log") as url, chromium() as browser, \
            fresh_page(browser, 1400, 1600, timeout_ms=None) as page:
        bring_a_model(page, url, model_file)
        page.locator('[data-testid="stSidebarNav"]').get_by_text("Side by Side").click()
        page.get_by_role("heading", name="Side by side").wait_for(timeout=60_000)
        settle(page)
        # Both runs are offered; the default picks the U-Net and the other run.
        chosen = page.locator('[data-testid="stMultiSelect"]').first.inner_text()
        assert "unet-tiny" in chosen and "foreign-onnx" in chosen, chosen
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(image))
        page.wait_for_function(LOADED, arg=["unet-tiny", "foreign-onnx"], timeout=120_000)
        settle(page)
        from playwright.sync_api import expect
        expect(page.get_by_text("ms model")).to_have_count(2, timeout=60_000)
        assert_no_errors(page)
        page.screenshot(path=str(SHOT))


def bring_a_model(page, url: str, model_file: Path) -> None:
    """Home's upload, as a user does it: the file, the input it expects, Add (Side by Side then offers the run); then
    a file that is no model, refused."""
    from playwright.sync_api import expect
    page.goto(url)
    page.get_by_role("heading", name="SegLab").wait_for(timeout=60_000)
    settle(page)
    page.get_by_text("Bring a model (ONNX, Keras, or its predicted masks)").click()
    page.locator('[data-testid="stExpander"] input[type="file"]').first.set_input_files(str(model_file))
    settle(page)
    pick(page, "Input it expects", "torch")
    add = page.get_by_role("button", name="Add to the runs")
    expect(add).to_be_enabled(timeout=60_000)  # enabled once the rerun that read the file has drawn it
    add.click()
    expect(page.get_by_text("Added foreign-onnx.onnx as run foreign-onnx")).to_be_visible(timeout=120_000)
    settle(page)
    assert_no_errors(page)
    page.screenshot(path=str(HOME_SHOT), full_page=True)
    # The box stays open for the next file (a moved expander is drawn anew, closed); a file that is no model is
    # refused in one line.
    expect(page.get_by_text("Classes and input as the file says")).to_be_visible()
    broken = model_file.with_name("broken.onnx")
    broken.write_bytes(b"not a model")
    page.locator('[data-testid="stExpander"] input[type="file"]').first.set_input_files(str(broken))
    settle(page)
    expect(page.get_by_text("Classes and input as the file says")).to_be_visible()
    add = page.get_by_role("button", name="Add to the runs")
    expect(add).to_be_enabled(timeout=60_000)
    add.click()
    expect(page.get_by_text("broken.onnx: model.onnx can't be loaded")).to_be_visible(timeout=120_000)
    assert_no_errors(page, error_boxes=False)
