"""Calibration of per-pixel confidence: reliability bins, expected calibration error (Guo et al., 2017).

Confidence is the top class probability of a pixel; a pixel is correct when that class is its ground truth.
Bins split 0..1 into equal intervals (lower, upper], as the reference code does. Each bin stores integer sums so
frames and shards add exactly: the pixel count, the correct count, and the confidence sum in units of 2**-20
(each confidence is rounded to that grid first, about 1e-6), stored as a float that is an exact multiple of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

BINS = 15
CONFIDENCE_UNITS = 2 ** 20      # a float64 holds these sums exactly up to 2**33 pixels (8.6 billion)
CHUNK_PIXELS = 1 << 18


@dataclass
class CalibrationCounts:
    bins: int = BINS
    count: np.ndarray = field(default=None)
    confidence_units: np.ndarray = field(default=None)
    correct: np.ndarray = field(default=None)

    def __post_init__(self):
        for name in ("count", "confidence_units", "correct"):
            value = getattr(self, name)
            setattr(self, name, np.zeros(self.bins, np.int64) if value is None else np.asarray(value, np.int64))

    def add(self, other: "CalibrationCounts") -> "CalibrationCounts":
        if other.bins != self.bins:
            raise ValueError(f"calibration with {other.bins} bins can't be added to one with {self.bins}")
        self.count += other.count
        self.confidence_units += other.confidence_units
        self.correct += other.correct
        return self

    def to_json(self) -> dict:
        return {"bins": self.bins, "count": self.count.tolist(),
                "confidence_sum": [int(units) / CONFIDENCE_UNITS for units in self.confidence_units],
                "correct": self.correct.tolist()}


def calibration_counts(confidence: np.ndarray, correct: np.ndarray, valid: np.ndarray | None = None,
                       bins: int = BINS) -> CalibrationCounts:
    """Counts of one frame: `confidence` (H, W) top-class probabilities, `correct` (H, W) bool, over `valid`.

    Done in blocks of CHUNK_PIXELS so a large frame costs a few MB of temporaries, not 24 bytes per pixel.
    """
    confidence = np.asarray(confidence).ravel()
    correct = np.asarray(correct, dtype=bool).ravel()
    valid = None if valid is None else np.asarray(valid, dtype=bool).ravel()
    total = CalibrationCounts(bins)
    for start in range(0, confidence.size, CHUNK_PIXELS):
        block = slice(start, start + CHUNK_PIXELS)
        keep = slice(None) if valid is None else valid[block]
        total.add(_binned(confidence[block][keep], correct[block][keep], bins))
    return total


def _binned(confidence: np.ndarray, correct: np.ndarray, bins: int) -> CalibrationCounts:
    units = np.rint(np.clip(confidence.astype(np.float64), 0.0, 1.0) * CONFIDENCE_UNITS).astype(np.int64)
    # Bin k holds (k/bins, (k+1)/bins]; computed on the integer grid so the bin never depends on float rounding.
    index = np.clip((units * bins + CONFIDENCE_UNITS - 1) // CONFIDENCE_UNITS - 1, 0, bins - 1)
    count = np.bincount(index, minlength=bins)
    # Float weights are whole numbers below 2**53 here (at most 2**20 per pixel), so these sums are exact.
    confidence_units = np.rint(np.bincount(index, weights=units, minlength=bins)).astype(np.int64)
    right = np.bincount(index[correct], minlength=bins)
    return CalibrationCounts(bins, count, confidence_units, right)


def read_calibration(stored) -> CalibrationCounts | None:
    """CalibrationCounts from an evaluation's "calibration" object; None if it is absent or malformed."""
    if not isinstance(stored, dict):
        return None
    bins = stored.get("bins")
    if not (isinstance(bins, int) and not isinstance(bins, bool) and bins > 0):
        return None
    lists = [stored.get(key) for key in ("count", "confidence_sum", "correct")]
    if not all(isinstance(values, list) and len(values) == bins and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in values) for values in lists):
        return None
    count, confidence_sum, correct = lists
    if any(right > total or total != int(total) or right != int(right) for right, total in zip(correct, count)):
        return None
    units = [round(value * CONFIDENCE_UNITS) for value in confidence_sum]
    return CalibrationCounts(bins, [int(v) for v in count], units, [int(v) for v in correct])


def _counts(calibration) -> CalibrationCounts | None:
    return calibration if isinstance(calibration, CalibrationCounts) else read_calibration(calibration)


def expected_calibration_error(calibration) -> float | None:
    """ECE = sum over bins of (pixels in bin / all pixels) * |accuracy - mean confidence| of the bin.

    `calibration`: a stored "calibration" object or CalibrationCounts. None if malformed or empty.
    """
    counts = _counts(calibration)
    if counts is None or counts.count.sum() == 0:
        return None
    gaps = np.abs(counts.correct * CONFIDENCE_UNITS - counts.confidence_units)    # integers: exact
    return float(gaps.sum() / CONFIDENCE_UNITS / counts.count.sum())


def coverage_curve(calibration) -> list[dict] | None:
    """Keeping only the pixels more confident than a threshold (each bin's lower edge; 0 keeps all): for each
    threshold that keeps any pixel, the threshold, the share of pixels kept (coverage) and their accuracy. The trade
    a confidence cut-off makes (Side by Side greys out the pixels under one), read from the stored bins."""
    counts = _counts(calibration)
    if counts is None or counts.count.sum() == 0:
        return None
    kept, right = np.cumsum(counts.count[::-1])[::-1], np.cumsum(counts.correct[::-1])[::-1]
    return [{"threshold": index / counts.bins, "coverage": float(kept[index] / kept[0]),
             "accuracy": float(right[index] / kept[index])} for index in np.flatnonzero(kept)]


def reliability_curve(calibration) -> list[dict] | None:
    """Per non-empty bin: lower, upper, count, confidence (mean), accuracy, for a reliability diagram."""
    counts = _counts(calibration)
    if counts is None:
        return None
    rows = []
    for index in np.flatnonzero(counts.count):
        total = int(counts.count[index])
        rows.append({"lower": index / counts.bins, "upper": (index + 1) / counts.bins, "count": total,
                     "confidence": float(counts.confidence_units[index] / CONFIDENCE_UNITS / total),
                     "accuracy": float(counts.correct[index] / total)})
    return rows
