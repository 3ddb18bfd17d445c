"""How far a frame's ground truth agrees with a model's probabilities: a score that ranks likely label errors.

A labelled pixel is contradicted when the model gives its ground-truth class a probability under
CONTRADICTED_BELOW (it confidently sees another class there). Pixels within the boundary IoU's band width d of a
label edge (segcore.boundary.boundary_width, 2 % of the diagonal) are left out: there annotation and model both
blur, and every frame would look alike. A frame's label quality is the share of its remaining labelled pixels not
contradicted; a low one flags a region to look at, a label error or a confident model error (the error overlay
shows which). Confident-learning tools score segmentation labels from the same per-pixel self-confidence
(cleanlab's); their softmin over all pixels put every CamVid val frame between 0.02 and 0.06 for the shipped U-Net,
decided by edge pixels, hence the share away from edges.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from segcore import frames
from segcore.boundary import boundary_width
from segcore.labels import LabelSchema, category_schema

CONTRADICTED_BELOW = 0.1


def self_confidence(probabilities: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(H, W) float32: the probability each valid pixel's ground-truth class gets, at the label's size (each class
    plane resized as segcore.frames resizes scores; only the planes of the classes in `truth`); 1 elsewhere."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    truth = np.asarray(truth)
    scores = np.ones(truth.shape, dtype=np.float32)
    for class_id in np.unique(truth[valid]):
        where = valid & (truth == class_id)
        plane = frames.resize_scores(probabilities[..., int(class_id):int(class_id) + 1], truth.shape)[..., 0]
        scores[where] = plane[where]
    return np.clip(scores, 0.0, 1.0)       # bilinear resizing can overshoot a probability by a hair


def away_from_edges(truth: np.ndarray, valid: np.ndarray, width: int | None = None) -> np.ndarray:
    """The valid pixels farther than `width` (default boundary_width) from a change of label, void included;
    the image border is no edge."""
    width = boundary_width(truth.shape) if width is None else int(width)
    kernel = np.ones((2 * width + 1, 2 * width + 1), dtype=np.uint8)
    inside = np.zeros(truth.shape, dtype=bool)
    for class_id in np.unique(truth[valid]):
        mask = ((truth == class_id) & valid).astype(np.uint8)
        inside |= cv2.erode(mask, kernel, borderType=cv2.BORDER_REPLICATE).astype(bool)
    return inside & valid


def contradicted(probabilities: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contradicted, counted), (H, W) bool each: the labelled pixels away from label edges (counted) and those
    of them whose ground-truth class the model confidently rejects."""
    counted = away_from_edges(truth, valid)
    return counted & (self_confidence(probabilities, truth, valid) < CONTRADICTED_BELOW), counted


def quality_of(rejected: np.ndarray, counted: np.ndarray) -> float:
    """The share (0..1) of the counted pixels not rejected; NaN where none is counted."""
    total = np.count_nonzero(counted)
    return float("nan") if not total else 1.0 - np.count_nonzero(rejected & counted) / total


def label_quality(probabilities: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """The share (0..1) of the frame's labelled pixels away from edges that the model does not contradict;
    NaN where no labelled pixel is away from an edge."""
    return quality_of(*contradicted(probabilities, truth, valid))


@dataclass
class MaskDoubts:
    """A ground-truth mask as one model sees it."""
    contradicted: np.ndarray    # (H, W) bool, the mask's labelled pixels away from edges the model rejects
    quality: float              # label quality, 0..1 (NaN where no labelled pixel is away from an edge)
    level: str                  # "class" or "category": what the mask was checked at


def mask_doubts(probabilities: np.ndarray, mask: np.ndarray, mask_schema: LabelSchema,
                run_schema: LabelSchema, level: str = "class") -> MaskDoubts:
    """A mask (ids of `mask_schema`) checked by a model's (h, w, C) class probabilities (C of `run_schema`) at the
    finest level both share, as segcore.evaluate does: classes when the schemas agree, else the 7 categories (the
    probabilities summed per category); at `level` "category", the categories whatever the schemas."""
    if mask_schema.name == run_schema.name and level == "class":
        truth, ignore, level = np.asarray(mask), run_schema.ignore_index, "class"
    else:
        truth, ignore, level = mask_schema.to_categories(mask), category_schema().ignore_index, "category"
        probabilities = np.asarray(probabilities, dtype=np.float32) @ run_schema.category_fold()
    valid = (truth < probabilities.shape[-1]) & (truth != ignore)
    rejected, counted = contradicted(probabilities, truth, valid)
    return MaskDoubts(rejected, quality_of(rejected, counted), level)


def doubted_by_all(doubts: list[np.ndarray]) -> np.ndarray | None:
    """The pixels every model's doubts mask holds (a label error is likelier where all reject it than where one
    model errs); None for fewer than two masks or masks of different sizes (not one frame's labels)."""
    if len(doubts) < 2 or len({mask.shape for mask in doubts}) > 1:
        return None
    return np.logical_and.reduce([np.asarray(mask, dtype=bool) for mask in doubts])
