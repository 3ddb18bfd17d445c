"""Bad input ends in one clear line and a non-zero exit; unsafe or broken model files are refused, not run."""
import io
import json
import zipfile

import numpy as np
import pytest
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import runs
from segcore.cli import main
from segcore.labels import CAMVID11


def bad_images(folder):
    """The corpus of image files that must be refused with a message (made here, nothing shipped)."""
    folder.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)  # incompressible
    good = io.BytesIO()
    Image.fromarray(noise).save(good, format="PNG")
    jpeg = io.BytesIO()
    Image.fromarray(noise).save(jpeg, format="JPEG")
    bomb = io.BytesIO()
    Image.new("L", (20000, 20000)).save(bomb, format="PNG", optimize=True)
    files = {
        "empty.png": b"",
        "text.png": b"just some words, not pixels\n",
        "truncated.png": good.getvalue()[: len(good.getvalue()) // 2],
        "truncated.jpg": jpeg.getvalue()[: len(jpeg.getvalue()) // 2],
        "bomb.png": bomb.getvalue(),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in files}


def make_run(folder, model, *, meta=None):
    folder.mkdir(parents=True)
    model.save(folder / "model.keras")
    runs.write_json(folder / "meta.json", meta or {"arch": "unet", "schema": CAMVID11.to_dict(),
                                                   "input_size": list(model.input_shape[1:3])})
    return folder


def tiny_model():
    from segcore.models import build
    return build("unet", 11, (16, 16), base_filters=4, depth=1, stem_filters=4)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    import keras
    root = tmp_path_factory.mktemp("models")
    make_run(root / "good", tiny_model())
    inputs = keras.Input((16, 16, 3))
    make_run(root / "lambda", keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)))
    (root / "corrupt").mkdir()
    (root / "corrupt" / "model.keras").write_bytes(b"PK\x03\x04 this is not a keras zip")
    runs.write_json(root / "corrupt" / "meta.json", {"arch": "unet", "schema": CAMVID11.to_dict(),
                                                     "input_size": [16, 16]})
    (root / "no-model").mkdir()
    runs.write_json(root / "no-model" / "meta.json", {"arch": "unet", "schema": CAMVID11.to_dict(),
                                                      "input_size": [16, 16]})
    (root / "bad-meta").mkdir()
    (root / "bad-meta" / "meta.json").write_text("{not json")
    (root / "bad-meta" / "model.keras").write_bytes(b"")
    return root


def test_broken_runs_are_listed_with_their_reason(models_dir):
    found = {run.name: run for run in runs.discover_runs(models_dir)}
    assert found["good"].ok and found["lambda"].ok  # metadata is fine; loading is what refuses it
    assert "no model.keras" in found["no-model"].error
    assert "unreadable JSON" in found["bad-meta"].error


def test_a_lambda_layer_is_refused_by_safe_mode(models_dir):
    with pytest.raises(runs.RunError, match="can't be loaded safely.*(Lambda|lambda|safe)"):
        runs.load_model(models_dir / "lambda")
    with zipfile.ZipFile(models_dir / "lambda" / "model.keras") as archive:
        assert "Lambda" in archive.read("config.json").decode()


def test_corrupt_model_is_refused_and_the_good_one_still_loads(models_dir):
    with pytest.raises(runs.RunError, match="corrupt: model.keras can't be loaded safely"):
        runs.load_model(models_dir / "corrupt")
    assert runs.load_model(models_dir / "good").output_shape == (None, 16, 16, 11)


def one_error_line(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("name, expected", [("empty.png", "empty"), ("text.png", "not an image"),
                                            ("truncated.png", "truncated"), ("truncated.jpg", "truncated"),
                                            ("bomb.png", "MP limit")])
def test_predict_refuses_bad_images_with_one_line(models_dir, tmp_path, capsys, name, expected):
    path = bad_images(tmp_path / "bad")[name]
    err = one_error_line(capsys, ["predict", "--run", models_dir / "good", path, "--out", tmp_path / "out"])
    assert name in err and expected in err


def test_cli_refuses_broken_runs_pipelines_and_folders(models_dir, tmp_path, capsys):
    data = make_camvid_like(tmp_path / "data")
    photo = save_png(tmp_path / "p.png", np.zeros((8, 8, 3), dtype=np.uint8))
    assert "Lambda" in one_error_line(capsys, ["predict", "--run", models_dir / "lambda", photo, "--out", tmp_path])
    assert "no model.keras" in one_error_line(capsys, ["evaluate", "--run", models_dir / "no-model", "--data",
                                                       data])
    assert one_error_line(capsys, ["evaluate", "--run", tmp_path / "nope", "--data", data]).endswith(
        f"{tmp_path / 'nope'}: no such run folder")
    assert one_error_line(capsys, ["export", "--run", data, "--out", tmp_path / "x.onnx"]).endswith(
        f"{data}: not a run folder (no meta.json); give a folder segcore train or segcore import wrote")
    junk = tmp_path / "junk.json"
    for text in ('{"hello": 1}', '{"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", '
                 '"transforms": [{"__class_fullname__": "NoSuchTransform", "p": 1}]}}', "[1, 2"):
        junk.write_text(text)
        one_error_line(capsys, ["train", "--arch", "unet", "--data", data, "--augment", junk, "--out",
                                tmp_path / "r"])


def test_data_check_on_an_empty_folder(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert "not a data set layout" in one_error_line(capsys, ["data", "check", tmp_path / "empty"])


def test_a_file_where_a_folder_belongs_is_named_in_one_plain_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert one_error_line(capsys, ["data", "check", tmp_path / "file"]).startswith(
        f"segcore data: error: {tmp_path / 'file'}: not a folder; point to a data set folder")
    # The system's own error, as "PATH: reason" (not "[Errno 20] Not a directory: 'PATH'").
    assert one_error_line(capsys, ["sample", "make", "--out", tmp_path / "file"]) == (
        f"segcore sample: error: {tmp_path / 'file' / 'images' / 'train'}: not a directory")


def test_evaluation_json_is_never_half_written(models_dir, tmp_path, monkeypatch):
    from segcore import evaluate
    data = make_camvid_like(tmp_path / "data")
    target = tmp_path / "e.json"
    target.write_text(json.dumps({"previous": True}))

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt  # the server stopping mid-evaluation

    monkeypatch.setattr(evaluate, "evaluate_predictor", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate.evaluate_run(models_dir / "good", data, "val", out=target)
    assert json.loads(target.read_text()) == {"previous": True}
