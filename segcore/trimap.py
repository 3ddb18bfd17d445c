"""Trimap scores: mIoU and pixel accuracy over only the pixels near a ground-truth boundary, for growing bands.

The "trimap" experiment of the DeepLab papers (and FiftyOne's `bandwidth`): a band of width w holds the pixels
less than w pixels (Euclidean) from a ground-truth edge, an edge being a pixel whose 4-neighbour holds another
label (void included: a class edge next to void is an edge). Thin classes and sloppy outlines lose most at small w;
as w grows the scores approach the frame's own. Widths are in pixels at the label's resolution. Per band the
counts are integers (true positives, true pixels, predicted pixels per class), so frames and shards add exactly;
pixels with void truth are not counted, a pixel predicted void is a miss (segcore.metrics).
"""
from __future__ import annotations

import cv2
import numpy as np

from segcore.metrics import ConfusionMatrix

TRIMAP_WIDTHS = (1, 2, 4, 8, 16, 32)
COUNT_KEYS = ("true_positives", "support", "predicted")


def boundary_distance(truth: np.ndarray) -> np.ndarray:
    """(H, W) float32: each pixel's distance to the nearest ground-truth edge pixel (0 on an edge; inf where the
    map holds one label only)."""
    truth = np.asarray(truth)
    edge = np.zeros(truth.shape, dtype=bool)
    across, down = truth[:, 1:] != truth[:, :-1], truth[1:, :] != truth[:-1, :]
    edge[:, 1:] |= across
    edge[:, :-1] |= across
    edge[1:, :] |= down
    edge[:-1, :] |= down
    if not edge.any():
        return np.full(truth.shape, np.inf, dtype=np.float32)
    # distanceTransform measures to the nearest zero: edges are the zeros.
    return cv2.distanceTransform((~edge).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)


class TrimapCounts:
    """Per band width and class: true positives, true pixels (support) and predicted pixels, summed over frames."""

    def __init__(self, num_classes: int, ignore_index: int | None, widths=TRIMAP_WIDTHS):
        self.num_classes, self.ignore_index, self.widths = num_classes, ignore_index, tuple(int(w) for w in widths)
        self.counts = np.zeros((len(COUNT_KEYS), len(self.widths), num_classes), dtype=np.int64)

    def add(self, truth: np.ndarray, pred: np.ndarray) -> None:
        """One frame's label maps (same shape, the label's resolution)."""
        truth, pred = np.asarray(truth), np.asarray(pred)
        distance = boundary_distance(truth)
        for index, width in enumerate(self.widths):
            band = distance < width
            pairs = ConfusionMatrix.pair_counts(truth[band], pred[band], self.num_classes, self.ignore_index)
            square = pairs[:, :-1]
            self.counts[:, index] += (np.diag(square), pairs.sum(axis=1), square.sum(axis=0))

    def to_json(self) -> dict:
        return {"widths": list(self.widths), **{key: self.counts[i].tolist() for i, key in enumerate(COUNT_KEYS)}}


def read_trimap(stored, num_classes: int) -> TrimapCounts | None:
    """The TrimapCounts of a level summary's "trimap", or None where it is absent or malformed (an older file)."""
    widths = stored.get("widths") if isinstance(stored, dict) else None
    if not (isinstance(widths, list) and widths and all(_count(w) and w > 0 for w in widths)):
        return None
    counts = [stored.get(key) for key in COUNT_KEYS]
    if not all(isinstance(rows, list) and len(rows) == len(widths) and all(
            isinstance(row, list) and len(row) == num_classes and all(map(_count, row)) for row in rows)
            for rows in counts):
        return None
    trimap = TrimapCounts(num_classes, None, widths)
    trimap.counts[:] = np.asarray(counts, dtype=np.int64)
    return trimap


def merged(parts: list, num_classes: int) -> dict | None:
    """The sum of shards' stored trimaps; None unless every part has one with the same widths."""
    read = [read_trimap(part, num_classes) for part in parts]
    if not read or any(t is None or t.widths != read[0].widths for t in read):
        return None
    total = TrimapCounts(num_classes, None, read[0].widths)
    for trimap in read:
        total.counts += trimap.counts
    return total.to_json()


def trimap_scores(summary: dict) -> dict | None:
    """{"widths", "mean_iou", "pixel_accuracy"} per band (None where a band holds no pixel) of a stored level
    summary, or None where it stores no trimap."""
    names = summary.get("names") if isinstance(summary, dict) else None
    trimap = read_trimap(summary.get("trimap"), len(names)) if isinstance(names, list) else None
    if trimap is None:
        return None
    scores = {"widths": list(trimap.widths), "mean_iou": [], "pixel_accuracy": []}
    for true_positives, support, predicted in zip(*trimap.counts):
        union = support + predicted - true_positives
        present = union > 0
        scores["mean_iou"].append(float((true_positives[present] / union[present]).mean()) if present.any() else None)
        scores["pixel_accuracy"].append(float(true_positives.sum() / support.sum()) if support.sum() else None)
    return scores


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
