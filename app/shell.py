"""The dashboard's shell: the page registry, navigation over pages/, and the settings every page reads first."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class PageInfo:
    section: str
    file: str
    title: str
    icon: str
    blurb: str


PAGES = (
    PageInfo("", "pages/home.py", "Home", ":material/home:", "runs and data at a glance"),
    PageInfo("Data", "pages/augmentation_lab.py", "Augmentation Lab", ":material/tune:",
             "build an augmentation pipeline on a real frame and its mask, then export it for training"),
    PageInfo("Models", "pages/training_curves.py", "Training Curves", ":material/show_chart:",
             "compare runs' loss and mIoU curves, or upload CSV / JSON / TensorBoard logs"),
    PageInfo("Models", "pages/side_by_side.py", "Side by Side", ":material/compare:",
             "two models' predictions on the same frames"),
    PageInfo("Models", "pages/evaluation.py", "Evaluation", ":material/analytics:",
             "stored evaluations: per-class IoU, confusion matrices, worst frames; one HTML review page to share"),
    PageInfo("Models", "pages/frames.py", "Frames", ":material/grid_view:",
             "browse every evaluated frame: filter by class or confusion, open one to compare layers"),
)


def available_pages() -> list[PageInfo]:
    """Pages whose file exists (some are added by later work)."""
    return [page for page in PAGES if (ROOT / page.file).exists()]


def st_page(page: PageInfo) -> st.Page:
    # Absolute paths, so links work whichever script Streamlit runs as the main one (tests run pages directly).
    return st.Page(ROOT / page.file, title=page.title, icon=page.icon, default=page.file == "pages/home.py")


def navigation_sections() -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for page in available_pages():
        sections.setdefault(page.section, []).append(st_page(page))
    return sections


def settings() -> Settings:
    """The folders from the environment, read once per session.

    Every page calls this first, so it also makes sure the app's own navigation is in charge (see below).
    """
    _run_through_entry_script()
    if "settings" not in st.session_state:
        st.session_state["settings"] = Settings.from_env()
    return st.session_state["settings"]


def _run_through_entry_script() -> None:
    """Streamlit treats an app with a pages/ folder as an old-style multipage app (its own sidebar, no page
    config) until the entry script has called st.navigation once in this server process. A first visit straight
    to a page URL would get that old look; flipping the flag and rerunning sends it through streamlit_app.py,
    whose st.navigation then opens the same page (page ids come from the URL path in both schemes)."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()

