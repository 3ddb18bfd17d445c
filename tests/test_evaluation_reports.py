"""The Evaluation page's computations in segcore: the per-class report against hand-computed numbers, the
evaluation-wide extras (boundary IoU, calibration), readable confusion heatmaps (log colour scale, outlined cell,
size from the class count), the reliability diagram, and the frames behind a confusion from full matrices."""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest

from segcore import compare, figures, reports
from segcore.calibration import CONFIDENCE_UNITS
from segcore.exports import csv_bytes

# Rows truth, columns prediction. a: TP 8 of 10 true, 9 predicted; b: TP 5 of 10 true, 7 predicted; c: never true,
# 4 predicted.
COUNTS = [[8, 2, 0],
          [1, 5, 4],
          [0, 0, 0]]


def summary(counts=COUNTS, names=("a", "b", "c"), boundary=None) -> dict:
    out = {"names": list(names), "confusion_matrix": [list(row) for row in counts], "per_class": {},
           "mean_iou": 0.5}
    if boundary is not None:
        out["boundary"] = {"intersection": boundary[0], "union": boundary[1], "width_px": 2}
    return out


def calibration(count, confidence_sum, correct) -> dict:
    return {"bins": len(count), "count": count, "confidence_sum": confidence_sum, "correct": correct}


# ------------------------------------------------------------------------------------------------ report

def test_class_scores_match_hand_computed_numbers():
    table = reports.class_scores(summary(boundary=([3, 1, 0], [4, 4, 0])))
    assert list(table.index) == ["a", "b", "c"]
    expected = {"a": [100 * 8 / 11, 75.0, 100 * 8 / 9, 80.0, 100 * 16 / 19, 10],
                "b": [100 * 5 / 12, 25.0, 100 * 5 / 7, 50.0, 100 * 10 / 17, 10]}
    for name, (iou, boundary, precision, recall, dice, support) in expected.items():
        row = table.loc[name]
        assert row["iou"] == pytest.approx(iou, abs=0.051) and row["boundary_iou"] == pytest.approx(boundary)
        assert row["precision"] == pytest.approx(precision, abs=0.051)
        assert row["recall"] == pytest.approx(recall, abs=0.051) and row["dice"] == pytest.approx(dice, abs=0.051)
        assert row["support"] == support
    c = table.loc["c"]
    assert c["iou"] == 0.0 and c["precision"] == 0.0 and c["dice"] == 0.0 and c["support"] == 0
    assert math.isnan(c["recall"]) and math.isnan(c["boundary_iou"])      # no true pixel, no band


def test_class_report_puts_runs_side_by_side_and_leaves_out_unstored_boundaries():
    evaluations = {"A": {"class_level": summary(boundary=([3, 1, 0], [4, 4, 0]))},
                   "B": {"class_level": summary([[9, 1, 0], [0, 10, 0], [0, 0, 0]])}}
    report = reports.class_report(evaluations, "class")
    assert list(report.columns[:4]) == ["IoU % · A", "IoU % · B", "boundary IoU % · A", "boundary IoU % · B"]
    assert list(report.columns[-2:]) == ["support px · A", "support px · B"]
    assert report.loc["b", "IoU % · B"] == pytest.approx(100 * 10 / 11, abs=0.051)
    assert report.loc["a", "recall % · B"] == 90.0
    assert report["boundary IoU % · B"].isna().all()                     # B stored no bands (format 2)
    assert report.loc["a", "support px · A"] == 10 and str(report["support px · A"].dtype) == "Int64"

    plain = reports.class_report({"B": evaluations["B"]})
    assert not any("boundary" in column for column in plain.columns)    # nobody stored any: no empty column
    with pytest.raises(ValueError):
        reports.class_report(evaluations, "pixel")


def test_class_report_keeps_classes_a_run_lacks():
    other = summary([[4, 0], [0, 4]], names=("a", "d"))
    report = reports.class_report({"A": {"category_level": summary()}, "B": {"category_level": other}}, "category")
    assert list(report.index) == ["a", "b", "c", "d"]
    assert pd.isna(report.loc["d", "IoU % · A"]) and report.loc["d", "IoU % · B"] == 100.0
    assert pd.isna(report.loc["b", "support px · B"])


def test_report_csv_is_the_table_with_formulas_defused():
    report = reports.class_report({"A": {"class_level": summary(names=("=cmd()", "b", "c"))}})
    frame = pd.read_csv(io.BytesIO(csv_bytes(reports.report_csv_frame(report))))
    assert list(frame.columns[:2]) == ["class", "IoU % · A"]
    assert frame["class"].tolist() == ["'=cmd()", "b", "c"]               # a class name can't run as a formula
    assert frame["IoU % · A"].tolist()[:2] == pytest.approx([72.7, 41.7])
    assert frame["support px · A"].tolist() == [10, 10, 0]


# ------------------------------------------------------------------------------------------------ extras

def test_extras_table_and_the_lines_for_what_is_not_stored():
    cal = calibration([0, 2, 8], [0.0, 1.0, 7.2], [0, 1, 7])     # bins: 2 px at 0.5 (1 right), 8 px at 0.9 (7 right)
    new = {"format": 3, "class_level": summary(boundary=([3, 1, 0], [4, 4, 0])), "calibration": cal}
    old = {"format": 2, "class_level": summary()}
    folder = {"format": 3, "class_level": summary(boundary=([1, 1, 0], [2, 2, 0]))}     # predictions: no scores
    table = reports.extras_table({"new": new, "old": old, "folder": folder})
    assert table.loc["new", "mean_iou"] == 50.0 and table.loc["new", "mean_boundary_iou"] == 50.0
    # ECE = 2/10 * |0.5 - 0.5| + 8/10 * |0.875 - 0.9| = 0.02
    assert table.loc["new", "ece"] == pytest.approx(2.0)
    assert table.loc["old"].isna().tolist() == [False, True, True, True, True, True]
    assert table["mean_instance_iou"].isna().all()            # no Cityscapes instance files: no iIoU
    assert pd.isna(table.loc["folder", "ece"])

    lines = reports.missing_extras({"new": new, "old": old, "folder": folder})
    assert len(lines) == 3
    assert lines[0].startswith("Boundary IoU is not stored for old:") and "--overwrite" in lines[0]
    assert "Calibration is not stored for old (evaluation format 2" in lines[1] and "--overwrite" in lines[1]
    assert lines[2] == "Calibration is not stored for folder (a prediction folder gives no class scores)."
    assert reports.missing_extras({"new": new}) == []


def test_calibration_is_shown_only_at_the_level_it_was_measured_at():
    cal = calibration([0, 2, 8], [0.0, 1.0, 7.2], [0, 1, 7])
    same_schema = {"format": 3, "class_level": summary(), "category_level": summary(), "calibration": cal}
    other_schema = {"format": 3, "category_level": summary(), "calibration": cal}   # scored on categories only
    evaluations = {"same": same_schema, "other": other_schema}
    at_categories = reports.extras_table(evaluations, "category")
    assert pd.isna(at_categories.loc["same", "ece"]) and at_categories.loc["other", "ece"] == pytest.approx(2.0)
    assert reports.extras_table({"same": same_schema}, "class").loc["same", "ece"] == pytest.approx(2.0)
    assert reports.extras_table({"same": same_schema}, "class_level").loc["same", "ece"] == pytest.approx(2.0)
    assert reports.missing_extras(evaluations, "category")[-1] == (
        "Calibration is not stored for same (it was measured on the classes: see it at class level, offered where "
        "every run chosen predicts the same classes).")


def test_the_mean_of_frames_weighs_every_frame_the_same_whatever_its_pixels():
    # A large frame all right (class a) and a small one all wrong (b called a). Pooled: IoU a = 100/104, b = 0, so
    # mIoU 48.1 %; per frame: 1.0 (only a present) and 0.0 (a and b present, both 0), so their mean is 50 %.
    frames = [{"name": "large", "confusion": [[0, 0, 100]], "confusions": []},
              {"name": "small", "confusion": [[1, 0, 4]], "confusions": [[1, 0, 4]]}]
    result = {"format": 3, "class_level": summary([[100, 0, 0], [4, 0, 0], [0, 0, 0]]), "per_image": frames}
    assert reports.frame_mean_iou(result) == pytest.approx(0.5)
    assert reports.extras_table({"run": result}).loc["run", "frame_mean_miou"] == 50.0
    partial = {**result, "per_image": [{"name": "old", "confusions": [[1, 0, 4]]}]}     # format 2: top cells only
    assert reports.frame_mean_iou(partial) is None and reports.frame_mean_iou({"class_level": summary()}) is None
    assert reports.frame_mean_iou(result, "category") is None                          # no category level stored


def test_reliability_diagram_draws_the_stored_bins():
    cal = calibration([0, 2, 8], [0.0, 1.0, 7.2], [0, 1, 7])
    figure = figures.reliability_diagram(cal, "m")
    diagonal, bars, means = figure.data
    assert list(diagonal.x) == [0, 1] and list(diagonal.y) == [0, 1]
    assert list(bars.y) == [0.5, 0.875]                                   # accuracy of the two non-empty bins
    assert list(bars.x) == pytest.approx([0.5, 5 / 6]) and list(bars.width) == pytest.approx([1 / 3, 1 / 3])
    assert list(means.x) == pytest.approx([0.5, 0.9], abs=1 / CONFIDENCE_UNITS)
    assert figure.layout.title.text == "m: ECE 2.0%"
    assert len(figures.reliability_diagram(calibration([0, 0], [0.0, 0.0], [0, 0]), "e").data) == 1


# ------------------------------------------------------------------------------------------------ heatmap

def test_counts_are_coloured_on_a_log_scale_with_ticks_in_pixels():
    counts = [[120_000, 7, 0], [1, 3000, 40], [0, 0, 0]]
    heat = figures.confusion_heatmap(summary(counts)).data[0]
    z = np.asarray(heat.z, dtype=float)
    np.testing.assert_allclose(z[0, :2], [math.log10(120_000), math.log10(7)])
    assert z[1, 0] == 0.0 and np.isnan(z[0, 2]) and np.isnan(z[2]).all()      # 1 px has colour; 0 px is blank
    assert (heat.zmin, heat.zmax) == (0, 6)
    assert list(heat.colorbar.tickvals) == [0, 1, 2, 3, 4, 5, 6]
    assert list(heat.colorbar.ticktext) == ["1", "10", "100", "1k", "10k", "100k", "1M"]
    assert heat.colorbar.title.text == "pixels"
    assert heat.text[0][0] == "120k" and heat.text[0][1] == "7" and heat.text[0][2] == ""   # cells in pixels too
    assert heat.hovertext[0][1] == "truth a / predicted b: 7 px"
    assert np.asarray(heat.customdata).tolist() == counts
    # A 1-pixel confusion sits at the bottom of the scale, whose colour is not the blank background.
    assert heat.colorscale[0][1] != "#ffffff" and figures.confusion_heatmap(summary()).layout.plot_bgcolor == "white"


def test_row_and_column_shares_are_normalised_with_labels_in_percent():
    counts = [[3, 1, 0], [0, 0, 0], [2, 0, 4]]
    rows = figures.confusion_heatmap(summary(counts), "row").data[0]
    z = np.asarray(rows.z, dtype=float)
    np.testing.assert_allclose(z[0, :2], [0.75, 0.25])
    np.testing.assert_allclose(z[2, [0, 2]], [2 / 6, 4 / 6])
    assert np.isnan(z[1]).all() and np.isnan(z[0, 2])                     # empty row, empty cell: blank
    assert (rows.zmin, rows.zmax) == (0, 1) and rows.colorbar.tickformat == ".0%"
    assert rows.text[0][0] == "75%" and rows.text[2][0] == "33%" and rows.text[0][2] == ""
    assert rows.hovertext[0][1] == "truth a / predicted b: 25.0% (1 px)"
    columns = figures.confusion_heatmap(summary(counts), "column").data[0]
    np.testing.assert_allclose(np.asarray(columns.z, dtype=float)[[0, 2], 0], [0.6, 0.4])
    assert figures.confusion_heatmap(summary([[9999, 1], [0, 5]], ("a", "b")), "row").data[0].text[0][1] == "<0.1%"
    with pytest.raises(ValueError):
        figures.confusion_heatmap(summary(counts), "diagonal")


def test_the_selected_cell_is_outlined():
    figure = figures.confusion_heatmap(summary(), selected=(1, 2))
    (shape,) = figure.layout.shapes
    assert shape.type == "rect" and (shape.xref, shape.yref) == ("x", "y")
    assert (shape.x0, shape.x1, shape.y0, shape.y1) == (1.5, 2.5, 0.5, 1.5)   # column 2 (predicted), row 1 (truth)
    assert shape.line.width >= 3 and shape.layer == "above"
    assert not figures.confusion_heatmap(summary()).layout.shapes
    assert not figures.confusion_heatmap(summary(), selected=(7, 0)).layout.shapes     # another level's ids


@pytest.mark.parametrize("classes, cell", [(7, 64), (11, 54), (19, 36)])
def test_matrix_size_follows_the_class_count(classes, cell):
    names = [f"class{i:02d}" for i in range(classes)]
    figure = figures.confusion_heatmap(summary(np.eye(classes, dtype=int).tolist(), names))
    size = figures.confusion_size(classes, names)
    assert size["cell"] == cell
    margin = figure.layout.margin
    assert figure.layout.width - margin.l - margin.r == classes * cell          # square cells, readable at 19
    assert figure.layout.height - margin.t - margin.b == classes * cell
    assert figure.layout.width >= 600


def test_clickable_cells_hover_like_the_heatmap_and_cover_its_cells():
    from app.confusion_clicks import clickable_cells

    figure = clickable_cells(figures.confusion_heatmap(summary(), "row"))
    cells = figure.data[1]
    assert list(zip(cells.y, cells.x))[:2] == [("a", "a"), ("a", "b")]
    assert cells.text[1] == "truth a / predicted b: 20.0% (2 px)"
    assert cells.marker.size == figures.confusion_size(3, ["a", "b", "c"])["cell"] - 2


# ------------------------------------------------------------------------------------------------ frames

def test_frames_behind_a_confusion_come_from_full_matrices():
    # Frame "small" has 1 px of a -> b, outside its 8 largest confusions in format 2 (which lists none here).
    full = {"class_level": summary(), "per_image": [
        {"name": "small", "confusion": [[0, 0, 50], [0, 1, 1]], "category_confusion": [], "confusions": []},
        {"name": "big", "confusion": [[0, 1, 9], [1, 1, 3]], "category_confusion": [], "confusions": [[0, 1, 9]]}]}
    found, partial = compare.frames_for_confusion(full, "class", 0, 1)
    assert [(r["name"], r["pixels"]) for r in found] == [("big", 9), ("small", 1)] and not partial
    diagonal, _ = compare.frames_for_confusion(full, "class", 0, 0)
    assert [(r["name"], r["pixels"]) for r in diagonal] == [("small", 50)]

    old = {"class_level": summary(), "per_image": [{"name": "small", "confusions": []},
                                                   {"name": "big", "confusions": [[0, 1, 9]]}]}
    found, partial = compare.frames_for_confusion(old, "class", 0, 1)
    assert [r["name"] for r in found] == ["big"] and partial


def test_the_coverage_curve_keeps_the_pixels_above_each_bin_edge():
    from segcore import figures
    from segcore.calibration import coverage_curve
    cal = calibration([0, 2, 8], [0.0, 1.0, 7.2], [0, 1, 7])     # 3 bins: 2 px at 0.5 (1 right), 8 px at 0.9 (7 right)
    rows = coverage_curve(cal)
    assert [row["threshold"] for row in rows] == pytest.approx([0, 1 / 3, 2 / 3])
    assert [row["coverage"] for row in rows] == pytest.approx([1.0, 1.0, 0.8])          # all 10; all 10; the 8
    assert [row["accuracy"] for row in rows] == pytest.approx([0.8, 0.8, 7 / 8])
    assert coverage_curve(calibration([0, 0, 0], [0, 0, 0], [0, 0, 0])) is None        # no pixel: no curve
    figure = figures.coverage_curves({"new": cal, "none": None})
    assert [trace.name for trace in figure.data] == ["new"] and list(figure.data[0].x) == pytest.approx([1, 1, 0.8])
