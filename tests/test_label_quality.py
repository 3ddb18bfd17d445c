"""Label quality: the probability each labelled pixel's class gets, softmin over the frame; low where a region is
labelled as a class the model confidently rejects."""
import math

import numpy as np
import pytest

from segcore.label_quality import label_quality, self_confidence, softmin


def confident(labels: np.ndarray, classes: int = 3, sure: float = 0.9) -> np.ndarray:
    """Probabilities that put `sure` on `labels` and spread the rest."""
    probabilities = np.full((*labels.shape, classes), (1 - sure) / (classes - 1), np.float32)
    np.put_along_axis(probabilities, labels[..., None], sure, axis=-1)
    return probabilities


def test_self_confidence_is_the_probability_of_each_pixels_own_label_at_the_labels_size():
    model_view = np.zeros((4, 6), np.int64)
    model_view[:, 3:] = 1
    probabilities = confident(model_view)                        # the model's output, half the label's size
    truth = np.repeat(np.repeat(model_view, 2, axis=0), 2, axis=1)
    truth[0, 0] = 2                                              # a pixel labelled as a class the model rejects
    valid = np.ones(truth.shape, bool)
    valid[7, 11] = False                                         # void: not scored
    scores = self_confidence(probabilities, truth, valid)
    assert scores.shape == (8 * 12 - 1,)
    assert scores[0] == pytest.approx(0.05) and np.median(scores) == pytest.approx(0.9)
    assert scores.min() >= 0 and scores.max() <= 1


def test_softmin_sits_near_the_lowest_values():
    assert softmin(np.full(1000, 0.8)) == pytest.approx(0.8)
    few_low = np.r_[np.full(990, 0.95), np.full(10, 0.02)]
    assert softmin(few_low) < 0.3 < few_low.mean()
    assert softmin(np.r_[np.full(990, 0.95), np.full(10, 0.5)]) > softmin(few_low)   # less sure rejection, higher
    assert math.isnan(softmin(np.array([])))


def test_a_mislabelled_region_lowers_the_frames_label_quality():
    truth = np.zeros((40, 60), np.int64)
    truth[:, 30:] = 1
    probabilities = confident(truth)
    valid = np.ones(truth.shape, bool)
    clean = label_quality(probabilities, truth, valid)
    mislabelled = truth.copy()
    mislabelled[5:15, 5:15] = 2                                  # annotated as a class the model sees nowhere
    assert clean == pytest.approx(0.9, abs=1e-6)
    assert label_quality(probabilities, mislabelled, valid) < 0.5 * clean
    assert math.isnan(label_quality(probabilities, truth, np.zeros(truth.shape, bool)))
