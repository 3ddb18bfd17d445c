"""The one path between an image and a model: image -> model input, model output -> label map at the image's size.

Training (segcore.batches), evaluation, prediction and the app all go through these functions, so a model sees
at inference exactly what it saw in training (the same interpolation, in the same dtype), and every label map
matches its image pixel for pixel.
"""
from __future__ import annotations

import cv2
import numpy as np

# Images: area averaging where they shrink (no aliasing), bilinear where they grow; scores: bilinear. The shipped
# runs were trained on bilinear shrinks (before this module) yet score better fed area-averaged frames: U-Net
# 60.1 against 59.7 CamVid val mIoU. Runs trained from now on see this same rule in training.
SHRINK_INTERPOLATION = cv2.INTER_AREA
GROW_INTERPOLATION = cv2.INTER_LINEAR
SCORE_INTERPOLATION = cv2.INTER_LINEAR
LOGITS, PROBABILITIES = "logits", "probabilities"     # what a model outputs; arg-max is the same for both
OUTPUT_KINDS = (LOGITS, PROBABILITIES)


def _dsize(size) -> tuple[int, int]:
    height, width = (int(v) for v in size)
    return width, height            # cv2 takes (width, height)


def parse_size(text: str) -> tuple[int, int]:
    """(height, width) from text like "240x320" (height x width, as the CLI and ONNX metadata write sizes)."""
    try:
        height, width = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise ValueError(f"size must look like 240x320 (height x width), got {str(text)[:40]!r}") from None
    return height, width


def image_interpolation(image_size: tuple[int, int], size: tuple[int, int]) -> int:
    """The cv2 interpolation that takes an image of `image_size` to `size` (both height, width)."""
    shrinks = image_size[0] >= size[0] and image_size[1] >= size[1]
    return SHRINK_INTERPOLATION if shrinks else GROW_INTERPOLATION


def model_input(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` (H, W, 3) as the model takes it: resized to `size` (height, width), float32 0..255.

    The resize happens in the image's own dtype (uint8 rounds), then the cast, in training and inference alike.
    """
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {image.shape}")
    size = tuple(int(v) for v in size)
    if image.shape[:2] != size:
        image = cv2.resize(image, _dsize(size), interpolation=image_interpolation(image.shape[:2], size))
    return image.astype(np.float32)


def resize_label(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A label map resized to `size` (height, width), nearest: a label is never interpolated into another class.

    Pixel-centre aligned like the image's resize: cv2's INTER_NEAREST takes source pixel floor(j * scale), which
    put every 240x320 training label a third of a pixel down and right of its image; INTER_NEAREST_EXACT takes the
    source pixel under the output pixel's centre (as PIL's nearest does).
    """
    label = np.asarray(label)
    if label.shape[:2] == tuple(size):
        return label
    return cv2.resize(label, _dsize(size), interpolation=cv2.INTER_NEAREST_EXACT)


def resize_scores(scores: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w, C) float class scores resized bilinearly to `size` (height, width); as they are where it matches."""
    scores = np.asarray(scores, dtype=np.float32)
    if scores.shape[:2] == tuple(size):
        return scores
    resized = cv2.resize(scores, _dsize(size), interpolation=SCORE_INTERPOLATION)
    return resized if resized.ndim == 3 else resized[..., None]     # cv2 drops a single channel's axis


def label_map(scores: np.ndarray, image_size: tuple[int, int], no_class: int | None = None) -> np.ndarray:
    """(H, W) uint8 arg-max of (h, w, C) class scores (logits or probabilities) at `image_size` (H, W); for
    `no_class`, see top_class."""
    return top_class(scores, image_size, no_class)[0]


def top_class(scores: np.ndarray, image_size: tuple[int, int],
              no_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(labels, top score): the (H, W) uint8 arg-max of (h, w, C) class scores at `image_size` (H, W) and the
    float32 score of that class there (evaluation's calibration reads it from probabilities).

    `no_class` (a label outside the classes, the schema's ignore index): the scores are probabilities that may
    leave some of 1 out, the probability of a model's void channel (segcore.backends.NoClassChannel); a pixel
    where what is left out beats every class gets that label, and what is left out is its top score.

    Each class channel is resized bilinearly on its own against a running maximum (ties go to the lowest class,
    as with np.argmax), so memory is about 10 bytes per output pixel whatever the class count: a 40 MP image
    never holds an (H, W, C) float array (1.8 GB for 11 classes). cv2's all-channel resize rounds differently
    (by ~1e-6), so the two can disagree only where two classes' scores are that close.
    """
    scores = np.asarray(scores)
    if scores.ndim != 3 or scores.shape[2] < 1:
        raise ValueError(f"expected (height, width, classes) scores, got shape {scores.shape}")
    if scores.shape[2] > 256:
        raise ValueError(f"{scores.shape[2]} classes do not fit a uint8 label map (at most 256)")
    height, width = (int(v) for v in image_size)
    scores = scores.astype(np.float32, copy=False)
    same_size = scores.shape[:2] == (height, width)
    resized = None if same_size else np.empty((height, width), dtype=np.float32)

    def plane(class_id: int) -> np.ndarray:
        # Class planes one at a time also at the same size: NumPy's reductions over a short last axis are 2-3x
        # slower (12 against 5 ms at 360x480x11).
        if same_size:
            return scores[..., class_id]
        return cv2.resize(np.ascontiguousarray(scores[..., class_id]), (width, height), dst=resized,
                          interpolation=SCORE_INTERPOLATION)

    best = plane(0).copy()
    total = best.copy() if no_class is not None else None
    labels = np.zeros((height, width), dtype=np.uint8)
    higher = np.empty((height, width), dtype=bool)
    for class_id in range(1, scores.shape[2]):
        channel = plane(class_id)
        np.greater(channel, best, out=higher)       # strictly greater: a tie keeps the lower class
        np.maximum(best, channel, out=best)
        np.putmask(labels, higher, class_id)
        if total is not None:
            total += channel
    if total is not None:
        left_out = np.subtract(1, total, out=total)
        np.greater(left_out, best, out=higher)      # a tie keeps the class
        np.maximum(best, left_out, out=best)
        np.putmask(labels, higher, no_class)
    return labels, best


def probabilities(scores: np.ndarray, output_kind: str) -> np.ndarray:
    """Class probabilities (float32, summing to 1 over the last axis) from a model's output of `output_kind`.

    The softmax runs on class planes (a (C, H, W) copy; the result is an (H, W, C) view of it): over the short
    last axis NumPy took 12.7 ms at 360x480x11, on planes 2.8 ms (test-time flip's cost: docs/BENCHMARKS.md).
    """
    if output_kind not in OUTPUT_KINDS:
        raise ValueError(f"output kind must be one of {OUTPUT_KINDS}, got {output_kind!r}")
    scores = np.asarray(scores, dtype=np.float32)
    if output_kind == "probabilities":
        return scores
    planes = np.moveaxis(scores, -1, 0).copy()
    planes -= planes.max(axis=0)          # shift: no overflow for large logits
    np.exp(planes, out=planes)
    planes /= planes.sum(axis=0)
    return np.moveaxis(planes, 0, -1)
