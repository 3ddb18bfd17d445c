"""The procedural sample data set: deterministic, well-formed, labels that agree with the pixels."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from segcore import cli
from segcore.labels import CAMVID11
from segcore.synth import make_sample, render_scene

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"

SIZE = (90, 120)
SKY, BUILDING, ROAD, PAVEMENT, TREE, CAR = 0, 1, 3, 4, 5, 8


@pytest.fixture(scope="module")
def scenes():
    return [render_scene(seed, SIZE) for seed in range(8)]


def test_same_seed_same_arrays_and_different_seeds_differ():
    a_img, a_lab = render_scene(3, SIZE)
    b_img, b_lab = render_scene(3, SIZE)
    assert np.array_equal(a_img, b_img) and np.array_equal(a_lab, b_lab)
    c_img, c_lab = render_scene(4, SIZE)
    assert not np.array_equal(a_img, c_img) and not np.array_equal(a_lab, c_lab)


def test_shapes_dtypes_and_label_values(scenes):
    for img, lab in scenes:
        assert img.shape == (*SIZE, 3) and img.dtype == np.uint8
        assert lab.shape == SIZE and lab.dtype == np.uint8
        assert set(np.unique(lab).tolist()) <= set(range(CAMVID11.num_classes + 1))
    img, lab = render_scene(0, (48, 64))
    assert img.shape == (48, 64, 3) and lab.shape == (48, 64)


def test_every_class_appears(scenes):
    seen = np.zeros(CAMVID11.num_classes + 1, int)
    for _, lab in scenes:
        present = np.bincount(lab.ravel(), minlength=CAMVID11.num_classes + 1) > 0
        assert present[[SKY, BUILDING, ROAD, PAVEMENT, TREE, CAR]].all()   # the big classes, always
        seen += present
    assert (seen[: CAMVID11.num_classes] >= len(scenes) // 2).all(), seen    # the rest, in most scenes
    assert seen[CAMVID11.ignore_index] > 0                                  # void is used somewhere


def test_image_agrees_with_label(scenes):
    for img, lab in scenes:
        pixels = img.astype(float)
        sky, road, tree = (pixels[lab == c].mean(0) for c in (SKY, ROAD, TREE))
        assert sky.mean() > road.mean() + 25        # sky is bright, asphalt dark
        assert sky[2] > road[2] + 25                 # and bluer
        assert tree[1] > tree[2] + 5                 # foliage is green
        # Sky sits above the road: the label's layout matches a street seen from a car.
        rows = np.arange(SIZE[0])[:, None].repeat(SIZE[1], 1)
        assert rows[lab == SKY].mean() < rows[lab == ROAD].mean()


def test_bad_size_is_refused():
    with pytest.raises(ValueError):
        render_scene(0, (8, 8))


def test_make_sample_layout_and_byte_identical(tmp_path):
    kwargs = dict(n_train=2, n_val=1, seed=5, size=SIZE)
    first = make_sample(tmp_path / "a", **kwargs)
    second = make_sample(tmp_path / "b", **kwargs)
    assert first["train"] == 2 and first["val"] == 1 and first["files"] == second["files"]
    for split, count in (("train", 2), ("val", 1)):
        images = sorted(p.name for p in (tmp_path / "a" / "images" / split).iterdir())
        labels = sorted(p.name for p in (tmp_path / "a" / "labels" / split).iterdir())
        assert images == labels and len(images) == count
    assert (tmp_path / "a" / "README.md").read_text().count("segcore sample make") == 1
    written = sorted(p.relative_to(tmp_path / "a").as_posix() for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert written == sorted(first["files"])                       # no temporary files left behind
    for rel in first["files"]:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    name = sorted((tmp_path / "a" / "labels" / "train").iterdir())[0].name
    with Image.open(tmp_path / "a" / "labels" / "train" / name) as label, \
            Image.open(tmp_path / "a" / "images" / "train" / name) as image:
        assert label.mode == "L" and image.mode == "RGB" and label.size == image.size == (SIZE[1], SIZE[0])
        img, lab = render_scene(5 * 10_000, SIZE)                  # scene 0 of seed 5
        assert np.array_equal(np.asarray(label), lab) and np.array_equal(np.asarray(image), img)


def test_make_sample_rerun_with_fewer_scenes_drops_stale_files(tmp_path):
    make_sample(tmp_path, n_train=3, n_val=1, size=(32, 48))
    out = make_sample(tmp_path, n_train=1, n_val=1, size=(32, 48))
    on_disk = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.png"))
    assert on_disk == sorted(f for f in out["files"] if f.endswith(".png"))


def test_committed_sample_regenerates_to_the_same_pixels(tmp_path, capsys):
    """`segcore sample make` (what `make sample` runs), with its defaults, rebuilds data/sample pixel for pixel."""
    assert cli.main(["sample", "make", "--out", str(tmp_path)]) == 0
    committed = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*") if p.is_file())
    regenerated = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert regenerated == committed and len(committed) == 2 * 24 + 1
    assert (tmp_path / "README.md").read_text() == (SAMPLE / "README.md").read_text()
    for rel in (name for name in committed if name.endswith(".png")):
        with Image.open(SAMPLE / rel) as old, Image.open(tmp_path / rel) as new:
            assert old.mode == new.mode and np.array_equal(np.asarray(old), np.asarray(new)), rel


def test_a_folder_that_is_not_a_sample_is_left_alone(tmp_path, capsys):
    """make_sample replaces README.md and removes stale scene files: never in a folder it did not make."""
    (tmp_path / "README.md").write_text("my precious notes")
    (tmp_path / "images" / "train").mkdir(parents=True)
    (tmp_path / "images" / "train" / "scene_0099.png").write_bytes(b"mine")
    assert cli.main(["sample", "make", "--out", str(tmp_path), "--train", "1", "--val", "0"]) == 2
    assert "holds files that are not a sample data set" in capsys.readouterr().err
    assert (tmp_path / "README.md").read_text() == "my precious notes"
    assert (tmp_path / "images" / "train" / "scene_0099.png").read_bytes() == b"mine"
    with pytest.raises(ValueError, match="seed must be >= 0, got -1"):
        make_sample(tmp_path / "new", n_train=0, n_val=0, seed=-1)
