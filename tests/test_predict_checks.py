"""Predictor refuses models that don't fit their schema or declare absurd inputs; predict never overwrites."""
import numpy as np
import pytest

from conftest import save_png
from segcore import runs
from segcore.cli import main
from segcore.labels import CAMVID11
from segcore.predict import MAX_INPUT_PIXELS, Predictor


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


def one_error_line(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


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
