"""Where the Side by Side page's images come from: the visitor's uploads (with ground-truth masks paired to them by
file name, segcore.pairing), or images of a configured data folder with their labels. Each source gives
(name, image, truth) per readable image, truth = (schema the mask is labelled in, mask) or None, and reports the
unreadable and unpaired files on the page."""
from __future__ import annotations

import numpy as np
import streamlit as st

from app import loaders, pickers, uploads
from app.settings import Settings
from segcore.datasets import DatasetError, schema_for
from segcore.imageio import MAX_PIXELS, ImageError
from segcore.labels import SCHEMAS, LabelSchema
from segcore.labels import train_id_schema
from segcore.pairing import holds_train_ids, pair_by_name

Truth = tuple[LabelSchema, np.ndarray]
Shown = tuple[str, np.ndarray, Truth | None]
# Uploads shown at once, in pixels: every model runs on each at its own size (a 40 MP frame takes about 2 GB to
# predict, overlay and score), so a few small files of huge frames must not exhaust the server.
MAX_SHOWN_PIXELS = MAX_PIXELS


def mask_schema(schemas: dict[str, LabelSchema]) -> LabelSchema:
    """The schema uploaded masks are labelled in: the runs' own first, then the built-in ones."""
    options = {**schemas, **{name: schema for name, schema in SCHEMAS.items() if name not in schemas}}
    name = st.sidebar.selectbox("Masks labelled in", list(options), key="sbs_mask_schema",
                                help="Another schema than a model's scores at the 7 categories they share")
    return options[name]


def uploaded_images(schemas: dict[str, LabelSchema]) -> list[Shown]:
    """The uploads from the sidebar; each mask goes with the image it is named after."""
    files = st.sidebar.file_uploader("Images", type=["png", "jpg", "jpeg"], accept_multiple_files=True,
                                     key="sbs_images",
                                     help="Any size; RGB, RGBA, grey or 16-bit; EXIF rotation honoured")
    masks = st.sidebar.file_uploader("Ground-truth masks (optional)", type=["png"], accept_multiple_files=True,
                                     key="sbs_masks", help="Class indices (or the schema's colours), the image's "
                                     "size, named like the image: X.png, X_mask.png, X_L.png, X_gtFine_labelIds.png")
    schema = mask_schema(schemas) if masks else None
    if not files:
        st.info("Upload one or more street images in the sidebar, or take frames from the data folder.")
        st.button("Show a frame of the data folder", key="sbs_try_folder", icon=":material/photo_library:",
                  on_click=st.session_state.update, kwargs={"sbs_source": "Data folder"})
    named_files, named_masks = {}, {}
    for named, uploaded in ((named_files, files), (named_masks, masks)):
        for file in uploaded or []:
            named[uploads.unique_name(file.name, named)] = file
    pairing = pair_by_name(list(named_files), list(named_masks))
    for line in pairing.problems() if files else ():
        st.warning(line, icon=":material/link_off:")
    images, pixels = [], 0
    for name, file in named_files.items():
        try:
            image = uploads.decode_image(file.getvalue(), file.name)
        except ImageError as err:
            said = str(err) if str(err).startswith(f"{file.name}:") else f"{file.name}: {err}"   # named once
            st.error(f"Skipped {said}", icon=":material/broken_image:")
            continue
        pixels += image.shape[0] * image.shape[1]
        if images and pixels > MAX_SHOWN_PIXELS:
            st.warning(f"Not shown: {file.name} and the uploads after it; the page runs the models on at most "
                       f"{MAX_SHOWN_PIXELS / 1e6:.0f} megapixels of images at once: remove some to see the others.",
                       icon=":material/photo_size_select_large:")
            break
        truth, mask_name = None, pairing.mask_for(name)
        if mask_name is not None:
            mask = named_masks[mask_name]
            read_as = train_id_schema(schema) if holds_train_ids(mask_name) else schema
            try:
                truth = schema, uploads.decode_mask(mask.getvalue(), mask.name, read_as.to_json(), image.shape[:2])
            except ImageError as err:
                st.error(f"Ground truth not used ({schema.name} schema): {err}", icon=":material/broken_image:")
        images.append((name, image, truth))
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
    # Names from another data folder with the same split are dropped; if that leaves none (not the user's
    # emptying it), the folder's first frame, as on a first visit.
    previous = st.session_state.get(names_key)
    still_here = [name for name in previous or [] if name in samples]
    st.session_state[names_key] = still_here if previous is not None and (still_here or not previous) \
        else list(samples)[:1]
    names = st.sidebar.multiselect("Frames", list(samples), key=names_key)
    images = []
    for name in names:
        try:
            image, truth = loaders.pair(samples[name], data_schema)
        except ImageError as err:
            st.error(f"Skipped {name}: {err}", icon=":material/broken_image:")
            continue
        images.append((name, image, (data_schema, truth)))
    return images
