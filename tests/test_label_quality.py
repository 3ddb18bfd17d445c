"""Label quality: the share of a frame's labelled pixels, away from label edges, whose ground-truth class the model
does not confidently reject; low where a region is labelled as a class the model is sure it isn't."""
import math

import numpy as np
import pytest

from segcore.label_quality import away_from_edges, doubted_by_all, label_quality, mask_doubts, self_confidence
from segcore.labels import CAMVID11, CITYSCAPES


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
    assert scores.shape == truth.shape and scores[7, 11] == 1.0
    assert scores[0, 0] == pytest.approx(0.05) and scores[4, 1] == pytest.approx(0.9)
    assert scores.min() >= 0 and scores.max() <= 1


def test_pixels_near_a_label_edge_or_void_are_left_out_but_not_those_at_the_image_border():
    truth = np.zeros((20, 30), np.int64)
    truth[:, 15:] = 1
    valid = np.ones(truth.shape, bool)
    valid[:2, :] = False                                         # a void strip along the top
    inside = away_from_edges(truth, valid, width=2)
    assert inside[10, 0] and inside[10, 29] and inside[19, 5]    # the image border is no edge
    assert not inside[10, 13] and not inside[10, 16] and inside[10, 12] and inside[10, 17]
    assert not inside[:2].any() and not inside[3].any() and inside[4, 5]     # void and its band


def test_a_mislabelled_region_lowers_the_frames_label_quality():
    truth = np.zeros((60, 90), np.int64)
    truth[:, 45:] = 1
    probabilities = confident(truth)
    valid = np.ones(truth.shape, bool)
    assert label_quality(probabilities, truth, valid) == 1.0
    mislabelled = truth.copy()
    mislabelled[10:40, 5:35] = 2                                 # annotated as a class the model sees nowhere
    quality = label_quality(probabilities, mislabelled, valid)
    inside = away_from_edges(mislabelled, valid)
    rejected = inside[10:40, 5:35].sum()
    assert quality == pytest.approx(1 - rejected / inside.sum()) and quality < 0.9
    unsure = confident(truth, sure=0.5)                          # the rejected class gets 0.25: not confident
    assert label_quality(unsure, mislabelled, valid) == 1.0
    assert math.isnan(label_quality(probabilities, truth, np.zeros(truth.shape, bool)))


def test_the_doubts_every_model_shares():
    first, second = np.zeros((4, 6), bool), np.zeros((4, 6), bool)
    first[1, 1:4], second[1, 2:5] = True, True
    assert np.flatnonzero(doubted_by_all([first, second]).ravel()).tolist() == [8, 9]     # row 1, columns 2-3
    assert doubted_by_all([first]) is None and doubted_by_all([first, np.zeros((4, 5), bool)]) is None


def test_a_mask_in_the_runs_schema_is_checked_by_class_one_in_another_by_category():
    sky, road, pavement = (CAMVID11.names.index(name) for name in ("Sky", "Road", "Pavement"))
    seen = np.full((30, 40), road, np.int64)
    seen[:, 20:] = sky
    probabilities = confident(seen, classes=CAMVID11.num_classes, sure=0.95)
    own = seen.copy()
    own[5:25, 2:12] = pavement                                   # pavement where the model is sure of road
    doubts = mask_doubts(probabilities, own.astype(np.uint8), CAMVID11, CAMVID11)
    assert doubts.level == "class" and doubts.contradicted[15, 7] and not doubts.contradicted[15, 30]
    assert doubts.quality == pytest.approx(label_quality(probabilities, own, np.ones(own.shape, bool)))

    foreign = np.full(seen.shape, CITYSCAPES.names.index("sidewalk"), np.uint8)      # flat, as the model's road
    foreign[:, 20:] = CITYSCAPES.names.index("vegetation")                           # nature where it sees sky
    foreign[:, 36:] = CITYSCAPES.ignore_index                                        # void: never doubted
    doubts = mask_doubts(probabilities, foreign, CITYSCAPES, CAMVID11)
    assert doubts.level == "category" and doubts.contradicted.shape == foreign.shape
    assert not doubts.contradicted[:, :20].any() and doubts.contradicted[15, 27] and not doubts.contradicted[:, 36:].any()
    assert 0 < doubts.quality < 1
