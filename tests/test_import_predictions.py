"""`segcore import PRED_DIR --predictions`: a folder of predicted label PNGs becomes a run of kind "predictions" that
evaluates on the frames it has (the same integer confusion matrix as scoring the PNGs directly), matched by name
(suffixes, Cityscapes result names); bad folders and files are refused in one line naming the file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import runs
from streamlit.testing.v1 import AppTest
from segcore.backends import MissingPrediction
from segcore.backends.stored import frame_key, match_prediction
from segcore.cli import main
from segcore.datasets import list_pairs
from segcore.evaluate import evaluate_run, format_evaluation
from segcore.imageio import read_mask
from segcore.labels import CAMVID11, CATEGORIES, CITYSCAPES
from segcore.metrics import ConfusionMatrix
from segcore.predict import Predictor
from test_eval_categories import make_cityscapes_like
from test_hardening import one_error_line


def random_prediction(seed: int, shape, classes: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, classes, size=shape, dtype=np.uint8)


def prediction_folder(folder: Path, data: Path, split: str = "val", suffix: str = "_pred", skip=()) -> dict:
    """One random train-id PNG per frame of `data` (camvid11), named <stem><suffix>.png; {frame: labels}."""
    written = {}
    for index, sample in enumerate(list_pairs(data, split)):
        if sample.name in skip:
            continue
        shape = read_mask(sample.label, CAMVID11).shape
        written[sample.name] = save_png(folder / f"{sample.name}{suffix}.png",
                                        random_prediction(index, shape, CAMVID11.num_classes), "L")
    return written


def direct_matrix(data: Path, split: str, predictions: dict, schema) -> ConfusionMatrix:
    """Score the PNGs against the labels with segcore.metrics alone (no run, no back-end)."""
    matrix = ConfusionMatrix(schema.num_classes, schema.ignore_index)
    for sample in list_pairs(data, split):
        if sample.name in predictions:
            raw = np.asarray(Image.open(predictions[sample.name]))
            matrix.update(read_mask(sample.label, schema), raw)
    return matrix


@pytest.fixture
def camvid_data(tmp_path) -> Path:
    return make_camvid_like(tmp_path / "data", splits=(("val", 4),), size=(24, 40))


def imported(tmp_path, folder: Path, schema: str = "camvid11", *extra: str) -> Path:
    out = tmp_path / "models" / "preds"
    assert main(["import", str(folder), "--predictions", "--schema", schema, "--out", str(out), *extra]) == 0
    return out


# ------------------------------------------------------------------------------------------------ matching

@pytest.mark.parametrize("frame, stems, expected", [
    ("f001", ["f001"], "f001"),
    ("f001", ["f001_pred"], "f001_pred"),
    ("f001", ["f001-labels"], "f001-labels"),
    ("f001", ["f001_prediction"], "f001_prediction"),
    ("f001", ["f001", "f001_pred"], "f001"),                         # an exact name wins
    ("f001", ["f0010_pred", "f001_pred"], "f001_pred"),              # a longer frame's file is not this frame's
    ("f001", ["f0010_pred"], None),
    ("f001", ["f001_1_pred", "f001_pred"], "f001_pred"),             # frames f001 and f001_1: the common suffix
    ("f001_1", ["f001_1_pred", "f001_pred"], "f001_1_pred"),
    ("aachen/aachen_000000_000019", ["aachen_000000_000019_leftImg8bit"], "aachen_000000_000019_leftImg8bit"),
    ("aachen/aachen_000000_000019", ["aachen_000000_000019_pred"], "aachen_000000_000019_pred"),
    ("aachen_000000_000019_leftImg8bit", ["aachen_000000_000019"], "aachen_000000_000019"),
    ("aachen_000000_000019_leftImg8bit.png", ["aachen_000000_000019_leftImg8bit_prediction"],
     "aachen_000000_000019_leftImg8bit_prediction"),
    ("aachen/aachen_000000_000019", ["aachen_000000_000020_pred", "bremen_000000_000019"], None),
])
def test_a_frame_finds_its_prediction_by_name_and_suffix(frame, stems, expected):
    assert match_prediction(frame, sorted(stems)) == expected


def test_two_candidates_with_unknown_suffixes_are_refused_naming_both():
    with pytest.raises(runs.RunError, match=r"frame f001 matches several predictions \(f001_a.png, f001_b.png\)"):
        match_prediction("f001", ["f001_a", "f001_b"])


def test_frame_key_drops_folders_extensions_and_the_cityscapes_image_suffix():
    assert frame_key("aachen/aachen_000000_000019") == "aachen_000000_000019"
    assert frame_key("aachen_000000_000019_leftImg8bit.png") == "aachen_000000_000019"
    assert frame_key("0016E5_07959") == "0016E5_07959"


# ------------------------------------------------------------------------------------------------ import + evaluate

def test_imported_predictions_score_exactly_as_the_pngs_do_directly(tmp_path, camvid_data, capsys):
    predictions = prediction_folder(tmp_path / "preds", camvid_data)
    capsys.readouterr()
    out = imported(tmp_path, tmp_path / "preds")
    assert capsys.readouterr().out.strip() == f"imported 4 predictions from {tmp_path / 'preds'} as run {out}"
    run = runs.open_run(out)
    assert run.ok and run.kind == "predictions" and run.meta["input_size"] == [24, 40]
    assert run.meta["source"] == str((tmp_path / "preds").resolve()) and run.meta["predictions"] == 4
    assert sorted(p.name for p in (out / "predictions").iterdir()) == sorted(p.name for p in predictions.values())

    result, _ = evaluate_run(out, camvid_data, "val", out=tmp_path / "eval.json")
    expected = direct_matrix(camvid_data, "val", predictions, CAMVID11)
    assert expected.counts.sum() > 0
    np.testing.assert_array_equal(np.asarray(result["class_level"]["confusion_matrix"]), expected.counts)
    assert result["class_level"]["mean_iou"] == pytest.approx(expected.mean_iou(), abs=1e-6)   # stored rounded
    assert result["images"] == 4 and not result.get("missing_predictions")


def test_cityscapes_result_names_pair_with_left_img8bit_frames(tmp_path, capsys):
    data = make_cityscapes_like(tmp_path / "cityscapes", size=(16, 24))
    predictions = {}
    for index, sample in enumerate(list_pairs(data, "val")):     # results kept one folder per city
        city, stem = sample.name.split("/")
        predictions[sample.name] = save_png(tmp_path / "results" / city / f"{stem}_leftImg8bit_prediction.png",
                                            random_prediction(index, (16, 24), CITYSCAPES.num_classes), "L")
    out = imported(tmp_path, tmp_path / "results", schema="cityscapes")
    predictor = Predictor(out)
    sample = list_pairs(data, "val")[0]
    image = np.zeros((16, 24, 3), np.uint8)
    stored = np.asarray(Image.open(predictions[sample.name]))
    for name in (sample.name, sample.image.stem):                 # a sample's name or its image's stem
        prediction = predictor.predict(image, name=name)
        np.testing.assert_array_equal(prediction.labels, stored)
        assert prediction.scores is None and prediction.model_ms == 0

    result, _ = evaluate_run(out, data, "val", out=tmp_path / "eval.json")
    expected = direct_matrix(data, "val", predictions, CITYSCAPES)
    np.testing.assert_array_equal(np.asarray(result["class_level"]["confusion_matrix"]), expected.counts)
    assert result["images"] == 4


def test_cityscapes_label_id_results_import_with_label_ids_as_the_same_train_ids(tmp_path, capsys):
    """The benchmark's own result format holds labelIds (road 7, car 26): --label-ids stores them as train ids, so
    the run scores exactly as the same predictions written as train ids; without the flag, one line says to add it."""
    data = make_cityscapes_like(tmp_path / "cityscapes", size=(16, 24))
    to_label_id = {train: label for label, train in CITYSCAPES.raw_to_train.items() if train != 255}
    as_label_ids = np.vectorize(to_label_id.get, otypes=[np.uint8])
    predictions = {}
    for index, sample in enumerate(list_pairs(data, "val")):
        city, stem = sample.name.split("/")
        train_ids = random_prediction(index, (16, 24), CITYSCAPES.num_classes)
        predictions[sample.name] = save_png(tmp_path / "train-ids" / f"{stem}.png", train_ids, "L")
        save_png(tmp_path / "label-ids" / city / f"{stem}_leftImg8bit.png", as_label_ids(train_ids), "L")
    err = one_error_line(capsys, ["import", tmp_path / "label-ids", "--predictions", "--schema", "cityscapes",
                                  "--out", tmp_path / "refused"])
    assert "train ids 0..18: check --schema, or add --label-ids if they are its label ids" in err
    assert not (tmp_path / "refused").exists()

    out = imported(tmp_path, tmp_path / "label-ids", "cityscapes", "--label-ids")
    assert runs.open_run(out).meta["source_ids"] == "label ids"
    for name, path in predictions.items():
        stored = np.asarray(Image.open(out / "predictions" / f"{name.split('/')[1]}_leftImg8bit.png"))
        np.testing.assert_array_equal(stored, np.asarray(Image.open(path)))
    result, _ = evaluate_run(out, data, "val", out=tmp_path / "eval.json")
    np.testing.assert_array_equal(np.asarray(result["class_level"]["confusion_matrix"]),
                                  direct_matrix(data, "val", predictions, CITYSCAPES).counts)


def test_a_label_id_that_is_void_in_the_schema_is_kept_as_no_class_and_label_ids_needs_predictions(tmp_path, capsys):
    labels = np.full((16, 24), 7, np.uint8)              # road
    labels[2, 2:5] = (0, 9, 29)                          # unlabeled, parking, caravan: void in Cityscapes' scoring
    save_png(tmp_path / "preds" / "f000.png", labels, "L")
    save_png(tmp_path / "preds" / "f001.png", np.full((16, 24), 26, np.uint8), "L")        # car, nothing void
    out = imported(tmp_path, tmp_path / "preds", "cityscapes", "--label-ids")
    said = capsys.readouterr().out
    assert "3 pixels in 1 file hold no class (void): evaluation scores them as misses" in said
    assert runs.open_run(out).meta["no_class"] == {"pixels": 3, "files": 1}
    stored = np.asarray(Image.open(out / "predictions" / "f000.png"))
    assert stored[2, 2:5].tolist() == [CITYSCAPES.ignore_index] * 3 and (stored[labels == 7] == 0).all()
    err = one_error_line(capsys, ["import", tmp_path / "model.onnx", "--label-ids", "--out", tmp_path / "run"])
    assert "--label-ids says what a folder of predicted label PNGs holds; add --predictions" in err


def _benchmark_scores(truths: list, predictions: list, classes: int, ignore: int) -> tuple[list, float]:
    """Per-class IoU and pixel accuracy as the Cityscapes benchmark counts them, written out pixel set by pixel set:
    a pixel predicted void is a false negative of its true class and a false positive of none."""
    truth, pred = np.concatenate([t.ravel() for t in truths]), np.concatenate([p.ravel() for p in predictions])
    scored = truth != ignore
    ious = []
    for c in range(classes):
        tp = np.sum(scored & (truth == c) & (pred == c))
        fp = np.sum(scored & (truth != c) & (pred == c))
        fn = np.sum(scored & (truth == c) & (pred != c))
        ious.append(tp / (tp + fp + fn) if tp + fp + fn else None)
    return ious, float(np.sum(scored & (truth == pred)) / np.sum(scored))


def test_pixels_predicted_void_score_as_misses_of_their_true_class(tmp_path, camvid_data):
    """A model that predicts void: its pixels lower their true class's IoU and recall, never another class's
    precision, at every stored level (summary, per frame, categories, shards merged) and in the matrix figure."""
    from segcore import eval_records, figures
    from segcore.eval_shards import merge_evaluations
    from segcore.metrics import NO_CLASS
    truths, predictions = [], []
    for index, sample in enumerate(list_pairs(camvid_data, "val")):
        truth = read_mask(sample.label, CAMVID11)
        pred = random_prediction(index, truth.shape, CAMVID11.num_classes)
        pred[:, : 5 + index] = CAMVID11.ignore_index                  # a void band, wider each frame
        save_png(tmp_path / "preds" / f"{sample.name}.png", pred, "L")
        truths.append(truth)
        predictions.append(pred)
    out = imported(tmp_path, tmp_path / "preds")
    result, _ = evaluate_run(out, camvid_data, "val")
    ious, accuracy = _benchmark_scores(truths, predictions, CAMVID11.num_classes, CAMVID11.ignore_index)
    summary = result["class_level"]
    got = [summary["per_class"][name]["iou"] for name in CAMVID11.names]
    assert [v is None for v in got] == [v is None for v in ious]
    np.testing.assert_allclose([v for v in got if v is not None], [v for v in ious if v is not None], atol=1e-6)
    assert summary["pixel_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    void_truth = [np.bincount(t[p == CAMVID11.ignore_index], minlength=256)[:CAMVID11.num_classes]
                  for t, p in zip(truths, predictions)]
    assert summary["unpredicted"] == np.sum(void_truth, axis=0).tolist() and sum(summary["unpredicted"]) > 0
    assert sum(map(sum, summary["confusion_matrix"])) + sum(summary["unpredicted"]) == \
        sum(int(np.sum(t != CAMVID11.ignore_index)) for t in truths)
    categories = result["category_level"]
    assert sum(categories["unpredicted"]) == sum(summary["unpredicted"])
    for record, expected in zip(result["per_image"], void_truth):
        frame = eval_records.frame_matrix(record, "class", CAMVID11.num_classes)
        assert frame.unpredicted.tolist() == expected.tolist()
        assert record["mean_iou"] == pytest.approx(frame.mean_iou(), abs=1e-6)
        assert eval_records.frame_matrix(record, "category", len(CATEGORIES)).unpredicted.sum() == expected.sum()
    parts = [evaluate_run(out, camvid_data, "val", out=tmp_path / f"p{i}.json", shard=(i, 2))[0] for i in range(2)]
    merged = merge_evaluations({f"p{i}": part for i, part in enumerate(parts)})
    assert merged["class_level"]["unpredicted"] == summary["unpredicted"]
    assert merged["class_level"]["mean_iou"] == summary["mean_iou"]
    heatmap = figures.confusion_heatmap(summary).data[0]
    assert list(heatmap.x) == [*CAMVID11.names, NO_CLASS] and list(heatmap.y) == list(CAMVID11.names)
    assert [row[-1] for row in heatmap.customdata] == summary["unpredicted"]
    pages = Path(__file__).resolve().parents[1] / "pages"
    for page in ("evaluation.py", "frames.py"):          # both draw from this evaluation, the run's only one
        with pytest.MonkeyPatch.context() as env:
            env.setenv("SEGLAB_DATA_DIR", str(camvid_data))
            env.setenv("SEGLAB_MODELS_DIR", str(out.parent))
            at = AppTest.from_file(str(pages / page), default_timeout=60).run()
        assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
        if page == "evaluation.py":
            specs = [json.loads(chart.proto.spec)["data"] for chart in at.get("plotly_chart")]
            assert any(trace.get("type") == "heatmap" and trace["x"][-1] == NO_CLASS
                       for data in specs for trace in data), "the matrix shows no (no class) column"
            left = sum(summary["unpredicted"])
            assert f"preds: {left:,} of the " in "\n".join(c.value for c in at.caption)
            # The (no class) column is a cell like any other: its frames are found and listed.
            most = int(np.argmax(summary["unpredicted"]))
            at.selectbox(key="ev_truth_class_level").set_value(most)
            at.selectbox(key="ev_pred_class_level").set_value(CAMVID11.num_classes).run()
            assert not at.exception, [e.value for e in at.exception]
            said = "\n".join(str(m.value) for m in at.markdown)
            assert (f"frames have {CAMVID11.names[most]} predicted as {NO_CLASS}: {summary['unpredicted'][most]:,} px"
                    in said), said[:2000]
    assert f"  {left:,} of the {sum(map(sum, summary['confusion_matrix'])) + left:,} scored pixels" in \
        format_evaluation(result)
    from segcore.review import review_html
    assert f"preds: {left:,} of the " in review_html({"preds": result}) and NO_CLASS in review_html({"preds": result})


def test_a_colour_prediction_in_the_schemas_palette_is_stored_as_train_ids(tmp_path, camvid_data):
    labels = random_prediction(5, (24, 40), CAMVID11.num_classes)
    save_png(tmp_path / "preds" / "f000.png", CAMVID11.colorize(labels))
    out = imported(tmp_path, tmp_path / "preds")
    stored = np.asarray(Image.open(out / "predictions" / "f000.png"))
    assert stored.ndim == 2
    np.testing.assert_array_equal(stored, labels)


# ------------------------------------------------------------------------------------------------ missing frames

def test_a_missing_frame_is_named(tmp_path, camvid_data):
    prediction_folder(tmp_path / "preds", camvid_data, skip={"f002"})
    predictor = Predictor(imported(tmp_path, tmp_path / "preds"))
    with pytest.raises(MissingPrediction, match=r"no stored prediction for frame f002 \(looked for f002.png or "
                                                r"f002_\*.png\)"):
        predictor.predict(np.zeros((24, 40, 3), np.uint8), name="f002")


def test_evaluation_skips_and_records_the_frames_without_a_prediction(tmp_path, camvid_data):
    predictions = prediction_folder(tmp_path / "preds", camvid_data, skip={"f002"})
    result, _ = evaluate_run(imported(tmp_path, tmp_path / "preds"), camvid_data, "val", out=tmp_path / "e.json")
    assert result["missing_predictions"] == ["f002"]
    assert [record["name"] for record in result["per_image"]] == ["f000", "f001", "f003"]
    np.testing.assert_array_equal(np.asarray(result["class_level"]["confusion_matrix"]),
                                  direct_matrix(camvid_data, "val", predictions, CAMVID11).counts)


# ------------------------------------------------------------------------------------------------ refusals

def test_a_prediction_at_a_scaled_size_is_scaled_to_the_image_and_said(tmp_path, camvid_data):
    """A model that predicted at half size: its map is scaled to the image (nearest) and scored there, and the
    evaluation says how many were scaled and from which size."""
    from segcore.evaluations import scored_at
    from segcore.frames import resize_label
    predictions = prediction_folder(tmp_path / "preds", camvid_data)
    half = save_png(tmp_path / "preds" / "f001_pred.png", random_prediction(9, (12, 20), 11), "L")
    out = imported(tmp_path, tmp_path / "preds")
    prediction = Predictor(out).predict(np.zeros((24, 40, 3), np.uint8), name="f001")
    assert prediction.scaled_from == (12, 20) and prediction.labels.shape == (24, 40)
    np.testing.assert_array_equal(prediction.labels, resize_label(np.asarray(Image.open(half)), (24, 40)))
    assert Predictor(out).predict(np.zeros((24, 40, 3), np.uint8), name="f000").scaled_from is None
    result, _ = evaluate_run(out, camvid_data, "val", out=tmp_path / "e.json")
    scaled = {record["name"]: record.get("scaled_from") for record in result["per_image"]}
    assert scaled == {"f000": None, "f001": [12, 20], "f002": None, "f003": None}
    assert "stored predictions (no model run; 1 of 4 scaled to the image from 12x20, nearest)" in scored_at(result)
    assert "stored predictions: 1 of 4 scaled to the image from 12x20, nearest" in format_evaluation(result)
    expected = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
    for sample in list_pairs(camvid_data, "val"):
        truth = read_mask(sample.label, CAMVID11)
        expected.update(truth, resize_label(np.asarray(Image.open(predictions[sample.name])), truth.shape))
    np.testing.assert_array_equal(np.asarray(result["class_level"]["confusion_matrix"]), expected.counts)


@pytest.mark.parametrize("shape", [(40, 24), (24, 30), (20, 40)])      # transposed, cropped, padded
def test_a_prediction_of_another_shape_is_one_line_at_evaluation(tmp_path, camvid_data, capsys, shape):
    prediction_folder(tmp_path / "preds", camvid_data)
    save_png(tmp_path / "preds" / "f001_pred.png", random_prediction(9, shape, 11), "L")
    out = imported(tmp_path, tmp_path / "preds")
    with pytest.raises(runs.RunError) as caught:
        Predictor(out).predict(np.zeros((24, 40, 3), np.uint8), name="f001")
    assert str(caught.value) == (f"preds: prediction f001_pred.png is {shape[0]}x{shape[1]} but the image is 24x40, "
                                 "not the same shape scaled (transposed, cropped or padded?); save predictions at "
                                 "the image's resolution, or scaled")
    err = one_error_line(capsys, ["evaluate", "--run", out, "--data", camvid_data, "--quiet",
                                  "--out", tmp_path / "e.json"])
    assert f"prediction f001_pred.png is {shape[0]}x{shape[1]} but the image is 24x40" in err


def test_ids_outside_the_schema_are_refused_naming_the_file(tmp_path, capsys):
    labels = random_prediction(1, (24, 40), 11)
    labels[0, :3] = (12, 19, 40)
    save_png(tmp_path / "preds" / "f000_pred.png", labels, "L")
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--predictions", "--schema", "camvid11",
                                  "--out", tmp_path / "run"])
    assert str(tmp_path / "preds" / "f000_pred.png") in err and "[12, 19, 40]" in err
    assert "train ids 0..10: check --schema" in err
    assert not (tmp_path / "run").exists()                     # nothing half-imported is left behind


def test_a_run_inside_the_prediction_folder_is_refused(tmp_path, capsys):
    save_png(tmp_path / "preds" / "f000_pred.png", random_prediction(1, (24, 40), 11), "L")
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--predictions", "--schema", "camvid11",
                                  "--out", tmp_path / "preds" / "inner"])
    assert "inside the prediction folder it imports" in err and not (tmp_path / "preds" / "inner").exists()


@pytest.mark.parametrize("make, expected", [
    (lambda root: root.mkdir(), "holds no PNG files; put one label PNG per image in it"),
    (lambda root: (root.mkdir(), (root / "notes.txt").write_text("x")), "holds no PNG files"),
    (lambda root: (root.parent.mkdir(exist_ok=True), root.write_bytes(b"\x89PNG")), "not a folder; --predictions "
                                                                                    "takes a folder of label PNGs"),
    (lambda root: None, "no such folder"),
    (lambda root: (root.mkdir(), (root / "f000.png").write_bytes(b"not a png")), "f000.png: not an image"),
    (lambda root: (save_png(root / "a" / "f000.png", np.zeros((4, 4), np.uint8), "L"),
                   save_png(root / "b" / "f000.png", np.zeros((4, 4), np.uint8), "L")), "have the same name"),
    (lambda root: save_png(root / "f000.png", np.full((4, 4, 3), (1, 2, 3), np.uint8)), "not in the camvid11 "
                                                                                        "palette"),
])
def test_bad_prediction_folders_are_one_line_naming_what_to_do(tmp_path, capsys, make, expected):
    root = tmp_path / "preds"
    make(root)
    err = one_error_line(capsys, ["import", root, "--predictions", "--schema", "camvid11", "--out", tmp_path / "r"])
    assert expected in err and str(root) in err
    assert not (tmp_path / "r").exists()


def test_model_options_and_a_missing_schema_are_refused_for_prediction_folders(tmp_path, capsys):
    save_png(tmp_path / "preds" / "f000.png", np.zeros((4, 4), np.uint8), "L")
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--predictions", "--schema", "camvid11",
                                  "--preprocess", "torch", "--out", tmp_path / "r"])
    assert "--preprocess, --input-size and --void-channel describe a model" in err
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--predictions", "--schema", "camvid11",
                                  "--void-channel", "11", "--out", tmp_path / "r"])
    assert "its void pixels are read as no class" in err
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--predictions", "--out", tmp_path / "r"])
    assert "pass --schema" in err
    err = one_error_line(capsys, ["import", tmp_path / "preds", "--schema", "camvid11", "--out", tmp_path / "r"])
    assert "a folder, not a model file; for a folder of predicted label PNGs add --predictions" in err


# ------------------------------------------------------------------------------------------------ the run elsewhere

def test_predict_and_export_refuse_a_prediction_run_in_one_line(tmp_path, camvid_data, capsys):
    prediction_folder(tmp_path / "preds", camvid_data)
    out = imported(tmp_path, tmp_path / "preds")
    image = save_png(tmp_path / "upload.png", np.zeros((24, 40, 3), np.uint8))
    err = one_error_line(capsys, ["predict", "--run", out, image, "--out", tmp_path / "masks"])
    assert err.endswith("preds holds stored predictions and can't predict new images; evaluate it instead")
    err = one_error_line(capsys, ["export", "--run", out, "--out", tmp_path / "m.onnx"])
    assert "holds stored predictions, not a model; there is nothing to export" in err


def test_a_prediction_run_without_its_folder_is_listed_as_broken(tmp_path, camvid_data):
    prediction_folder(tmp_path / "preds", camvid_data)
    out = imported(tmp_path, tmp_path / "preds")
    for path in (out / "predictions").iterdir():
        path.unlink()
    with pytest.raises(runs.RunError, match="its predictions/ folder holds no PNGs; import the prediction folder"):
        Predictor(out)
    (out / "predictions").rmdir()
    assert "no predictions/ folder of label PNGs" in runs.open_run(out).error


def test_home_lists_a_prediction_run_with_its_kind_and_source(tmp_path, camvid_data):
    from app.settings import IMPORTED_FROM, describe_models_dir
    prediction_folder(tmp_path / "preds", camvid_data)
    imported(tmp_path, tmp_path / "preds")
    table, broken = describe_models_dir(tmp_path / "models")
    row = table.set_index("run").loc["preds"]
    assert not broken and row["status"] == "ok" and row["kind"] == "predictions"
    assert row[IMPORTED_FROM] == str((tmp_path / "preds").resolve()) and row["architecture"] == "preds"
    assert pd.isna(row["parameters"])


def test_home_and_evaluation_pages_show_an_evaluated_prediction_run(tmp_path, camvid_data, monkeypatch):
    from streamlit.testing.v1 import AppTest
    root = Path(__file__).resolve().parents[1] / "pages"
    prediction_folder(tmp_path / "preds", camvid_data)
    evaluate_run(imported(tmp_path, tmp_path / "preds"), camvid_data, "val")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(camvid_data))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    home = AppTest.from_file(str(root / "home.py")).run(timeout=120)
    assert not home.exception, [e.value for e in home.exception]
    row = home.dataframe[0].value.set_index("run").loc["preds"]
    assert row["kind"] == "predictions" and row["imported from"] == str((tmp_path / "preds").resolve())
    evaluation = AppTest.from_file(str(root / "evaluation.py")).run(timeout=120)
    assert not evaluation.exception, [e.value for e in evaluation.exception]
    assert not evaluation.error, [e.value for e in evaluation.error]


# ------------------------------------------------------------------------------------------------ no TensorFlow

def test_cli_evaluates_a_prediction_run_without_tensorflow_and_says_what_was_scored(tmp_path, camvid_data):
    import subprocess
    import sys

    from segcore import evaluations
    prediction_folder(tmp_path / "preds", camvid_data)
    run = imported(tmp_path, tmp_path / "preds")
    script = ("import sys; from segcore.cli import main; "
              f"code = main(['evaluate', '--run', {str(run)!r}, '--data', {str(camvid_data)!r}, '--split', 'val', "
              f"'--quiet', '--out', {str(tmp_path / 'e.json')!r}]); "
              "print('TF LOADED' if 'tensorflow' in sys.modules else 'NO TF'); sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("NO TF")
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["kind"] == "predictions" and "stored predictions" in evaluations.scored_at(result)
