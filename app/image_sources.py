"""Where the Side by Side page's images come from: the visitor's uploads (with an optional ground-truth mask),
or images of a configured data folder with their labels. Each source gives (name, image, {schema name: truth})
per readable image and reports the unreadable ones on the page."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app import loaders, pickers, uploads
from app.settings import Settings
from segcore.datasets import DatasetError, schema_for
from segcore.imageio import ImageError
from segcore.labels import LabelSchema

Shown = tuple[str, np.ndarray, dict[str, np.ndarray]]


def uploaded_images(schemas: dict[str, LabelSchema]) -> list[Shown]:
    """The uploads from the sidebar; a single image's mask is read in each of the runs' schemas."""
    files = st.sidebar.file_uploader("Images", type=["png", "jpg", "jpeg"], accept_multiple_files=True,
                                     key="sbs_images",
                                     help="Any size; RGB, RGBA, grey or 16-bit; EXIF rotation honoured")
    mask = st.sidebar.file_uploader("Ground-truth mask (optional, for one image)", type=["png"], key="sbs_mask",
                                    help="Class indices (or the schema's colours), the image's size")
    if not files:
        st.info("Upload one or more street images in the sidebar, or take frames from the data folder.")
    elif mask and len(files) > 1:
        st.warning("A ground-truth mask belongs to one image: upload a single image to score against it.")
    images = []
    for file in files or []:
        try:
            image = uploads.decode_image(file.getvalue(), file.name)
        except ImageError as err:
            st.error(f"Skipped {file.name}: {err}", icon=":material/broken_image:")
            continue
        truths = {}
        for schema_name, schema in schemas.items() if mask and len(files) == 1 else ():
            try:
                truths[schema_name] = uploads.decode_mask(mask.getvalue(), mask.name, schema.to_json(),
                                                          image.shape[:2])
            except ImageError as err:
                st.error(f"Ground truth not used ({schema_name} schema): {err}", icon=":material/broken_image:")
        images.append((file.name, image, truths))
    return images


def folder_images(config: Settings) -> list[Shown]:
    """Images the visitor picks from a split of a configured data folder, with their labels as ground truth."""
    data_dir = pickers.pick_data_dir(config, key="sbs_data")
    ok, message, _, splits = loaders.data_overview(data_dir)
    if not ok:
        st.warning(message, icon=":material/folder_off:")
        return []
    if st.session_state.get("sbs_split") not in splits:
        st.session_state.pop("sbs_split", None)        # a split of another data folder
    split = st.sidebar.selectbox("Split", list(splits), index=list(splits).index("val") if "val" in splits else 0,
                                 key="sbs_split")
    try:
        samples = {sample.name: sample for sample in loaders.samples(data_dir, split)}
        data_schema = schema_for(data_dir)
    except (DatasetError, ValueError) as err:
        st.error(f"{err}. Check the data folder with `segcore data check {data_dir}`.")
        return []
    names_key = f"sbs_frames_{split}"
    if names_key in st.session_state:     # names from another data folder with the same split are dropped
        st.session_state[names_key] = [name for name in st.session_state[names_key] if name in samples]
    names = st.sidebar.multiselect("Frames", list(samples), default=list(samples)[:1], key=names_key)
    images = []
    for name in names:
        try:
            image, truth = loaders.pair(samples[name], data_schema)
        except ImageError as err:
            st.error(f"Skipped {name}: {err}", icon=":material/broken_image:")
            continue
        images.append((name, image, {data_schema.name: truth}))
    return images
