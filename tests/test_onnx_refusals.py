"""ONNX and Keras files other tools make that SegLab can't read as one map of class scores are refused in one line
that says what to change: several outputs, a label map instead of scores, a size the graph can't run at, a custom
Keras layer; and an upload with free height and width imports at the size the form gives."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from segcore import runs
from segcore.importing_upload import import_uploaded_model
from test_hardening import one_error_line
from test_onnx_import import conv_weights


def onnx_graph(path: Path, tail: str, size=("H", "W")) -> Path:
    """A 1x1-convolution model (NCHW input of `size`) ending as `tail` says: "two-heads" (an auxiliary output listed
    first), "argmax" (int64 class ids, no class axis) or "fixed-add" (adds a 16x20 constant: runs only at 16x20)."""
    import onnx
    from onnx import TensorProto, helper
    weight, bias = conv_weights(11)
    nodes = [helper.make_node("Conv", ["image", "W", "B"], ["conv"], kernel_shape=[1, 1])]
    initializers = [helper.make_tensor("W", TensorProto.FLOAT, [11, 3, 1, 1], weight.ravel().tolist()),
                    helper.make_tensor("B", TensorProto.FLOAT, [11], bias.tolist())]
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["N", 11, *size])
    if tail == "two-heads":
        nodes += [helper.make_node("Identity", ["conv"], ["aux"]), helper.make_node("Identity", ["conv"], ["scores"])]
        outputs = [helper.make_tensor_value_info("aux", TensorProto.FLOAT, ["N", 11, *size]), scores]
    elif tail == "argmax":
        nodes.append(helper.make_node("ArgMax", ["conv"], ["labels"], axis=1, keepdims=0))
        outputs = [helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", *size])]
    else:
        initializers.append(helper.make_tensor("C", TensorProto.FLOAT, [1, 11, 16, 20], [0.0] * (11 * 16 * 20)))
        nodes.append(helper.make_node("Add", ["conv", "C"], ["scores"]))
        outputs = [scores]
    graph = helper.make_graph(nodes, tail, [helper.make_tensor_value_info("image", TensorProto.FLOAT,
                                                                          ["N", 3, *size])], outputs, initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="test")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize("tail, size, words", [
    ("two-heads", "16x20", "the model has 2 outputs (aux, scores); SegLab reads one map of class scores"),
    ("argmax", "16x20", "outputs a label map (one class id per pixel), not class scores; export it without its final "
                        "ArgMax"),
    ("fixed-add", "17x20", "the ONNX model can't run at 17x20"),
])
def test_an_onnx_model_segcore_cant_read_is_one_line_saying_what_to_change(tmp_path, capsys, tail, size, words):
    model = onnx_graph(tmp_path / f"{tail}.onnx", tail)
    err = one_error_line(capsys, ["import", model, "--schema", "camvid11", "--input-size", size,
                                  "--out", tmp_path / "run"])
    assert f"{tail}.onnx" in err and words in err, err
    assert not (tmp_path / "run").exists()


def test_the_size_check_passes_a_model_at_the_size_it_runs_at(tmp_path, capsys):
    from segcore.importing import import_model
    run = runs.open_run(import_model(onnx_graph(tmp_path / "f.onnx", "fixed-add"), tmp_path / "run",
                                     schema="camvid11", preprocess="raw", input_size=(16, 20)))
    assert run.ok and run.meta["input_size"] == [16, 20]


def test_an_upload_with_free_sides_imports_at_the_size_the_form_gives(tmp_path):
    data = onnx_graph(tmp_path / "free.onnx", "fixed-add").read_bytes()
    models = tmp_path / "models"
    with pytest.raises(ValueError, match='accepts any input size; give the size to feed it under "Input size"'):
        import_uploaded_model(data, "free.onnx", models, "free", schema="camvid11", preprocess="raw")
    with pytest.raises(ValueError, match="size must look like 240x320"):
        import_uploaded_model(data, "free.onnx", models, "free", schema="camvid11", preprocess="raw",
                              input_size="16 by 20")
    run = runs.open_run(import_uploaded_model(data, "free.onnx", models, "free", schema="camvid11",
                                              preprocess="raw", input_size="16x20"))
    assert run.ok and run.meta["input_size"] == [16, 20]


@pytest.mark.slow
def test_a_keras_file_with_a_custom_layer_is_refused_naming_the_layer(tmp_path, capsys):
    import keras

    @keras.saving.register_keras_serializable(package="userpkg")
    class Scale(keras.layers.Layer):
        def call(self, x):
            return x * 2

    inputs = keras.Input((16, 16, 3))
    keras.Model(inputs, keras.layers.Conv2D(11, 1)(Scale()(inputs))).save(tmp_path / "custom.keras")
    keras.saving.get_custom_objects().pop("userpkg>Scale")      # a reader without the user's code
    err = one_error_line(capsys, ["import", tmp_path / "custom.keras", "--schema", "camvid11",
                                  "--out", tmp_path / "run"])
    assert "custom.keras: uses Scale, a custom layer or function" in err, err
    assert "ONNX" in err and not (tmp_path / "run").exists()
