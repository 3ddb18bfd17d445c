"""Hardening of the dashboard: every upload widget, driven with AppTest, against a corpus of bad files made here.

Each bad file must end in an st.error that names the file and what is wrong, never an exception, and the same
session must go on working: a good upload afterwards shows a normal result. Awkward but valid files (16-bit,
RGBA, grey, palette, CMYK, EXIF-rotated, 1x1 images; colour masks; histories with NaN/inf) must simply work.
"""
from __future__ import annotations

import functools
import io
import json
import re
import struct
import time
import tomllib
import zlib
from pathlib import Path

import albumentations as A
import numpy as np
import pytest
from PIL import Image, ImageFile
from streamlit.testing.v1 import AppTest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

from conftest import as_shown, scene
from segcore import augment, histories, imageio
from segcore.imageio import encode_png
from segcore.labels import CAMVID11
from test_app_pages import CURVES, HISTORY_CSV, LAB, labelled, make_data_dir, make_models_dir
from test_pages_models import RUNS, SIDE, build_runs, captions, texts, uploader

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 180                   # Side by Side loads TensorFlow on its first prediction


# ------------------------------------------------------------------------------------------------ the corpus

NOISE = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)   # incompressible: cuts lose pixels
GOOD_IMAGE, GOOD_LABELS = scene(5, 48, 64)                                      # 64 wide, 48 high, CamVid-11 ids


def encoded(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


@functools.cache
def bomb(side: int = 20000) -> bytes:
    """A valid side x side grey PNG of zeros: 400 MP, under 400 KB, 400 MB once decoded.

    Written row by row (Pillow would need the 400 MB image in memory to save it)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer, row = zlib.compressobj(9), bytes(side + 1)           # each row: filter type 0, then its pixels
    pixels = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale, not interlaced
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6                # orientation 6: the camera was turned; viewers rotate 90° clockwise
    return encoded(Image.fromarray(NOISE), "JPEG", exif=exif)


# name -> (bytes, substring the error must contain)
BAD_IMAGES = {
    "empty.png": (lambda: b"", "empty (0 bytes)"),
    "words.png": (lambda: b"just some words, not pixels\n", "not an image"),
    "truncated.png": (lambda: half(encoded(Image.fromarray(NOISE))), "truncated"),
    "truncated.jpg": (lambda: half(encoded(Image.fromarray(NOISE), "JPEG")), "truncated"),
    "bomb.png": (bomb, "400 MP, over the 40 MP limit"),
}
# name -> (bytes, Pillow mode of the file, (width, height) the page must show)
AWKWARD_IMAGES = {
    "sixteen-bit.png": (lambda: encoded(Image.fromarray(NOISE[..., 0].astype(np.uint16) * 257)), "I;16", (64, 48)),
    "rgba.png": (lambda: encoded(Image.fromarray(np.dstack([NOISE, NOISE[..., :1]]))), "RGBA", (64, 48)),
    "grey.png": (lambda: encoded(Image.fromarray(NOISE[..., 0])), "L", (64, 48)),
    "palette.png": (lambda: encoded(Image.fromarray(NOISE).convert("P")), "P", (64, 48)),
    "cmyk.jpg": (lambda: encoded(Image.fromarray(NOISE).convert("CMYK"), "JPEG"), "CMYK", (64, 48)),
    "exif-rotated.jpg": (exif_rotated, "RGB", (48, 64)),
    "one-pixel.png": (lambda: encoded(Image.fromarray(NOISE[:1, :1])), "RGB", (1, 1)),
}
# name -> (bytes, substring of the error, or None: the mask must work)
MASKS = {
    "small.png": (lambda: encode_png(GOOD_LABELS[:16]), "a mask must have its image's size"),
    "label-200.png": (lambda: encode_png(np.where(GOOD_LABELS == 3, 200, GOOD_LABELS).astype(np.uint8)),
                      "label values [200] are not in the camvid11 schema"),
    "camvid-colours.png": (lambda: encode_png(CAMVID11.colorize(GOOD_LABELS)), None),
    "odd-colours.png": (lambda: encode_png(NOISE), "not in the camvid11 palette"),
}


def no_scalar_events() -> bytes:
    """A valid TensorBoard record file holding a histogram and no scalar at all."""
    buffer = io.BytesIO()
    writer = RecordWriter(buffer)
    writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
    histogram = summary_pb2.HistogramProto(min=0, max=1, num=2, sum=1, sum_squares=1, bucket_limit=[1],
                                           bucket=[2])
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="weights", histo=histogram)])
    writer.write(event_pb2.Event(step=0, wall_time=time.time(), summary=summary).SerializeToString())
    writer.flush()
    return buffer.getvalue()


def huge_csv() -> bytes:
    """A CSV history repeated to just over histories.MAX_BYTES (= the upload limit: the browser refuses such a file,
    and the page's own check refuses it where the browser's is bypassed, as here). One multiplication: one ~50 MB buffer, no intermediate copies (AppTest's upload
    machinery still makes one copy of its own)."""
    history = HISTORY_CSV.encode()
    return history * (histories.MAX_BYTES // len(history) + 1)


# name -> (bytes, substrings of the error, or None: it must plot, with a NaN/inf warning)
HISTORIES = {
    "empty.csv": (lambda: b"", ["empty.csv", "the file is empty"]),
    "no-epoch.csv": (lambda: b"iteration,loss\n0,1.0\n1,0.8\n", ["no-epoch.csv", "no 'epoch' column"]),
    "words.csv": (lambda: b"epoch,loss\n0,1.0\n1,lots\n", ["words.csv", "'loss' has non-numeric values", "'lots'"]),
    "diverged.csv": (lambda: b"epoch,loss,val_loss\n0,1.0,nan\n1,inf,0.9\n2,0.7,0.8\n", None),
    "config.json": (lambda: b'{"arch": "unet", "layers": 12}', ["config.json", "are not lists", "History"]),
    "events.out.tfevents.1.host.v2": (no_scalar_events, ["events.out.tfevents", "no scalar summaries"]),
    "huge.csv": (huge_csv, ["huge.csv", f"over the {histories.MAX_BYTES:,}-byte limit"]),
}


def compose(*transforms) -> bytes:
    return json.dumps({"__version__": A.__version__, "transform": {"__class_fullname__": "Compose", "p": 1.0,
                                                              "transforms": list(transforms)}}).encode()


# name -> (bytes, substrings of the error)
PIPELINES = {
    "settings.json": (b'{"theme": "dark", "steps": [1, 2]}', ["not an albumentations pipeline"]),
    "unknown.json": (compose({"__class_fullname__": "NoSuchTransform", "p": 1.0}),
                     ["unknown albumentations transform 'NoSuchTransform'"]),
    "blur-999.json": (compose({"__class_fullname__": "Blur", "blur_limit": [999, 999], "p": 0.5}),
                      ["Blur", "'blur_limit'", "out of range [3, 31]"]),
    "p-5.json": (compose({"__class_fullname__": "HorizontalFlip", "p": 5}),
                 ["invalid albumentations pipeline", "less than or equal to 1"]),
}


def test_the_corpus_is_what_it_says():
    for name, (make, mode, _) in AWKWARD_IMAGES.items():
        assert Image.open(io.BytesIO(make())).mode == mode, name
    assert Image.open(io.BytesIO(exif_rotated())).getexif()[0x0112] == 6
    with pytest.raises(Image.DecompressionBombError):        # Pillow's own guard is on (segcore leaves it)
        Image.open(io.BytesIO(bomb()))
    guard, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # lifted here only, to read the header
    try:
        assert len(bomb()) < 1_000_000 and Image.open(io.BytesIO(bomb())).size == (20000, 20000)
    finally:
        Image.MAX_IMAGE_PIXELS = guard
    small = Image.open(io.BytesIO(bomb.__wrapped__(40)))         # the same writer makes a PNG Pillow decodes
    assert (small.mode, small.size, small.getextrema()) == ("L", (40, 40), (0, 0))
    # Headers intact, pixel data cut: the PNG keeps an IDAT chunk but no IEND, the JPEG its start of scan.
    cut_png, cut_jpeg = BAD_IMAGES["truncated.png"][0](), BAD_IMAGES["truncated.jpg"][0]()
    assert b"IDAT" in cut_png and b"IEND" not in cut_png
    assert b"\xff\xda" in cut_jpeg and len(cut_jpeg) > cut_jpeg.index(b"\xff\xda") + 300
    assert len(huge_csv()) > histories.MAX_BYTES == imageio.MAX_BYTES


# ------------------------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A CamVid-style data folder and a models folder with one run's history (no model needed by those pages)."""
    root = tmp_path_factory.mktemp("app")
    return make_data_dir(root / "data"), make_models_dir(root / "models")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny trained U-Net (Side by Side predicts with it), built with the CLI as test_pages_models does."""
    return build_runs(tmp_path_factory.mktemp("runs"), runs={"unet-tiny": RUNS["unet-tiny"]}, evaluate=False)


@pytest.fixture
def pages_env(folders, monkeypatch):
    data, models = folders
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))


@pytest.fixture
def side_env(trained, monkeypatch):
    data, models = trained
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))


@pytest.fixture
def decoded_sizes(monkeypatch):
    """(width, height) of every image file Pillow decodes while the test runs (AppTest runs pages in-process)."""
    sizes = []
    original = ImageFile.ImageFile.load

    def load(self):
        sizes.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", load)
    return sizes


def run(at: AppTest) -> AppTest:
    at.run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def errors(at: AppTest) -> str:
    return texts(at, "error")


def png(name: str, data: bytes) -> tuple[str, bytes, str]:
    return name, data, "image/jpeg" if name.endswith(".jpg") else "image/png"


GOOD_UPLOAD = png("street.png", encode_png(GOOD_IMAGE))
GOOD_MASK = png("street-labels.png", encode_png(GOOD_LABELS))


# ------------------------------------------------------------------------------------------------ images

def lab(at: AppTest, image=None, mask=None) -> AppTest:
    if image is not None:
        labelled(at.file_uploader, "Image").set_value(image)
    if mask is not None:
        labelled(at.file_uploader, "Mask (optional)").set_value(mask)
    return run(at)


def lab_session() -> AppTest:
    at = run(AppTest.from_file(LAB, default_timeout=TIMEOUT))
    at.radio[0].set_value("Upload")
    return run(at)


def side_session() -> AppTest:
    return run(AppTest.from_file(SIDE, default_timeout=TIMEOUT))


def side(at: AppTest, image=None, mask=None) -> AppTest:
    if image is not None:
        uploader(at, "Images").set_value(image)
    if mask is not None:
        uploader(at, "Ground-truth").set_value(mask)
    return run(at)


def lab_shows(at: AppTest, size: tuple[int, int]) -> None:
    assert not at.error, errors(at)
    shown = captions(at)
    assert f"original {size[0]}x{size[1]}" in shown, shown
    assert f"augmented {size[0]}x{size[1]} (seed 0)" in shown, shown


def side_shows(at: AppTest, size: tuple[int, int]) -> None:
    assert not at.error, errors(at)
    shown = captions(at)
    assert f"original · {size[0]}×{size[1]}" in shown and "unet-tiny" in shown, shown
    assert list(at.dataframe[0].value.index) == ["unet-tiny"]


@pytest.mark.parametrize("name", BAD_IMAGES)
def test_lab_refuses_bad_images_and_carries_on(pages_env, decoded_sizes, name):
    make, expected = BAD_IMAGES[name]
    at = lab(lab_session(), image=png(name, make()))
    assert name in errors(at) and expected in errors(at), errors(at)
    assert not any(c.startswith("original") for c in captions(at))
    assert (20000, 20000) not in decoded_sizes                 # the bomb is refused from its header
    lab_shows(lab(at, image=GOOD_UPLOAD), (64, 48))


@pytest.mark.parametrize("name", AWKWARD_IMAGES)
def test_lab_reads_awkward_images(pages_env, name):
    make, _, size = AWKWARD_IMAGES[name]
    lab_shows(lab(lab_session(), image=png(name, make())), size)


@pytest.mark.slow
@pytest.mark.parametrize("name", BAD_IMAGES)
def test_side_by_side_refuses_bad_images_and_carries_on(side_env, decoded_sizes, name):
    make, expected = BAD_IMAGES[name]
    at = side(side_session(), image=png(name, make()))
    assert f"Skipped {name}" in errors(at) and expected in errors(at), errors(at)
    assert "unet-tiny" not in captions(at)
    assert (20000, 20000) not in decoded_sizes
    side_shows(side(at, image=GOOD_UPLOAD), (64, 48))


@pytest.mark.slow
@pytest.mark.parametrize("name", AWKWARD_IMAGES)
def test_side_by_side_reads_awkward_images(side_env, name):
    make, _, size = AWKWARD_IMAGES[name]
    side_shows(side(side_session(), image=png(name, make())), size)


# ------------------------------------------------------------------------------------------------ masks

@pytest.mark.parametrize("name", MASKS)
def test_lab_mask_upload(pages_env, name):
    make, expected = MASKS[name]
    at = lab(lab_session(), image=GOOD_UPLOAD, mask=png(name, make()))
    if expected is None:
        lab_shows(at, (64, 48))
        assert "augmented mask" in captions(at)
        return
    assert name in errors(at) and expected in errors(at), errors(at)
    at = lab(at, mask=GOOD_MASK)
    lab_shows(at, (64, 48))
    assert "augmented mask" in captions(at)


@pytest.mark.slow
@pytest.mark.parametrize("name", MASKS)
def test_side_by_side_ground_truth_upload(side_env, name):
    make, expected = MASKS[name]
    at = side(side_session(), image=GOOD_UPLOAD, mask=GOOD_MASK)
    assert not at.error, errors(at)
    scored = at.dataframe[0].value.loc["unet-tiny", "mIoU %"]
    side(at, mask=png(name, make()))
    if expected is None:           # the colour mask is the same labels: the same score
        assert not at.error, errors(at)
        assert at.dataframe[0].value.loc["unet-tiny", "mIoU %"] == scored
        return
    assert f"Ground truth not used (camvid11 schema): {name}" in errors(at) and expected in errors(at), errors(at)
    assert "mIoU %" not in at.dataframe[0].value.columns and "unet-tiny" in captions(at)   # predicted, unscored
    side(at, mask=GOOD_MASK)
    assert not at.error and at.dataframe[0].value.loc["unet-tiny", "mIoU %"] == scored


# ------------------------------------------------------------------------------------------------ histories

def runs_shown(at: AppTest) -> list[str]:
    return list(at.dataframe[0].value["run"])


@pytest.mark.parametrize("name", HISTORIES)
def test_curves_upload(pages_env, name):
    make, expected = HISTORIES[name]
    at = run(AppTest.from_file(CURVES, default_timeout=TIMEOUT))
    at.file_uploader[0].set_value((name, make(), "application/octet-stream"))
    run(at)
    if expected is None:       # NaN/inf are kept as gaps and reported, the run is plotted
        assert not at.error, errors(at)
        assert runs_shown(at) == ["unet-tiny", Path(name).stem] and at.get("plotly_chart")
        warnings = as_shown(texts(at, "warning"))
        assert "val_loss: 1 missing or non-finite (NaN/inf) value(s) at epoch 0" in warnings, warnings
        assert "loss: 1 missing or non-finite (NaN/inf) value(s) at epoch 1" in warnings, warnings
        return
    assert all(part in as_shown(errors(at)) for part in expected), errors(at)
    assert runs_shown(at) == ["unet-tiny"] and at.get("plotly_chart")
    at.file_uploader[0].set_value(("good.csv", HISTORY_CSV.encode(), "text/csv"))
    run(at)
    assert not at.error, errors(at)
    assert runs_shown(at) == ["unet-tiny", "good"]


# ------------------------------------------------------------------------------------------------ pipelines

GOOD_PIPELINE = augment.dumps_pipeline([{"name": "HorizontalFlip", "params": {}, "p": 0.5},
                                        {"name": "Blur", "params": {"blur_limit": (3, 5)}, "p": 0.3}], "json")


@pytest.mark.parametrize("name", PIPELINES)
def test_lab_import_refuses_bad_pipelines(pages_env, name):
    data, expected = PIPELINES[name]
    at = run(AppTest.from_file(LAB, default_timeout=TIMEOUT))
    importer = labelled(at.file_uploader, "Import a saved pipeline")
    importer.set_value((name, data, "application/json"))
    run(at)
    assert f"{name}: " in errors(at) and all(part in errors(at) for part in expected), errors(at)
    assert [i["name"] for i in at.session_state["lab_items"]] == [s["name"] for s in augment.light_weather()]
    labelled(at.file_uploader, "Import a saved pipeline").set_value(("good.json", GOOD_PIPELINE.encode(),
                                                                     "application/json"))
    run(at)
    assert not at.error, errors(at)
    assert [(i["name"], i["p"]) for i in at.session_state["lab_items"]] == [("HorizontalFlip", 0.5), ("Blur", 0.3)]
    assert any(c.startswith("augmented 64x48") for c in captions(at))


# ------------------------------------------------------------------------------------------------ upload limit

def upload_limit_mb() -> int:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]


def test_config_sets_the_upload_limit():
    limit = upload_limit_mb() * 2**20                      # Streamlit counts maxUploadSize in MiB
    assert limit == imageio.MAX_BYTES                       # as the config's comment says
    assert histories.MAX_BYTES <= limit


def test_readme_states_the_same_upload_limit():
    paragraphs = [p for p in (ROOT / "README.md").read_text().split("\n\n") if "maxUploadSize" in p]
    assert paragraphs, "README does not mention server.maxUploadSize"
    # "maxUploadSize = 50" or "50 MB", in every paragraph that names the setting
    stated = [int(a or b) for p in paragraphs for a, b in re.findall(r"maxUploadSize\s*=\s*(\d+)|(\d+)\s*MB\b", p)]
    assert stated and set(stated) == {upload_limit_mb()}, paragraphs
