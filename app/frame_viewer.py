"""The Frames page's viewer of one evaluated frame: the photo, ground truth, each run's stored prediction, error
map and label doubts (the labelled pixels it confidently rejects, segcore.label_quality), per-class toggles, fill
or outline overlays, a hover readout of the classes under the pointer and a draggable before/after comparison of
two layers. It shows stored predictions only: it never runs a model."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import streamlit as st

from app import class_colours, loaders
from app.frame_browser import RERUN_HINT
from app.image_compare import image_compare
from app.text import plain
from segcore import evaluations as stored
from segcore import frame_views as views
from segcore.datasets import DatasetError
from segcore.figures import legend_html
from segcore.frame_queries import FrameIndex
from segcore.imageio import ImageError
from segcore.label_quality import doubted_by_all
from segcore.labels import LabelSchema, category_schema, get_schema
from segcore.runs import Run

TRUTH = "ground truth"


@dataclass
class Frame:
    image: np.ndarray | None                    # the photo (full size from the data set, else the thumbnail)
    truth: np.ndarray | None                    # train ids at the browsed level
    predictions: dict[str, np.ndarray]          # run -> train ids at the browsed level
    schema: LabelSchema                         # the browsed level's classes
    notes: list[str] = field(default_factory=list)
    doubts: dict[str, np.ndarray] = field(default_factory=dict)   # run -> pixels whose label it rejects


def level_schema(run: Run, level: str) -> LabelSchema:
    """The browsed level's classes, in the colours picked this session."""
    return class_colours.shown(run.schema if level == "class" else category_schema())


def load_frame(name: str, index: FrameIndex, evaluations: dict[str, dict], runs: dict[str, Run], key: str,
               records: dict[str, dict[str, dict]], data_root: Path | None) -> Frame:
    """The stored pictures of frame `name`; what can't be shown is said in `notes`, never computed."""
    first = runs[index.runs[0]]
    frame = Frame(None, None, {}, level_schema(first, index.level))
    record = records[first.name][name]
    if data_root is None:
        frame.notes.append("No ground truth or full-size photo: the data set this evaluation was computed on is not "
                           "in this dashboard's data folders, so only the stored predictions are shown.")
    else:
        try:
            sample = stored.record_sample(record, data_root)
            data_schema = evaluations[first.name].get("data_schema")
            truth_schema = first.schema if data_schema in (None, first.schema.name) else get_schema(data_schema)
            frame.image, truth = loaders.pair(sample, truth_schema)
            frame.truth = truth if index.level == "class" else truth_schema.to_categories(truth)
        except (DatasetError, ImageError, ValueError, OSError) as err:
            frame.notes.append(f"The data-set files of {name} can't be read: {err}")
    if frame.image is None:
        thumb = loaders.stored_file(first, key, record, "thumbnail")
        frame.image = views.read_thumbnail(thumb) if thumb else None
    for run_name in index.runs:
        run = runs[run_name]
        path = loaders.stored_file(run, key, records[run_name][name], "prediction")
        if path is None:
            frame.notes.append(f"{run_name} stored no prediction of this frame; re-run {RERUN_HINT} to store it "
                               "(this page never runs a model).")
            continue
        try:
            labels = views.read_label_map(path)     # a small PNG: read, not cached
        except (ImageError, OSError) as err:
            frame.notes.append(f"{run_name}: {err}")
            continue
        frame.predictions[run_name] = labels if index.level == "class" else run.schema.to_categories(labels)
        doubts = loaders.stored_file(run, key, records[run_name][name], "contradicted")
        try:
            if doubts is not None:
                frame.doubts[run_name] = views.read_label_map(doubts) > 0
        except (ImageError, OSError) as err:
            frame.notes.append(f"{run_name}: {err}")
    return frame


def layers(frame: Frame, mode: str, classes, alpha: float = 0.5) -> dict[str, np.ndarray]:
    """{title: RGB picture} of every layer the frame has, at the photo's size (or the labels' without one); label
    fills at opacity `alpha`."""
    schema = frame.schema
    maps = [m for m in (frame.truth, *frame.predictions.values()) if m is not None]
    base = frame.image if frame.image is not None else np.zeros((*maps[0].shape, 3), np.uint8) + 64
    shown = {"image": base} if frame.image is not None else {}
    if frame.truth is not None:
        shown[TRUTH] = views.label_layer(base, frame.truth, schema, mode, classes, alpha)
    for run, labels in frame.predictions.items():
        shown[f"{run} prediction"] = views.label_layer(base, labels, schema, mode, classes, alpha)
        if frame.truth is not None and frame.image is not None:
            shown[f"{run} errors"] = views.error_layer(base, frame.truth, labels, schema, classes)
        if run in frame.doubts:
            shown[f"{run} label doubts"] = views.doubt_layer(base, frame.doubts[run])
    shared = doubted_by_all(list(frame.doubts.values()))
    if shared is not None:
        shown["label doubts of every run"] = views.doubt_layer(base, shared)
    return shown


def show_viewer(name: str, listed: list[str], index: FrameIndex, evaluations: dict[str, dict], runs: dict[str, Run],
                key: str, records: dict[str, dict[str, dict]], data_root: Path | None) -> None:
    top = st.columns([2, 1, 1, 6], vertical_alignment="center")
    if top[0].button("Back to the frames", icon=":material/arrow_back:", key="fr_back"):
        st.session_state.pop("fr_open", None)
        st.rerun()
    position = listed.index(name) if name in listed else -1
    for column, step, label in ((top[1], -1, "Previous"), (top[2], 1, "Next")):
        target = position + step
        if column.button(label, key=f"fr_step_{step}", disabled=position < 0 or not 0 <= target < len(listed)):
            st.session_state["fr_open"] = listed[target]
            st.rerun()
    top[3].markdown(f"**{plain(name)}**" + (f" ({position + 1} of {len(listed)} listed)" if position >= 0 else ""))
    frame = load_frame(name, index, evaluations, runs, key, records, data_root)
    for note in frame.notes:
        st.info(note, icon=":material/info:")
    maps = {**({"truth": frame.truth} if frame.truth is not None else {}), **frame.predictions}
    if not maps:
        return
    schema = frame.schema
    present = sorted({int(i) for m in maps.values() for i in np.unique(m) if i < schema.num_classes})
    left, right = st.columns([1, 3])
    mode = left.radio("Overlay", views.MODES, horizontal=True, key="fr_mode",
                      help="outline: each class's contour drawn on the photo, so grey classes (Sky) stay visible")
    alpha = left.slider("Mask opacity", 0.0, 1.0, 0.5, 0.05, key="fr_alpha", disabled=mode != "fill")
    chosen = right.multiselect("Classes shown", [schema.names[i] for i in present],
                               default=[schema.names[i] for i in present], key=f"fr_classes_{index.level}_{name}")
    classes = [schema.names.index(c) for c in chosen]
    pictures = layers(frame, mode, classes, alpha)
    for start in range(0, len(pictures), 3):
        for column, (title, picture) in zip(st.columns(3), list(pictures.items())[start:start + 3]):
            column.image(picture, caption=title, width="stretch")
    st.html(legend_html(schema, present, hidden=[i for i in present if i not in classes]))
    st.markdown("**Compare two layers** (drag the handle)")
    titles = list(pictures)
    left, right = st.columns(2)
    before = left.selectbox("Left", titles, index=titles.index(TRUTH) if TRUTH in titles else 0, key="fr_before")
    after = right.selectbox("Right", titles, index=min(len(titles) - 1, titles.index(before) + 1), key="fr_after")
    image_compare(pictures[before], pictures[after], before, after, key="fr_compare")
    st.markdown("**Classes under the pointer**")
    inspect = st.selectbox("Picture", titles, key="fr_inspect")
    st.plotly_chart(views.hover_figure(pictures[inspect], maps, schema), key="fr_hover",
                    config={"displayModeBar": False})
