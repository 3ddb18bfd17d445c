"""Home's "Bring a model": an uploaded ONNX or Keras file becomes a run (segcore.importing_upload) or is refused in one
line with nothing left behind; a read-only dashboard offers only the command."""
from __future__ import annotations

import json
import os
import time

import pytest
from streamlit.testing.v1 import AppTest

from conftest import as_shown
from segcore import runs
from segcore.importing_upload import export_summary, import_uploaded_model, run_name_problem, suggested_name
from test_app_pages import HOME, labelled, make_data_dir, texts
from test_hostile_histories import zipped
from test_onnx_import import foreign_onnx


@pytest.fixture(scope="module")
def onnx_bytes(tmp_path_factory) -> bytes:
    return foreign_onnx(tmp_path_factory.mktemp("upload") / "f.onnx").read_bytes()


def test_an_uploaded_onnx_file_becomes_a_run_named_after_the_upload(tmp_path, onnx_bytes):
    models = tmp_path / "models"
    run = import_uploaded_model(onnx_bytes, "My Model (v2).onnx", models, "my-model", schema="camvid11",
                                preprocess="torch")
    assert [folder.name for folder in models.iterdir()] == ["my-model"]         # no scratch folder left
    opened = runs.open_run(run)
    assert opened.ok and opened.kind == "onnx" and opened.schema.name == "camvid11"
    assert opened.meta["preprocess"] == "torch" and opened.meta["arch"] == "My Model (v2)"
    assert opened.meta["source"] == "uploaded to the dashboard as My Model (v2).onnx"
    assert [found.name for found in runs.discover_runs(models)] == ["my-model"]


@pytest.mark.parametrize("data, filename, name, schema, words", [
    (b"not a model", "broken.onnx", "broken", "camvid11", "broken.onnx: model.onnx can't be loaded"),
    (None, "wide.onnx", "wide", "cityscapes", "model outputs 11 classes but schema cityscapes has 19"),
    (None, "model.pt", "torch", "camvid11", "model.pt: not a model file this can import; give a .onnx or .keras"),
    (None, "ok.onnx", "../escape", "camvid11", "'../escape' can't name a run folder"),
    (None, "ok.onnx", ".hidden", "camvid11", "can't name a run folder"),
    (b"PK\x03\x04 not a zip", "half.keras", "half", "camvid11", "can't be loaded safely"),
])
def test_an_unusable_upload_is_one_line_and_leaves_nothing(tmp_path, onnx_bytes, data, filename, name, schema,
                                                           words):
    models = tmp_path / "models"
    with pytest.raises(ValueError) as err:
        import_uploaded_model(onnx_bytes if data is None else data, filename, models, name, schema=schema,
                              preprocess="raw")
    assert words in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert not models.exists() or list(models.iterdir()) == []
    assert not (tmp_path / "escape").exists()


@pytest.fixture(scope="module")
def exported_bytes(tmp_path_factory) -> bytes:
    """An ONNX file carrying what `segcore export` writes into one: classes, preprocessing, input size."""
    import onnx

    from segcore.backends.onnx import METADATA_PREFIX
    from segcore.labels import CAMVID11
    model = onnx.load(str(foreign_onnx(tmp_path_factory.mktemp("export") / "e.onnx")))
    for key, value in {"schema": json.dumps(CAMVID11.to_dict()), "preprocess": "torch", "input_size": "16x20",
                       "arch": "unet"}.items():
        model.metadata_props.add(key=METADATA_PREFIX + key, value=value)
    return model.SerializeToString()


def test_a_seglab_export_imports_with_the_classes_and_input_its_file_says(tmp_path, exported_bytes, onnx_bytes):
    models = tmp_path / "models"
    opened = runs.open_run(import_uploaded_model(exported_bytes, "unet.onnx", models, "unet", schema=None,
                                                 preprocess=None))
    assert (opened.schema.name, opened.meta["preprocess"], opened.meta["input_size"], opened.meta["arch"]) == (
        "camvid11", "torch", [16, 20], "unet")
    with pytest.raises(ValueError) as err:       # a foreign file says none of it
        import_uploaded_model(onnx_bytes, "foreign.onnx", models, "foreign", schema=None, preprocess=None)
    assert str(err.value) == ("foreign.onnx: the file doesn't say which classes it predicts (SegLab's own ONNX "
                              "exports do); turn off \"as the file says\" and choose its classes and input")
    assert [folder.name for folder in models.iterdir()] == ["unet"]


def test_a_scratch_folder_a_killed_server_left_goes_once_a_day_old(tmp_path, onnx_bytes):
    models = tmp_path / "models"
    abandoned, running = models / ".importing-abandoned", models / ".importing-running"
    for folder in (abandoned, running):
        (folder / "half-built").mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(abandoned, (two_days_ago, two_days_ago))
    import_uploaded_model(onnx_bytes, "next.onnx", models, "next", schema="camvid11", preprocess="raw")
    assert sorted(folder.name for folder in models.iterdir()) == [".importing-running", "next"]


def test_an_export_is_recognised_from_its_metadata_and_nothing_else_is(exported_bytes, onnx_bytes):
    assert export_summary(exported_bytes) == "unet: classes camvid11 (11), input torch, 16x20"
    assert export_summary(onnx_bytes) is None                   # a foreign ONNX file says nothing of itself
    assert export_summary(b"PK\x03\x04 a .keras zip, not ONNX") is None


def test_names_are_checked_and_suggested_free(tmp_path):
    (tmp_path / "pixel-classifier").mkdir()
    assert run_name_problem("pixel-classifier", tmp_path) == ("a run called pixel-classifier already exists; choose "
                                                              "another name")
    assert run_name_problem("a" * 65, tmp_path) and run_name_problem("", tmp_path)
    assert run_name_problem("unet_v2.1", tmp_path) is None
    assert suggested_name("pixel-classifier.onnx", tmp_path) == "pixel-classifier-2"
    assert suggested_name("My Model (v2).keras", tmp_path) == "My-Model-v2"
    assert suggested_name("....onnx", tmp_path) == "model"


def test_a_hidden_folder_is_never_a_run(tmp_path):
    hidden = tmp_path / ".importing-x" / "x"
    hidden.mkdir(parents=True)
    (tmp_path / ".importing-x" / runs.META_FILE).write_text(json.dumps({"arch": "unet"}))
    assert runs.discover_runs(tmp_path) == []


def _home(tmp_path, monkeypatch, read_only: bool = False) -> AppTest:
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(make_data_dir(tmp_path / "data")))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "models").mkdir(exist_ok=True)
    if read_only:
        monkeypatch.setenv("SEGLAB_READ_ONLY", "1")
    else:
        monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    at = AppTest.from_file(HOME, default_timeout=120).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_imports_a_model_with_free_sides_at_the_input_size_given(tmp_path, monkeypatch):
    from test_onnx_refusals import onnx_graph
    at = _home(tmp_path, monkeypatch)
    labelled(at.file_uploader, "Model file").set_value(
        ("free.onnx", onnx_graph(tmp_path / "free.onnx", "fixed-add").read_bytes(), "application/octet-stream"))
    at.run()
    labelled(at.button, "Add to the runs").click()
    at.run()
    assert 'accepts any input size; give the size to feed it under "Input size"' in texts(at, "error")
    labelled(at.text_input, "Input size (height x width)").set_value("16x20")
    labelled(at.button, "Add to the runs").click()
    at.run()
    assert not at.exception and "Added free.onnx as run **free**" in texts(at, "success"), texts(at, "error")
    assert runs.open_run(tmp_path / "models" / "free").meta["input_size"] == [16, 20]


def test_home_adds_an_uploaded_model_to_the_runs_and_refuses_a_broken_one(tmp_path, monkeypatch, onnx_bytes):
    at = _home(tmp_path, monkeypatch)
    uploader = labelled(at.file_uploader, "Model file")
    uploader.set_value(("pixel-classifier.onnx", onnx_bytes, "application/octet-stream"))
    at.run()
    assert labelled(at.text_input, "Run name").value == "pixel-classifier"
    labelled(at.selectbox, "Input it expects").select("torch")
    labelled(at.button, "Add to the runs").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Added pixel-classifier.onnx as run **pixel-classifier**" in texts(at, "success")
    assert "pixel-classifier" in at.dataframe[0].value["run"].tolist()
    assert runs.open_run(tmp_path / "models" / "pixel-classifier").meta["preprocess"] == "torch"
    assert labelled(at.file_uploader, "Model file").value is None                  # ready for the next one

    labelled(at.file_uploader, "Model file").set_value(("broken.onnx", b"not onnx", "application/octet-stream"))
    at.run()
    labelled(at.button, "Add to the runs").click()
    at.run()
    error = as_shown(texts(at, "error"))
    assert error.startswith("broken.onnx: model.onnx can't be loaded") and "\n" not in error
    assert sorted(folder.name for folder in (tmp_path / "models").iterdir()) == ["pixel-classifier"]


def test_home_imports_a_seglab_export_as_its_file_says(tmp_path, monkeypatch, exported_bytes):
    at = _home(tmp_path, monkeypatch)
    labelled(at.file_uploader, "Model file").set_value(("unet.onnx", exported_bytes, "application/octet-stream"))
    at.run()
    assert labelled(at.toggle, "Classes and input as the file says").value          # on by itself for an export
    assert "A SegLab export: unet: classes camvid11 (11), input torch, 16x20." in texts(at, "caption")
    assert not [box for box in at.selectbox if box.label in ("Classes it predicts", "Input it expects")]
    labelled(at.button, "Add to the runs").click()
    at.run()
    assert not at.exception and not texts(at, "error"), texts(at, "error")
    assert runs.open_run(tmp_path / "models" / "unet").meta["preprocess"] == "torch"   # not the box's "raw"


def test_a_read_only_dashboard_offers_the_command_and_no_upload(tmp_path, monkeypatch):
    at = _home(tmp_path, monkeypatch, read_only=True)
    assert not [u for u in at.file_uploader if u.label == "Model file"]
    assert "models are added with `segcore import MODEL" in texts(at, "caption")


# ------------------------------------------------------------------------------------------------ zipped masks

def _png(labels) -> bytes:
    import io

    import numpy as np
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(np.asarray(labels, dtype=np.uint8), "L").save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_zip_of_masks_in_city_folders_becomes_a_predictions_run(tmp_path):
    import numpy as np

    from segcore.frame_views import read_label_map
    from segcore.importing_upload import import_uploaded_predictions
    labels = np.arange(48, dtype=np.uint8).reshape(6, 8) % 11
    data = zipped({"results/aachen/aachen_000000_000019_pred.png": _png(labels),
                 "results/bremen/bremen_000001_000019_pred.png": _png(labels[::-1]),
                 "results/README.txt": b"made by another tool", "__MACOSX/._x.png.txt": b""})
    run, count = import_uploaded_predictions(data, "results.zip", tmp_path / "models", "other-tool",
                                             schema="camvid11")
    assert count == 2 and [p.name for p in (tmp_path / "models").iterdir()] == ["other-tool"]
    opened = runs.open_run(run)
    assert opened.ok and opened.kind == runs.PREDICTIONS and opened.meta["predictions"] == 2
    assert opened.meta["source"] == "uploaded to the dashboard as results.zip"
    assert np.array_equal(read_label_map(opened.model_path / "aachen_000000_000019_pred.png"), labels)


@pytest.mark.parametrize("entries, words", [
    ({"../evil.png": b"x"}, "entry '../evil.png' points outside the zip"),
    ({"/abs/evil.png": b"x"}, "points outside the zip"),
    ({"a/b/c/d/e/deep.png": b"x"}, "too deep in it"),
    ({"notes.txt": b"x"}, "results.zip: holds no PNG files"),
    ({"f001.png": _png([[3, 12]])}, "results.zip/f001.png: label values [12] are not in the camvid11 schema; "
                                    "predictions must hold the schema's train ids 0..10: check the classes chosen"),
    ({"f001.png": b"not a png"}, "f001.png"),
    ({"a.png": _png([[3]]), "a.png/b.png": _png([[3]])}, "entry 'a.png/b.png' needs a folder where the zip holds"),
    ({"a.png/b.png": _png([[3]]), "a.png": _png([[3]])}, "entry 'a.png' is a file where the zip also holds a folder"),
])
def test_a_zip_that_cant_be_used_is_one_line_and_leaves_nothing(tmp_path, entries, words):
    from segcore.importing_upload import import_uploaded_predictions
    with pytest.raises(ValueError) as err:
        import_uploaded_predictions(zipped(entries), "results.zip", tmp_path / "models", "other", schema="camvid11")
    assert words in str(err.value) and "\n" not in str(err.value), str(err.value)
    assert list((tmp_path / "models").iterdir()) == [] and not (tmp_path / "evil.png").exists()


def test_not_a_zip_and_a_lying_size_header_are_refused(tmp_path, monkeypatch):
    from segcore import importing_upload
    with pytest.raises(ValueError, match="results.zip: not a readable .zip"):
        importing_upload.import_uploaded_predictions(b"PK\x03\x04garbage", "results.zip", tmp_path, "x",
                                                     schema="camvid11")
    with pytest.raises(ValueError, match="masks.tar: not a .zip"):
        importing_upload.import_uploaded_predictions(b"", "masks.tar", tmp_path, "x", schema="camvid11")
    monkeypatch.setattr(importing_upload, "MAX_UNZIPPED_BYTES_PER_FILE", 100)
    with pytest.raises(ValueError, match="too large for a label PNG"):
        importing_upload.import_uploaded_predictions(zipped({"big.png": bytes(1000)}), "results.zip", tmp_path, "x",
                                                     schema="camvid11")
    assert [p.name for p in tmp_path.iterdir()] == []


def test_home_adds_a_zip_of_masks(tmp_path, monkeypatch):
    at = _home(tmp_path, monkeypatch)
    archive = zipped({"f001_pred.png": _png([[1, 2], [3, 4]])})
    labelled(at.file_uploader, "Zip of label PNGs").set_value(("other tool.zip", archive, "application/zip"))
    at.run()
    at.button(key="mu_add_masks").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "Added the 1 predicted mask of other tool.zip as run **other-tool**:" in texts(at, "success")
    assert runs.open_run(tmp_path / "models" / "other-tool").kind == runs.PREDICTIONS


def test_home_says_how_void_pixels_of_a_zip_of_masks_are_scored(tmp_path, monkeypatch):
    at = _home(tmp_path, monkeypatch)
    archive = zipped({"f001.png": _png([[1, 11], [11, 4]]), "f002.png": _png([[0, 1]])})       # 11: camvid void
    labelled(at.file_uploader, "Zip of label PNGs").set_value(("void.zip", archive, "application/zip"))
    at.run()
    at.button(key="mu_add_masks").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert ("Added the 2 predicted masks of void.zip as run **void** (2 pixels in 1 file hold no class (void): "
            "evaluation scores them as misses for their true class") in texts(at, "success")


def test_a_brought_model_is_chosen_once_on_side_by_side(tmp_path, monkeypatch, onnx_bytes):
    from test_onnx_import import SIDE
    at = _home(tmp_path, monkeypatch)
    uploader = labelled(at.file_uploader, "Model file")
    uploader.set_value(("pixel-classifier.onnx", onnx_bytes, "application/octet-stream"))
    at.run()
    at.button(key="mu_add").click()
    at.run()
    assert [link.proto.label for link in at.get("page_link")][:2] == ["Side by Side", "Evaluation"]
    side = AppTest.from_file(SIDE, default_timeout=120)
    side.session_state["runs_brought"] = at.session_state["runs_brought"]
    side.run()
    assert side.multiselect(key="sbs_runs").value == ["pixel-classifier"]
    side.multiselect(key="sbs_runs").set_value([])
    side.run()
    assert side.multiselect(key="sbs_runs").value == []                 # taken out again, it stays out


def test_home_imports_a_model_with_a_void_channel_chosen_in_the_form(tmp_path, monkeypatch):
    twelve = foreign_onnx(tmp_path / "segnet12.onnx", classes=12).read_bytes()
    at = _home(tmp_path, monkeypatch)
    labelled(at.file_uploader, "Model file").set_value(("segnet12.onnx", twelve, "application/octet-stream"))
    at.run()
    labelled(at.button, "Add to the runs").click()
    at.run()
    error = as_shown(texts(at, "error"))        # the CLI's advice, in the form's words
    assert error == ("segnet12.onnx: model outputs 12 classes but schema camvid11 has 11; if one of its channels "
                     "means void, choose it under \"Void channel\", else choose its classes"), error
    void = labelled(at.radio, "Void channel")
    assert void.options == ["none", "last (11)", "first (0)"]
    void.set_value("last (11)")
    labelled(at.button, "Add to the runs").click()
    at.run()
    assert not at.exception and not texts(at, "error"), texts(at, "error")
    assert runs.open_run(tmp_path / "models" / "segnet12").meta["void_channel"] == 11


def damaged_zip(name: str, method: int) -> bytes:
    """A one-entry zip whose compressed bytes are damaged (its headers intact): unzipping the entry fails."""
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        archive.writestr(name, b"\x89PNG" + bytes(range(256)) * 200)
    data = bytearray(buffer.getvalue())
    start = 30 + len(name) + (4 + 5 + 20 if method == zipfile.ZIP_LZMA else 0)    # past the headers
    data[start:start + 8] = bytes(b ^ 0xFF for b in data[start:start + 8])
    return bytes(data)


@pytest.mark.parametrize("method", ["deflated", "lzma"])
def test_a_zip_with_damaged_bytes_is_one_line_for_masks_and_logs(tmp_path, method):
    import zipfile

    from segcore.histories import HistoryError, read_history
    from segcore.importing_upload import import_uploaded_predictions
    compression = {"deflated": zipfile.ZIP_DEFLATED, "lzma": zipfile.ZIP_LZMA}[method]
    with pytest.raises(ValueError, match="results.zip: entry 'a.png' can't be unzipped"):
        import_uploaded_predictions(damaged_zip("a.png", compression), "results.zip", tmp_path / "models", "x",
                                    schema="camvid11")
    assert list((tmp_path / "models").iterdir()) == []
    with pytest.raises(HistoryError, match="logs.zip: entry .* can't be unzipped"):
        read_history(("logs.zip", damaged_zip("logs/train/events.out.tfevents.1.host", compression)))


def test_an_onnx_file_whose_schema_is_nested_too_deep_says_nothing_of_itself(exported_bytes):
    import onnx

    from segcore.backends.onnx import METADATA_PREFIX
    model = onnx.load_model_from_string(exported_bytes)
    next(p for p in model.metadata_props if p.key == METADATA_PREFIX + "schema").value = "[" * 100000
    assert export_summary(model.SerializeToString()) is None


def test_an_upload_named_with_blanks_only_still_makes_a_usable_run(tmp_path, onnx_bytes):
    from segcore.importing_upload import import_uploaded_predictions
    models = tmp_path / "models"
    model_run = runs.open_run(import_uploaded_model(onnx_bytes, "   .onnx", models, "m1", schema="camvid11",
                                                    preprocess="raw"))
    assert model_run.ok and model_run.meta["arch"].strip() == model_run.meta["arch"] != ""
    predictions, _ = import_uploaded_predictions(zipped({"f001.png": _png([[3]])}), "   .zip", models, "p1",
                                                 schema="camvid11")
    assert runs.open_run(predictions).ok
