import numpy as np
import pytest

from segcore.labels import CAMVID11, CATEGORIES
from segcore.metrics import ConfusionMatrix, top_confusions


def test_hand_computed_case():
    truth = np.array([[0, 0, 1, 1], [2, 2, 9, 9]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 0, 1]])
    cm = ConfusionMatrix(3, ignore_index=9)
    cm.update(truth, pred)
    assert cm.counts.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    # IoU: class0 1/(2+2-1)=1/3, class1 2/(2+3-2)=2/3, class2 1/(2+1-1)=1/2
    np.testing.assert_allclose(cm.iou(), [1 / 3, 2 / 3, 1 / 2])
    assert cm.mean_iou() == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)
    assert cm.pixel_accuracy() == pytest.approx(4 / 6)
    assert cm.mean_class_accuracy() == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    np.testing.assert_allclose(cm.dice(), [2 / 4, 4 / 5, 2 / 3])
    assert cm.frequency_weighted_iou() == pytest.approx((2 / 6) * (1 / 3) + (2 / 6) * (2 / 3) + (2 / 6) * (1 / 2))


def test_absent_classes_are_excluded_from_means():
    cm = ConfusionMatrix(4)
    cm.update(np.array([0, 1]), np.array([0, 1]))
    assert np.isnan(cm.iou()[2]) and np.isnan(cm.iou()[3])
    assert cm.mean_iou() == 1.0
    # a class predicted but never true is present, with IoU 0
    cm.update(np.array([0]), np.array([3]))
    assert cm.iou()[3] == 0.0
    assert cm.mean_iou() == pytest.approx((0.5 + 1 + 0) / 3)


def test_streaming_equals_one_shot():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 12, size=(6, 20, 20))
    pred = rng.integers(0, 11, size=(6, 20, 20))
    streaming = ConfusionMatrix(11, 11)
    for t, p in zip(truth, pred):
        streaming.update(t, p)
    once = ConfusionMatrix(11, 11)
    once.update(truth, pred)
    assert (streaming.counts == once.counts).all()
    assert streaming.counts.sum() == (truth != 11).sum()


def test_matches_keras_mean_iou_on_random_data():
    import keras
    rng = np.random.default_rng(1)
    truth = rng.integers(0, 12, size=(4, 16, 16))
    pred = rng.integers(0, 11, size=(4, 16, 16))
    ours = ConfusionMatrix(11, 11)
    ours.update(truth, pred)
    theirs = keras.metrics.MeanIoU(num_classes=11, ignore_class=11)
    theirs.update_state(truth, pred)
    assert ours.mean_iou() == pytest.approx(float(theirs.result()), abs=1e-5)


def test_category_fold_sums_blocks():
    rng = np.random.default_rng(2)
    cm = ConfusionMatrix(11, 11)
    cm.update(rng.integers(0, 12, (50, 50)), rng.integers(0, 11, (50, 50)))
    folded = cm.to_categories(CAMVID11)
    assert folded.counts.shape == (len(CATEGORIES), len(CATEGORIES))
    assert folded.counts.sum() == cm.counts.sum()
    flat = CATEGORIES.index("flat")
    # Road (3) and Pavement (4) both fold onto flat: their 2x2 block sums into one cell
    assert folded.counts[flat, flat] == cm.counts[3:5, 3:5].sum()


def test_summary_is_json_safe_and_top_confusions():
    cm = ConfusionMatrix(3)
    cm.update(np.array([0, 0, 0, 1]), np.array([1, 1, 0, 1]))
    summary = cm.summary(["a", "b", "c"])
    assert summary["per_class"]["c"]["iou"] is None
    assert summary["confusion_matrix"] == [[1, 2, 0], [0, 1, 0], [0, 0, 0]]
    assert top_confusions(cm.counts) == [(0, 1, 2)]


def test_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="pixels"):
        ConfusionMatrix(3).update(np.zeros(4), np.zeros(5))


def test_top_confusions_orders_ties_by_cell_position():
    counts = np.array([[0, 3, 3], [3, 0, 1], [0, 0, 0]])
    assert top_confusions(counts, 3) == [(0, 1, 3), (0, 2, 3), (1, 0, 3)]


def test_a_pixel_predicted_void_is_a_miss_of_its_true_class_and_no_false_positive():
    """The Cityscapes benchmark's rule: a pixel the prediction leaves without a class (the ignore index) counts in
    its true class's support (lowering IoU, recall, accuracy), in no column; a void truth pixel is still skipped."""
    truth = np.array([[0, 0, 1, 1], [2, 2, 9, 9]])
    pred = np.array([[0, 9, 1, 9], [2, 0, 9, 1]])
    cm = ConfusionMatrix(3, ignore_index=9)
    frame = cm.update(truth, pred)
    assert cm.counts.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 1]] and cm.unpredicted.tolist() == [1, 1, 0]
    assert frame.unpredicted.tolist() == [1, 1, 0] and frame.counts.tolist() == cm.counts.tolist()
    # IoU: class0 1/(1+1+1 missed)=1/3, class1 1/(1+1 missed)=1/2, class2 1/(1+1 missed to 0)=1/2
    np.testing.assert_allclose(cm.iou(), [1 / 3, 1 / 2, 1 / 2])
    np.testing.assert_allclose(cm.precision(), [1 / 2, 1, 1])              # no column gained a false positive
    np.testing.assert_allclose(cm.class_accuracy(), [1 / 2, 1 / 2, 1 / 2])
    assert cm.pixel_accuracy() == pytest.approx(3 / 6) and cm.support.tolist() == [2, 2, 2]
    summary = cm.summary(["a", "b", "c"])
    assert summary["unpredicted"] == [1, 1, 0] and summary["per_class"]["b"]["support"] == 2
    again = ConfusionMatrix.from_summary(summary)
    assert again.mean_iou() == pytest.approx(cm.mean_iou()) and again.merge(cm).unpredicted.tolist() == [2, 2, 0]
    folded = cm.fold(np.array([0, 0, 1]), 2)
    assert folded.unpredicted.tolist() == [2, 0] and folded.support.tolist() == [4, 2]


def test_summaries_without_void_predictions_keep_their_stored_form():
    cm = ConfusionMatrix(3, ignore_index=9)
    cm.update(np.array([0, 1, 9]), np.array([0, 2, 9]))
    assert "unpredicted" not in cm.summary(["a", "b", "c"]) and cm.unpredicted.tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match=r"class ids \[9\] outside the schema's 0..2"):
        ConfusionMatrix(3).update(np.array([0]), np.array([9]))     # no ignore index: 9 is not "no class"


def test_malformed_unpredicted_counts_are_named():
    from segcore.evaluations import evaluation_problem
    from segcore.metrics import dense_unpredicted
    with pytest.raises(ValueError, match=r"unpredicted entry \[3, 5\] is not \[true id, pixels\] with an id below 3"):
        dense_unpredicted([[0, 2], [3, 5]], 3)
    assert dense_unpredicted([[0, 2], [2, 5], [0, 1]], 3).tolist() == [3, 0, 5]
    summary = ConfusionMatrix(2, counts=[[1, 0], [0, 1]]).summary(["a", "b"])
    result = {"class_level": {**summary, "unpredicted": [1]}, "category_level": summary, "per_image": []}
    assert evaluation_problem(result) == "'class_level.unpredicted' is not 2 pixel counts"


def test_negative_truth_ids_count_nowhere_like_void_in_every_score():
    """Another tool's -1 "ignore" in a signed label map is left out, as the schema's void is, not a crash."""
    from segcore.boundary import boundary_counts
    from segcore.trimap import TrimapCounts
    truth = np.array([[0, -1, 1], [1, 1, -1]])
    pred = np.array([[0, 0, 1], [1, 0, 1]])
    as_void = np.where(truth < 0, 255, truth)
    counts = ConfusionMatrix.pair_counts(truth, pred, 2, 255)
    assert counts.tolist() == ConfusionMatrix.pair_counts(as_void, pred, 2, 255).tolist() == [[1, 0, 0], [1, 2, 0]]
    assert [c.tolist() for c in boundary_counts(truth, pred, 2, 255, width=1)] == \
        [c.tolist() for c in boundary_counts(as_void, pred, 2, 255, width=1)]
    signed, void = TrimapCounts(2, 255, widths=(1,)), TrimapCounts(2, 255, widths=(1,))
    signed.add(truth, pred)
    void.add(as_void, pred)
    assert signed.counts.tolist() == void.counts.tolist()
