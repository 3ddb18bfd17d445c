"""segcore.frame_queries and segcore.frame_views: the frame browser's queries over stored evaluations, the
near-duplicate thinning, and the layers of one frame (outline, error map, class toggles, hover grid)."""
from __future__ import annotations

import json

import numpy as np
import pytest
from frames_fixtures import (BUILDING, CAR, FRAMES, ROAD, SKY, make_frames_data, make_frames_models, prediction_of,
                             truth_of)

from segcore import frame_queries as fq
from segcore import frame_views as fv
from segcore.labels import CAMVID11, category_schema


def _evaluations(models, runs=("unet-a", "segnet-b")) -> dict[str, dict]:
    return {run: json.loads(next((models / run / "eval").glob("*.json")).read_text()) for run in runs}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    data = make_frames_data(root / "data")
    return {fmt: _evaluations(make_frames_models(root / f"models{fmt}", data, fmt)) for fmt in (2, 3)}


# ------------------------------------------------------------------------------------------------ index

def test_at_category_level_the_frames_scores_are_the_category_matrices_not_the_stored_class_ones(stored):
    from segcore import compare, reports
    from segcore.metrics import ConfusionMatrix
    index = fq.build_index(stored[3], "category")
    table = compare.per_image_table(stored[3], "category")
    differs = 0
    for run, result in stored[3].items():
        for row, record in enumerate(result["per_image"]):
            matrix = index.confusions[run][row]
            expected = ConfusionMatrix(7, None, matrix[:, :-1], matrix[:, -1])
            assert index.scores.at[record["name"], ("mean_iou", run)] == pytest.approx(expected.mean_iou())
            assert index.scores.at[record["name"], ("pixel_accuracy", run)] == \
                pytest.approx(expected.pixel_accuracy())
            assert table.at[record["name"], f"{run} mIoU %"] == pytest.approx(100 * expected.mean_iou(), abs=0.05)
            differs += abs(expected.mean_iou() - record["mean_iou"]) > 1e-3
        assert index.scores[("mean_iou", run)].mean() == pytest.approx(reports.frame_mean_iou(result, "category"))
    assert differs         # the stored (class level) scores would not have passed
    partial = fq.build_index(stored[2], "category")        # format 2 keeps only each frame's largest confusions
    assert partial.scores[("mean_iou", "unet-a")].isna().all()


def test_index_holds_every_frame_with_each_runs_scores(stored):
    index = fq.build_index(stored[3], "class")
    assert index.names == FRAMES and index.runs == ["unet-a", "segnet-b"]
    assert index.class_names == CAMVID11.names and not index.any_partial
    records = {r["name"]: r for r in stored[3]["segnet-b"]["per_image"]}
    for name in FRAMES:
        assert index.scores.at[name, ("mean_iou", "segnet-b")] == pytest.approx(records[name]["mean_iou"])
        assert index.scores.at[name, ("boundary_iou", "segnet-b")] == pytest.approx(records[name]["boundary_iou"])
        assert index.scores.at[name, ("label_quality", "segnet-b")] == pytest.approx(records[name]["label_quality"])
    # Likely label errors first: the lowest label quality.
    assert fq.select_frames(index, fq.FrameQuery(sort_by="label_quality"))[0] == FRAMES[-1]
    table = fq.score_table(index, FRAMES)
    assert table["label quality % · segnet-b"].tolist() == [round(100 * records[name]["label_quality"], 2)
                                                            for name in FRAMES]
    # The full confusion adds up to the frame's scored pixels (void excluded).
    assert index.confusions["unet-a"][0].sum() == 48 * 64 - 4


def test_a_class_predicted_wholly_void_is_still_present_and_missed():
    """A prediction folder that left every car pixel of a frame without a class: the frame still holds a car (its
    truth rows count the void-predicted pixels) and the run missed it."""
    from segcore.evaluate import _frame_scores
    from segcore.metrics import ConfusionMatrix
    truth = np.full((4, 6), ROAD, np.uint8)
    truth[1:3, 1:4] = CAR
    pred = np.where(truth == CAR, CAMVID11.ignore_index, ROAD).astype(np.uint8)
    frame = ConfusionMatrix(11, CAMVID11.ignore_index).update(truth, pred)
    record = {"name": "f000", **_frame_scores(frame, CAMVID11)}
    summary = frame.summary(CAMVID11.names)
    evaluation = {"class_level": summary, "category_level": summary, "per_image": [record]}
    index = fq.build_index({"void-tool": evaluation}, "class")
    assert fq.present_mask(index, CAR).tolist() == [True] and fq.missed_mask(index, CAR, "void-tool").tolist() == [True]
    assert index.confusions["void-tool"][0, CAR].tolist()[-1] == 6 and fq.confusion_pixels(index, CAR, ROAD,
                                                                                           "void-tool").tolist() == [0]
    assert index.predicted_names == [*CAMVID11.names, "(no class)"]
    assert fq.select_frames(index, fq.FrameQuery(confusion=(CAR, 11), min_pixels=6)) == ["f000"]
    assert fq.select_frames(index, fq.FrameQuery(confusion=(CAR, 11), min_pixels=7)) == []
    table = fq.score_table(index, ["f000"], fq.FrameQuery(confusion=(CAR, 11)))
    assert table["Car→(no class) px · void-tool"].tolist() == [6]


def test_format_2_index_is_partial_and_has_no_boundary_scores(stored):
    index = fq.build_index(stored[2], "class")
    assert index.partial == {"unet-a": True, "segnet-b": True}
    assert index.scores["boundary_iou"].isna().all().all() and index.scores["label_quality"].isna().all().all()
    assert not any(column.startswith(("boundary", "label")) for column in fq.score_table(index, index.names).columns)


def test_a_stored_score_that_is_no_number_reads_as_missing(stored):
    edited = json.loads(json.dumps(stored[3]["segnet-b"]))
    edited["per_image"][0]["label_quality"] = "high"
    edited["per_image"][1]["mean_iou"] = [0.5]
    index = fq.build_index({"segnet-b": edited}, "class")
    assert np.isnan(index.scores.at[FRAMES[0], ("label_quality", "segnet-b")])
    assert np.isnan(index.scores.at[FRAMES[1], ("mean_iou", "segnet-b")])
    assert fq.select_frames(index, fq.FrameQuery(sort_by="label_quality"))[-1] == FRAMES[0]    # missing: last


def test_runs_with_different_classes_are_refused_at_class_level(stored):
    other = json.loads(json.dumps(stored[3]["segnet-b"]))
    other["class_level"]["names"] = [n.upper() for n in other["class_level"]["names"]]
    with pytest.raises(ValueError, match="name their classes differently"):
        fq.build_index({"unet-a": stored[3]["unet-a"], "other": other}, "class")
    assert fq.build_index({"unet-a": stored[3]["unet-a"], "other": other}, "category").class_names[0] == "flat"


# ------------------------------------------------------------------------------------------------ filters

def test_confusion_filter_finds_frames_outside_the_top_8_with_full_matrices(stored):
    query = fq.FrameQuery(confusion=(BUILDING, SKY), model="unet-a", sort_by="name")
    full = fq.select_frames(fq.build_index(stored[3], "class"), query)
    assert full == [name for i, name in enumerate(FRAMES) if i % 4 == 0]
    # Format 2 holds the 8 largest confusions only: this 1-px confusion is not among them.
    assert fq.select_frames(fq.build_index(stored[2], "class"), query) == []


def test_confusion_filter_needs_at_least_n_pixels(stored):
    index = fq.build_index(stored[3], "class")
    road_as_building = fq.confusion_pixels(index, ROAD, BUILDING, "segnet-b")
    expected = [int(((truth_of(i) == ROAD) & (prediction_of(1, i, truth_of(i)) == BUILDING)).sum())
                for i in range(len(FRAMES))]
    assert list(road_as_building) == expected and len(set(expected)) > 5
    query = fq.FrameQuery(confusion=(ROAD, BUILDING), min_pixels=60, sort_by=fq.CONFUSED, ascending=False)
    found = fq.select_frames(index, query)
    assert found == sorted((n for n, px in zip(FRAMES, expected) if px >= 60),
                           key=lambda n: -expected[FRAMES.index(n)])     # most pixels first
    assert 0 < len(found) < len(FRAMES)


def test_present_and_missed_classes(stored):
    index = fq.build_index(stored[3], "class")
    with_car = [name for i, name in enumerate(FRAMES) if i % 3 == 0]
    assert fq.select_frames(index, fq.FrameQuery(present=CAR, sort_by="name")) == with_car
    # unet-a never finds the car; segnet-b always does.
    assert fq.select_frames(index, fq.FrameQuery(missed=CAR, model="unet-a", sort_by="name")) == with_car
    assert fq.select_frames(index, fq.FrameQuery(missed=CAR, model="segnet-b")) == []
    assert fq.select_frames(index, fq.FrameQuery(missed=CAR, sort_by="name")) == with_car     # any run


def test_a_format_2_index_never_calls_a_class_missed(stored):
    index = fq.build_index(stored[2], "class")        # no diagonal stored: every listed class would look missed
    for run in index.runs:
        assert not fq.missed_mask(index, CAR, run).any() and not fq.missed_mask(index, ROAD, run).any()


def tiny_index(confused: dict[str, list[int]], miou=0.5) -> fq.FrameIndex:
    """Two classes, frames "a" and "b", and per run the pixels of truth 0 predicted as 1 in each frame."""
    import pandas as pd
    runs = list(confused)
    confusions = {}
    for run, pixels in confused.items():
        matrix = np.zeros((len(pixels), 2, 3), dtype=np.int64)
        matrix[:, 0, 0], matrix[:, 0, 1] = 100, pixels
        confusions[run] = matrix
    scores = pd.DataFrame({(metric, run): [miou] * 2 for metric in fq.METRICS for run in runs}, index=["a", "b"])
    scores.columns = pd.MultiIndex.from_tuples(scores.columns, names=["metric", "run"])
    return fq.FrameIndex("class", ["x", "y"], ["a", "b"], runs, scores, confusions, {run: False for run in runs})


def test_sorting_by_the_confused_pixels_of_the_mean_of_the_runs_uses_their_mean():
    index = tiny_index({"r1": [88, 72], "r2": [0, 52]})             # means 44 and 62; largest run 88 and 72
    order = fq.select_frames(index, fq.FrameQuery(confusion=(0, 1), sort_by=fq.CONFUSED, ascending=False))
    assert order == ["b", "a"]


def test_a_caption_rounds_as_the_table_does():
    index = tiny_index({"r": [0, 0]}, miou=0.7555)
    assert fq.frame_label(index, "a") == "a · r 75.6"


def test_miou_range_and_sorting(stored):
    index = fq.build_index(stored[3], "class")
    miou = index.scores[("mean_iou", "segnet-b")]
    worst_first = fq.select_frames(index, fq.FrameQuery(sort_by="mean_iou", sort_run="segnet-b"))
    assert list(miou[worst_first]) == sorted(miou)
    best_first = fq.select_frames(index, fq.FrameQuery(sort_by="mean_iou", sort_run="segnet-b", ascending=False))
    assert best_first == worst_first[::-1] or list(miou[best_first]) == sorted(miou, reverse=True)
    low, high = float(miou.quantile(0.25)), float(miou.quantile(0.75))
    inside = fq.select_frames(index, fq.FrameQuery(miou_range=(low, high), model="segnet-b", sort_by="name"))
    assert inside and all(low <= miou[name] <= high for name in inside)
    assert set(inside) == {name for name in FRAMES if low <= miou[name] <= high}


def test_frames_sort_by_their_stored_distance_to_the_training_frames_shown_once(stored):
    import copy
    evaluations = copy.deepcopy(stored[3])
    distance = {name: (7 * number) % 5 + number / 100 for number, name in enumerate(FRAMES)}
    for result in evaluations.values():
        for record in result["per_image"]:
            record["train_distance"] = distance[record["name"]]
    index = fq.build_index(evaluations, "class")
    least_alike_first = fq.select_frames(index, fq.FrameQuery(sort_by="train_distance", ascending=False))
    assert least_alike_first == sorted(FRAMES, key=distance.get, reverse=True)
    table = fq.score_table(index, least_alike_first)
    assert list(table["distance to train"]) == [round(distance[name], 3) for name in least_alike_first]
    assert sum("distance" in column for column in table.columns) == 1
    assert "distance to train" not in fq.score_table(fq.build_index(stored[3], "class"), FRAMES).columns


def test_category_level_uses_the_stored_category_matrix(stored):
    index = fq.build_index(stored[3], "category")
    assert index.class_names == list(category_schema().names)
    construction, sky = index.class_id("construction"), index.class_id("sky")
    found = fq.select_frames(index, fq.FrameQuery(confusion=(construction, sky), model="unet-a", sort_by="name"))
    assert found == [name for i, name in enumerate(FRAMES) if i % 4 == 0]


def test_bad_query_ids_are_one_line_errors(stored):
    index = fq.build_index(stored[3], "class")
    with pytest.raises(ValueError, match="class id 42"):
        fq.select_frames(index, fq.FrameQuery(present=42))
    with pytest.raises(ValueError, match="needs a confusion filter"):
        fq.select_frames(index, fq.FrameQuery(sort_by=fq.CONFUSED))


def test_a_hand_edited_confusion_is_a_clear_error():
    with pytest.raises(ValueError, match="^x: confusion cell .* evaluate the run again with --overwrite$"):
        fq.record_confusion({"name": "x", "confusions": [], "confusion": [[0, "sky", 3]]}, "class", 11)


# ------------------------------------------------------------------------------------------------ sequences

@pytest.mark.parametrize("name, expected", [
    ("0016E5_07959", ("0016E5", 7959)), ("frankfurt_000000_000294", ("frankfurt_000000", 294)),
    ("f012", ("f", 12)), ("seqA_00003", ("seqA", 3)), ("photo", ("photo", None)), ("scene_x", ("scene", None))])
def test_sequence_of_a_file_name(name, expected):
    assert fq.sequence_of(name) == expected


def test_one_frame_per_k_consecutive_frames():
    names = [f"a_{n:03d}" for n in range(10)] + [f"b_{n:03d}" for n in range(3)] + ["lonely"]
    ranked = ["a_004", "a_005", "a_003", "b_001", "a_009", "a_006", "b_000", "lonely", "a_000", "b_002"]
    assert fq.thin_sequences(ranked, names, 1) == ranked
    assert fq.thin_sequences(ranked, names, 3) == ["a_004", "b_001", "a_009", "lonely", "a_000"]
    # Positions count evaluated frames, not raw numbers: frames 30 apart are neighbours if nothing lies between.
    sparse = ["s_000030", "s_000060", "s_000090"]
    assert fq.thin_sequences(sparse, sparse, 2) == ["s_000030", "s_000090"]


def test_duplicates_option_in_a_query(stored):
    index = fq.build_index(stored[3], "class")
    everything = fq.select_frames(index, fq.FrameQuery(sort_by="mean_iou", sort_run="segnet-b"))
    thinned = fq.select_frames(index, fq.FrameQuery(sort_by="mean_iou", sort_run="segnet-b", one_per=4))
    assert thinned[0] == everything[0] and len(thinned) < len(everything)
    positions = fq.sequence_positions(index.names)
    for i, first in enumerate(thinned):
        for second in thinned[i + 1:]:
            (seq_a, pos_a), (seq_b, pos_b) = positions[first], positions[second]
            assert seq_a != seq_b or abs(pos_a - pos_b) >= 4


# ------------------------------------------------------------------------------------------------ frame views

def _stripes() -> np.ndarray:
    labels = np.zeros((6, 8), np.uint8)        # Sky on top
    labels[3:] = BUILDING
    return labels


def test_outline_draws_class_contours_and_leaves_the_rest_of_the_photo():
    image = np.full((6, 8, 3), 128, np.uint8)  # a grey photo: a Sky fill would be invisible on it
    out = fv.outline(image, _stripes(), CAMVID11, width=1)
    assert (out[2] == CAMVID11.colors[SKY]).all() and (out[3] == CAMVID11.colors[BUILDING]).all()
    assert (out[[0, 1, 4, 5]] == 128).all()
    assert fv.contours(_stripes(), 2)[1:5].all() and not fv.contours(_stripes(), 2)[[0, 5]].any()


def test_fill_and_outline_show_only_the_chosen_classes():
    image = np.full((6, 8, 3), 50, np.uint8)
    fill = fv.label_layer(image, _stripes(), CAMVID11, "fill", classes=[BUILDING])
    assert (fill[:3] == 50).all() and (fill[3:] != 50).any()
    outlined = fv.label_layer(image, _stripes(), CAMVID11, "outline", classes=[BUILDING])
    assert (outlined[3] == CAMVID11.colors[BUILDING]).all() and (outlined[:2] == 50).all()
    with pytest.raises(ValueError, match="mode must be one of"):
        fv.label_layer(image, _stripes(), CAMVID11, "glow")


def test_error_layer_tints_right_wrong_and_void_and_respects_class_toggles():
    image = np.full((6, 8, 3), 200, np.uint8)
    truth = _stripes()
    truth[0, 0] = CAMVID11.ignore_index
    pred = _stripes()
    pred[5, 7] = ROAD                            # one building pixel wrong
    errors = fv.error_layer(image, truth, pred, CAMVID11)
    red, green, grey = errors[5, 7], errors[4, 0], errors[0, 0]
    assert red[0] > red[1] and green[1] > green[0] and grey[0] == grey[1] == grey[2]
    only_sky = fv.error_layer(image, truth, pred, CAMVID11, classes=[SKY])
    assert (only_sky[5, 7] == 100).all()         # neither truth nor prediction is Sky: dimmed, not tinted
    assert (only_sky[1, 1] == errors[1, 1]).all()


def test_doubt_layer_marks_the_doubted_pixels_on_the_dimmed_photo_at_its_size():
    image = np.full((12, 16, 3), 200, np.uint8)
    doubts = np.zeros((6, 8), bool)
    doubts[2, 3] = True                          # stored at the label's size: half the photo's here
    layer = fv.doubt_layer(image, doubts)
    assert layer.shape == image.shape and (layer[4:6, 6:8] == fv.DOUBT_COLOUR).all()
    assert (layer[0, 0] == 100).all() and np.count_nonzero((layer == fv.DOUBT_COLOUR).all(axis=-1)) == 4


def test_hover_grid_names_the_class_of_every_layer():
    truth = _stripes()
    pred = np.full((6, 8), ROAD, np.uint8)
    pred[0, 0] = CAMVID11.ignore_index
    grid = fv.hover_grid({"truth": truth, "unet": pred}, CAMVID11, (12, 16), side=8)
    assert grid.shape == (6, 8, 2)
    assert grid[0, 1].tolist() == ["Sky", "Road"] and grid[5, 3].tolist() == ["Building", "Road"]
    assert grid[0, 0, 1] == "void"
    figure = fv.hover_figure(np.zeros((12, 16, 3), np.uint8), {"truth": truth, "unet": pred}, CAMVID11, side=8)
    heatmap = figure.data[1]
    assert np.asarray(heatmap.customdata).shape == (6, 8, 2)
    assert "truth: %{customdata[0]}" in heatmap.hovertemplate and "unet: %{customdata[1]}" in heatmap.hovertemplate


def test_hover_grid_stays_coarse_for_a_large_frame():
    big = np.zeros((720, 960), np.uint8)
    assert fv.hover_grid({"truth": big}, CAMVID11, big.shape).shape == (90, 120, 1)


def test_interactive_views_get_a_bounded_picture():
    big = np.zeros((1024, 2048, 3), np.uint8)
    assert fv.fit(big).shape == (640, 1280, 3) and fv.fit(big[:100, :200]).shape == (100, 200, 3)
    figure = fv.hover_figure(big, {"truth": np.zeros((1024, 2048), np.uint8)}, CAMVID11)
    assert figure.layout.xaxis.range == (-0.5, 1279.5)


def test_read_label_map_refuses_an_rgb_png(tmp_path):
    from conftest import save_png
    from segcore.imageio import ImageError

    save_png(tmp_path / "ok.png", _stripes(), "L")
    assert (fv.read_label_map(tmp_path / "ok.png") == _stripes()).all()
    save_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ImageError, match="not one channel"):
        fv.read_label_map(tmp_path / "rgb.png")
    (tmp_path / "junk.png").write_bytes(b"not a png")
    with pytest.raises(ImageError, match="can't be read"):
        fv.read_label_map(tmp_path / "junk.png")
