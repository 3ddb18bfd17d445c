"""Safe decoding of user images and masks, and PNG encoding (atomic writes).

Size and pixel limits are checked from the header *before* the pixels are decoded, so a small file
that declares a huge image (a decompression bomb) is refused cheaply. Only regular files are read (a FIFO
named like an image would block forever). Pillow's own bomb guard is left on for the whole process; our
limit is stricter, so it never fires for an image we accept.
"""
from __future__ import annotations

import functools
import io
import os
import re
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from segcore.files import atomic_write_bytes
from segcore.files import NotARegularFile, read_regular_bytes
from segcore.labels import LabelSchema
from segcore.limits import MAX_IMAGE_PIXELS as MAX_PIXELS  # refused from the header, before decoding
from segcore.limits import MAX_UPLOAD_BYTES as MAX_BYTES   # larger files are refused before reading

MIN_SIDE = 1
MAX_ASPECT = 64         # longer side over shorter: a page can't draw a 4000x1 strip (its preview has no height)


class ImageError(ValueError):
    """A file that can't be used as an image or mask; the message says what is wrong and what to do."""


def _label(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", "upload")


def _open(source, *, max_bytes: int, max_pixels: int) -> Image.Image:
    """Open lazily (header only) after checking the byte size and the declared pixel count."""
    name = _label(source)
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        try:
            data = read_regular_bytes(source, max_bytes=max_bytes, what="image file")
        except FileNotFoundError:
            raise ImageError(f"{source}: no such file") from None
        except NotARegularFile:
            raise ImageError(f"{source}: not a regular file (a FIFO, device, socket or folder); "
                             "point to an image file") from None
        except ValueError as err:  # over the byte limit
            raise ImageError(f"{err}; downscale it first") from None
        except OSError as err:     # e.g. permission denied: not damage, so not left to _guarded
            raise ImageError(f"{source}: can't be read ({err.strerror or err})") from None
    else:  # file-like (e.g. a Streamlit UploadedFile)
        data = source.read(max_bytes + 1) if hasattr(source, "read") else None
        if data is None:
            raise ImageError(f"{name}: not a file, path or bytes")
    if len(data) == 0:
        raise ImageError(f"{name}: the file is empty (0 bytes); choose a PNG or JPEG image")
    if len(data) > max_bytes:
        raise ImageError(f"{name}: file is over the {max_bytes / 2**20:.0f} MB limit; downscale it first")
    try:
        with warnings.catch_warnings():
            # Pillow warns from ~89 MP, far above our own limit (checked just below): keep stderr quiet.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read (expected PNG or JPEG)") from None
    except Image.DecompressionBombError as err:
        # Pillow refuses before we see the header; its message holds the declared pixel count.
        declared = re.search(r"\((\d+) pixels\)", str(err))
        pixels = int(declared.group(1)) if declared else 2 * Image.MAX_IMAGE_PIXELS
        raise ImageError(f"{name}: image declares {pixels / 1e6:.0f} MP, over the "
                         f"{max_pixels / 1e6:.0f} MP limit; downscale it first") from None
    width, height = img.size
    if width * height > max_pixels:
        raise ImageError(f"{name}: image is {width}x{height} = {width * height / 1e6:.0f} MP, over the "
                         f"{max_pixels / 1e6:.0f} MP limit; downscale it first")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"{name}: image has no pixels ({width}x{height})")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(f"{name}: image is {width}x{height}, more than {MAX_ASPECT} times longer than it is wide; "
                         "crop it to a frame")
    return img


def _load(img: Image.Image, name: str) -> Image.Image:
    img.load()
    return img


def _guarded(read):
    """Any decoder failure becomes an ImageError that names the file (Pillow raises many types, late)."""
    def wrapper(source, *args, **kwargs):
        try:
            return read(source, *args, **kwargs)
        except ImageError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise ImageError(f"{_label(source)}: the image data is damaged or truncated ({err}); "
                             "re-export the file") from None
    wrapper.__doc__, wrapper.__name__ = read.__doc__, read.__name__
    return wrapper


@_guarded
def read_image(source, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Any PNG/JPEG (RGB, RGBA, grey, palette, CMYK, 16-bit; EXIF orientation applied) -> (H, W, 3) uint8 RGB."""
    name = _label(source)
    img = _load(_open(source, max_bytes=max_bytes, max_pixels=max_pixels), name)
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        # 16-bit grey: scale the full range to 8 bits rather than clipping. A file whose values all fit 0..255 is
        # taken as 8-bit values in a 16-bit container (some tools write them so); as 16-bit light it would be
        # black (under 0.4 % of full scale), so nothing a camera frame needs is lost by the guess.
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return np.repeat((arr / top * 255.0).round().clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        return np.repeat(arr.clip(0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


@_guarded
def read_mask(source, schema: LabelSchema, *, size: tuple[int, int] | None = None,
              max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A label PNG -> (H, W) uint8 train ids.

    Index masks (grey or palette) hold raw ids mapped by the schema; colour masks (RGB) are converted
    through the schema's palette. An RGB mask whose three channels are equal is a colour mask if every grey in it
    is a palette colour (CamVid's Sky and void are grey: an all-void colour mask is not a mask of class 0), else
    ids written three times. `size` = (H, W) of the matching image, checked.
    """
    name = _label(source)
    img = _load(_open(source, max_bytes=max_bytes, max_pixels=max_pixels), name)
    if img.format == "JPEG":    # lossy: class ids come back blurred into other classes at every edge
        raise ImageError(f"{name}: a JPEG label; JPEG changes the class ids at every edge, so labels must be lossless: "
                         "save it as PNG from the original labels")
    if img.mode in ("RGB", "RGBA"):
        arr = np.asarray(img.convert("RGB"))
        if (arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all():
            try:
                labels = schema.decode_color(arr)
            except ValueError:
                raw = arr[..., 0]
            else:
                return _check_size(labels, size, name)
        else:
            try:
                labels = schema.decode_color(arr)
            except ValueError as err:
                raise ImageError(f"{name}: {err}; save the mask as single-channel class indices") from None
            return _check_size(labels, size, name)
    elif img.mode == "P":
        raw = np.asarray(img)  # palette index = class id, as CamVid/VOC tools write them...
        if _palette_shows_colours(img, raw, schema):     # ...unless it is a colour mask stored with a palette
            return _check_size(schema.decode_color(np.asarray(img.convert("RGB"))), size, name)
    elif img.mode in ("L", "I", "I;16", "I;16B", "I;16L"):
        raw = np.asarray(img)
    else:
        raise ImageError(f"{name}: mask has mode {img.mode}; expected a single-channel PNG of class indices")
    try:
        labels = schema.encode(raw)
    except ValueError as err:
        raise ImageError(f"{name}: {err}") from None
    return _check_size(labels, size, name)


@_guarded
def read_instance_map(source, *, size: tuple[int, int] | None = None, max_bytes: int = MAX_BYTES,
                      max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A Cityscapes instanceIds PNG -> (H, W) int32 (label id * 1000 + object number on objects, the label id
    elsewhere); `size` = (H, W) of the matching label, checked."""
    name = _label(source)
    img = _load(_open(source, max_bytes=max_bytes, max_pixels=max_pixels), name)
    if img.mode not in ("I", "I;16", "I;16B", "I;16L", "L"):
        raise ImageError(f"{name}: instance map has mode {img.mode}; expected Cityscapes' single-channel "
                         "16-bit instanceIds PNG")
    return _check_size(np.asarray(img).astype(np.int32), size, name)


def read_pair(image_source, mask_source, schema: LabelSchema) -> tuple[np.ndarray, np.ndarray | None]:
    """An image and its mask (or None), the mask checked against the image's size."""
    image = read_image(image_source)
    mask = None if mask_source is None else read_mask(mask_source, schema, size=image.shape[:2])
    return image, mask


@functools.lru_cache(maxsize=4)
def _voc_colormap(count: int) -> np.ndarray:
    """The PASCAL VOC label colormap (labelme and many annotation tools save index masks with it); cached: every
    palette mask training reads asks for it. Read-only."""
    colours = np.zeros((count, 3), dtype=np.uint8)
    for index in range(count):
        value, r, g, b = index, 0, 0, 0
        for bit in range(8):
            r |= ((value >> 0) & 1) << (7 - bit)
            g |= ((value >> 1) & 1) << (7 - bit)
            b |= ((value >> 2) & 1) << (7 - bit)
            value >>= 3
        colours[index] = (r, g, b)
    colours.flags.writeable = False
    return colours


def _palette_shows_colours(img, indices: np.ndarray, schema: LabelSchema) -> bool:
    """Whether a palette PNG is a colour mask (e.g. an RGB mask an optimiser stored with a palette, its indices in
    any order): every colour it shows is one of the schema's, yet its indices are not the class ids those colours
    mean. A palette of the schema's own class colours, or VOC's (labelme), is an index mask."""
    palette = np.asarray(img.getpalette() or [], dtype=np.uint8).reshape(-1, 3)
    used = np.flatnonzero(np.bincount(indices.ravel(), minlength=256))
    if not len(used) or used.max() >= len(palette):
        return False
    shown = palette[used]
    if np.array_equal(shown, _voc_colormap(256)[used]):
        return False
    known = np.vstack([schema.colors, np.array([schema.void_color], dtype=np.uint8)])
    if not all((known == colour).all(axis=1).any() for colour in shown):
        return False
    as_ids = [known[i] if i < schema.num_classes else known[-1] if i == schema.ignore_index else None for i in used]
    return any(expected is None or not np.array_equal(expected, colour) for expected, colour in zip(as_ids, shown))


def _check_size(labels: np.ndarray, size, name: str) -> np.ndarray:
    if size is not None and tuple(labels.shape[:2]) != tuple(size):
        raise ImageError(f"{name}: mask is {labels.shape[0]}x{labels.shape[1]} but the image is "
                         f"{size[0]}x{size[1]} (height x width); a mask must have its image's size")
    return labels


# EXIF orientations 5-8 rotate by 90 or 270 degrees on display, swapping width and height.
_SWAPS_SIDES = {5, 6, 7, 8}


@_guarded
def image_size(source, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(H, W) of the image as displayed (EXIF orientation applied), as read_image returns it; header only."""
    img = _open(source, max_bytes=max_bytes, max_pixels=max_pixels)
    width, height = img.size
    if img.getexif().get(0x0112) in _SWAPS_SIDES:
        width, height = height, width
    return height, width


def encode_png(array: np.ndarray) -> bytes:
    """uint8 (H, W) or (H, W, 3) -> PNG bytes, deterministic (no metadata)."""
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8)).save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def write_png(path, array: np.ndarray) -> Path:
    return atomic_write_bytes(path, encode_png(array))
