"""Hostile and careless files for the readers: FIFOs, EXIF-rotated JPEGs, bad schemas, bad label maps."""
import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import make_camvid_like, save_png
from segcore import files, runs
from segcore.datasets import check, list_pairs
from segcore.imageio import ImageError, image_size, read_image, read_mask, read_pair
from segcore.labels import CAMVID11, LabelSchema
from segcore.metrics import ConfusionMatrix

ROOT = Path(__file__).resolve().parents[1]
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo") or not hasattr(signal, "SIGALRM"),
                                reason="no FIFOs or alarms on this platform")


@pytest.fixture
def fails_instead_of_hanging():
    """A reader that opens a FIFO blocks forever (the bug); an alarm turns that into a failure, not a hung run.
    A guard against hanging, not a timing assertion: the fixed readers never open the FIFO at all."""
    def blocked(signum, frame):
        raise AssertionError("blocked opening a FIFO")
    old = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(60)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# --- FIFOs named like images (item 12): refused, never opened for a blocking read ---------------------------
@needs_fifo
def test_readers_refuse_a_fifo_without_blocking(tmp_path, fails_instead_of_hanging):
    fifo = tmp_path / "frame.png"
    os.mkfifo(fifo)
    for read in (read_image, image_size, lambda p: read_mask(p, CAMVID11)):
        with pytest.raises(ImageError, match="frame.png: not a regular file"):
            read(fifo)
    meta = tmp_path / "meta.json"
    os.mkfifo(meta)
    with pytest.raises(runs.RunError, match="not a regular file"):
        runs.read_json(meta)


@needs_fifo
def test_dataset_listing_skips_a_fifo_and_check_names_it(tmp_path, fails_instead_of_hanging):
    data = make_camvid_like(tmp_path / "data")
    os.mkfifo(data / "images" / "train" / "zz.png")
    os.mkfifo(data / "labels" / "train" / "zz.png")
    assert "zz" not in [s.name for s in list_pairs(data, "train")]
    report = check(data)
    bad = {Path(path).parent.parent.name: what for path, what in report.problems}
    assert set(bad) == {"images", "labels"} and all("not a regular file" in w for w in bad.values())
    assert report.splits["train"].pairs == 4


@needs_fifo
def test_cli_data_check_on_a_fifo_ends_with_a_report(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    os.mkfifo(data / "images" / "val" / "zz.png")
    os.mkfifo(data / "labels" / "val" / "zz.png")
    done = subprocess.run([sys.executable, "-m", "segcore", "data", "check", str(data)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)   # the old code blocked here forever
    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stdout.count("zz.png: not a regular file") == 2
    assert "Traceback" not in done.stderr


# --- EXIF orientation (item 9): one size rule for check, readers and training ------------------------------
def rotated_jpeg(path: Path, width: int, height: int) -> Path:
    """A JPEG stored width x height whose EXIF says 'rotate 90 degrees to display' (so it shows height x width)."""
    image = Image.new("RGB", (width, height), (200, 30, 30))
    exif = image.getexif()
    exif[0x0112] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="JPEG", exif=exif)
    return path


def test_image_size_is_the_displayed_size_as_read_image_returns_it(tmp_path):
    path = rotated_jpeg(tmp_path / "r.jpg", 48, 32)
    assert image_size(path) == read_image(path).shape[:2] == (48, 32)


def test_check_and_readers_agree_on_an_exif_rotated_jpeg(tmp_path):
    data = tmp_path / "data"
    # Stored 48 wide x 32 high, displayed 32 wide x 48 high: a label for the displayed image is 48x32 (HxW).
    rotated_jpeg(data / "images" / "train" / "good.jpg", 48, 32)
    save_png(data / "labels" / "train" / "good.png", np.zeros((48, 32), dtype=np.uint8), "L")
    rotated_jpeg(data / "images" / "train" / "bad.jpg", 48, 32)
    save_png(data / "labels" / "train" / "bad.png", np.zeros((32, 48), dtype=np.uint8), "L")  # the stored size
    report = check(data)
    assert [Path(p).name for p, _ in report.problems] == ["bad.png"]
    assert report.splits["train"].sizes == {(48, 32): 1}
    samples = {s.name: s for s in list_pairs(data, "train")}
    image, mask = read_pair(samples["good"].image, samples["good"].label, CAMVID11)   # what training reads
    assert image.shape[:2] == mask.shape == (48, 32)
    with pytest.raises(ImageError, match="must have its image's size"):
        read_pair(samples["bad"].image, samples["bad"].label, CAMVID11)


# --- Pillow's guard is on; our own limit answers first, with our message ------------------------------------
def test_a_bomb_past_pillows_own_limit_gets_our_one_line_error():
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, format="PNG", optimize=True)   # 400 MP: Pillow's error zone
    with pytest.raises(ImageError, match="MP limit"):
        read_image(bomb.getvalue())


# --- Schemas from meta.json (item 11): validated field by field ---------------------------------------------
def camvid_with(**changes) -> dict:
    data = CAMVID11.to_dict()
    for path, value in changes.items():
        where = data
        *parents, last = path.split("__")
        for key in parents:
            where = where[int(key)] if key.isdigit() else where[key]
        where[int(last) if last.isdigit() else last] = value
    return data


@pytest.mark.parametrize("changes, expected", [
    ({"classes__3__color": [999, -5, 0]}, r"class 3 \(Road\) color must be an integer 0..255, got 999"),
    ({"classes__3__color": [1, 2]}, "color must be three integers"),
    ({"classes__3__color": "red"}, "color must be three integers"),
    ({"classes__3__color": [1.5, 2, 3]}, "must be an integer"),
    ({"classes__3__id": "3"}, r"id must be an integer"),
    ({"classes__3__id": 7}, "train ids must be 0..n-1"),
    ({"classes__3__name": "Sky"}, "unique non-empty name"),
    ({"classes__3__name": ""}, "unique non-empty name"),
    ({"classes__3__category": "spaceship"}, "unknown category"),
    ({"classes": []}, "1 to 255 classes"),
    ({"classes": "lots"}, "1 to 255 classes"),
    ({"ignore_index": 3}, "collides"),
    ({"ignore_index": 1e9}, "ignore_index must be an integer"),
    ({"void_color": [0, 0, 256]}, "void_color"),
    ({"raw_to_train": {"300": 1}}, "raw_to_train key"),
    ({"raw_to_train": {"0": 40}}, "neither a class id nor the ignore index"),
    ({"name": 5}, "'name' must be a non-empty string"),
])
def test_bad_schemas_get_one_line_errors(changes, expected):
    with pytest.raises(ValueError, match=expected) as caught:
        LabelSchema.from_dict(camvid_with(**changes))
    assert str(caught.value).startswith("not a label schema") and "\n" not in str(caught.value)


def test_a_run_with_an_impossible_colour_is_listed_as_broken(tmp_path):
    folder = tmp_path / "run"
    runs.write_json(folder / "meta.json", {"arch": "unet", "schema": camvid_with(classes__3__color=[999, -5, 0]),
                                           "input_size": [16, 16]})
    (folder / "model.keras").write_bytes(b"")
    run = runs.open_run(folder)
    assert not run.ok and "color must be an integer 0..255" in run.error


# --- Truncated model files (item 11) ------------------------------------------------------------------------
def test_a_truncated_model_is_reported_as_damaged_not_missing(tmp_path):
    import keras
    inputs = keras.Input((8, 8, 3))
    folder = tmp_path / "run"
    runs.save_model(keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs)), folder / "model.keras")
    runs.write_json(folder / "meta.json", {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [8, 8]})
    whole = (folder / "model.keras").read_bytes()
    (folder / "model.keras").write_bytes(whole[: len(whole) // 2])
    with pytest.raises(runs.RunError, match="damaged or truncated") as caught:
        runs.load_model(folder)
    assert "not found" not in str(caught.value).lower()


# --- metrics (9 §4): shapes before flattening, ids inside the schema ----------------------------------------
def test_a_transposed_label_map_is_refused():
    truth = np.zeros((4, 6), dtype=np.uint8)
    with pytest.raises(ValueError, match="4x6 pixels but the prediction is 6x4"):
        ConfusionMatrix(11, 11).update(truth, truth.T.copy())


@pytest.mark.parametrize("bad_id", [12, 31, -1])     # 11, the ignore index, is "no class" (test_metrics)
def test_predicted_ids_outside_the_schema_are_refused_not_clipped(bad_id):
    truth = np.zeros((2, 2), dtype=np.int64)
    pred = np.array([[0, bad_id], [0, 0]])
    with pytest.raises(ValueError, match=rf"class ids \[{bad_id}\] outside the schema's 0..10"):
        ConfusionMatrix(11, 11).update(truth, pred)


def test_valid_predictions_with_ignored_truth_still_count():
    truth = np.array([[0, 11], [1, 1]])
    pred = np.array([[0, 10], [1, 0]])
    counts = ConfusionMatrix(11, 11).update(truth, pred).counts
    assert counts.sum() == 3 and counts[1, 0] == 1 and counts[0, 0] == 1


def test_is_regular_file_never_opens(tmp_path):
    assert files.is_regular_file(save_png(tmp_path / "a.png", np.zeros((2, 2), dtype=np.uint8)))
    assert not files.is_regular_file(tmp_path)
    assert not files.is_regular_file(tmp_path / "missing.png")
