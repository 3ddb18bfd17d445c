"""Links into the Frames page from other pages: a request (data set, runs, level, optional confusion filter) is
stored in the session and the app switches to the Frames page, which reads it once on its next run."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

REQUEST_KEY = "frames_request"
FRAMES_PAGE = "pages/frames.py"


@dataclass(frozen=True)
class FramesRequest:
    key: str
    runs: tuple[str, ...]
    level: str
    confusion: tuple[int, int] | None = None
    min_pixels: int = 1
    lowest_first: str | None = None             # without a confusion: a score to sort by, lowest first


def open_frames(key: str, runs: list[str], level: str, confusion: tuple[int, int] | None = None,
                min_pixels: int = 1, lowest_first: str | None = None) -> None:
    """Open the Frames page on evaluation `key` of `runs` at `level` ("class" or "category"), filtered to frames
    where truth confusion[0] is predicted as confusion[1] on at least `min_pixels` pixels (ids at that level), or
    unfiltered and sorted by score `lowest_first` (a segcore.frame_queries.METRICS key)."""
    st.session_state[REQUEST_KEY] = FramesRequest(
        key=str(key), runs=tuple(str(run) for run in runs), level=str(level),
        confusion=None if confusion is None else (int(confusion[0]), int(confusion[1])),
        min_pixels=max(1, int(min_pixels)), lowest_first=lowest_first)
    st.switch_page(_frames_page())


def take_request() -> FramesRequest | None:
    """The pending request, removed from the session so that it applies once (later widget changes stick)."""
    request = st.session_state.pop(REQUEST_KEY, None)
    return request if isinstance(request, FramesRequest) else None


def _frames_page():
    # The same st.Page the navigation registered (same file path), so switch_page finds it by its script path.
    from app.shell import PAGES, st_page

    for page in PAGES:
        if page.file == FRAMES_PAGE:
            return st_page(page)
    raise RuntimeError("The Frames page is not registered in app/shell.py PAGES.")
