"""Predictor: refuses models that don't fit their schema or declare absurd inputs; predict replaces neither an input
nor (unless asked) an earlier output; the label maps `segcore predict` writes are the ones `segcore evaluate` scores."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import frames, runs
from segcore.backends import MAX_INPUT_PIXELS
from segcore.batches import SampleLoader
from segcore.cli import main
from segcore.datasets import list_pairs
from segcore.imageio import read_mask
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix, top_confusions
from segcore.predict import Predictor
from test_hardening import one_error_line


def make_run(folder, model, *, input_size=None):
    """A run folder around any Keras model: model.keras + meta.json with the camvid11 schema."""
    runs.save_model(model, folder / runs.MODEL_FILE)
    size = input_size if input_size is not None else list(model.input_shape[1:3])
    runs.write_json(folder / runs.META_FILE, {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": size})
    return folder


def conv_model(input_shape, classes):
    import keras
    inputs = keras.Input(input_shape)
    return keras.Model(inputs, keras.layers.Conv2D(classes, 1)(inputs))




def test_a_model_with_more_classes_than_its_schema_is_refused(tmp_path):
    run = make_run(tmp_path / "wide", conv_model((16, 16, 3), 32))
    with pytest.raises(runs.RunError, match="model outputs 32 classes but its schema camvid11 has 11"):
        Predictor(run)


def test_a_model_with_a_rank_2_output_is_refused(tmp_path, capsys):
    import keras
    inputs = keras.Input((16, 16, 3))
    flat = keras.layers.Dense(11)(keras.layers.GlobalAveragePooling2D()(inputs))   # (batch, 11): a classifier
    run = make_run(tmp_path / "classifier", keras.Model(inputs, flat))
    photo = save_png(tmp_path / "p.png", np.zeros((16, 16, 3), dtype=np.uint8))
    err = one_error_line(capsys, ["predict", "--run", run, photo, "--out", tmp_path / "out"])
    assert "(None, 11)" in err and "(batch, height, width, 11)" in err
    assert not (tmp_path / "out").exists()


def test_a_model_declaring_a_huge_input_is_refused_before_warm_up(tmp_path):
    side = int(MAX_INPUT_PIXELS ** 0.5) * 2     # 4x the limit: warm-up would allocate a (1, side, side, 3) batch
    run = make_run(tmp_path / "huge", conv_model((side, side, 3), 11))
    with pytest.raises(runs.RunError, match=rf"input size {side}x{side} is outside"):
        Predictor(run)


def test_a_free_input_size_uses_the_runs_training_size(tmp_path):
    run = make_run(tmp_path / "free", conv_model((None, None, 3), 11), input_size=[24, 40])
    predictor = Predictor(run)
    assert predictor.input_size == (24, 40)
    labels = predictor.predict(np.zeros((30, 50, 3), dtype=np.uint8)).labels
    assert labels.shape == (30, 50) and labels.max() < 11


@pytest.mark.parametrize("meta_size, expected", [(None, "input_size"), ([0, 40], "input_size"),
                                                 ([100000, 100000], "100000x100000 is outside")])
def test_a_free_input_size_without_a_usable_training_size_is_one_line(tmp_path, capsys, meta_size, expected):
    run = make_run(tmp_path / "free", conv_model((None, None, 3), 11), input_size=[24, 40])
    meta = runs.read_json(run / runs.META_FILE)
    if meta_size is None:
        del meta["input_size"]
    else:
        meta["input_size"] = meta_size
    runs.write_json(run / runs.META_FILE, meta)
    photo = save_png(tmp_path / "p.png", np.zeros((16, 16, 3), dtype=np.uint8))
    err = one_error_line(capsys, ["predict", "--run", run, photo, "--out", tmp_path / "out"])
    assert expected in err


def test_inputs_that_share_a_name_are_refused_before_anything_is_written(tmp_path, capsys):
    run = make_run(tmp_path / "good", conv_model((16, 16, 3), 11))
    first = save_png(tmp_path / "a" / "frame.png", np.zeros((16, 16, 3), dtype=np.uint8))
    second = save_png(tmp_path / "b" / "frame.png", np.full((16, 16, 3), 255, dtype=np.uint8))
    out = tmp_path / "o"
    err = one_error_line(capsys, ["predict", "--run", run, first, second, "--out", out])
    assert str(first) in err and str(second) in err and "frame_labels.png" in err
    assert not out.exists()


def test_an_output_that_would_replace_an_input_is_refused(tmp_path, capsys):
    run = make_run(tmp_path / "good", conv_model((16, 16, 3), 11))
    frame = save_png(tmp_path / "in" / "frame.png", np.zeros((16, 16, 3), dtype=np.uint8))
    earlier = save_png(tmp_path / "in" / "frame_labels.png", np.zeros((16, 16, 3), dtype=np.uint8))
    before = earlier.read_bytes()
    err = one_error_line(capsys, ["predict", "--run", run, earlier, frame, "--out", tmp_path / "in"])
    assert "would replace the input" in err
    assert earlier.read_bytes() == before


def test_distinct_names_are_all_written(tmp_path, capsys):
    run = make_run(tmp_path / "good", conv_model((16, 16, 3), 11))
    images = [save_png(tmp_path / d / f"{d}.png", np.zeros((20, 12, 3), dtype=np.uint8)) for d in ("a", "b")]
    assert main(["predict", "--run", str(run), *map(str, images), "--out", str(tmp_path / "o")]) == 0
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["a_labels.png", "b_labels.png"]


def test_a_run_of_an_unknown_kind_is_one_line(tmp_path, capsys):
    run = make_run(tmp_path / "odd", conv_model((16, 16, 3), 11))
    meta = runs.read_json(run / runs.META_FILE)
    runs.write_json(run / runs.META_FILE, {**meta, "kind": "tflite"})
    assert runs.open_run(run).kind == "tflite" and runs.open_run(tmp_path / "missing").kind == "keras"
    photo = save_png(tmp_path / "p.png", np.zeros((16, 16, 3), dtype=np.uint8))
    err = one_error_line(capsys, ["predict", "--run", run, photo, "--out", tmp_path / "out"])
    assert "kind 'tflite'" in err and "keras" in err


def test_the_backend_reports_whether_the_model_outputs_logits_or_probabilities(tmp_path):
    import keras
    inputs = keras.Input((16, 16, 3))
    softmax = keras.Model(inputs, keras.layers.Softmax()(keras.layers.Conv2D(11, 1)(inputs)))
    activation = keras.Model(inputs, keras.layers.Conv2D(11, 1, activation="softmax")(inputs))
    assert Predictor(make_run(tmp_path / "logits", conv_model((16, 16, 3), 11))).output_kind == "logits"
    assert Predictor(make_run(tmp_path / "softmax", softmax)).output_kind == "probabilities"
    assert Predictor(make_run(tmp_path / "activation", activation)).output_kind == "probabilities"


class RecordingBackend:
    """A back-end that remembers what it was fed and answers with fixed scores."""

    def __init__(self, scores):
        self.name, self.schema, self.output_kind = "recording", CAMVID11, "logits"
        self.input_size = scores.shape[:2]
        self.scores, self.batches = scores, []

    def forward(self, batch):
        self.batches.append(batch)
        return self.scores[None]


def test_prediction_feeds_the_model_what_training_fed_it(camvid_like):
    sample = list_pairs(camvid_like, "train")[0]                  # 32x48 frames, shrunk to the model's 20x30
    scores = np.random.default_rng(0).standard_normal((20, 30, 11)).astype(np.float32)
    backend = RecordingBackend(scores)
    prediction = Predictor(runs.Run(camvid_like), backend).predict(np.asarray(Image.open(sample.image)),
                                                                     keep_scores=True)
    trained_on, _ = SampleLoader(CAMVID11, (20, 30))(sample.image, sample.label)
    np.testing.assert_array_equal(backend.batches[0][0], trained_on)
    np.testing.assert_array_equal(prediction.labels, frames.label_map(scores, (32, 48)))
    np.testing.assert_array_equal(prediction.scores, scores)


def test_the_label_maps_predict_writes_are_the_ones_evaluate_scores(tmp_path, capsys):
    import keras
    keras.utils.set_random_seed(0)
    inputs = keras.Input((24, 40, 3))           # not the frames' 32x48: both resizes are exercised
    hidden = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(keras.layers.Rescaling(1 / 255)(inputs))
    run = make_run(tmp_path / "net", keras.Model(inputs, keras.layers.Conv2D(11, 3, padding="same")(hidden)))
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    samples = list_pairs(data, "val")
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--split", "val", "--quiet",
                 "--out", str(tmp_path / "e.json")]) == 0
    assert main(["predict", "--run", str(run), *(str(s.image) for s in samples), "--out", str(tmp_path / "o")]) == 0
    capsys.readouterr()
    stored = json.loads((tmp_path / "e.json").read_text())
    total = ConfusionMatrix(11, CAMVID11.ignore_index)
    for sample, record in zip(samples, stored["per_image"]):
        written = np.asarray(Image.open(tmp_path / "o" / f"{sample.image.stem}_labels.png"))
        counts = total.update(read_mask(sample.label, CAMVID11), written).counts
        assert record["name"] == sample.name
        assert record["confusions"] == json.loads(json.dumps(top_confusions(counts, 8)))
    assert len(np.unique(written)) > 1, "a constant prediction would prove little"
    assert stored["class_level"]["confusion_matrix"] == total.counts.tolist()


def test_an_earlier_prediction_is_kept_unless_overwrite_is_asked_for(tmp_path, capsys):
    run = make_run(tmp_path / "good", conv_model((16, 16, 3), 11))
    frame = save_png(tmp_path / "in" / "frame.png", np.zeros((16, 16, 3), dtype=np.uint8))
    earlier = save_png(tmp_path / "out" / "frame_labels.png", np.full((16, 16), 7, dtype=np.uint8))
    before = earlier.read_bytes()
    err = one_error_line(capsys, ["predict", "--run", run, frame, "--out", tmp_path / "out"])
    assert "frame_labels.png exist already" in err and "--overwrite" in err
    assert earlier.read_bytes() == before
    assert main(["predict", "--run", str(run), str(frame), "--out", str(tmp_path / "out"), "--overwrite"]) == 0
    assert earlier.read_bytes() != before


def test_an_unreadable_image_among_several_writes_nothing(tmp_path, capsys):
    run = make_run(tmp_path / "good", conv_model((16, 16, 3), 11))
    good = save_png(tmp_path / "in" / "one.png", np.zeros((16, 16, 3), dtype=np.uint8))
    bad = save_png(tmp_path / "in" / "two.png", np.zeros((16, 16, 3), dtype=np.uint8))
    bad.write_bytes(bad.read_bytes()[:40])
    err = one_error_line(capsys, ["predict", "--run", run, good, bad, "--out", tmp_path / "out"])
    assert "two.png" in err and not (tmp_path / "out").exists()
