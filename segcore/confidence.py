"""How sure a model is, pixel by pixel: its top class probability and the entropy of its class distribution, at the
image's resolution, and views of them (heat maps; the mask overlay with unsure pixels greyed out). Pure numpy.

Probabilities come from a Predictor (`Predictor.probabilities(prediction.scores)`); they are resized to the image
the way label maps are (segcore.frames.top_class, bilinear per class), so a confidence map lines up with the
label map pixel for pixel.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segcore import frames

GREY_DIM = 0.6          # greyed-out pixels: the photo's luminance at 60 %, so they read as "no answer here"


@dataclass
class ConfidenceMaps:
    confidence: np.ndarray      # (H, W) float32, the top class probability, 1/C..1
    entropy: np.ndarray         # (H, W) float32, the distribution's entropy over log(C): 0 (sure) .. 1 (uniform)


def entropy(probabilities: np.ndarray) -> np.ndarray:
    """(h, w) normalised entropy of (h, w, C) class probabilities: 0 for one-hot, 1 for uniform."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    classes = probabilities.shape[-1]
    if classes < 2:
        return np.zeros(probabilities.shape[:-1], dtype=np.float32)
    safe = np.clip(probabilities, 1e-12, 1.0)
    return (-(probabilities * np.log(safe)).sum(axis=-1) / np.log(classes)).clip(0, 1).astype(np.float32)


def confidence_maps(probabilities: np.ndarray, image_size: tuple[int, int], *, void: bool = False) -> ConfidenceMaps:
    """Top probability and normalised entropy of (h, w, C) probabilities, at `image_size` (H, W). `void`: the
    probabilities leave out a model's void channel (Predictor.no_class); what they leave out counts as one more
    outcome, as the label map counts it."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    if probabilities.ndim != 3:
        raise ValueError(f"expected (height, width, classes) probabilities, got shape {probabilities.shape}")
    if void:
        probabilities = np.concatenate([probabilities, (1 - probabilities.sum(axis=-1, keepdims=True)).clip(0, 1)],
                                       axis=-1)
    _, top = frames.top_class(probabilities, image_size)
    # A one-channel map resized by the same rule as the class scores (top_class of one class is that class).
    _, spread = frames.top_class(entropy(probabilities)[..., None], image_size)
    return ConfidenceMaps(top.clip(0, 1), spread.clip(0, 1))


def drawn_confidence(probabilities: np.ndarray, drawn: np.ndarray, top: np.ndarray) -> np.ndarray:
    """(H, W) float32: the probability of the label `drawn` at each pixel (at `drawn`'s size), which need not be
    the top one: at category level a pixel shows the category of its top class, not always the most probable
    category. Each plane is resized bilinearly, as frames.top_class resizes it; a pixel drawn with no label of
    `probabilities` (void) keeps `top`."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    height, width = drawn.shape
    out = np.array(top, dtype=np.float32, copy=True)
    for label in range(probabilities.shape[2]):
        where = drawn == label
        if where.any():
            plane = probabilities[..., label]
            if plane.shape != (height, width):
                plane = cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
            out[where] = plane[where]
    return out.clip(0, 1)


def unsure(confidence: np.ndarray, threshold: float) -> np.ndarray:
    """(H, W) bool: the pixels whose top probability is below `threshold` (0..1)."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    return np.asarray(confidence) < threshold


def grey_out(overlay: np.ndarray, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`overlay` with the pixels of `mask` replaced by the photo in dimmed grey (no class colour)."""
    if overlay.shape != image.shape or mask.shape != image.shape[:2]:
        raise ValueError(f"shapes differ: overlay {overlay.shape}, image {image.shape}, mask {mask.shape}")
    grey = (cv2.cvtColor(np.ascontiguousarray(image, dtype=np.uint8), cv2.COLOR_RGB2GRAY) * GREY_DIM).astype(np.uint8)
    out = overlay.copy()
    out[mask] = grey[mask][:, None]
    return out


def heat_map(values: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB picture of (H, W) values in 0..1 (viridis: dark blue 0 .. yellow 1)."""
    scaled = np.round(np.clip(np.asarray(values, dtype=np.float32), 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(scaled, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB)
