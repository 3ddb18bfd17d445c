"""What a visitor uploads, decoded: images and ground-truth masks as arrays (cached by content), and names that
stay unique when two uploads share one. Every decoder raises ImageError saying what is wrong with the file.
Byte caps: app.cache_budget."""
from __future__ import annotations

import io

import numpy as np
import streamlit as st

from app import cache_budget as budget
from segcore.imageio import read_image, read_mask, read_pair
from segcore.labels import LabelSchema


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.UPLOADS_BYTES)
def decode_image(data: bytes, name: str) -> np.ndarray:
    """An uploaded image as (H, W, 3) uint8 RGB."""
    return read_image(_named(data, name))


@st.cache_data(show_spinner=False, max_entries=64, max_size=budget.MASKS_BYTES)
def decode_mask(data: bytes, name: str, schema_json: str, size: tuple[int, int]) -> np.ndarray:
    """An uploaded ground-truth mask as train ids of the schema, checked against the image's (H, W)."""
    return read_mask(_named(data, name), LabelSchema.from_json(schema_json), size=size)


def decode_pair(image_file, mask_file, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray | None]:
    """An uploaded image and optional mask (Streamlit UploadedFile, bytes or path), not cached: the lab reads one
    pair per rerun."""
    for upload in (image_file, mask_file):
        if hasattr(upload, "seek"):
            upload.seek(0)            # a file object read on an earlier rerun would otherwise look empty
    return read_pair(image_file, mask_file, schema)


def _named(data: bytes, name: str) -> io.BytesIO:
    buffer = io.BytesIO(data)
    buffer.name = name              # read_image / read_mask name the file in their messages
    return buffer


def unique_name(name: str, taken) -> str:
    """`name`, or `name (2)`, `name (3)`, ... before its extension if it is already taken (two uploads may share a
    file name: `x (2).png`, whose stem names its downloads and pairs it with `x_mask (2).png`)."""
    stem, dot, extension = name.rpartition(".") if "." in name.lstrip(".") else (name, "", "")
    label, n = name, 2
    while label in taken:
        label, n = f"{stem} ({n}){dot}{extension}", n + 1
    return label
