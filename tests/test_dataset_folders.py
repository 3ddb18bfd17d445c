"""What users' data folders hold besides frames is said, never silently used or dropped: frames in sub-folders or
outside a city folder are problems, hidden folders and macOS companions are skipped, the commands that read a split
say how many files they leave out, JPEG labels are refused, and Cityscapes' own colour masks read as labelled."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from conftest import save_png, scene
from segcore.cli import main
from segcore.datasets import check, left_out_note, list_pairs, list_splits
from segcore.imageio import ImageError, read_mask
from segcore.labels import CAMVID11, CITYSCAPES, CITYSCAPES_LABELS


def test_frames_in_a_sub_folder_are_problems_and_hidden_folders_are_no_splits(camvid_like):
    image, label = scene(5)
    save_png(camvid_like / "images" / "val" / "seq1" / "x.png", image)
    save_png(camvid_like / "labels" / "val" / "seq1" / "x.png", label, "L")
    (camvid_like / "images" / ".ipynb_checkpoints").mkdir()
    (camvid_like / "labels" / ".ipynb_checkpoints").mkdir()
    assert list_splits(camvid_like) == ["train", "val"]
    report = check(camvid_like)
    said = {path.split("/")[-3] + "/" + path.split("/")[-1]: why for path, why in report.problems}
    assert set(said) == {"images/seq1", "labels/seq1"} and "not from folders in it" in said["images/seq1"]
    assert [s.name for s in list_pairs(camvid_like, "val")] == ["f000", "f001"]
    assert left_out_note(camvid_like, "val").startswith("2 files of the val split")
    assert left_out_note(camvid_like, "train") is None


def test_the_commands_that_read_a_split_say_what_they_leave_out(camvid_like, tmp_path, capsys):
    save_png(camvid_like / "images" / "train" / "lonely.png", scene(9)[0])
    assert main(["data", "pack", str(camvid_like), "--out", str(tmp_path / "pack")]) == 0
    err = capsys.readouterr().err
    assert "note: 1 file of the train split" in err and "segcore data check" in err and "val split" not in err


def test_cityscapes_frames_outside_a_city_folder_and_macos_companions(tmp_path):
    label_ids = np.full((16, 16), 7, dtype=np.uint8)
    for folder in ("aachen", "."):
        save_png(tmp_path / "leftImg8bit" / "val" / folder / "a_000000_000019_leftImg8bit.png",
                 np.zeros((16, 16, 3), dtype=np.uint8))
        save_png(tmp_path / "gtFine" / "val" / folder / "a_000000_000019_gtFine_labelIds.png", label_ids, "L")
    for top, suffix in (("leftImg8bit", "leftImg8bit"), ("gtFine", "gtFine_labelIds")):
        (tmp_path / top / "val" / "aachen" / f"._a_000000_000019_{suffix}.png").write_bytes(b"\0\5\26\7 apple")
    assert [s.name for s in list_pairs(tmp_path, "val")] == ["aachen/a_000000_000019"]   # no ._ pair
    problems = check(tmp_path).problems
    assert len(problems) == 2 and all("not in a city folder" in why for _, why in problems)


def test_a_jpeg_label_is_refused_in_one_line():
    buffer = io.BytesIO()
    Image.fromarray(np.array([[1, 3], [8, 8]], dtype=np.uint8).repeat(8, 0).repeat(8, 1)).save(buffer, "JPEG")
    with pytest.raises(ImageError, match="a JPEG label; .* labels must be lossless: save it as PNG"):
        read_mask(buffer.getvalue(), CAMVID11)


def test_a_cityscapes_colour_mask_reads_its_void_labels_as_ignored():
    colours = {name: color for name, _, _, _, color in CITYSCAPES_LABELS}
    mask = np.array([[colours["road"], colours["parking"], colours["ground"], colours["car"]]], dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(mask).save(buffer, "PNG")
    assert read_mask(buffer.getvalue(), CITYSCAPES).tolist() == [[0, 255, 255, 13]]
    again = type(CITYSCAPES).from_dict(CITYSCAPES.to_dict())        # as a run's meta.json carries it
    assert again.void_colors == CITYSCAPES.void_colors and again.decode_color(mask).tolist() == [[0, 255, 255, 13]]
