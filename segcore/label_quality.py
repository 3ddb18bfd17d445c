"""How much a frame's ground truth agrees with a model's probabilities: a score that ranks likely label errors.

Each labelled pixel's score is the probability the model gives its ground-truth class (its "self-confidence");
the frame's score is the softmin of those (temperature 0.1), which the lowest pixels dominate: a frame scores low
when some region is labelled as a class the model confidently rejects. This is the label quality score of
confident-learning tools for segmentation (cleanlab's, Northcutt et al.), computed at each label's own
resolution. A low score flags a frame to look at: a label error, or a model error; the error overlay tells which.
"""
from __future__ import annotations

import numpy as np

from segcore import frames

TEMPERATURE = 0.1


def self_confidence(probabilities: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(n,) the probability each valid pixel's ground-truth class gets, at the label's size (each class plane is
    resized as segcore.frames resizes scores; only the planes of the classes in `truth`)."""
    probabilities = np.asarray(probabilities, dtype=np.float32)
    truth = np.asarray(truth)
    scores = np.zeros(truth.shape, dtype=np.float32)
    for class_id in np.unique(truth[valid]):
        where = valid & (truth == class_id)
        plane = frames.resize_scores(probabilities[..., int(class_id):int(class_id) + 1], truth.shape)[..., 0]
        scores[where] = plane[where]
    return np.clip(scores[valid], 0.0, 1.0)       # bilinear resizing can overshoot a probability by a hair


def softmin(values: np.ndarray, temperature: float = TEMPERATURE) -> float:
    """The mean of `values` weighted by exp(-value / temperature): close to the minimum when a few are low."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if not values.size:
        return float("nan")
    weights = np.exp(-(values - values.min()) / temperature)     # shifted: no underflow of every weight
    return float(np.dot(values, weights) / weights.sum())


def label_quality(probabilities: np.ndarray, truth: np.ndarray, valid: np.ndarray) -> float:
    """The frame's label quality in [0, 1] (NaN with no labelled pixel): softmin of the pixels' self-confidence."""
    return softmin(self_confidence(probabilities, truth, valid))
