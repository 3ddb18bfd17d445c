"""Evaluation format 3: per-frame full confusions, stored predicted label maps and thumbnails, boundary IoU and
calibration counts that add exactly across shards, prediction-folder runs with missing frames, and the pure
readers (format 2 files still load)."""
from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import eval_records, evaluations, frames, runs
from segcore.backends import MissingPrediction
from segcore.boundary import boundary_counts, boundary_width, mask_boundary
from segcore.calibration import CalibrationCounts, calibration_counts, read_calibration
from segcore.datasets import list_pairs
from segcore.evaluate import evaluate_run, format_evaluation, merge_evaluations
from segcore.imageio import read_pair
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix, expected_calibration_error, reliability_curve
from segcore.predict import Prediction, Predictor
from test_eval_categories import make_cityscapes_like
from test_eval_shards import TIMING, camvid_run, evaluate  # noqa: F401 - shared fixture and helpers

ROOT = Path(__file__).resolve().parents[1]


def without_timing(result: dict) -> dict:
    return {key: value for key, value in result.items() if key not in TIMING}


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


# ------------------------------------------------------------------------------------------------ boundary IoU

def reference_mask_to_boundary(mask: np.ndarray, width: int) -> np.ndarray:
    """Cheng et al.'s reference (boundary_iou_api): pad by one zero pixel, erode `width` times by 3x3."""
    height, wide = mask.shape
    padded = cv2.copyMakeBorder(mask.astype(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    eroded = cv2.erode(padded, np.ones((3, 3), np.uint8), iterations=width)[1:height + 1, 1:wide + 1]
    return (mask.astype(np.uint8) - eroded).astype(bool)


@pytest.mark.parametrize("width", [1, 2, 5])
def test_band_equals_the_reference_code(width):
    rng = np.random.default_rng(width)
    for _ in range(5):
        mask = rng.random((40, 56)) < 0.5
        mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
        assert np.array_equal(mask_boundary(mask, width), reference_mask_to_boundary(mask, width))


def test_boundary_iou_of_a_shifted_square_by_hand():
    # 8x8 frame: class 1 is a 4x4 square (rows 2-5, cols 2-5) in class 0; the prediction is shifted one column
    # right; pixel (0, 0) is void. d = 1.
    truth = np.zeros((8, 8), np.uint8)
    truth[2:6, 2:6] = 1
    truth[0, 0] = CAMVID11.ignore_index
    pred = np.zeros((8, 8), np.uint8)
    pred[2:6, 3:7] = 1
    intersection, union = boundary_counts(truth, pred, 11, CAMVID11.ignore_index, width=1)
    # Class 1: each band is the square's 12-pixel ring; the rings share rows 2 and 5 at cols 3-5 (6 pixels).
    assert (intersection[1], union[1]) == (6, 18)
    # Class 0: both bands hold the image-edge ring (28) plus the ring around their square (20 for the truth, 14
    # more for the prediction, col 7 already being edge); those rings share rows 1 and 6 at cols 2-6 (10).
    # So 38 / 52, minus the void pixel (0, 0), which lies in both bands.
    assert (intersection[0], union[0]) == (37, 51)
    assert intersection[2:].sum() == union[2:].sum() == 0


def test_boundary_width_is_two_percent_of_the_diagonal():
    assert boundary_width((360, 480)) == 12          # diagonal 600
    assert boundary_width((1024, 2048)) == 46        # diagonal 2289.7
    assert boundary_width((32, 48)) == boundary_width((3, 3)) == 1


def test_a_perfect_prediction_scores_boundary_iou_one():
    truth = np.zeros((30, 40), np.uint8)
    truth[5:20, 10:30] = 3
    intersection, union = boundary_counts(truth, truth.copy(), 11, 11)
    assert np.array_equal(intersection, union) and union[3] > 0 and union[0] > 0


# ------------------------------------------------------------------------------------------------ calibration

def test_expected_calibration_error_by_hand():
    # Four pixels: two at confidence 0.95 (one right), two at 0.55 (both right); a fifth is void.
    confidence = np.array([[0.95, 0.95, 0.55, 0.55, 0.99]])
    correct = np.array([[True, False, True, True, True]])
    valid = np.array([[True, True, True, True, False]])
    counts = calibration_counts(confidence, correct, valid)
    assert counts.count[14] == 2 and counts.count[8] == 2 and counts.count.sum() == 4
    assert counts.correct[14] == 1 and counts.correct[8] == 2
    # ECE = 2/4 * |0.5 - 0.95| + 2/4 * |1.0 - 0.55| = 0.45
    assert expected_calibration_error(counts) == pytest.approx(0.45, abs=1e-5)
    stored = counts.to_json()
    assert expected_calibration_error(stored) == pytest.approx(0.45, abs=1e-5)
    curve = reliability_curve(stored)
    assert [(row["lower"], row["count"]) for row in curve] == [(8 / 15, 2), (14 / 15, 2)]
    assert curve[0]["accuracy"] == 1.0 and curve[1]["accuracy"] == 0.5
    assert curve[1]["confidence"] == pytest.approx(0.95, abs=1e-5)


def test_calibration_bins_put_zero_in_the_first_and_one_in_the_last():
    counts = calibration_counts(np.array([0.0, 1.0, 0.5]), np.array([False, True, True]))
    assert counts.count[0] == 1 and counts.count[14] == 1 and counts.count[7] == 1


def test_calibration_in_blocks_equals_one_block(monkeypatch):
    from segcore import calibration
    rng = np.random.default_rng(3)
    confidence, correct, valid = rng.random((50, 70)), rng.random((50, 70)) < 0.6, rng.random((50, 70)) < 0.9
    whole = calibration_counts(confidence, correct, valid).to_json()
    monkeypatch.setattr(calibration, "CHUNK_PIXELS", 333)
    assert calibration_counts(confidence, correct, valid).to_json() == whole
    assert sum(whole["count"]) == valid.sum() and sum(whole["correct"]) == (correct & valid).sum()


def test_stored_calibration_sums_add_exactly():
    rng = np.random.default_rng(0)
    parts = [calibration_counts(rng.random(1000), rng.random(1000) < 0.7) for _ in range(3)]
    whole = CalibrationCounts()
    for part in parts:
        whole.add(read_calibration(part.to_json()))      # through JSON, as merging does
    direct = parts[0].confidence_units + parts[1].confidence_units + parts[2].confidence_units
    assert np.array_equal(whole.confidence_units, direct)
    assert read_calibration({"bins": 15, "count": [1] * 14}) is None
    assert expected_calibration_error({"bins": 2, "count": [0, 0], "confidence_sum": [0, 0],
                                       "correct": [0, 0]}) is None


# ------------------------------------------------------------------------------------------------ frames

def test_top_class_is_the_label_map_and_its_resized_score():
    rng = np.random.default_rng(1)
    scores = rng.random((6, 8, 5)).astype(np.float32)
    labels, best = frames.top_class(scores, (15, 21))
    assert np.array_equal(labels, frames.label_map(scores, (15, 21)))
    resized = cv2.resize(scores, (21, 15), interpolation=frames.SCORE_INTERPOLATION)
    np.testing.assert_allclose(best, resized.max(axis=-1), atol=1e-5)
    same_size_labels, same_size_best = frames.top_class(scores, (6, 8))
    assert np.array_equal(same_size_labels, scores.argmax(-1)) and np.array_equal(same_size_best, scores.max(-1))


# ------------------------------------------------------------------------------------------------ the writer

@pytest.fixture(scope="module")
def evaluated(camvid_run, tmp_path_factory):
    """One evaluation in the run's eval folder, on frames of two sizes (one larger than a thumbnail)."""
    data = make_camvid_like(tmp_path_factory.mktemp("data") / "camvid", splits=(("val", 3),))
    big_image, big_label = np.zeros((300, 400, 3), np.uint8), np.zeros((300, 400), np.uint8)
    big_image[:, 200:] = 200
    big_label[:, 200:] = 3
    big_label[:10] = 11
    save_png(data / "images" / "val" / "f009.png", big_image)
    save_png(data / "labels" / "val" / "f009.png", big_label, "L")
    before = files_under(data)
    result, path = evaluate_run(camvid_run, data, "val")
    assert files_under(data) == before                     # nothing written in the data set
    return data, result, path


def test_per_frame_files_hold_the_prediction_at_the_label_resolution(camvid_run, evaluated):
    data, result, path = evaluated
    assert result["format"] == 3 and path.parent == camvid_run / runs.EVAL_DIR
    predictor = Predictor(camvid_run)
    for record, sample in zip(result["per_image"], list_pairs(data, "val")):
        key = path.stem
        assert record["prediction"] == f"{key}/predictions/{sample.name}.png"
        assert record["thumbnail"] == f"{key}/thumbnails/{sample.name}.jpg"
        stored = np.asarray(Image.open(eval_records.prediction_path(path, record)))
        image, truth = read_pair(sample.image, sample.label, CAMVID11)
        assert stored.dtype == np.uint8 and stored.shape == truth.shape
        assert np.array_equal(stored, predictor.predict(image).labels)
        thumb = Image.open(eval_records.thumbnail_path(path, record))
        assert thumb.format == "JPEG"
        expected = (256, 192) if sample.name == "f009" else (48, 32)    # never enlarged
        assert thumb.size == expected


def test_each_frame_stores_its_full_confusion(camvid_run, evaluated):
    data, result, _ = evaluated
    total = np.zeros((11, 11), np.int64)
    for record, sample in zip(result["per_image"], list_pairs(data, "val")):
        matrix = eval_records.frame_confusion(record, "class", 11)
        assert not eval_records.confusion_is_partial(record)
        _, truth = read_pair(sample.image, sample.label, CAMVID11)
        assert matrix.sum() == np.count_nonzero(truth != CAMVID11.ignore_index)
        assert ConfusionMatrix(11, None, matrix).mean_iou() == pytest.approx(record["mean_iou"], abs=1e-6)
        category = eval_records.frame_confusion(record, "category", 7)
        assert np.array_equal(category, ConfusionMatrix(11, None, matrix).to_categories(CAMVID11).counts)
        total += matrix
    assert np.array_equal(total, np.asarray(result["class_level"]["confusion_matrix"]))


def test_boundary_and_calibration_are_stored(evaluated):
    _, result, _ = evaluated
    for level in ("class_level", "category_level"):
        boundary = result[level]["boundary"]
        assert len(boundary["intersection"]) == len(result[level]["names"])
        assert all(0 <= i <= u for i, u in zip(boundary["intersection"], boundary["union"]))
        assert boundary["width_px"] == [1, 10]               # 32x48 frames and one 300x400 frame
        assert len(eval_records.boundary_scores(result[level])) == len(result[level]["names"])
    assert all(r["boundary_iou"] is None or 0 <= r["boundary_iou"] <= 1 for r in result["per_image"])
    assert all(0 <= r["label_quality"] <= 1 for r in result["per_image"])       # segcore.label_quality's
    calibration = eval_records.calibration(result)
    # Over every scored pixel, at the labels' resolution.
    assert sum(calibration["count"]) == np.asarray(result["class_level"]["confusion_matrix"]).sum()
    assert sum(calibration["correct"]) <= sum(calibration["count"])
    assert 0 <= expected_calibration_error(calibration) <= 1
    text = format_evaluation(result)
    assert "boundary mIoU" in text and "calibration: ECE" in text
    from segcore.reports import frame_mean_iou
    assert f"mean of frames' mIoU {100 * frame_mean_iou(result):5.1f}" in text.splitlines()[0]
    lowest = min(result["per_image"], key=lambda r: r["label_quality"])
    assert f"label quality: lowest {lowest['name']} {100 * lowest['label_quality']:.2f} %" in text


def test_trimap_counts_are_stored_at_both_levels_and_said(evaluated):
    from segcore.trimap import TRIMAP_WIDTHS, trimap_scores
    _, result, _ = evaluated
    for level in ("class_level", "category_level"):
        stored = result[level]["trimap"]
        assert stored["widths"] == list(TRIMAP_WIDTHS)
        support = np.asarray(stored["support"])
        assert (np.diff(support, axis=0) >= 0).all()            # a wider band holds every pixel of a narrower one
        assert support[-1].sum() <= np.asarray(result[level]["confusion_matrix"]).sum()
        assert (np.asarray(stored["true_positives"]) <= support).all()
    near = trimap_scores(result["class_level"])
    assert (f"mIoU within 1/2/4/8/16/32 px of a ground-truth edge: {100 * near['mean_iou'][0]:.1f} / "
            in format_evaluation(result))


def test_the_json_keeps_each_frame_record_on_one_line(evaluated):
    _, result, path = evaluated
    text = path.read_text()
    assert json.loads(text) == json.loads(json.dumps(result))      # tuples in `result` read back as lists
    record_lines = [line for line in text.splitlines() if line.lstrip().startswith('{"name":')]
    assert len(record_lines) == len(result["per_image"]) == 4
    assert len(text.splitlines()) < 400       # one line per number would be thousands; a matrix row is one line


def test_a_reevaluation_needs_overwrite_and_then_replaces_the_frames(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    out = tmp_path / "evals" / "e.json"
    result, _ = evaluate_run(camvid_run, data, "val", out=out)
    folder = out.parent / evaluations.evaluation_key(result["dataset"])
    stale = folder / "predictions" / "gone.png"
    stale.write_bytes(b"left by an earlier evaluation")
    with pytest.raises(runs.RunError, match="--overwrite"):
        evaluate_run(camvid_run, data, "val", out=out, overwrite=False)
    previous = eval_records.prediction_path(out, result["per_image"][0]).stat().st_mtime_ns
    # Distances to the training frames (`segcore unlike-train --store`) depend on the frames only: kept.
    with_distances = json.loads(out.read_text())
    with_distances["unlike_train"] = {"train_split": "train", "train_frames": 9, "measure": "test"}
    for number, record in enumerate(with_distances["per_image"]):
        record["train_distance"], record["nearest_train_frame"] = 0.5 + number, f"t{number}"
    out.write_text(json.dumps(with_distances))
    replaced, _ = evaluate_run(camvid_run, data, "val", out=out, overwrite=True)
    assert eval_records.prediction_path(out, result["per_image"][0]).stat().st_mtime_ns >= previous
    assert not stale.exists()
    stored = json.loads(out.read_text())
    assert stored["unlike_train"]["train_frames"] == 9 == replaced["unlike_train"]["train_frames"]
    assert [(r["train_distance"], r["nearest_train_frame"]) for r in stored["per_image"]] == [
        (0.5 + number, f"t{number}") for number in range(3)]
    assert files_under(tmp_path / "evals") == {out} | {folder / sub / f"f00{i}{suffix}" for i in range(3)
                                                       for sub, suffix in (("predictions", ".png"),
                                                                           ("thumbnails", ".jpg"),
                                                                           ("contradicted", ".png"))}


def test_frame_files_honour_the_umask(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 1),))
    old = os.umask(0o002)
    try:
        evaluate_run(camvid_run, data, "val", out=tmp_path / "e" / "e.json")
    finally:
        os.umask(old)
    stored = files_under(tmp_path / "e")
    assert len(stored) == 4 and all(stat.S_IMODE(path.stat().st_mode) == 0o664 for path in stored)
    folders = {path.parent for path in stored if path.suffix != ".json"} | {path.parent.parent for path in stored
                                                                             if path.suffix != ".json"}
    assert len(folders) == 4 and all(stat.S_IMODE(path.stat().st_mode) == 0o775 for path in folders)


def test_a_failed_reevaluation_leaves_the_stored_frames_as_they_were(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    out = tmp_path / "evals" / "e.json"
    evaluate_run(camvid_run, data, "val", out=out)
    before = {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files_under(out.parent)}
    (data / "labels" / "val" / "f002.png").write_bytes(b"damaged")
    with pytest.raises(ValueError, match="f002.png"):
        evaluate_run(camvid_run, data, "val", out=out, overwrite=True)
    assert {path: (path.read_bytes(), path.stat().st_mtime_ns) for path in files_under(out.parent)} == before
    assert [path.name for path in out.parent.iterdir() if path.name.startswith(".")] == []   # no staging left


def test_frame_files_outside_the_models_folder_are_refused(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 1),))
    with pytest.raises(evaluations.OutsideFolderError):
        evaluate_run(camvid_run, data, "val", out=tmp_path / "elsewhere" / "e.json", inside=tmp_path / "models")
    assert not (tmp_path / "elsewhere").exists()


def test_a_cross_schema_evaluation_stores_category_confusions_and_calibration(camvid_run, tmp_path):
    data = make_cityscapes_like(tmp_path / "cityscapes")
    result, path = evaluate_run(camvid_run, data, "val", out=tmp_path / "e.json", level="category")
    record = result["per_image"][0]
    assert "category_confusion" not in record and record["name"] == "aachen/aachen_000000_000019"
    assert record["prediction"].endswith("/predictions/aachen__aachen_000000_000019.png")
    stored = np.asarray(Image.open(eval_records.prediction_path(path, record)))
    assert stored.max() < CAMVID11.num_classes                # the run's own classes, not folded
    with pytest.raises(ValueError, match="no class level"):
        eval_records.frame_confusion(record, "class", 11)
    matrices = [eval_records.frame_confusion(r, "category", 7) for r in result["per_image"]]
    assert np.array_equal(sum(matrices), np.asarray(result["category_level"]["confusion_matrix"]))
    assert sum(result["calibration"]["count"]) == sum(m.sum() for m in matrices)
    assert "boundary" in result["category_level"]


# ------------------------------------------------------------------------------------------------ shards

def test_three_shards_merged_equal_one_full_evaluation_with_every_new_count(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 7),))
    evaluate("--run", camvid_run, "--data", data, "--split", "val", "--out", tmp_path / "full" / "e.json")
    for index in range(3):
        evaluate("--run", camvid_run, "--data", data, "--split", "val", "--shard", f"{index}/3")
    parts = sorted((camvid_run / runs.EVAL_DIR / "shards").glob("*-shard-*-of-3.json"))
    merged_path = camvid_run / runs.EVAL_DIR / f"{parts[0].name.split('-shard-')[0]}.json"
    evaluate("--merge", *parts, "--out", merged_path)
    full = json.loads((tmp_path / "full" / "e.json").read_text())
    merged = json.loads(merged_path.read_text())
    assert without_timing(merged) == without_timing(full)
    assert sum(merged["class_level"]["boundary"]["union"]) > 0 and sum(merged["calibration"]["count"]) > 0
    # Every shard wrote its frames into the one <key>/ folder the merged records point at.
    key_folder = merged_path.with_suffix("")
    assert {p.name for p in (key_folder / "predictions").iterdir()} == {f"f00{i}.png" for i in range(7)}
    assert all(eval_records.prediction_path(merged_path, r) is not None for r in merged["per_image"])


# ------------------------------------------------------------------------------------------------ prediction folders

class FolderPredictor:
    """A prediction-folder run as the evaluator sees it: stored maps for some frames, no scores."""

    def __init__(self, run, maps: dict):
        self.run, self.maps = runs.open_run(run), maps
        self.name, self.schema, self.input_size = self.run.name, CAMVID11, (32, 48)
        self.output_kind = "labels"

    def predict(self, image, *, keep_scores=False, name=None):
        if name not in self.maps:
            raise MissingPrediction(f"{self.name}: no stored prediction for frame {name}")
        return Prediction(self.maps[name], 0.0, 0.0, None)

    def probabilities(self, scores):
        raise AssertionError("a run without scores is never asked for probabilities")


def test_frames_without_a_prediction_are_skipped_and_listed(camvid_run, tmp_path, capsys):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 6),))
    samples = list_pairs(data, "val")
    maps = {s.name: read_pair(s.image, s.label, CAMVID11)[1].clip(0, 10) for s in samples if s.name in ("f001",
                                                                                                          "f004")}
    predictor = FolderPredictor(camvid_run, maps)
    result, _ = evaluate_run(camvid_run, data, "val", out=tmp_path / "e.json", predictor=predictor)
    assert [r["name"] for r in result["per_image"]] == ["f001", "f004"] and result["images"] == 2
    assert result["missing_predictions"] == ["f000", "f002", "f003", "f005"]
    assert "calibration" not in result and eval_records.calibration(result) is None
    assert eval_records.missing_predictions(result) == ["f000", "f002", "f003", "f005"]
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no prediction for 4 of 6 frames (f000, f002, f003, ...)" in err[0]
    assert "4 of 6 frames" in format_evaluation(result) and "ECE" not in format_evaluation(result)

    # Sharded, the same frames are missing and the merge equals the full evaluation.
    parts = [evaluate_run(camvid_run, data, "val", out=tmp_path / f"p{i}.json", predictor=predictor,
                          shard=(i, 3))[0] for i in range(3)]
    assert parts[0]["per_image"] == [] and parts[0]["missing_predictions"] == ["f000", "f003"]
    assert without_timing(merge_evaluations({f"p{i}": part for i, part in enumerate(parts)})) == \
        without_timing(result)


def test_no_prediction_for_any_frame_is_one_line(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 2),))
    with pytest.raises(runs.RunError) as err:
        evaluate_run(camvid_run, data, "val", out=tmp_path / "e.json", predictor=FolderPredictor(camvid_run, {}))
    assert "no prediction for any of the 2 frames" in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "e.json").exists()


# ------------------------------------------------------------------------------------------------ readers, format 2

@pytest.mark.parametrize("name", ["unet-camvid", "segnet-camvid"])
def test_shipped_format_2_evaluations_still_load(name):
    [path] = (ROOT / "models" / name / "eval").glob("*.json")
    result = json.loads(path.read_text())
    assert result["format"] in evaluations.READABLE_FORMATS
    assert evaluations.evaluation_problem(result) is None
    if result["format"] == 2:
        record = result["per_image"][0]
        assert eval_records.prediction_path(path, record) is None and eval_records.thumbnail_path(path, record) is None
        assert eval_records.confusion_is_partial(record)
        partial = eval_records.frame_confusion(record, "class", 11)
        assert np.trace(partial) == 0 and partial.sum() == sum(c[2] for c in record["confusions"])
        assert eval_records.boundary_scores(result["class_level"]) is None
        assert eval_records.calibration(result) is None and eval_records.missing_predictions(result) == []
        assert "boundary" not in format_evaluation(result) and "mIoU" in format_evaluation(result)


def test_stored_paths_cannot_leave_the_eval_folder(evaluated, tmp_path):
    _, result, path = evaluated
    record = dict(result["per_image"][0])
    outside = tmp_path / "x.png"
    outside.write_bytes(b"png")
    record["prediction"] = os.path.relpath(outside, path.parent)
    assert eval_records.prediction_path(path, record) is None
    record["prediction"] = record["thumbnail"]                # wrong kind of file
    assert eval_records.prediction_path(path, record) is None
    assert eval_records.prediction_path(path, {"name": "f000"}) is None


def test_malformed_stored_cells_are_one_line_errors():
    with pytest.raises(ValueError, match="f000: confusion cell"):
        eval_records.frame_confusion({"name": "f000", "confusions": [], "confusion": [[0, 20, 3]]}, "class", 11)
    assert eval_records.boundary_scores({"names": ["a"], "boundary": {"intersection": [1], "union": "x"}}) is None
    assert eval_records.boundary_scores({"names": ["a", "b"], "boundary": {"intersection": [1, 0],
                                                                         "union": [2, 0]}}) == [0.5, None]


def test_a_frames_boundary_iou_at_category_level_is_the_categories_own(camvid_run, tmp_path):
    from segcore import frame_queries
    road, pavement = CAMVID11.names.index("Road"), CAMVID11.names.index("Pavement")
    truth = np.full((32, 48), road, np.uint8)
    truth[:, 24:] = pavement                          # both are "flat": no border between categories
    save_png(tmp_path / "data" / "images" / "val" / "f000.png", np.zeros((32, 48, 3), np.uint8))
    save_png(tmp_path / "data" / "labels" / "val" / "f000.png", truth, "L")
    shifted = truth.copy()
    shifted[:, 24:28] = road                          # the class border 4 px off
    result, _ = evaluate_run(camvid_run, tmp_path / "data", "val", out=tmp_path / "e.json",
                             predictor=FolderPredictor(camvid_run, {"f000": shifted}))
    [record] = result["per_image"]
    assert record["boundary_iou"] < 0.9 and record["category_boundary_iou"] == 1.0
    index = frame_queries.build_index({"run": result}, "category")
    assert index.scores.at["f000", ("boundary_iou", "run")] == 1.0
    assert frame_queries.build_index({"run": result}, "class").scores.at["f000", ("boundary_iou", "run")] < 0.9
