"""The Frames page in a real headless Chromium: filter the grid, open a frame, drag the before/after handle and
read the class under the pointer. Screenshots go to /tmp/seglab-frames-*.png; the first visit's time is printed
(a figure for docs/BENCHMARKS.md, not an assertion)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from browser_support import browser, fresh_page, page, pick, require_browser, settle, streamlit_server  # noqa: F401
from frames_fixtures import FRAMES, make_frames_data, make_frames_models

pytestmark = pytest.mark.browser
SCREENSHOTS = Path("/tmp")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("browser-frames")
    data = make_frames_data(tmp / "data", size=(240, 320))
    models = make_frames_models(tmp / "models", data)
    with streamlit_server({"SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models)},
                          tmp / "server.log", timeout_s=60) as url:
        yield url


def first_visit_seconds(page, url: str) -> float:
    """From navigation to the first thumbnail of the grid on screen."""
    started = time.perf_counter()
    page.goto(url + "/frames")
    page.locator('[data-testid="stImage"] img').first.wait_for()
    _open_buttons(page).first.wait_for()
    return time.perf_counter() - started


def _open_buttons(page):
    return page.locator('[data-testid="stMain"]').get_by_role("button", name="Open")


def expect_whole_grid(page):
    """Every frame's Open button drawn. Waits (settle() can look between two of a loaded CI machine's deltas)."""
    from playwright.sync_api import expect
    expect(_open_buttons(page)).to_have_count(len(FRAMES), timeout=60_000)


def test_filter_open_drag_and_hover(server, page):
    from playwright.sync_api import expect

    print(f"\nFrames page, first visit of a fresh server: {first_visit_seconds(page, server):.2f} s")
    settle(page)
    expect_whole_grid(page)
    page.screenshot(path=str(SCREENSHOTS / "seglab-frames-grid.png"), full_page=True)

    scores = page.locator('[data-testid="stExpander"]').filter(has_text="Scores of the listed frames")
    scores.locator("summary").click()
    settle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    pick(sidebar, "Confusion: truth", "Building")
    pick(sidebar, "predicted as", "Sky")
    pick(sidebar, "Model the filters test", "unet-a")
    page.screenshot(path=str(SCREENSHOTS / "seglab-frames-filtered.png"), full_page=True)
    expect(_open_buttons(page)).to_have_count(len([i for i in range(len(FRAMES)) if i % 4 == 0]))
    settle(page)
    expect(scores.locator('[data-testid="stDataFrame"]')).to_be_visible()   # open still, though the grid shrank
    page.screenshot(path=str(SCREENSHOTS / "seglab-frames-filtered.png"), full_page=True)

    _open_buttons(page).nth(1).click()
    compare = page.locator(".compare")
    compare.wait_for()
    settle(page)
    assert "(2 of 4 listed)" in page.locator('[data-testid="stMain"]').inner_text()
    handle = page.locator(".compare .handle")
    assert handle.get_attribute("aria-valuenow") == "50"
    compare.scroll_into_view_if_needed()
    before_shot = compare.screenshot()
    box = compare.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * (0.5 + 0.03 * step), box["y"] + box["height"] / 2)
    page.mouse.up()
    assert abs(int(handle.get_attribute("aria-valuenow")) - 80) <= 1
    assert page.locator(".compare .before").evaluate("el => el.style.clipPath") == "inset(0px 20% 0px 0px)"
    assert compare.screenshot() != before_shot
    handle.focus()
    handle.press("ArrowLeft")
    assert abs(int(handle.get_attribute("aria-valuenow")) - 75) <= 1
    page.screenshot(path=str(SCREENSHOTS / "seglab-frames-viewer.png"), full_page=True)

    chart = page.locator('[data-testid="stPlotlyChart"]').last
    chart.scroll_into_view_if_needed()
    chart_box = chart.locator(".nsewdrag").first.bounding_box()
    page.mouse.move(chart_box["x"] + chart_box["width"] * 0.5, chart_box["y"] + chart_box["height"] * 0.1)
    hover = page.locator(".hoverlayer .hovertext")
    hover.first.wait_for()
    text = hover.first.text_content()
    assert "truth: Sky" in text and "unet-a: Sky" in text and "segnet-b: Sky" in text
    chart.screenshot(path=str(SCREENSHOTS / "seglab-frames-hover.png"))
    assert page.locator('[data-testid="stException"]').count() == 0


def test_first_visit_time(server, browser):
    """Benchmark figure (printed, not asserted): a new browser session's first visit of the Frames page on a server
    that has served a page before (as after `make run` and one visit of Home)."""
    for attempt in range(3):
        with fresh_page(browser) as page:
            print(f"\nFrames page, first visit of a new session (try {attempt + 1}): "
                  f"{first_visit_seconds(page, server):.2f} s")
            settle(page)
            expect_whole_grid(page)


def _picture(page, caption: str):
    """The decoded screenshot of the picture captioned `caption` (the browser draws it scaled)."""
    import io

    from PIL import Image
    shown = page.locator('[data-testid="stMain"] [data-testid="stImage"]').filter(has_text=caption).first
    shown.scroll_into_view_if_needed()
    return np.asarray(Image.open(io.BytesIO(shown.locator("img").screenshot())).convert("RGB")).astype(int)


def test_class_colours_loaded_on_frames_draw_its_pictures_and_follow_to_the_lab(server, page, tmp_path):
    """A colours file loaded in the sidebar recolours the opened frame's ground truth (road: bottom third), shows in
    the sidebar legend, and the Augmentation Lab (another page, same session) draws its legend in it too."""
    from playwright.sync_api import expect
    page.goto(server + "/frames")
    expect_whole_grid(page)
    _open_buttons(page).first.click()
    page.locator(".compare").wait_for()
    settle(page)
    road = (slice(-6, -3), slice(2, 8))           # left of the car, inside the road
    before = _picture(page, "ground truth")[road]
    colours = tmp_path / "colours.json"
    colours.write_text('{"camvid11": {"Road": "#ff00ff"}}')
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Class colours").click()
    sidebar.locator('input[type="file"]').set_input_files(str(colours))
    settle(page)
    expect(sidebar.locator('[data-testid="stHtml"] span[style*="background:#ff00ff"]')).to_have_count(1)
    after = _picture(page, "ground truth")[road]
    # Road over a (90, 90 + tint, 100) photo at 50 %: CamVid's (128, 64, 128) gives (109, 77 + tint / 2, 114),
    # magenta (172, 45 + tint / 2, 177): red and blue up by 63, green down by 32.
    shift = np.median(after.reshape(-1, 3), axis=0) - np.median(before.reshape(-1, 3), axis=0)
    assert shift[0] > 45 and shift[2] > 45 and shift[1] < -20, shift
    page.screenshot(path=str(SCREENSHOTS / "seglab-frames-colours.png"), full_page=True)

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Augmentation Lab").click()
    page.get_by_role("heading", name="Augmentation lab").wait_for()
    settle(page)
    expect(page.locator('[data-testid="stMain"] [data-testid="stHtml"] span[style*="background:#ff00ff"]')
           ).not_to_have_count(0, timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0
