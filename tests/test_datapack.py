"""segcore data pack: a compact copy of a data set for a GPU machine's limited transfer; labels identical, images
within the JPEG error it reports, readable by the same data path training uses."""
import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import make_camvid_like
from segcore.datapack import PACK_INFO, pack
from segcore.datasets import DatasetError, dataset_name, frame_names_digest, list_pairs
from segcore.imageio import read_image
from PIL import Image


def test_a_pack_has_the_same_frames_identical_labels_and_close_images(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 3), ("val", 2)), size=(40, 60))
    info = pack(data, tmp_path / "pack", jpeg_quality=90)
    assert info["frames"] == 5 and json.loads((tmp_path / "pack" / PACK_INFO).read_text()) == info
    errors = []
    for split in ("train", "val"):
        original, packed = list_pairs(data, split), list_pairs(tmp_path / "pack", split)
        assert [s.name for s in packed] == [s.name for s in original]
        for a, b in zip(original, packed):
            assert b.image.suffix == ".jpg"
            assert np.array_equal(np.asarray(Image.open(a.label)), np.asarray(Image.open(b.label)))
            errors.append(np.abs(read_image(a.image).astype(int) - read_image(b.image)).mean())
    # The error it reports is the one the packed images have (the synthetic scenes' texture: ~11 of 255).
    assert 0 < info["mean_abs_error"] < 20 and info["mean_abs_error"] == pytest.approx(np.mean(errors), abs=0.01)
    # A run trained on the pack names its data after the source, and its frames hash as the source's do.
    assert dataset_name(tmp_path / "pack") == "data (JPEG pack, quality 90)" and dataset_name(data) == "data"
    assert all(frame_names_digest(list_pairs(data, split)) == frame_names_digest(list_pairs(tmp_path / "pack", split))
               for split in ("train", "val"))
    assert frame_names_digest(list_pairs(data, "train")) != frame_names_digest(list_pairs(data, "val"))


def test_bad_packs_are_refused_with_one_line(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 1), ("val", 1)))
    with pytest.raises(ValueError, match="--jpeg-quality must be a whole number from 50 to 100"):
        pack(data, tmp_path / "a", jpeg_quality=101)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(DatasetError, match="not empty; pack into a new folder"):
        pack(data, tmp_path / "full")
    result = subprocess.run([sys.executable, "-m", "segcore", "data", "pack", str(tmp_path / "nowhere"), "--out",
                             str(tmp_path / "b")], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"segcore data: error: {tmp_path / 'nowhere'}: no such folder; point to a data " \
        "set folder (CamVid style: images/ + labels/)"


def test_a_pack_that_fails_half_way_leaves_nothing_and_a_split_named_twice_is_packed_once(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 2), ("val", 1)))
    with pytest.raises(DatasetError):
        pack(data, tmp_path / "pack", splits=("train", "test"))          # no test split: found before writing
    assert not (tmp_path / "pack").exists() and [p.name for p in tmp_path.iterdir()] == ["data"]
    (data / "labels" / "val" / list_pairs(data, "val")[0].label.name).write_bytes(b"cut short")
    with pytest.raises(Exception):
        pack(data, tmp_path / "pack", splits=("train", "val"))            # train written, then val fails
    assert [p.name for p in tmp_path.iterdir()] == ["data"]
    info = pack(data, tmp_path / "pack", splits=("train", "train"))
    assert info["frames"] == 2 and info["splits"] == ["train"]


def test_labels_are_packed_as_training_reads_them_and_unreadable_ones_are_named(tmp_path):
    from segcore.labels import CAMVID11
    data = make_camvid_like(tmp_path / "data", splits=(("train", 2), ("val", 1)))
    ids_path = data / "labels" / "train" / "f000.png"
    ids = np.asarray(Image.open(ids_path))
    Image.fromarray(CAMVID11.color_mask(ids)).save(ids_path)          # a colour mask, which training accepts
    pack(data, tmp_path / "pack")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "pack" / "labels" / "train" / "f000.png")), ids)
    Image.fromarray(ids > 2).convert("1").save(data / "labels" / "train" / "f001.png")   # mode 1: refused
    with pytest.raises(DatasetError, match=r"f001.png.*segcore data check"):
        pack(data, tmp_path / "pack2")
    assert not (tmp_path / "pack2").exists()


def test_a_pack_inside_the_data_set_is_refused(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 1), ("val", 1)))
    with pytest.raises(DatasetError, match="inside the data set it packs"):
        pack(data, data / "images" / "pk")
    assert sorted(p.name for p in (data / "images").iterdir()) == ["train", "val"]
