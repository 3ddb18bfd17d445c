"""The dashboard's pages, run headless with Streamlit's AppTest against small folders built here."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
from tensorboard.util import tensor_util

from app import lab
from conftest import make_camvid_like, scene
from segcore import augment
from segcore.imageio import encode_png
from segcore.labels import CAMVID11

ROOT = Path(__file__).resolve().parents[1]
HOME, LAB, CURVES = (str(ROOT / "pages" / f) for f in ("home.py", "augmentation_lab.py", "training_curves.py"))
HISTORY_CSV = ("epoch,loss,mean_iou,val_loss,val_mean_iou\n"
               "0,1.2,0.20,1.3,0.18\n1,0.9,0.31,1.0,0.27\n2,0.7,0.38,0.9,0.33\n")


# ------------------------------------------------------------------------------------------------ folders

def make_data_dir(root: Path) -> Path:
    """A CamVid-style folder: 2 train frames and 1 val frame, 48x64, with CamVid-11 labels."""
    return make_camvid_like(root, splits=(("train", 2), ("val", 1)), size=(48, 64))


def make_models_dir(root: Path) -> Path:
    """One usable run (meta, history, an evaluation; a placeholder model file) and one broken run."""
    run = root / "unet-tiny"
    (run / "eval").mkdir(parents=True)
    meta = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [48, 64], "parameters": 123456,
            "epochs_completed": 3, "best": {"val_mean_iou": 0.33, "epoch": 2}}
    (run / "meta.json").write_text(json.dumps(meta))
    (run / "history.csv").write_text(HISTORY_CSV)
    (run / "model.keras").write_bytes(b"placeholder: these pages never load the model")
    (run / "eval" / "data-0123abcd-val.json").write_text(json.dumps(
        {"class_level": {"mean_iou": 0.4125}, "dataset": {"name": "data", "split": "val"}}))
    broken = root / "segnet-broken"
    broken.mkdir()
    (broken / "meta.json").write_text(json.dumps({"schema": CAMVID11.to_dict(), "input_size": [48, 64]}))
    return root


def write_events(path: Path, scalars) -> Path:
    """A TensorBoard event file of (step, tag, value) scalars, written as Keras' TensorBoard callback does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = RecordWriter(path.open("wb"))
    writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
    meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
    for step, tag, value in scalars:
        entry = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(np.float32(value)),
                                          metadata=meta)
        event = event_pb2.Event(step=step, wall_time=time.time(), summary=summary_pb2.Summary(value=[entry]))
        writer.write(event.SerializeToString())
    writer.close()
    return path


@pytest.fixture
def folders(tmp_path, monkeypatch):
    data, models = make_data_dir(tmp_path / "data"), make_models_dir(tmp_path / "models")
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    return data, models


def run_page(path: str) -> AppTest:
    at = AppTest.from_file(path, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def labelled(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in getattr(at, kind))


# ------------------------------------------------------------------------------------------------ home

def test_home_lists_runs_broken_runs_and_data(folders):
    data, _ = folders
    at = run_page(HOME)
    table = at.dataframe[0].value
    assert list(table["run"]) == ["segnet-broken", "unet-tiny"]
    good = table.set_index("run").loc["unet-tiny"]
    assert (good["architecture"], good["input size (height x width)"], good["parameters"],
            good["epochs completed"]) == ("unet", "48x64", 123456, 3)
    # Evaluation and training log are separate columns, in percent, and the evaluation names its data set.
    assert good["mIoU % (evaluation)"] == pytest.approx(41.2, abs=0.051)
    assert good["evaluated on"] == "data val, label resolution"
    assert good["val mIoU % (training log)"] == pytest.approx(33.0)
    assert "segnet-broken" in texts(at, "warning") and "missing 'arch'" in texts(at, "warning")
    assert str(data) in texts(at, "success") and "camvid" in texts(at, "success")
    assert "train: 2 pairs" in texts(at, "success")


def test_home_explains_missing_data_and_models(tmp_path, monkeypatch):
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "no-models"))
    at = run_page(HOME)
    assert "does not exist" in texts(at, "warning") and "SEGLAB_DATA_DIR" in texts(at, "warning")
    assert "No runs yet" in texts(at, "info")


def test_a_file_as_the_models_folder_is_said_and_the_lab_opens_on_the_data_folder_that_exists(tmp_path, monkeypatch):
    data = make_data_dir(tmp_path / "data")
    (tmp_path / "models.txt").write_text("not a folder")
    monkeypatch.setenv("SEGLAB_DATA_DIR", f"{tmp_path / 'nowhere'}:{data}")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "models.txt"))
    assert texts(run_page(HOME), "error") == (f"{tmp_path / 'models.txt'} is a file, not a folder; point "
                                              "`SEGLAB_MODELS_DIR` at the folder that holds the run folders.")
    lab = run_page(LAB)                                  # the first configured folder is missing: the next one
    assert labelled(lab.selectbox, "Data folder").value == str(data) and labelled(lab.radio, "Source").value == \
        "Data folder"


def test_app_navigation_starts_on_home(folders):
    at = run_page(str(ROOT / "streamlit_app.py"))
    assert at.title[0].value == "SegLab"


def test_pages_do_not_import_tensorflow(folders):
    # A fresh interpreter: other tests in this process may have imported TensorFlow already.
    script = ("import sys\nfrom streamlit.testing.v1 import AppTest\n"
              f"for page in {[HOME, LAB, CURVES]!r}:\n"
              "    at = AppTest.from_file(page, default_timeout=60).run()\n"
              "    assert not at.exception, (page, [e.value for e in at.exception])\n"
              "print('tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=240, cwd=ROOT,
                            check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-2:] == ["False", "False"], result.stdout


# ------------------------------------------------------------------------------------------------ lab

def _items(at):
    return at.session_state["lab_items"]


def _augmented_url(at) -> str:
    return next(i.value[0] for i in at.get("image") if i.captions[0].startswith("augmented 6"))  # 64 wide


def _empty_lab() -> AppTest:
    """The Lab opens on a default pipeline; these tests build theirs from an empty one."""
    return labelled(run_page(LAB).button, "Clear").click().run()


def _add(at, name: str) -> AppTest:
    transform = labelled(at.selectbox, "Transform")
    transform.set_value(name).run()
    labelled(at.button, "Add to pipeline").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_lab_add_transform_and_sliders_change_the_output(folders):
    at = _empty_lab()
    assert _items(at) == [] and "empty" in texts(at, "info")
    _add(at, "RandomBrightnessContrast")
    assert [i["name"] for i in _items(at)] == ["RandomBrightnessContrast"]
    uid = _items(at)[0]["uid"]
    at.slider(key=f"lab-{uid}-p").set_value(1.0).run()
    at.slider(key=f"lab-{uid}-brightness_limit").set_value((0.3, 0.3)).run()
    brighter = _augmented_url(at)
    at.slider(key=f"lab-{uid}-brightness_limit").set_value((-0.4, -0.4)).run()
    assert not at.exception
    assert _items(at)[0]["params"]["brightness_limit"] == (-0.4, -0.4)
    assert _augmented_url(at) != brighter           # media ids hash the pixels: new id, new image


def test_lab_new_draw_changes_seed_and_draw(folders):
    at = _add(_empty_lab(), "Affine")
    uid = _items(at)[0]["uid"]
    at.slider(key=f"lab-{uid}-p").set_value(1.0).run()
    first_url, first_params = _augmented_url(at), at.dataframe[0].value["sampled parameters"].tolist()
    labelled(at.button, "New draw").click().run()
    assert at.number_input(key="lab_seed").value == 1
    assert _augmented_url(at) != first_url
    assert at.dataframe[0].value["sampled parameters"].tolist() != first_params


def test_lab_moves_and_removes_steps(folders):
    at = _add(_add(_empty_lab(), "HorizontalFlip"), "GaussianBlur")
    uid = _items(at)[1]["uid"]
    next(b for b in at.button if b.key == f"lab-{uid}-up").click().run()
    assert [i["name"] for i in _items(at)] == ["GaussianBlur", "HorizontalFlip"]
    next(b for b in at.button if b.key == f"lab-{uid}-rm").click().run()
    assert [i["name"] for i in _items(at)] == ["HorizontalFlip"]


@pytest.fixture
def served_downloads(monkeypatch) -> dict:
    """{file id: data} of every file a page offers for download, as Streamlit's media storage receives it."""
    served = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        served[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return served


def test_lab_export_loads_in_albumentations_unchanged(folders, tmp_path, served_downloads):
    served = served_downloads
    at = _add(_add(_empty_lab(), "Affine"), "RandomRain")
    buttons = {b.label: b for b in at.get("download_button")}
    data = served[Path(buttons["Download JSON"].proto.url).stem]
    saved = tmp_path / "pipeline.json"
    saved.write_bytes(data)
    loaded = A.load(str(saved), data_format="json")
    assert [type(t).__name__ for t in loaded.transforms] == ["Affine", "RandomRain"]
    # Nothing lost or changed on the way through (JSON has lists where albumentations keeps tuples).
    assert json.loads(json.dumps(A.to_dict(loaded))) == json.loads(data)
    assert loaded.transforms[0].fill_mask == CAMVID11.ignore_index
    assert "A.Affine(" in at.code[0].value
    yaml_text = served[Path(buttons["Download YAML"].proto.url).stem].decode()
    assert "RandomRain" in yaml_text


def test_lab_imports_a_pipeline_and_rejects_junk(folders):
    at = run_page(LAB)
    text = augment.dumps_pipeline([{"name": "HorizontalFlip", "params": {}, "p": 0.5},
                                   {**augment.default_step("GaussNoise"), "p": 0.2}], "json").encode()
    importer = labelled(at.file_uploader, "Import a saved pipeline")
    importer.set_value(("street.json", text, "application/json")).run()
    assert not at.exception and not at.error
    assert [(i["name"], i["p"]) for i in _items(at)] == [("HorizontalFlip", 0.5), ("GaussNoise", 0.2)]
    importer = labelled(at.file_uploader, "Import a saved pipeline")
    importer.set_value(("junk.yaml", b"just: [a, list", "application/yaml")).run()
    assert not at.exception
    assert "junk.yaml" in texts(at, "error")


def test_lab_upload_source_reports_bad_files(folders):
    at = run_page(LAB)
    at.radio[0].set_value("Upload").run()
    assert "Upload a PNG or JPEG" in texts(at, "info")
    image_box = labelled(at.file_uploader, "Image")
    image_box.set_value(("broken.png", b"not an image", "image/png")).run()
    assert not at.exception
    assert "broken.png" in texts(at, "error")
    picture, labels = scene(5, 48, 64)
    labelled(at.file_uploader, "Image").set_value(("street.png", encode_png(picture), "image/png"))
    labelled(at.file_uploader, "Mask (optional)").set_value(("mask.png", encode_png(labels), "image/png"))
    at.run()
    assert not at.exception and not at.error
    assert any(i.captions[0] == "augmented mask" for i in at.get("image"))
    labelled(at.button, "New draw").click().run()        # a rerun reads the uploads again
    assert not at.exception and not at.error and at.number_input(key="lab_seed").value == 1
    labelled(at.file_uploader, "Mask (optional)").set_value(("small.png", encode_png(labels[:8]), "image/png")).run()
    assert "image's size" in texts(at, "error") and "previewing the image without its mask" in texts(at, "error")
    # The mask's error leaves the editor, the preview and the export on the page.
    assert labelled(at.button, "Clear") and at.get("download_button")
    assert any(i.captions[0].startswith("augmented") for i in at.get("image"))


# ------------------------------------------------------------------------------------------------ curves

def _runs_shown(at) -> list[str]:
    return list(at.dataframe[0].value["run"])


def test_curves_plot_the_run_and_uploads(folders, tmp_path):
    at = run_page(CURVES)
    assert at.get("plotly_chart"), "no chart"
    assert _runs_shown(at) == ["unet-tiny"]
    history_json = json.dumps({"loss": [1.0, 0.8], "val_loss": [1.1, 0.9], "mean_io_u": [0.2, 0.3]}).encode()
    events = write_events(tmp_path / "events.out.tfevents.1.host.v2",
                          [(0, "epoch_loss", 1.5), (1, "epoch_loss", 1.1), (0, "epoch_mean_io_u", 0.1)])
    uploads = [("csvlogger.csv", HISTORY_CSV.replace("1.2", "1.4").encode(), "text/csv"),
               ("history.json", history_json, "application/json"),
               (events.name, events.read_bytes(), "application/octet-stream")]
    at.file_uploader[0].set_value(uploads).run()
    assert not at.exception and not at.error
    shown = _runs_shown(at)
    assert shown[0] == "unet-tiny" and len(shown) == 4
    assert {"csvlogger", "history"} <= set(shown)
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {"csvlogger · train", "csvlogger · val", "history · train"} <= {t.get("name") for t in spec["data"]}
    assert at.get("download_button")


def test_curves_broken_upload_is_an_error_and_the_rest_still_shows(folders):
    at = run_page(CURVES)
    at.file_uploader[0].set_value([("notes.csv", b"step;what\nfirst;thing\n", "text/csv"),
                                   ("binary.bin", bytes(range(256)), "application/octet-stream")]).run()
    assert not at.exception
    errors = texts(at, "error")
    assert "notes.csv" in errors and "'epoch'" in errors and "binary.bin" in errors
    assert _runs_shown(at) == ["unet-tiny"]


def test_curves_filter_and_warnings(folders):
    _, models = folders
    (models / "unet-tiny" / "history.csv").write_text(HISTORY_CSV.replace("0.9,0.33", "nan,0.33"))
    at = run_page(CURVES)
    assert "val_loss" in texts(at, "warning")
    at.multiselect[0].set_value([]).run()
    assert not at.exception and not at.get("plotly_chart")


@pytest.mark.parametrize("part", [0, 1])
def test_lab_generates_widgets_for_every_catalogue_transform(folders, part):
    # A pipeline holds at most MAX_STEPS transforms, fewer than the catalogue has: two pipelines cover it.
    names = lab.catalogue_choices()
    assert len(names) <= 2 * augment.MAX_STEPS
    chosen = names[:augment.MAX_STEPS] if part == 0 else names[augment.MAX_STEPS:]
    at = AppTest.from_file(LAB, default_timeout=120)
    at.session_state["lab_items"] = [lab.new_item(name) for name in chosen]
    for item in at.session_state["lab_items"]:
        if item["name"] == "CropNonEmptyMaskIfExists":
            item["params"].update(height=16, width=16)     # it cannot pad: its window must fit the 64x48 test frame
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    expanders = [e.label for e in at.main.expander]
    assert len(expanders) == len(chosen) and expanders[0].startswith(f"1. {chosen[0]}")
    if part == 1:
        return
    rain = next(i for i in _items(at) if i["name"] == "RandomRain")
    at.color_picker(key=f"lab-{rain['uid']}-drop_color").set_value("#ff0000").run()
    assert not at.exception
    assert next(i for i in _items(at) if i["name"] == "RandomRain")["params"]["drop_color"] == (255, 0, 0)
