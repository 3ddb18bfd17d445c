"""Offline and demo-ready in a real Chromium: no page asks any host but the app's own, and no "Deploy" button.

The favicon is the telling case: a page icon given as an emoji or a Material icon makes the browser fetch an
SVG from fonts.gstatic.com, which fails on an offline machine.
"""
from __future__ import annotations

from urllib.parse import urlparse

import pytest

from browser_support import chromium, fresh_page
from test_browser import server  # noqa: F401 - a dashboard on small data and models folders

pytestmark = pytest.mark.browser
PAGES = {"": "SegLab", "augmentation_lab": "Augmentation lab", "training_curves": "Training curves",
         "side_by_side": "Side by side", "evaluation": "Evaluation"}


def test_no_page_calls_another_host_and_there_is_no_deploy_button(server):
    own_host = urlparse(server).hostname
    foreign: list[str] = []
    with chromium() as browser, fresh_page(browser, 1300, 900) as page:
        page.on("request", lambda request: foreign.append(request.url)
                if urlparse(request.url).scheme in ("http", "https", "ws", "wss")
                and urlparse(request.url).hostname != own_host else None)
        for path, heading in PAGES.items():
            page.goto(f"{server}/{path}")
            page.get_by_role("heading", name=heading).first.wait_for()
            page.locator('[data-testid="stSidebarNav"]').get_by_text("Training Curves").wait_for()
            page.wait_for_timeout(500)          # the favicon is set after the page has rendered
            assert page.locator('[data-testid="stAppDeployButton"]').count() == 0, path
            icon = page.locator('link[rel="shortcut icon"], link[rel="icon"]').first.get_attribute("href") or ""
            assert "gstatic" not in icon, (path, icon)
        page.screenshot(path="/tmp/seglab-offline-evaluation.png")
    assert not foreign, f"requests to other hosts: {sorted(set(foreign))}"
