"""Boundary IoU (Cheng et al., CVPR 2021): IoU over the band of pixels within d of each class's contour.

Region IoU barely moves when a thin class (pole, sign, pedestrian) is drawn a few pixels off; the band IoU does.
Per class, a mask's band is the mask minus its erosion by a (2d+1) x (2d+1) square, the image border counting as
contour (the reference code pads with zeros and erodes d times by 3x3, which is the same set). Intersection and
union of the ground-truth band and the predicted band are counted over non-void pixels, as integers, so frames
and shards add exactly. d is 2 % of the image diagonal, rounded, at least 1 pixel.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

BOUNDARY_RATIO = 0.02


def boundary_width(shape, ratio: float = BOUNDARY_RATIO) -> int:
    """d in pixels for an image of `shape` (height, width, ...): round(ratio * diagonal), at least 1."""
    height, width = int(shape[0]), int(shape[1])
    return max(1, int(round(ratio * math.hypot(height, width))))


def mask_boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """The pixels of boolean `mask` within `width` pixels (chessboard distance) of its contour or the image edge."""
    mask = np.ascontiguousarray(mask, dtype=bool)
    kernel = np.ones((2 * width + 1, 2 * width + 1), dtype=np.uint8)
    # Constant 0 outside the image: a mask cut by the border has a contour there (the reference pads with zeros).
    eroded = cv2.erode(mask.view(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return mask & ~eroded.view(bool)


def boundary_counts(truth: np.ndarray, pred: np.ndarray, num_classes: int, ignore_index: int | None,
                    width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-class (intersection, union) pixel counts of the ground-truth and predicted boundary bands of one frame.

    Pixels whose ground truth is void (or outside 0..num_classes-1) are not counted; the masks themselves are
    taken over the whole frame, so a class edge next to void is still an edge. `width` defaults to
    boundary_width(truth.shape).
    """
    truth, pred = np.asarray(truth), np.asarray(pred)
    if truth.shape != pred.shape or truth.ndim != 2:
        raise ValueError(f"boundary IoU needs two label maps of one (height, width) shape, got {truth.shape} "
                         f"and {pred.shape}")
    width = boundary_width(truth.shape) if width is None else int(width)
    valid = (truth >= 0) & (truth < num_classes)
    if ignore_index is not None:
        valid &= truth != ignore_index
    intersection = np.zeros(num_classes, dtype=np.int64)
    union = np.zeros(num_classes, dtype=np.int64)
    present = (np.bincount(truth[valid].ravel(), minlength=num_classes)[:num_classes] > 0) | \
              (np.bincount(pred[(pred >= 0) & (pred < num_classes)], minlength=num_classes)[:num_classes] > 0)
    for class_id in np.flatnonzero(present):
        truth_band = mask_boundary(truth == class_id, width)
        pred_band = mask_boundary(pred == class_id, width)
        intersection[class_id] = np.count_nonzero(truth_band & pred_band & valid)
        union[class_id] = np.count_nonzero((truth_band | pred_band) & valid)
    return intersection, union


def boundary_iou(intersection, union) -> np.ndarray:
    """Per-class boundary IoU from counts; NaN where neither band has a pixel."""
    intersection = np.asarray(intersection, dtype=np.float64)
    union = np.asarray(union, dtype=np.float64)
    out = np.full(union.shape, np.nan)
    np.divide(intersection, union, out=out, where=union > 0)
    return out


def mean_boundary_iou(intersection, union) -> float | None:
    """Mean over classes that have a band; None where none has."""
    scores = boundary_iou(intersection, union)
    scores = scores[~np.isnan(scores)]
    return float(scores.mean()) if scores.size else None


def boundary_summary(intersection, union, widths) -> dict:
    """The stored form: integer counts per class, and d (an int, or [smallest, largest] where frame sizes differ,
    or None before any frame)."""
    widths = sorted({int(w) for w in widths})
    width = None if not widths else widths[0] if len(widths) == 1 else [widths[0], widths[-1]]
    return {"intersection": [int(v) for v in intersection], "union": [int(v) for v in union], "width_px": width}


def stored_widths(width) -> set[int]:
    """The widths a stored "width_px" stands for (int, [smallest, largest] or None), for merging."""
    if isinstance(width, int) and not isinstance(width, bool):
        return {width}
    if isinstance(width, list):
        return {int(w) for w in width if isinstance(w, int) and not isinstance(w, bool)}
    return set()
