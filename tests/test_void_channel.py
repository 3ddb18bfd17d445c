"""Models with a void output channel (a 12-class CamVid model: 11 classes and Unlabelled): imported with
--void-channel, they label a pixel no class where that channel wins, and evaluation scores those pixels as the
Cityscapes benchmark does (a miss of the true class), with calibration counting them as wrong at the void
channel's probability."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from conftest import save_png
from segcore import frames, runs
from segcore.backends import open_backend
from segcore.backends.onnx import METADATA_PREFIX
from segcore.backends.preprocessing import IMAGENET_MEAN, IMAGENET_STD
from segcore.cli import main
from segcore.confidence import confidence_maps
from segcore.evaluate import evaluate_run
from segcore.labels import CAMVID11
from segcore.predict import Predictor
from test_hardening import one_error_line
from test_onnx_import import SIZE, conv_weights, foreign_onnx, sample_image

VOID = CAMVID11.ignore_index


def twelve_channel_logits(image: np.ndarray) -> np.ndarray:
    """What foreign_onnx(classes=12) computes, in numpy (torch preprocessing, a 1x1 convolution)."""
    weight, bias = conv_weights(12)
    x = (image.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    return x @ weight.T + bias


def expected_labels(logits: np.ndarray, channel: int) -> np.ndarray:
    """Arg-max over all 12 channels; the void channel's pixels get no class, the others their class id."""
    top = logits.argmax(-1)
    labels = np.where(top > channel, top - 1, top)
    return np.where(top == channel, VOID, labels).astype(np.uint8)


def no_near_ties(logits: np.ndarray) -> None:
    top2 = np.sort(logits, axis=-1)[..., -2:]
    assert (top2[..., 1] - top2[..., 0]).min() > 1e-4      # float order can't flip a label


@pytest.fixture
def twelve(tmp_path):
    return foreign_onnx(tmp_path / "segnet12.onnx", classes=12)


def imported(source, out, channel: int) -> runs.Run:
    assert main(["import", str(source), "--schema", "camvid11", "--preprocess", "torch", "--void-channel",
                 str(channel), "--out", str(out)]) == 0
    return runs.open_run(out)


# ------------------------------------------------------------------------------------------------ the label map

def test_what_probabilities_leave_out_wins_only_where_it_beats_every_class():
    probabilities = np.array([[[0.3, 0.2], [0.5, 0.1], [0.4, 0.2]]], dtype=np.float32)   # left out: .5, .4, .4
    labels, top = frames.top_class(probabilities, (1, 3), no_class=VOID)
    assert labels.tolist() == [[VOID, 0, 0]]                   # a tie keeps the class
    np.testing.assert_allclose(top, [[0.5, 0.5, 0.4]], atol=1e-6)
    assert frames.top_class(probabilities, (1, 3))[0].tolist() == [[0, 0, 0]]     # without it: always a class
    summing_to_one = np.array([[[0.6, 0.4], [0.5, 0.5]]], dtype=np.float32)
    assert frames.label_map(summing_to_one, (1, 2), VOID).tolist() == [[0, 0]]


def test_confidence_counts_the_void_channel_as_one_more_outcome():
    probabilities = np.array([[[0.3, 0.2], [0.9, 0.1]]], dtype=np.float32)
    plain, void = confidence_maps(probabilities, (1, 2)), confidence_maps(probabilities, (1, 2), void=True)
    np.testing.assert_allclose(void.confidence, [[0.5, 0.9]], atol=1e-6)
    np.testing.assert_allclose(plain.confidence, [[0.3, 0.9]], atol=1e-6)
    three = np.array([0.3, 0.2, 0.5])
    np.testing.assert_allclose(void.entropy[0, 0], -(three * np.log(three)).sum() / np.log(3), atol=1e-5)


# ------------------------------------------------------------------------------------------------ import, predict

def test_a_model_with_one_channel_too_many_is_told_about_void_channel(twelve, tmp_path, capsys):
    err = one_error_line(capsys, ["import", twelve, "--schema", "camvid11", "--out", tmp_path / "run"])
    assert "model outputs 12 classes but schema camvid11 has 11" in err
    assert "import it with --void-channel (11 for the last)" in err
    assert not (tmp_path / "run").exists()
    err = one_error_line(capsys, ["import", twelve, "--schema", "camvid11", "--void-channel", "12",
                                  "--out", tmp_path / "run"])
    assert "--void-channel 12 is not an output channel" in err and "(0..11)" in err
    assert not (tmp_path / "run").exists()
    eleven = foreign_onnx(tmp_path / "eleven.onnx")         # a void channel the model doesn't have
    err = one_error_line(capsys, ["import", eleven, "--schema", "camvid11", "--void-channel", "11",
                                  "--out", tmp_path / "run"])
    assert "model outputs 11 classes but schema camvid11 has 11 and a void channel" in err


@pytest.mark.parametrize("channel", [11, 5])     # last, and one whose removal shifts the ids after it
def test_where_the_void_channel_wins_the_pixel_has_no_class(twelve, tmp_path, channel):
    run = imported(twelve, tmp_path / "models" / "segnet12", channel)
    assert run.meta["void_channel"] == channel
    predictor = Predictor(run)
    assert predictor.no_class == VOID and predictor.schema.num_classes == 11
    seen = set()
    for seed in range(4):
        image = sample_image(seed)
        logits = twelve_channel_logits(image)
        no_near_ties(logits)
        expected = expected_labels(logits, channel)
        prediction = predictor.predict(image, keep_scores=True)
        np.testing.assert_array_equal(prediction.labels, expected)
        assert prediction.scores.shape == (*SIZE, 11)
        seen |= set(np.unique(expected).tolist())
    assert VOID in seen and len(seen) > 2          # the case is real: void and classes both won somewhere


def test_test_time_flip_averages_the_void_channel_with_the_classes(twelve, tmp_path):
    run = imported(twelve, tmp_path / "segnet12", 11)
    image = sample_image(2)
    mean = (frames.probabilities(twelve_channel_logits(image), "logits")
            + frames.probabilities(twelve_channel_logits(image[:, ::-1]), "logits")[:, ::-1]) / 2
    no_near_ties(mean)
    expected = expected_labels(mean, 11)
    assert (expected == VOID).any()
    np.testing.assert_array_equal(Predictor(run, tta="flip").predict(image).labels, expected)


def test_the_cli_writes_void_pixels_as_the_schema_s_void(twelve, tmp_path):
    imported(twelve, tmp_path / "segnet12", 11)
    image = sample_image(1)
    Image.fromarray(image).save(tmp_path / "frame.png")
    assert main(["predict", "--run", str(tmp_path / "segnet12"), str(tmp_path / "frame.png"),
                 "--out", str(tmp_path / "out")]) == 0
    written = np.asarray(Image.open(next((tmp_path / "out").glob("*.png"))))
    np.testing.assert_array_equal(written, expected_labels(twelve_channel_logits(image), 11))


def test_a_seglab_export_says_its_void_channel_and_its_import_keeps_it(twelve, tmp_path):
    from segcore.importing import import_model
    from segcore.importing_upload import export_summary
    model = onnx.load(str(twelve))
    for key, value in {"schema": json.dumps(CAMVID11.to_dict()), "preprocess": "torch", "void_channel": "11",
                       "arch": "segnet"}.items():
        model.metadata_props.add(key=METADATA_PREFIX + key, value=value)
    onnx.save(model, str(tmp_path / "exported.onnx"))
    assert export_summary(model.SerializeToString()) == ("segnet: classes camvid11 (11), void channel 11, input "
                                                         "torch, its declared size")
    run = runs.open_run(import_model(tmp_path / "exported.onnx", tmp_path / "run"))
    assert run.meta["void_channel"] == 11 and Predictor(run).no_class == VOID


@pytest.mark.parametrize("value", [12, -1, "11", True])
def test_a_damaged_void_channel_in_meta_json_is_one_line(twelve, tmp_path, value):
    run = imported(twelve, tmp_path / "segnet12", 11)
    meta = {**run.meta, "void_channel": value}
    (tmp_path / "segnet12" / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(runs.RunError) as err:
        open_backend(runs.open_run(tmp_path / "segnet12"))
    assert "meta.json's void_channel" in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------ evaluation

def test_evaluation_scores_void_pixels_as_misses_and_calibration_as_wrong(twelve, tmp_path):
    from segcore.calibration import CONFIDENCE_UNITS, calibration_counts
    from segcore.frames import probabilities
    data = tmp_path / "data"              # frames of the model's own size: no resizing between numpy and the model
    for seed in range(3):
        truth = np.random.default_rng(seed).integers(0, 12, SIZE).astype(np.uint8)     # 11: CamVid's void
        save_png(data / "images" / "val" / f"f{seed}.png", sample_image(seed))
        save_png(data / "labels" / "val" / f"f{seed}.png", truth, "L")
    run = imported(twelve, tmp_path / "segnet12", 11)
    result, _ = evaluate_run(run.path, data, "val", out=tmp_path / "eval.json")
    missed, calibration = np.zeros(11, np.int64), None
    for path in sorted((data / "images" / "val").glob("*.png")):
        logits = twelve_channel_logits(np.asarray(Image.open(path).convert("RGB")))
        no_near_ties(logits)
        truth = np.asarray(Image.open(data / "labels" / "val" / path.name))
        labels, valid = expected_labels(logits, 11), truth < 11
        np.add.at(missed, truth[valid & (labels == VOID)], 1)
        counts = calibration_counts(probabilities(logits, "logits").max(-1), labels == truth, valid)
        calibration = counts if calibration is None else calibration.add(counts)
    assert missed.sum() > 0
    assert result["class_level"]["unpredicted"] == missed.tolist()
    stored = result["calibration"]
    assert sum(stored["count"]) == calibration.count.sum()
    assert sum(stored["correct"]) == calibration.correct.sum()
    np.testing.assert_allclose(sum(stored["confidence_sum"]), calibration.confidence_units.sum() / CONFIDENCE_UNITS, rtol=1e-4)


def test_a_keras_model_with_a_void_channel_predicts_no_class_where_it_wins(tmp_path):
    import keras

    from segcore.models import build
    keras.utils.set_random_seed(2)          # initial weights under which void and several classes win
    model = build("unet", 12, (32, 48), base_filters=4, depth=2, stem_filters=4)
    model.save(tmp_path / "twelve.keras")
    assert main(["import", str(tmp_path / "twelve.keras"), "--schema", "camvid11", "--void-channel", "11",
                 "--out", str(tmp_path / "run")]) == 0
    predictor = Predictor(tmp_path / "run")
    image = np.random.default_rng(3).integers(0, 256, (32, 48, 3), dtype=np.uint8)
    scores = model.predict_on_batch(image[None].astype(np.float32))[0]
    expected = expected_labels(scores, 11)
    assert (expected == VOID).any() and len(np.unique(expected)) > 2
    sure = np.diff(np.sort(scores, axis=-1)[..., -2:], axis=-1)[..., 0] > 1e-4
    labels = predictor.predict(image).labels
    np.testing.assert_array_equal(labels[sure], expected[sure])       # near-ties may fall either way on another CPU
    assert predictor.no_class == VOID


def test_an_export_of_a_run_with_a_void_channel_says_it_in_its_metadata(twelve, tmp_path):
    from segcore.importing import _write_metadata
    run = runs.Run(tmp_path, {"arch": "segnet", "schema": CAMVID11.to_dict(), "void_channel": 11})
    copy = tmp_path / "copy.onnx"
    copy.write_bytes(twelve.read_bytes())
    _write_metadata(copy, run, SIZE, "logits")
    said = {item.key: item.value for item in onnx.load(str(copy)).metadata_props}
    assert said[METADATA_PREFIX + "void_channel"] == "11"


def test_home_says_a_run_has_a_void_channel(twelve, tmp_path):
    from app.settings import describe_models_dir
    imported(twelve, tmp_path / "models" / "segnet12", 11)
    assert main(["import", str(foreign_onnx(tmp_path / "eleven.onnx")), "--schema", "camvid11",
                 "--out", str(tmp_path / "models" / "x")]) == 0
    table, broken = describe_models_dir(tmp_path / "models")
    assert not broken
    assert table.set_index("run")["schema"].to_dict() == {"segnet12": "camvid11 + void channel 11", "x": "camvid11"}


def test_a_keras_segcore_model_with_a_void_channel_predicts_at_several_scales(tmp_path):
    from segcore.models import build
    from test_hardening import make_run
    options = {"base_filters": 4, "depth": 1, "stem_filters": 4}
    folder = make_run(tmp_path / "unet12", build("unet", 12, (16, 16), **options), meta={
        "arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [16, 16], "void_channel": 11,
        "config": {"arch_options": options}})
    served = Predictor(folder, tta="multiscale")
    assert served.no_class == VOID and len(served.scaled_backends) > 1
    result = served.predict(sample_image(1)[:16, :16], keep_scores=True)
    assert result.labels.shape == (16, 16) and result.scores.shape == (16, 16, 11)
