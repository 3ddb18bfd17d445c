"""`segcore import` / `export`: a foreign ONNX model (built here with the onnx helper), our own export round trip,
bad model files refused in one line, and imported runs on Home and Side by Side."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from segcore import runs
from segcore.backends.preprocessing import IMAGENET_MEAN, IMAGENET_STD, preprocess
from segcore.cli import main
from segcore.labels import CAMVID11
from test_hardening import one_error_line

ROOT = Path(__file__).resolve().parents[1]
HOME, SIDE = (str(ROOT / "pages" / name) for name in ("home.py", "side_by_side.py"))
SIZE = (16, 20)         # the foreign model's declared input (height, width)


def conv_weights(classes: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.normal(size=(classes, 3)).astype(np.float32), rng.normal(size=classes).astype(np.float32)


def foreign_onnx(path: Path, classes: int = 11, inputs: int = 1, size=SIZE, batch="N") -> Path:
    """A PyTorch-style model: NCHW float input of fixed size, one 1x1 convolution, (N, classes, H, W) logits."""
    import onnx
    from onnx import TensorProto, helper
    weight, bias = conv_weights(classes)
    names = ["image", "depth"][:inputs]
    graph_inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [batch, 3, *size]) for n in names]
    nodes = [helper.make_node("Conv", ["image", "W", "B"], ["conv"], kernel_shape=[1, 1])]
    if inputs == 2:
        nodes.append(helper.make_node("Add", ["conv", "depth"], ["sum"]))   # broadcasts only if classes == 3
    output = helper.make_tensor_value_info("scores" if inputs == 1 else "sum", TensorProto.FLOAT,
                                           [batch, classes, *size])
    if inputs == 1:
        nodes.append(helper.make_node("Identity", ["conv"], ["scores"]))
    initializers = [helper.make_tensor("W", TensorProto.FLOAT, [classes, 3, 1, 1], weight.ravel().tolist()),
                    helper.make_tensor("B", TensorProto.FLOAT, [classes], bias.tolist())]
    graph = helper.make_graph(nodes, "foreign", graph_inputs, [output], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def numpy_logits(image: np.ndarray) -> np.ndarray:
    """What the foreign model computes, in numpy: torch preprocessing, then the 1x1 convolution."""
    weight, bias = conv_weights(11)
    x = (image.astype(np.float32) / 255 - IMAGENET_MEAN) / IMAGENET_STD
    return x @ weight.T + bias


def sample_image(seed: int = 0, size=SIZE) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def save_png(path: Path, image: np.ndarray) -> Path:
    Image.fromarray(image).save(path)
    return path


def tiny_model(size=(32, 48)):
    from segcore.models import build
    return build("unet", 11, size, base_filters=4, depth=2, stem_filters=4)


def trained_like_run(folder: Path) -> Path:
    """A run folder as `segcore train` leaves it (an untrained tiny U-Net: weights are all that differ)."""
    model = tiny_model()
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    runs.write_json(folder / "meta.json", {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [32, 48]})
    return folder


# ------------------------------------------------------------------------------------------------ preprocessing

def test_preprocess_modes_follow_keras_imagenet_utils():
    pixel = np.array([[[[0, 127.5, 255]]]], dtype=np.float32)           # one RGB pixel
    np.testing.assert_allclose(preprocess(pixel, "raw"), pixel)
    np.testing.assert_allclose(preprocess(pixel, "unit")[0, 0, 0], [0, 0.5, 1])
    np.testing.assert_allclose(preprocess(pixel, "tf")[0, 0, 0], [-1, 0, 1])
    np.testing.assert_allclose(preprocess(pixel, "torch")[0, 0, 0],
                               ([0, 0.5, 1] - np.array([0.485, 0.456, 0.406])) / [0.229, 0.224, 0.225], rtol=1e-6)
    np.testing.assert_allclose(preprocess(pixel, "caffe")[0, 0, 0], [255 - 103.939, 127.5 - 116.779, 0 - 123.68],
                               rtol=1e-6)                                 # BGR order, means subtracted


# ------------------------------------------------------------------------------------------------ foreign ONNX

def test_a_foreign_nchw_torch_model_predicts_what_numpy_computes(tmp_path, capsys):
    model = foreign_onnx(tmp_path / "foreign.onnx")
    assert main(["import", str(model), "--schema", "camvid11", "--preprocess", "torch",
                 "--out", str(tmp_path / "models" / "foreign")]) == 0
    meta = json.loads((tmp_path / "models" / "foreign" / "meta.json").read_text())
    assert (meta["kind"], meta["input_size"], meta["preprocess"], meta["schema"]["name"]) == \
        ("onnx", list(SIZE), "torch", "camvid11")
    assert meta["source"] == str(model.resolve()) and meta["imported"]
    assert (tmp_path / "models" / "foreign" / "model.onnx").read_bytes() == model.read_bytes()

    images = [sample_image(seed) for seed in range(3)]
    paths = [save_png(tmp_path / f"frame{i}.png", image) for i, image in enumerate(images)]
    capsys.readouterr()
    assert main(["predict", "--run", str(tmp_path / "models" / "foreign"), *map(str, paths),
                 "--out", str(tmp_path / "out")]) == 0
    written = sorted((tmp_path / "out").glob("*.png"))
    assert len(written) == 3
    for image, path in zip(images, written):
        logits = numpy_logits(image)
        top2 = np.sort(logits, axis=-1)[..., -2:]
        assert (top2[..., 1] - top2[..., 0]).min() > 1e-4      # no near-ties: float order can't flip a label
        np.testing.assert_array_equal(np.asarray(Image.open(path)), logits.argmax(-1))


def test_an_nchw_model_whose_width_equals_the_class_count_is_read_on_its_class_axis(tmp_path):
    """(N, 11, 16, 11) scores: both axis 1 and axis 3 are 11 long; the input's layout (NCHW) says which is which."""
    from segcore.predict import Predictor
    model = foreign_onnx(tmp_path / "narrow.onnx", size=(16, 11))
    assert main(["import", str(model), "--schema", "camvid11", "--preprocess", "torch",
                 "--out", str(tmp_path / "narrow")]) == 0
    image = sample_image(3, size=(16, 11))
    np.testing.assert_array_equal(Predictor(tmp_path / "narrow").predict(image).labels, numpy_logits(image).argmax(-1))


def test_a_model_with_a_fixed_batch_of_two_predicts_one_frame_and_three(tmp_path):
    from segcore.predict import Predictor
    assert main(["import", str(foreign_onnx(tmp_path / "pairs.onnx", batch=2)), "--schema", "camvid11",
                 "--preprocess", "torch", "--out", str(tmp_path / "pairs")]) == 0
    predictor = Predictor(tmp_path / "pairs", tta="flip")          # flip runs frame and mirror as one batch
    images = [sample_image(seed) for seed in range(3)]
    np.testing.assert_array_equal(Predictor(tmp_path / "pairs").predict(images[0]).labels,
                                  numpy_logits(images[0]).argmax(-1))
    scores = predictor.backend.forward(np.stack(images).astype(np.float32))
    assert scores.shape == (3, *SIZE, 11)
    np.testing.assert_allclose(scores, np.stack([numpy_logits(image) for image in images]), atol=1e-4)
    assert predictor.predict(images[1]).labels.shape == SIZE


def test_a_model_for_another_schema_is_refused_naming_both_counts(tmp_path, capsys):
    model = foreign_onnx(tmp_path / "five.onnx", classes=5)
    err = one_error_line(capsys, ["import", model, "--schema", "camvid11", "--out", tmp_path / "run"])
    assert "five.onnx" in err and "model outputs 5 classes but schema camvid11 has 11" in err
    assert not (tmp_path / "run").exists()                  # nothing half-imported is left behind


def test_an_onnx_model_with_two_inputs_is_refused(tmp_path, capsys):
    model = foreign_onnx(tmp_path / "two.onnx", classes=3, inputs=2)
    err = one_error_line(capsys, ["import", model, "--schema", "camvid11", "--out", tmp_path / "run"])
    assert "two.onnx" in err and "2 inputs (image, depth)" in err and "single image input" in err
    assert not (tmp_path / "run").exists()


def test_a_foreign_model_needs_a_schema(tmp_path, capsys):
    model = foreign_onnx(tmp_path / "foreign.onnx")
    err = one_error_line(capsys, ["import", model, "--out", tmp_path / "run"])
    assert "foreign.onnx" in err and "--schema" in err


def test_malformed_size_metadata_is_one_line_naming_the_file(tmp_path, capsys):
    import onnx
    model = onnx.load(foreign_onnx(tmp_path / "foreign.onnx"))
    onnx.helper.set_model_props(model, {"seglab.schema": CAMVID11.to_json(), "seglab.input_size": "big"})
    onnx.save(model, tmp_path / "odd.onnx")
    err = one_error_line(capsys, ["import", tmp_path / "odd.onnx", "--out", tmp_path / "run"])
    assert "odd.onnx" in err and "height x width" in err and not (tmp_path / "run").exists()


def test_a_schema_json_file_is_accepted(tmp_path):
    from segcore.importing import import_model
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(CAMVID11.to_dict()))
    run = runs.open_run(import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema=str(schema),
                                     preprocess="torch"))
    assert run.ok and run.kind == "onnx" and run.schema == CAMVID11


# ------------------------------------------------------------------------------------------------ Keras files

@pytest.mark.slow
def test_a_keras_file_with_a_lambda_layer_is_refused_never_run(tmp_path, capsys):
    import keras
    inputs = keras.Input((16, 16, 3))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(tmp_path / "lambda.keras")
    err = one_error_line(capsys, ["import", tmp_path / "lambda.keras", "--schema", "camvid11",
                                  "--out", tmp_path / "run"])
    assert "lambda.keras" in err and "never executes code" in err
    assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_keras_file_imports_with_its_preprocessing(tmp_path):
    from segcore.importing import import_model
    from segcore.predict import Predictor
    model = tiny_model()
    model.save(tmp_path / "plain.keras")
    run = runs.open_run(import_model(tmp_path / "plain.keras", tmp_path / "run", schema="camvid11",
                                     preprocess="unit", name="my-unet"))
    assert run.ok and (run.kind, run.meta["arch"], run.meta["input_size"]) == ("keras", "my-unet", [32, 48])
    image = sample_image(1, (32, 48))
    scores = Predictor(run).predict(image, keep_scores=True).scores
    expected = np.asarray(model.predict_on_batch(image[None].astype(np.float32) / 255))[0]
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-5)   # the model was fed x / 255


# ------------------------------------------------------------------------------------------------ export

@pytest.mark.slow
def test_export_then_import_reproduces_the_runs_masks(tmp_path, capsys):
    from segcore.predict import Predictor
    trained = trained_like_run(tmp_path / "models" / "unet-tiny")
    assert main(["export", "--run", str(trained), "--format", "onnx", "--out", str(tmp_path / "unet.onnx")]) == 0
    printed = re.search(r"equals Keras' on ([0-9.]+)%", capsys.readouterr().out)
    assert printed and float(printed.group(1)) >= 99.9           # export checks itself on a sample frame
    assert main(["import", str(tmp_path / "unet.onnx"), "--out", str(tmp_path / "models" / "unet-onnx")]) == 0
    imported = runs.open_run(tmp_path / "models" / "unet-onnx")
    assert imported.ok
    # No flags: schema, preprocessing, input size and architecture came from the file's metadata.
    assert (imported.kind, imported.schema, imported.meta["preprocess"], imported.meta["input_size"],
            imported.meta["arch"]) == ("onnx", CAMVID11, "raw", [32, 48], "unet")
    keras_run, onnx_run = Predictor(trained), Predictor(imported)
    for seed in range(3):
        image = sample_image(seed, (70, 90))                  # resized in and out by the one path
        agree = np.mean(keras_run.predict(image).labels == onnx_run.predict(image).labels)
        # Both compute the same graph in float32; only a pixel whose top two scores tie within rounding may flip.
        assert agree >= 0.999, agree


def test_only_keras_runs_are_exported(tmp_path, capsys):
    from segcore.importing import import_model
    run = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11")
    err = one_error_line(capsys, ["export", "--run", run, "--out", tmp_path / "again.onnx"])
    assert "kind 'onnx' can't be exported" in err


def test_an_export_never_replaces_a_file_unless_asked(tmp_path, capsys):
    from segcore.importing import import_model
    run = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11")
    other_model = run / "model.onnx"                          # e.g. another run's model file
    before = other_model.read_bytes()
    err = one_error_line(capsys, ["export", "--run", run, "--out", other_model])
    assert "model.onnx exists; add --overwrite to replace it" in err and other_model.read_bytes() == before


# ------------------------------------------------------------------------------------------------ the app

@pytest.fixture
def app_models(tmp_path, monkeypatch):
    from conftest import make_camvid_like
    from segcore.importing import import_model
    models = tmp_path / "models"
    trained_like_run(models / "unet-tiny")
    import_model(foreign_onnx(tmp_path / "foreign.onnx"), models / "foreign-onnx", schema="camvid11",
                 preprocess="torch")
    data = make_camvid_like(tmp_path / "data", splits=(("val", 1),))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    return tmp_path


def show_runs_on_an_upload(at, run_names: list[str]):
    """Side by Side with `run_names` chosen and one uploaded street picture, run to the end."""
    at.multiselect(key="sbs_runs").set_value(run_names)
    buffer = io.BytesIO()
    Image.fromarray(sample_image(4, (40, 60))).save(buffer, format="PNG")
    next(u for u in at.file_uploader if u.label.startswith("Images")).set_value(("street.png", buffer.getvalue(),
                                                                                "image/png"))
    return run_page(at)


def run_page(at):
    at.run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_lists_an_imported_run_with_its_kind_and_source(app_models):
    from streamlit.testing.v1 import AppTest
    table = run_page(AppTest.from_file(HOME)).dataframe[0].value.set_index("run")
    assert table.loc["foreign-onnx", "kind"] == "onnx" and table.loc["unet-tiny", "kind"] == "keras"
    assert table.loc["foreign-onnx", "imported from"] == str((app_models / "foreign.onnx").resolve())
    assert table.loc["foreign-onnx", "status"] == "ok" and table.loc["foreign-onnx", "architecture"] == "foreign"
    assert pd.isna(table.loc["unet-tiny", "imported from"])                # trained here


@pytest.mark.slow
def test_side_by_side_predicts_with_an_imported_and_a_trained_run(app_models):
    from streamlit.testing.v1 import AppTest
    at = run_page(AppTest.from_file(SIDE))
    assert set(at.multiselect(key="sbs_runs").options) >= {"foreign-onnx", "unet-tiny"}
    show_runs_on_an_upload(at, ["foreign-onnx", "unet-tiny"])
    assert not at.error, [e.value for e in at.error]
    shown = [caption for image in at.image for caption in image.captions]
    assert "foreign-onnx" in shown and "unet-tiny" in shown
    assert list(at.dataframe[0].value.index) == ["foreign-onnx", "unet-tiny"]
    # Both columns say what computed their timings: the Keras run through its checked ONNX export.
    timings = [caption.value for caption in at.caption if " ms model" in caption.value]
    assert len(timings) == 2 and all(value.endswith("· ONNX Runtime") for value in timings), timings
    assert (app_models / "models" / "unet-tiny" / ".onnx-cache").is_dir()
