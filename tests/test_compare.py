"""segcore.compare (comparing label maps and stored evaluations), and the dashboard's run default and clickable
confusion cells (app.pickers, app.confusion_clicks)."""
import numpy as np
import pandas as pd
import pytest

from app.confusion_clicks import cell_from_selection, clickable_cells
from app import pickers
from app.pickers import default_runs
from app.settings import EVAL_MIOU, EVALUATED_ON
from segcore import compare
from segcore.labels import CAMVID11, CATEGORIES, category_schema

ROAD, BUILDING, CAR, VOID = 3, 1, 8, CAMVID11.ignore_index


def photo(height=4, width=6, value=100):
    return np.full((height, width, 3), value, dtype=np.uint8)


def test_default_runs_prefers_a_unet_and_a_segnet():
    assert default_runs(["a", "my-SegNet", "b", "UNet-big", "unet-2"]) == ["UNet-big", "my-SegNet"]
    assert default_runs(["a", "unet", "b"]) == ["a", "unet"]
    assert default_runs(["only"]) == ["only"]
    assert default_runs([]) == []


def test_default_runs_are_the_best_scored_of_each_family_unscored_ones_last():
    names = ["segnet-a", "unet-a", "segnet-b", "unet-b", "unet-c"]
    scores = {"segnet-a": 54.6, "segnet-b": 61.0, "unet-a": 60.1, "unet-b": 65.1}
    assert default_runs(names, scores) == ["unet-b", "segnet-b"]
    assert default_runs(names, {"unet-c": 1.0}) == ["unet-c", "segnet-a"]     # a scored run beats unscored ones
    assert default_runs(names, {"unet-a": 50.0, "unet-b": 50.0}) == ["unet-a", "segnet-a"]   # ties: listed order


def test_evaluated_scores_rank_runs_on_the_data_set_most_runs_were_evaluated_on(monkeypatch):
    table = pd.DataFrame({"run": ["u1", "u2", "s1", "s2", "new"],
                          EVAL_MIOU: [60.0, 90.0, 55.0, 50.0, float("nan")],
                          EVALUATED_ON: ["camvid val", "sample val", "camvid val", "camvid val", None]})
    monkeypatch.setattr(pickers.loaders, "runs_overview", lambda models_dir: (table, []))
    assert pickers.evaluated_scores("models") == {"u1": 60.0, "s1": 55.0, "s2": 50.0}
    monkeypatch.setattr(pickers.loaders, "runs_overview", lambda models_dir: (table.iloc[4:], []))
    assert pickers.evaluated_scores("models") == {}
    # A final model scored on the val frames it trained on (app.settings names it so) ranks nothing.
    final = table.assign(**{EVALUATED_ON: ["camvid val (trained on it)", *table[EVALUATED_ON][1:]]})
    monkeypatch.setattr(pickers.loaders, "runs_overview", lambda models_dir: (final, []))
    assert pickers.evaluated_scores("models") == {"s1": 55.0, "s2": 50.0}
    # However many final models there are: three of them beside two runs scored on held-out val frames.
    finals = pd.DataFrame({"run": ["u1", "s1", "u-final", "s-final", "x-final"], EVAL_MIOU: [60.0, 55.0, 88, 85, 80],
                           EVALUATED_ON: ["camvid val"] * 2 + ["camvid val (trained on it)"] * 3})
    monkeypatch.setattr(pickers.loaders, "runs_overview", lambda models_dir: (finals, []))
    assert pickers.evaluated_scores("models") == {"u1": 60.0, "s1": 55.0}


def test_the_shipped_runs_open_on_the_best_evaluated_unet_and_segnet():
    from pathlib import Path
    from segcore.runs import discover_runs
    models = Path(__file__).resolve().parents[1] / "models"
    names = [run.name for run in discover_runs(models) if run.ok]
    assert default_runs(names, pickers.evaluated_scores(models)) == ["unet-camvid-full", "segnet-camvid-full"]


def test_at_level_folds_classes_onto_categories():
    labels = np.array([[ROAD, BUILDING], [CAR, VOID]], dtype=np.uint8)
    same, schema = compare.at_level(labels, CAMVID11, "class")
    assert same is labels and schema is CAMVID11
    folded, schema = compare.at_level(labels, CAMVID11, "category")
    assert schema.names == list(CATEGORIES)
    assert folded.tolist() == [[CATEGORIES.index("flat"), CATEGORIES.index("construction")],
                               [CATEGORIES.index("vehicle"), category_schema().ignore_index]]
    with pytest.raises(ValueError, match="level"):
        compare.at_level(labels, CAMVID11, "pixel")


def test_model_view_without_truth():
    labels = np.full((4, 6), ROAD, dtype=np.uint8)
    labels[:, :3] = CAR
    view = compare.model_view(photo(), labels, CAMVID11, alpha=1.0)
    assert view.overlay.shape == (4, 6, 3) and view.color.shape == (4, 6, 3)
    assert tuple(view.overlay[0, 0]) == CAMVID11.classes[CAR].color       # alpha 1: the class colour alone
    assert view.shares["share"].to_dict() == {ROAD: 0.5, CAR: 0.5}
    assert "Road 50.0%" in view.legend and "Car 50.0%" in view.legend and "Sky" not in view.legend
    assert view.scores is None and view.errors is None and view.truth is None


def test_hidden_classes_show_the_photo_in_the_overlay_only():
    labels = np.full((4, 6), ROAD, dtype=np.uint8)
    labels[:, :3] = CAR
    view = compare.model_view(photo(), labels, CAMVID11, alpha=1.0, hidden=["Road", "no such class"],
                              truth=labels)
    assert (view.overlay[:, 3:] == 100).all()                              # Road hidden: the photo
    assert tuple(view.overlay[0, 0]) == CAMVID11.classes[CAR].color
    assert tuple(view.color[0, 5]) == CAMVID11.classes[ROAD].color        # the colour mask keeps every class
    assert view.shares["share"].to_dict() == {ROAD: 0.5, CAR: 0.5} and view.scores["mean_iou"] == 1.0
    road, car = view.legend.split('<span style="display:inline-flex')[1:]      # legend items, by id
    assert "Road" in road and "line-through" in road and "Car" in car and "line-through" not in car
    folded = compare.model_view(photo(), labels, CAMVID11, level="category", alpha=1.0, hidden=["vehicle"])
    assert (folded.overlay[:, :3] == 100).all() and not (folded.overlay[:, 3:] == 100).all()


def test_model_view_scores_against_truth_at_both_levels():
    truth = np.full((4, 6), ROAD, dtype=np.uint8)
    truth[0] = VOID
    labels = np.full((4, 6), ROAD, dtype=np.uint8)
    labels[1] = 4        # Pavement: wrong class, right category (flat)
    view = compare.model_view(photo(), labels, CAMVID11, truth=truth)
    assert view.scores["pixel_accuracy"] == pytest.approx(2 / 3)          # void row not scored
    assert view.errors.shape == (4, 6, 3)
    assert tuple(view.errors[0, 0]) != tuple(view.errors[1, 0]) != tuple(view.errors[2, 0])  # void, wrong, right
    categories = compare.model_view(photo(), labels, CAMVID11, level="category", truth=truth)
    assert categories.scores == {"pixel_accuracy": 1.0, "mean_iou": 1.0}
    assert "flat 100.0%" in categories.legend and "Pavement" not in categories.legend
    assert categories.truth[0, 0] == category_schema().ignore_index


def test_scores_and_shares_tables():
    table = compare.scores_table([
        {"model": "a", "model_ms": 12.345, "total_ms": 20.0, "pixel_accuracy": 0.91234, "mean_iou": 0.5},
        {"model": "b", "model_ms": 3.0, "total_ms": 4.06, "pixel_accuracy": 0.5, "mean_iou": float("nan")}])
    assert list(table.columns) == ["model ms", "total ms", "pixel acc %", "mIoU %"]
    assert table.loc["a"].tolist() == [12.3, 20.0, 91.2, 50.0] and np.isnan(table.loc["b", "mIoU %"])
    timings_only = compare.scores_table([{"model": "a", "model_ms": 1, "total_ms": 2}])
    assert list(timings_only.columns) == ["model ms", "total ms"]

    road = np.full((2, 2), ROAD, dtype=np.uint8)
    mixed = np.array([[CAR, ROAD], [VOID, ROAD]], dtype=np.uint8)
    views = {"b": compare.model_view(photo(2, 2), mixed, CAMVID11),
             "a": compare.model_view(photo(2, 2), road, CAMVID11)}
    shares = compare.shares_table(views)
    assert list(shares.columns) == ["b", "a"]                             # the models' order, not sorted
    assert list(shares.index) == ["Road", "Car", "void"]                   # schema order, void last
    assert shares.loc["Road"].tolist() == [50.0, 100.0] and shares.loc["Car"].tolist() == [25.0, 0.0]
    assert compare.shares_table({}).empty


def test_disagreement_view():
    a = np.zeros((4, 6), dtype=np.uint8)
    b = a.copy()
    b[0, :3] = 1
    picture, share = compare.disagreement_view(photo(), a, b)
    assert share == pytest.approx(3 / 24) and picture.shape == (4, 6, 3)
    assert tuple(picture[0, 0]) != tuple(picture[3, 5])


def test_swipe_shows_left_then_right_with_a_line():
    left, right = photo(value=10), photo(value=200)
    half = compare.swipe(left, right, 0.5, line_width=2)
    assert (half[:, :2] == 10).all() and (half[:, 4:] == 200).all()
    assert (half[:, 2:4] == compare.SWIPE_LINE).all()
    assert (compare.swipe(left, right, 0.0) == right).all()               # no line at the edges
    assert (compare.swipe(left, right, 1.0) == left).all()
    assert (compare.swipe(left, right, 0.5, line_width=0)[:, :3] == 10).all()
    with pytest.raises(ValueError, match="shape"):
        compare.swipe(left, photo(5, 6), 0.5)
    with pytest.raises(ValueError, match="position"):
        compare.swipe(left, right, 1.5)


def test_evaluation_keys_and_default():
    shared, default = compare.evaluation_keys({"a": ["camvid-test", "camvid-val", "x-val"],
                                               "b": ["camvid-val", "camvid-test"]})
    assert shared == ["camvid-test", "camvid-val"] and default == "camvid-val"
    assert compare.evaluation_keys({"a": ["data-val", "data-train"], "b": ["data-train", "data-val"]}) == \
           (["data-train", "data-val"], "data-val")            # held-out frames first, not the trained-on ones
    assert compare.evaluation_keys({"a": ["data-train", "data-test"]}) == (["data-test", "data-train"], "data-test")
    assert compare.evaluation_keys({"a": ["x"], "b": []}) == ([], None)
    assert compare.evaluation_keys({}) == ([], None)


def test_largest_confusion_and_selected_cell():
    summary = {"names": ["a", "b", "c"], "confusion_matrix": [[50, 1, 7], [0, 40, 0], [3, 0, 9]]}
    assert compare.largest_confusion(summary) == (0, 2)
    assert compare.largest_confusion({"confusion_matrix": [[5, 0], [0, 5]]}) is None
    names = summary["names"]
    assert cell_from_selection([{"x": "c", "y": "b", "z": 0}], names) == (1, 2)
    assert cell_from_selection([{"x": "zzz", "y": "b"}, {"x": "a", "y": "a"}], names) == (0, 0)
    assert cell_from_selection([], names) is None and cell_from_selection(None, names) is None


def test_confusion_pixels_and_comparison_pictures():
    truth = np.array([[ROAD, ROAD], [CAR, VOID]], dtype=np.uint8)
    pred = np.array([[CAR, ROAD], [CAR, CAR]], dtype=np.uint8)
    assert compare.confusion_pixels(truth, pred, ROAD, CAR).tolist() == [[True, False], [False, False]]
    pictures = compare.comparison_pictures(photo(2, 2), truth, {"m": pred}, CAMVID11, cell=(ROAD, CAR))
    assert list(pictures) == ["image", "ground truth", "m", "m: 1 px of this confusion"]
    assert tuple(pictures["ground truth"][1, 0]) == CAMVID11.classes[CAR].color
    flat, vehicle = CATEGORIES.index("flat"), CATEGORIES.index("vehicle")
    folded = compare.comparison_pictures(photo(2, 2), truth, {"m": pred}, CAMVID11, "category", (flat, vehicle))
    assert "m: 1 px of this confusion" in folded
    assert tuple(folded["m"][0, 0]) == category_schema().classes[vehicle].color


def test_per_image_table_and_find_record():
    evaluations = {
        "a": {"per_image": [{"name": "f1", "mean_iou": 0.5, "pixel_accuracy": 0.9},
                            {"name": "f2", "mean_iou": 0.1, "pixel_accuracy": 0.4}]},
        "b": {"per_image": [{"name": "f1", "mean_iou": 0.7, "pixel_accuracy": 0.8},
                            {"name": "f3", "mean_iou": None, "pixel_accuracy": 0.2}]},
    }
    table = compare.per_image_table(evaluations)
    assert list(table.columns) == ["mean mIoU %", "a mIoU %", "a pixel acc %", "b mIoU %", "b pixel acc %"]
    assert list(table.index) == ["f2", "f1", "f3"]                         # worst first, unscored last
    assert table.loc["f1"].tolist() == [60.0, 50.0, 90.0, 70.0, 80.0]
    assert pd.isna(table.loc["f2", "b mIoU %"])
    assert compare.find_record(evaluations["b"], "f3")["pixel_accuracy"] == 0.2
    assert compare.find_record(evaluations["b"], "f2") is None


def test_frames_are_ranked_by_their_unrounded_mean():
    scores = {"x": (0.5004, 0.5004, 0.5004), "y": (0.5006, 0.5006, 0.4996)}      # y's mean is the lower
    evaluations = {run: {"per_image": [{"name": name, "mean_iou": values[k], "pixel_accuracy": 0.9}
                                       for name, values in scores.items()]} for k, run in enumerate("abc")}
    table = compare.per_image_table(evaluations)
    assert list(table.index) == ["y", "x"] and table.loc["y", "mean mIoU %"] == 50.0


def test_clickable_cells_cover_the_matrix_and_hover_like_it():
    from segcore.figures import confusion_heatmap

    summary = {"names": ["a", "b"], "confusion_matrix": [[3, 1], [0, 0]]}
    figure = clickable_cells(confusion_heatmap(summary, "row"))
    cells = figure.data[1]
    assert cells.type == "scatter" and cells.marker.opacity == 0
    assert list(zip(cells.y, cells.x)) == [("a", "a"), ("a", "b"), ("b", "a"), ("b", "b")]
    assert cells.text[1] == "truth a / predicted b: 25.0% (1 px)" and cells.text[3] == "truth b / predicted b: 0 px"
    assert list(figure.layout.yaxis.range) == [1.5, -0.5]                  # row 0 stays on top
    counts = clickable_cells(confusion_heatmap(summary))
    assert counts.data[1].text[0] == "truth a / predicted a: 3 px"
    # What a click on the marker of cell (b, a) sends back names that cell.
    assert cell_from_selection([{"x": cells.x[2], "y": cells.y[2]}], summary["names"]) == (1, 0)


def test_shared_levels_drop_the_class_level_when_one_evaluation_lacks_it():
    both = {"class_level": {}, "category_level": {}}
    category_only = {"category_level": {}}
    assert compare.shared_levels({"a": both, "b": both}) == ["class", "category"]
    assert compare.shared_levels({"a": both, "b": category_only}) == ["category"]


def test_the_runs_chosen_on_a_page_are_still_chosen_after_a_visit_to_another_page(monkeypatch):
    """Streamlit drops a widget's state when a page without it runs: the choice is kept apart from the widget."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    root = Path(__file__).resolve().parents[1]
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(root / "models"))
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(root / "data" / "sample"))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    at = AppTest.from_file(str(root / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/evaluation.py").run()
    at.multiselect(key="ev_runs").set_value(["unet-camvid"]).run()
    at.switch_page("pages/home.py").run()
    at.switch_page("pages/evaluation.py").run()
    assert not at.exception and at.multiselect(key="ev_runs").value == ["unet-camvid"]
