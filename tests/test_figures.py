"""segcore.figures on tiny hand-made arrays and evaluation dicts built with ConfusionMatrix."""
import numpy as np
import pandas as pd
import pytest

from segcore import figures
from segcore.labels import CAMVID11, ClassInfo, LabelSchema
from segcore.metrics import ConfusionMatrix

# Three classes with easy colours; 9 is void.
TINY = LabelSchema("tiny", (ClassInfo(0, "road", (255, 0, 0), "flat"), ClassInfo(1, "car", (0, 255, 0), "vehicle"),
                            ClassInfo(2, "sky", (0, 0, 255), "sky")), ignore_index=9, void_color=(1, 2, 3))
GREY = np.full((2, 2, 3), 100, dtype=np.uint8)
LABELS = np.array([[0, 1], [2, 9]], dtype=np.uint8)


def summary(counts, names=("road", "car", "sky")):
    return ConfusionMatrix(len(names), None, np.array(counts)).summary(list(names))


def evaluation(counts, per_image=()):
    return {"class_level": summary(counts), "category_level": summary(counts), "per_image": list(per_image)}


# Two runs: A is good at road, B at sky; car is scored by both.
EVALS = {
    "A": evaluation([[9, 1, 0], [0, 4, 1], [0, 0, 5]]),
    "B": evaluation([[5, 5, 0], [1, 4, 0], [0, 0, 5]]),
}


# --- overlay / legend / shares ---------------------------------------------------------------------------
def test_overlay_alpha_zero_is_the_image_and_alpha_one_the_colours():
    np.testing.assert_array_equal(figures.overlay(GREY, LABELS, TINY, alpha=0), GREY)
    full = figures.overlay(GREY, LABELS, TINY, alpha=1)
    assert full[0, 0].tolist() == [255, 0, 0] and full[0, 1].tolist() == [0, 255, 0]
    assert full[1, 0].tolist() == [0, 0, 255]
    assert full[1, 1].tolist() == [100, 100, 100]          # void keeps the image
    half = figures.overlay(GREY, LABELS, TINY, alpha=0.5)
    assert half[0, 0].tolist() == [178, 50, 50]              # 100/2 + 255/2 = 177.5 -> 178
    assert half.dtype == np.uint8


def test_overlay_resizes_labels_nearest_and_rejects_bad_alpha():
    image = np.zeros((4, 4, 3), dtype=np.uint8)
    out = figures.overlay(image, LABELS, TINY, alpha=1)       # 2x2 labels onto a 4x4 image
    assert out[:2, :2].reshape(-1, 3).tolist() == [[255, 0, 0]] * 4
    assert out[2:, 2:].reshape(-1, 3).tolist() == [[0, 0, 0]] * 4   # void block
    assert out[2:, :2].reshape(-1, 3).tolist() == [[0, 0, 255]] * 4
    with pytest.raises(ValueError):
        figures.overlay(image, LABELS, TINY, alpha=1.5)


def test_overlay_accepts_grey_and_rgba_images():
    grey = np.full((2, 2), 100, dtype=np.uint8)
    rgba = np.dstack([GREY, np.full((2, 2), 7, dtype=np.uint8)])
    np.testing.assert_array_equal(figures.overlay(grey, LABELS, TINY, 0), GREY)
    np.testing.assert_array_equal(figures.overlay(rgba, LABELS, TINY, 0), GREY)


def test_legend_lists_names_colours_and_shares():
    text = figures.legend_html(TINY)
    for name, colour in (("road", "#ff0000"), ("car", "#00ff00"), ("sky", "#0000ff")):
        assert name in text and colour in text
    partial = figures.legend_html(TINY, class_ids=[1, 9], shares={1: 0.25, 9: 0.5})
    assert "car" in partial and "25.0%" in partial and "void" in partial and "#010203" in partial
    assert "road" not in partial
    assert "&lt;b&gt;" in figures.legend_html(LabelSchema(
        "x", (ClassInfo(0, "<b>", (0, 0, 0), "flat"),), ignore_index=1))   # names are escaped


def test_class_shares_sum_to_one_with_void_last():
    labels = np.array([[0, 0, 2, 9], [0, 2, 2, 9]], dtype=np.uint8)
    shares = figures.class_shares(labels, TINY)
    assert list(shares.columns) == ["class", "share", "pixels", "color"]
    assert shares.index.tolist() == [0, 2, 9]                 # car absent, void row at the ignore id
    assert shares["class"].tolist() == ["road", "sky", "void"]
    assert shares["pixels"].tolist() == [3, 3, 2]
    assert shares["share"].sum() == pytest.approx(1.0)
    assert shares.loc[9, "color"] == "#010203"
    assert figures.legend_html(TINY, shares.index, shares["share"].to_dict()).count("%") == 3


# --- disagreement / errors / one image's scores ----------------------------------------------------------
def test_disagreement_share_by_hand():
    a = np.array([[0, 1, 2], [2, 2, 9]])
    b = np.array([[0, 2, 2], [1, 2, 9]])
    mask, share = figures.disagreement(a, b)
    assert mask.tolist() == [[False, True, False], [True, False, False]]
    assert share == pytest.approx(2 / 6)
    with pytest.raises(ValueError):
        figures.disagreement(a, b[:, :2])


def test_disagreement_image_tints_differing_pixels_and_dims_the_rest():
    image = np.full((1, 2, 3), 200, dtype=np.uint8)
    out = figures.disagreement_image(image, np.array([[True, False]]), color=(0, 0, 0), alpha=0.5)
    assert out[0, 0].tolist() == [100, 100, 100]              # 200 * 0.5 + 0 * 0.5
    assert out[0, 1].tolist() == [100, 100, 100]              # dimmed by DIM = 0.5
    out = figures.disagreement_image(image, np.array([[True, False]]), color=(255, 0, 255), alpha=1)
    assert out[0, 0].tolist() == [255, 0, 255]


def test_error_map_colours():
    black = np.zeros((1, 4, 3), dtype=np.uint8)
    truth = np.array([[0, 1, 9, 2]])
    pred = np.array([[0, 2, 0, 2]])
    out = figures.error_map(black, truth, pred, ignore_index=9)
    a = figures.ERROR_ALPHA
    expect = lambda colour: [round(c * a) for c in colour]    # noqa: E731 - over a black image
    assert out[0, 0].tolist() == expect(figures.CORRECT_COLOR) == out[0, 3].tolist()
    assert out[0, 1].tolist() == expect(figures.WRONG_COLOR)
    assert out[0, 2].tolist() == expect(figures.IGNORED_COLOR)
    assert figures.error_map(np.full((1, 4, 3), 200, np.uint8), truth, pred, 9)[0, 0].tolist() == [
        round(100 * (1 - a) + c * a) for c in figures.CORRECT_COLOR]   # dimmed 200 -> 100, then tinted


def test_per_image_scores_hand_case():
    truth = np.array([[0, 0, 1, 1], [2, 2, 9, 9]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 0, 1]])
    scores = figures.per_image_scores(truth, pred, TINY)
    assert scores["pixel_accuracy"] == pytest.approx(4 / 6)
    assert scores["mean_iou"] == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


# --- tables ----------------------------------------------------------------------------------------------
def test_metrics_table_matches_the_json():
    table = figures.metrics_table(EVALS)
    assert table.index.tolist() == ["A", "B"]
    assert list(table.columns) == list(figures.SUMMARY_METRICS)
    for run, result in EVALS.items():
        for metric in figures.SUMMARY_METRICS:
            assert table.loc[run, metric] == round(100 * result["class_level"][metric], 1)
    assert table.loc["A", "pixel_accuracy"] == 90.0            # 18 of 20 pixels by hand
    with pytest.raises(ValueError):
        figures.metrics_table(EVALS, level="pixel_level")


def test_per_class_table_matches_the_json():
    table = figures.per_class_table(EVALS, score="iou")
    assert table.index.tolist() == ["road", "car", "sky"] and table.columns.tolist() == ["A", "B"]
    for run, result in EVALS.items():
        for name, scores in result["class_level"]["per_class"].items():
            assert table.loc[name, run] == round(100 * scores["iou"], 1)
    assert table.loc["road", "A"] == 90.0                      # 9 / (10 + 9 - 9)
    support = figures.per_class_table(EVALS, score="support")
    assert support["A"].tolist() == [10, 5, 5]
    with pytest.raises(ValueError):
        figures.per_class_table(EVALS, score="f2")


def test_per_class_table_keeps_classes_missing_from_a_run():
    other = {"class_level": summary([[1, 0], [0, 1]], names=("road", "bus"))}
    table = figures.per_class_table({**EVALS, "C": other})
    assert table.index.tolist() == ["road", "car", "sky", "bus"]
    assert np.isnan(table.loc["bus", "A"]) and np.isnan(table.loc["car", "C"])


# --- figures ---------------------------------------------------------------------------------------------
def test_iou_bars_one_trace_per_run_and_sort_orders():
    fig = figures.iou_bars(EVALS)
    assert [t.name for t in fig.data] == ["A", "B"]
    assert list(fig.data[0].x) == ["road", "car", "sky"]
    iou = figures.per_class_table(EVALS)
    assert list(fig.data[1].y) == iou["B"].tolist()
    # IoU by hand: A road 9/10, car 4/6, sky 5/6; B road 5/11, car 4/10, sky 5/5
    np.testing.assert_allclose(iou["A"], [90.0, 66.7, 83.3])
    np.testing.assert_allclose(iou["B"], [45.5, 40.0, 100.0])
    # means: road 67.7, car 53.3, sky 91.7
    assert list(figures.iou_bars(EVALS, sort="mean").data[0].x) == ["sky", "road", "car"]
    by_a = figures.iou_bars(EVALS, sort="A")
    assert list(by_a.data[0].x) == ["road", "sky", "car"]
    assert list(by_a.data[0].y) == [90.0, 83.3, 66.7]
    assert list(by_a.data[1].y) == [45.5, 100.0, 40.0]        # the other run follows the same order
    assert list(by_a.layout.xaxis.categoryarray) == ["road", "sky", "car"]
    with pytest.raises(ValueError):
        figures.iou_bars(EVALS, sort="nobody")


def test_confusion_heatmap_row_and_column_normalisation():
    counts = [[3, 1, 0], [0, 0, 0], [2, 0, 4]]              # class 1: no support and no predictions
    s = summary(counts)
    raw = figures.confusion_heatmap(s, title="t")
    heat = raw.data[0]
    assert list(heat.x) == list(heat.y) == ["road", "car", "sky"]
    assert np.asarray(heat.customdata).tolist() == counts    # counts colour on a log scale (test_evaluation_reports)
    assert heat.text[0][0] == "3" and heat.text[0][2] == ""   # empty cells carry no text
    assert raw.layout.yaxis.autorange == "reversed" and raw.layout.title.text == "t"
    assert heat.hovertext[2][0] == "truth sky / predicted road: 2 px"

    rows = np.asarray(figures.confusion_heatmap(s, normalize="row").data[0].z, dtype=float)
    sums = np.nansum(rows, axis=1)
    np.testing.assert_allclose(sums[[0, 2]], 1.0)
    assert np.isnan(rows[1]).all()                            # the empty row stays visible but blank
    np.testing.assert_allclose(rows[2], [2 / 6, np.nan, 4 / 6])     # a cell with no pixels is blank, not 0 %
    assert figures.confusion_heatmap(s, normalize="row").data[0].text[0][0] == "75%"

    cols = np.asarray(figures.confusion_heatmap(s, normalize="column").data[0].z, dtype=float)
    np.testing.assert_allclose(np.nansum(cols, axis=0)[[0, 1, 2]], [1, 1, 1])
    np.testing.assert_allclose(cols[:, 0], [3 / 5, np.nan, 2 / 5])
    with pytest.raises(ValueError):
        figures.confusion_heatmap(s, normalize="diagonal")


def test_images_for_confusion_order_and_k():
    per_image = [
        {"name": "a", "confusions": [[0, 1, 5], [2, 0, 9]], "category_confusions": [[3, 4, 1]]},
        {"name": "b", "confusions": [[0, 1, 20]], "category_confusions": []},
        {"name": "c", "confusions": [[1, 0, 50]], "category_confusions": [[3, 4, 7]]},
        {"name": "d", "confusions": [(0, 1, 12)], "category_confusions": []},
    ]
    found = figures.images_for_confusion(per_image, 0, 1)
    assert [(r["name"], r["pixels"]) for r in found] == [("b", 20), ("d", 12), ("a", 5)]
    assert "pixels" not in per_image[0]                       # records are copied, not mutated
    assert [r["name"] for r in figures.images_for_confusion(per_image, 0, 1, k=2)] == ["b", "d"]
    category = figures.images_for_confusion(per_image, 3, 4, level="category_level")
    assert [r["name"] for r in category] == ["c", "a"]
    assert figures.images_for_confusion(per_image, 2, 2) == []


def test_works_on_a_real_schema():
    labels = np.array([[0, 10, 11]], dtype=np.uint8)
    assert figures.class_shares(labels, CAMVID11)["class"].tolist() == ["Sky", "Bicyclist", "void"]
    assert isinstance(figures.metrics_table(EVALS, "category_level"), pd.DataFrame)
