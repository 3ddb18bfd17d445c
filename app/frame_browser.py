"""The Frames page's grid: the chosen runs' stored evaluations of one data set as a cached frame index, the
filter and sort widgets that make a FrameQuery, and a paged grid of stored thumbnails. Nothing here runs a model
or decodes a full-size image (a data-set image is read only where an evaluation stored no thumbnail)."""
from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from app import cache_budget as budget
from app import class_colours, loaders, pickers
from app.frame_links import FramesRequest
from app.text import plain
from segcore import frame_queries as queries
from segcore import evaluations as stored
from segcore.frame_queries import FrameIndex, FrameQuery
from segcore.files import changed_stamp
from segcore.frame_views import prediction_thumbnail, read_thumbnail
from segcore.imageio import ImageError
from segcore.runs import Run

PER_PAGE = 24
COLUMNS = 4
ANY = "any"
SORTS = {"mean_iou": "mIoU", "pixel_accuracy": "pixel accuracy", "boundary_iou": "boundary IoU",
         "label_quality": "label quality",
         "train_distance": "distance to the training frames", queries.CONFUSED: "pixels of the confusion",
         "name": "name"}
RERUN_HINT = "`segcore evaluate --run <run> --data <folder> --split <split> --overwrite`"


# ------------------------------------------------------------------------------------------------ requests

def apply_request(request: FramesRequest) -> None:
    """Point the page's widgets at a request from another page (app.frame_links.open_frames)."""
    st.session_state.update({"fr_runs": list(request.runs), "fr_key": request.key, "fr_level": request.level,
                             "fr_pending": request})
    # The request's runs are the page's: a run brought in on Home must not join them (pickers.pick_runs).
    joined = st.session_state.setdefault(f"fr_runs_{pickers.BROUGHT}", set())
    joined.update(st.session_state.get(pickers.BROUGHT, []))
    st.session_state.pop("fr_open", None)


def apply_pending(index: FrameIndex) -> None:
    """The confusion of a pending request as the filter, all other filters off, most confused frames first; or,
    for a request to sort, every filter off and that score lowest first."""
    request = st.session_state.pop("fr_pending", None)
    if request is None:
        return
    if request.confusion is None:
        if request.lowest_first in queries.METRICS:
            st.session_state.update({"fr_present": ANY, "fr_missed": ANY, "fr_truth": ANY, "fr_pred": ANY,
                                     "fr_model": ANY, "fr_miou": (0, 100), "fr_sort": request.lowest_first,
                                     "fr_sort_run": "mean of the runs", "fr_worst_first": True, "fr_one_per": 1})
        return
    names, predicted = index.class_names, index.predicted_names
    if not (0 <= request.confusion[0] < len(names) and 0 <= request.confusion[1] < len(predicted)):
        st.warning(f"The requested confusion {request.confusion} names no {index.level} of this evaluation.")
        return
    for widget in ("fr_present", "fr_missed"):
        st.session_state[widget] = ANY
    st.session_state.update({"fr_truth": names[request.confusion[0]], "fr_pred": predicted[request.confusion[1]],
                             "fr_min_px": request.min_pixels, "fr_model": ANY, "fr_miou": (0, 100),
                             "fr_sort": queries.CONFUSED, "fr_worst_first": False,
                             "fr_one_per": 1})     # every frame the button counted, near-identical neighbours too


# ------------------------------------------------------------------------------------------------ evaluations

def read_evaluations(chosen: list[Run], key: str) -> dict[str, dict]:
    return loaders.read_evaluations(chosen, key, fix=f"evaluate the run again: {RERUN_HINT}")


@st.cache_data(show_spinner=False, max_entries=16, max_size=budget.LISTING_BYTES)
def _index(stamps: tuple, level: str, _evaluations: dict) -> FrameIndex:
    return queries.build_index(_evaluations, level)


def frame_index(chosen: list[Run], key: str, evaluations: dict[str, dict], level: str) -> FrameIndex:
    """The cached FrameIndex (ValueError from build_index when the runs can't be compared at this level)."""
    stamps = (key, *((run.name, changed_stamp([run.evaluations().get(key)])) for run in chosen
                     if run.name in evaluations))
    return _index(stamps, level, evaluations)


def partial_message(index: FrameIndex) -> str | None:
    """What a format-2 evaluation can't do here, and how to store what is missing."""
    old = [run for run, partial in index.partial.items() if partial]
    if not old:
        return None
    return (f"{', '.join(old)}: evaluation format 2 stores only each frame's 8 largest confusions, so the class "
            "and confusion filters see those cells only (a confusion outside them is not found), "
            "\"Class missed\" finds nothing (no correct pixels are stored), and it stores no predictions or "
            f"thumbnails. Re-run {RERUN_HINT} to store them.")


# ------------------------------------------------------------------------------------------------ query widgets

def _choice(label: str, options: list[str], key: str, container, **kwargs) -> str:
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)         # a class of the other level, or of other runs
    return container.selectbox(label, options, key=key, **kwargs)


def _default(key: str, value) -> dict:
    """A widget's default, left out where session state already holds its value (a request set it): passing
    both makes Streamlit warn."""
    return {} if key in st.session_state else {"value": value}


def query_form(index: FrameIndex) -> FrameQuery:
    """Sidebar filters and sort order as a FrameQuery (class names in the widgets, ids in the query)."""
    names, side = index.class_names, st.sidebar
    classes = [ANY, *names]
    ids = {name: i for i, name in enumerate(names)}
    side.markdown("**Filter frames**")
    present = _choice("Class in the ground truth", classes, "fr_present", side)
    missed = _choice("Class missed (in the truth, no pixel right)", classes, "fr_missed", side)
    truth = _choice("Confusion: truth", classes, "fr_truth", side)
    pred = _choice("predicted as", [ANY, *index.predicted_names], "fr_pred", side)
    min_pixels = side.number_input("with at least (pixels)", 1, 10**9, key="fr_min_px", **_default("fr_min_px", 1))
    model = _choice("Model the filters test", [ANY, *index.runs], "fr_model", side,
                    help="Missed classes, confusions and the mIoU range test this run's prediction; 'any' keeps a "
                         "frame if one of the runs passes")
    low, high = side.slider("mIoU range (%)", 0, 100, key="fr_miou", **_default("fr_miou", (0, 100)))
    confusion = (ids[truth], index.predicted_names.index(pred)) if truth != ANY and pred != ANY else None
    side.markdown("**Order**")
    sorts = [s for s in SORTS if (s not in queries.STORED_ONLY or not index.scores[s].isna().all().all())
             and (s != queries.CONFUSED or confusion)]
    sort_by = _choice("Sort by", sorts, "fr_sort", side, format_func=SORTS.get,
                      help="Label quality: the share of a frame's labelled pixels, away from label edges, whose "
                           "class the model does not confidently reject (under 10 %). Lowest first shows likely "
                           "label errors, or confident model errors: the error overlay tells which.")
    sort_run = _choice("of", ["mean of the runs", *index.runs], "fr_sort_run", side)
    worst_first = side.toggle("Lowest first", key="fr_worst_first", **_default("fr_worst_first", True))
    one_per = side.number_input("At most one frame per … consecutive frames of a sequence", 1, 1000,
                                key="fr_one_per", help="Sequence: the file name before its last _ or number; "
                                "keeps near-identical neighbours of a video from filling the top")
    return FrameQuery(present=ids.get(present), missed=ids.get(missed), confusion=confusion,
                      min_pixels=int(min_pixels), miou_range=(low / 100, high / 100),
                      model=None if model == ANY else model, sort_by=sort_by,
                      sort_run=None if sort_run not in index.runs else sort_run, ascending=worst_first,
                      one_per=int(one_per))


# ------------------------------------------------------------------------------------------------ grid

# Thumbnails (256 px, about 200 KB decoded) of evaluations that stored none: a few pages of them.
@st.cache_data(show_spinner=False, max_entries=256, max_size=budget.LISTING_BYTES)
def _small_picture(path: str, mtime_ns: int):
    return read_thumbnail(path)


def _data_set_picture(record: dict, data_root: Path):
    """A small copy of the frame's data-set image, or None where it can't be found or read."""
    try:
        sample = stored.record_sample(record, data_root)
        return _small_picture(str(sample.image), sample.image.stat().st_mtime_ns)
    except (ValueError, OSError):       # DatasetError, ImageError: the caller falls back to a prediction
        return None


def thumbnail(runs: dict[str, Run], key: str, records: dict[str, dict], data_root: Path | None):
    """What the grid shows for a frame ({run: its record}) and, where it is not the photo, what it is instead: a
    stored thumbnail file, else a small copy of the data-set image where the data folder is here, else the first
    run's stored prediction in its colours, else (None, "") and the name alone."""
    for run_name, record in records.items():
        path = loaders.stored_file(runs[run_name], key, record, "thumbnail")
        if path is not None:
            return path.read_bytes(), ""
    photo = None if data_root is None else _data_set_picture(next(iter(records.values())), data_root)
    if photo is not None:
        return photo, ""
    for run_name, record in records.items():
        path = loaders.stored_file(runs[run_name], key, record, "prediction")
        if path is not None:                # a small PNG: read, not cached
            return prediction_thumbnail(path, class_colours.shown(runs[run_name].schema)), f"{run_name}'s prediction"
    return None, ""


def page_of(names: list[str]) -> list[str]:
    """The names on the chosen page (a page number widget; back to page 1 when the list changes)."""
    pages = max(1, math.ceil(len(names) / PER_PAGE))
    # The widget's own state goes while the viewer hides it; "fr_page_kept" carries the page across.
    page = st.session_state.get("fr_page", st.session_state.get("fr_page_kept", 1))
    if st.session_state.get("fr_listed") != names:
        st.session_state["fr_listed"] = names
        page = 1
    st.session_state["fr_page"] = min(page, pages)
    left, right = st.columns([1, 5], vertical_alignment="bottom")
    page = left.number_input(f"Page (of {pages})", 1, pages, key="fr_page")
    st.session_state["fr_page_kept"] = page
    right.caption(f"{len(names)} frames, {PER_PAGE} per page")
    return names[(page - 1) * PER_PAGE: page * PER_PAGE]


def show_grid(index: FrameIndex, names: list[str], runs: dict[str, Run], key: str,
              records: dict[str, dict[str, dict]], data_root: Path | None) -> None:
    """Thumbnails in rows of COLUMNS, each captioned with its scores, an Open button under each."""
    for start in range(0, len(names), COLUMNS):
        for column, name in zip(st.columns(COLUMNS), names[start:start + COLUMNS]):
            frame_records = {run: records[run][name] for run in index.runs}
            try:
                picture, stand_in = thumbnail(runs, key, frame_records, data_root)
            except (ImageError, OSError):
                picture, stand_in = None, ""
            caption = queries.frame_label(index, name) + (f" · picture: {stand_in}" if stand_in else "")
            if picture is None:
                column.markdown(f"{plain(name)}  \n{plain(caption.removeprefix(name + ' · '))}")
            else:
                column.image(picture, caption=caption, width="stretch")
            if column.button("Open", key=f"fr_open_{name}", icon=":material/open_in_full:"):
                st.session_state["fr_open"] = name
                st.rerun()
