"""One evaluated frame drawn as layers: the photo, label maps as a colour fill or as class outlines on the photo,
error maps, only the chosen classes, and a hover grid naming the class under the pointer in each label map.
Pure functions of arrays (numpy, Pillow, plotly); the overlay and error colours are segcore.figures'.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from segcore import figures
from segcore.figures import resize_nearest
from segcore.imageio import ImageError, encode_png
from segcore.labels import VOID

MODES = ("fill", "outline")
SHOWN_SIDE = 1280                # pictures sent to an interactive view are at most this long (a PNG each)
HOVER_SIDE = 120                 # the hover grid's longer side: class names per cell travel to the browser
MAX_LABEL_BYTES = 16 * 2**20
MAX_LABEL_PIXELS = 40_000_000
# What PIL raises for a damaged or hostile file: OSError mostly, SyntaxError for a broken chunk, its bomb error.
UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def _rgb(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {image.dtype} {image.shape}")
    return image


def fit(picture: np.ndarray, side: int = SHOWN_SIDE) -> np.ndarray:
    """`picture` shrunk (nearest, by whole pixels) so its longer side is at most `side`; smaller ones unchanged."""
    height, width = picture.shape[:2]
    if max(height, width) <= side:
        return picture
    scale = side / max(height, width)
    return resize_nearest(picture, (max(1, round(height * scale)), max(1, round(width * scale))))


def only_classes(labels: np.ndarray, classes, void: int) -> np.ndarray:
    """`labels` with every class not in `classes` set to `void` (None keeps all)."""
    labels = np.asarray(labels)
    if classes is None:
        return labels
    keep = np.isin(labels, np.asarray(list(classes), dtype=np.int64))
    return np.where(keep, labels, void).astype(labels.dtype)


def contours(labels: np.ndarray, width: int = 1) -> np.ndarray:
    """(H, W) bool: pixels at most `width` - 1 pixels inside a boundary between two different label ids."""
    labels = np.asarray(labels)
    edge = np.zeros(labels.shape, dtype=bool)
    vertical = labels[1:, :] != labels[:-1, :]
    horizontal = labels[:, 1:] != labels[:, :-1]
    edge[1:, :] |= vertical
    edge[:-1, :] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    for _ in range(max(0, width - 1)):          # grow inwards on both sides by one pixel per step
        grown = edge.copy()
        grown[1:, :] |= edge[:-1, :]
        grown[:-1, :] |= edge[1:, :]
        grown[:, 1:] |= edge[:, :-1]
        grown[:, :-1] |= edge[:, 1:]
        edge = grown
    return edge


def outline(image: np.ndarray, labels: np.ndarray, schema, width: int = 2) -> np.ndarray:
    """The photo with each class's contour drawn in its colour: a grey class (CamVid's Sky) that a colour fill
    hides on a grey sky still shows where it ends. Void pixels draw no contour."""
    image = _rgb(image)
    labels = resize_nearest(labels, image.shape[:2])
    edge = contours(labels, width) & (labels < schema.num_classes)
    out = image.copy()
    out[edge] = schema.display_colors[labels[edge]]
    return out


def label_layer(image: np.ndarray, labels: np.ndarray, schema, mode: str = "fill", classes=None,
                alpha: float = 0.5) -> np.ndarray:
    """A label map over the photo, as a colour fill or class outlines, showing only `classes` (None: all)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    shown = only_classes(labels, classes, schema.ignore_index)
    if mode == "fill":
        return figures.overlay(image, shown, schema, alpha)
    return outline(image, shown, schema)


def error_layer(image: np.ndarray, truth: np.ndarray, pred: np.ndarray, schema, classes=None) -> np.ndarray:
    """Right pixels green, wrong red, void grey over the dimmed photo (figures.error_map); with `classes`, only
    the pixels whose truth or prediction is one of them are tinted, the rest stay dimmed."""
    image = _rgb(image)
    truth = resize_nearest(truth, image.shape[:2])
    pred = resize_nearest(pred, image.shape[:2])
    errors = figures.error_map(image, truth, pred, schema.ignore_index)
    if classes is None:
        return errors
    chosen = np.asarray(list(classes), dtype=np.int64)
    untinted = ~(np.isin(truth, chosen) | np.isin(pred, chosen))
    errors[untinted] = np.rint(image[untinted] * figures.DIM).astype(np.uint8)
    return errors


DOUBT_COLOUR = (255, 0, 255)        # magenta on the dimmed photo: apart from the error layer's red and green


def doubt_layer(image: np.ndarray, doubts: np.ndarray) -> np.ndarray:
    """The dimmed photo with the pixels in boolean mask `doubts` (any size: resized nearest) in DOUBT_COLOUR."""
    image = _rgb(image)
    doubts = resize_nearest(doubts.astype(np.uint8), image.shape[:2]).astype(bool)
    out = np.rint(image * figures.DIM).astype(np.uint8)
    out[doubts] = DOUBT_COLOUR
    return out


def class_name_grid(labels: np.ndarray, schema, shape: tuple[int, int]) -> np.ndarray:
    """(h, w) array of the class names of `labels` sampled at `shape` (nearest); void pixels read 'void'."""
    sampled = resize_nearest(labels, shape).astype(np.int64)
    names = np.array([*schema.names, VOID], dtype=object)
    return names[np.where((sampled >= 0) & (sampled < schema.num_classes), sampled, len(schema.names))]


def hover_shape(image_shape: tuple[int, int], side: int = HOVER_SIDE) -> tuple[int, int]:
    height, width = image_shape[:2]
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


def hover_grid(label_maps: dict[str, np.ndarray], schema, image_shape: tuple[int, int],
               side: int = HOVER_SIDE) -> np.ndarray:
    """(h, w, layers) class names: at each cell of a grid over the image (longer side `side`), the class each
    label map ({layer title: map}) has there."""
    shape = hover_shape(image_shape, side)
    return np.stack([class_name_grid(labels, schema, shape) for labels in label_maps.values()], axis=-1)


def hover_figure(layer: np.ndarray, label_maps: dict[str, np.ndarray], schema, side: int = HOVER_SIDE) -> go.Figure:
    """The layer as a picture, with an invisible heatmap over it whose hover names the class of every label map
    ({title: map}) under the pointer. The picture travels as a PNG; only the coarse name grid as text."""
    layer = fit(layer)
    height, width = layer.shape[:2]
    names = hover_grid(label_maps, schema, (height, width), side)
    rows, cols = names.shape[:2]
    source = "data:image/png;base64," + base64.b64encode(encode_png(layer)).decode()
    lines = "<br>".join(f"{title}: %{{customdata[{i}]}}" for i, title in enumerate(label_maps))
    figure = go.Figure(go.Image(source=source, hoverinfo="skip"))
    figure.add_heatmap(z=np.zeros((rows, cols)), customdata=names, x0=(width / cols - 1) / 2, dx=width / cols,
                       y0=(height / rows - 1) / 2, dy=height / rows, opacity=0, showscale=False,
                       hovertemplate=f"{lines}<extra></extra>", name="classes")
    figure.update_xaxes(visible=False, range=[-0.5, width - 0.5])
    figure.update_yaxes(visible=False, range=[height - 0.5, -0.5], scaleanchor="x")
    figure.update_layout(margin=dict(l=0, r=0, t=0, b=0), height=None, dragmode=False)
    return figure


def read_label_map(path) -> np.ndarray:
    """A stored single-channel PNG of train ids as (H, W) uint8; ImageError (one line) when it can't be read."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_LABEL_BYTES:
            raise ImageError(f"{path.name}: stored prediction is over {MAX_LABEL_BYTES // 2**20} MB")
        with Image.open(io.BytesIO(path.read_bytes())) as img:
            if img.width * img.height > MAX_LABEL_PIXELS:
                raise ImageError(f"{path.name}: stored prediction is {img.width}x{img.height}, too large")
            if img.mode not in ("L", "P"):
                raise ImageError(f"{path.name}: stored prediction is a {img.mode} image, not one channel of "
                                 "train ids; evaluate the run again with --overwrite")
            return np.asarray(img, dtype=np.uint8)
    except UNREADABLE as err:      # PIL says a damaged PNG chunk with SyntaxError, a header bomb with its own
        raise ImageError(f"{path.name}: stored prediction can't be read ({err}); evaluate the run again with "
                         "--overwrite") from None


def prediction_thumbnail(path, schema, side: int = 256) -> np.ndarray:
    """A stored prediction in the schema's colours, its longer side at most `side`: a frame grid's picture where
    neither a thumbnail nor the photo is at hand (CamVid's photos are not shipped; the runs' predictions are)."""
    return fit(schema.colorize(read_label_map(path)), side)


def read_thumbnail(path, side: int = 256) -> np.ndarray:
    """A small RGB picture from an image file, decoded at reduced size where the format allows (JPEG draft)."""
    try:
        with Image.open(path) as img:
            img.draft("RGB", (side, side))
            img = img.convert("RGB")
            img.thumbnail((side, side))
            return np.asarray(img)
    except UNREADABLE as err:
        raise ImageError(f"{Path(path).name}: can't be read ({err})") from None
