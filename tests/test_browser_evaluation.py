"""The Evaluation page in a real headless Chromium on format 3 evaluations: readable matrices (size from the class
count), a click on a cell outlines it and moves the picker, the frames behind it are drawn from the stored
predictions, and "Open these frames in Frames" lands on the Frames page filtered to that confusion. Screenshots go
to /tmp/seglab-evaluation-*.png; the first visit's time is printed (a figure, not an assertion). And the Evaluate
form end to end on a real model."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from browser_support import (assert_no_errors, browser, fresh_page, pick, require_browser, selected,  # noqa: F401
                             settle, streamlit_server, wait_for_selection)
from conftest import make_camvid_like
from evaluation_fixtures import make_data, make_models
from test_onnx_import import trained_like_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("browser-evaluation")
    data = make_data(tmp / "data")
    models = make_models(tmp / "models", data, fmt=3)
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)},
                          tmp / "server.log", timeout_s=60) as url:
        yield url


@pytest.fixture
def page(browser):
    with fresh_page(browser, 1500, 1400, timeout_ms=60_000) as opened:
        yield opened


def test_click_a_cell_outline_it_and_open_its_frames(server, page):
    started = time.perf_counter()
    page.goto(server + "/evaluation")
    heatmaps = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".heatmaplayer"))
    heatmaps.first.wait_for()
    settle(page)
    print(f"\nEvaluation page, first visit of a fresh server (fixture runs): {time.perf_counter() - started:.2f} s")
    from playwright.sync_api import expect
    expect(heatmaps).to_have_count(2, timeout=60_000)
    assert_no_errors(page)

    plot = heatmaps.first
    plot.scroll_into_view_if_needed()
    area = plot.locator(".nsewdrag").first.bounding_box()
    assert area["width"] >= 11 * 50 and abs(area["width"] - area["height"]) < 4      # 11 square cells of 54 px
    page.screenshot(path=str(SHOTS / "seglab-evaluation-matrix.png"))

    # Truth Car (row 8), predicted Building (column 1): the picker follows and the cell is outlined.
    x, y = area["x"] + area["width"] * 1.5 / 11, area["y"] + area["height"] * 8.5 / 11
    page.mouse.click(x, y)
    wait_for_selection(page, {"Truth": "Car", "Predicted as": "Building"})
    assert (selected(page, "Model"), selected(page, "Truth"), selected(page, "Predicted as")) == \
           ("unet-a", "Car", "Building")
    outline = heatmaps.first.locator(".shapelayer path").first
    outline.wait_for()
    box = outline.bounding_box()
    assert abs(box["x"] + box["width"] / 2 - x) < 6 and abs(box["y"] + box["height"] / 2 - y) < 6
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab-evaluation-clicked.png"))

    # The frames behind the cell come from the stored predictions; the button opens them on the Frames page.
    captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
    assert any(caption.startswith("unet-a: ") and caption.endswith("px of this confusion") for caption in captions)
    page.get_by_role("button", name="Open these").click()
    page.get_by_role("heading", name="Frames").first.wait_for()
    settle(page)
    assert page.url.rstrip("/").endswith("/frames")
    assert (selected(page, "Confusion: truth"), selected(page, "predicted as")) == ("Car", "Building")
    assert_no_errors(page)
    page.screenshot(path=str(SHOTS / "seglab-evaluation-to-frames.png"))


def test_the_review_page_downloads_and_draws_offline(server, page, tmp_path):
    page.goto(server + "/evaluation")
    button = page.get_by_role("button", name="Download this comparison as a review page (HTML)")
    button.wait_for()
    settle(page)
    with page.expect_download() as download:
        button.click()
    assert download.value.suggested_filename.endswith("-val-review.html")
    path = tmp_path / "review.html"
    download.value.save_as(path)

    requests, errors = [], []
    review = page.context.new_page()
    review.on("request", lambda request: requests.append(request.url))
    review.on("pageerror", lambda error: errors.append(str(error)))
    review.goto(path.as_uri())
    plots = review.locator(".plot-container")
    plots.nth(8).wait_for()    # bars and 2 matrices at each level, 2 reliability diagrams, 1 coverage curve: 9
    assert plots.count() == 9 and not errors
    assert [url for url in requests if not url.startswith(("file:", "data:", "blob:"))] == []      # works offline
    assert review.get_by_role("heading", name="The 7 categories").count() == 1
    # The worst frames, drawn from this dashboard's data folder and the stored predictions: photo, truth, 2 runs.
    assert review.locator("figure img").count() == 3 * 4
    assert review.locator("figcaption", has_text="ground truth").count() == 3
    review.screenshot(path=str(SHOTS / "seglab-evaluation-review.png"), full_page=True)


def test_evaluate_a_run_from_the_page_and_the_form_stays_open(browser, tmp_path):
    """The Evaluate form end to end with a real model (an untrained tiny U-Net), on its own server: the scores
    appear, and the form stays open for the next split though the messages above it went (it used to close)."""
    from playwright.sync_api import expect
    data = make_camvid_like(tmp_path / "street", splits=(("train", 2), ("val", 2)), size=(32, 48))
    trained_like_run(tmp_path / "models" / "unet-tiny")
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(tmp_path / "models")},
                          tmp_path / "server.log") as url, fresh_page(browser, 1400, 1400, timeout_ms=60_000) as page:
        page.goto(url + "/evaluation")
        split = page.get_by_role("combobox", name="Split")
        expect(split).to_be_visible(timeout=120_000)          # open: the run has no evaluation yet
        settle(page)
        page.get_by_role("button", name="Evaluate 1 run(s) on street/val").click()
        expect(page.get_by_role("heading", name="Scores (%)")).to_be_visible(timeout=180_000)
        settle(page)
        expect(split).to_be_visible()
        pick(page, "Split", "train")
        expect(page.get_by_role("button", name="Evaluate 1 run(s) on street/train")).to_be_visible()
        assert_no_errors(page)
        page.screenshot(path=str(SHOTS / "seglab-evaluation-evaluate-on.png"), full_page=True)


def test_the_no_class_column_of_a_void_predicting_tool_is_a_cell_like_any_other(browser, tmp_path):
    """Predictions that leave pixels without a class: the matrix gains a "(no class)" column; clicking it moves the
    picker there, draws those pixels, and opens the frames holding them on the Frames page."""
    import numpy as np
    from PIL import Image

    from segcore.datasets import list_pairs
    from segcore.evaluate import evaluate_run
    from segcore.importing_predictions import import_predictions
    from segcore.labels import CAMVID11

    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),), size=(48, 64))
    (tmp_path / "preds").mkdir()
    for sample in list_pairs(data, "val"):
        pred = np.asarray(Image.open(sample.label)).copy()
        pred[:, :16] = CAMVID11.ignore_index                      # a 12-class tool's void, on the left quarter
        Image.fromarray(pred).save(tmp_path / "preds" / f"{sample.name}.png")
    run, _ = import_predictions(tmp_path / "preds", tmp_path / "models" / "void-tool", schema="camvid11")
    result, _ = evaluate_run(run, data, "val")
    unpredicted = result["class_level"]["unpredicted"]
    row = int(np.argmax(unpredicted))
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(tmp_path / "models")},
                          tmp_path / "server.log", timeout_s=60) as url, \
            fresh_page(browser, 1500, 1400, timeout_ms=60_000) as page:
        page.goto(url + "/evaluation")
        heatmap = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".heatmaplayer")).first
        heatmap.wait_for()
        settle(page)
        heatmap.scroll_into_view_if_needed()
        area = heatmap.locator(".nsewdrag").first.bounding_box()
        assert area["width"] / area["height"] == pytest.approx(12 / 11, abs=0.02)       # 11 classes + (no class)
        page.mouse.click(area["x"] + area["width"] * 11.5 / 12, area["y"] + area["height"] * (row + 0.5) / 11)
        wait_for_selection(page, {"Truth": CAMVID11.names[row], "Predicted as": "(no class)"})
        page.get_by_text(f"predicted as (no class): {unpredicted[row]:,} px in all").first.wait_for()
        captions = page.locator('[data-testid="stImageCaption"]').all_inner_texts()
        assert any(caption.startswith("void-tool: ") and caption.endswith("px of this confusion")
                   for caption in captions), captions
        assert_no_errors(page)
        page.screenshot(path=str(SHOTS / "seglab-evaluation-no-class.png"))
        page.get_by_role("button", name="Open these").click()
        page.get_by_role("heading", name="Frames").first.wait_for()
        settle(page)
        assert (selected(page, "Confusion: truth"), selected(page, "predicted as")) == (CAMVID11.names[row],
                                                                                       "(no class)")
        assert_no_errors(page)
