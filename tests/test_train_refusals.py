"""`segcore train` refuses what can't work before it makes a folder, says which frame can't be read, leaves no
half-made run, and never takes over a folder holding someone else's files."""
import numpy as np
import pytest

from conftest import make_camvid_like
from test_hardening import one_error_line
from test_training import TINY


@pytest.fixture
def data(tmp_path):
    return make_camvid_like(tmp_path / "data", splits=(("train", 3), ("val", 2)))


def train_args(data, out, *extra):
    return ["train", "--arch", "unet", "--data", data, "--size", "16x16", "--epochs", 1, "--batch", 1, "--out", out,
            *extra]


@pytest.mark.parametrize("extra, said", [
    (["--size", "99999x99999"], "is over 4.2 MP, the largest model input"),
    (["--option", "bogus=1"], "unet has no option 'bogus'; its options are base_filters, depth, stem_filters"),
    (["--option", "depth=-1"], "option depth must be a whole number from 1 to 6, got -1"),
    (["--option", "base_filters=0.5"], "option base_filters must be a whole number from 1 to 1024, got 0.5"),
])
def test_impossible_settings_are_one_line_and_make_no_folder(data, tmp_path, capsys, extra, said):
    assert said in one_error_line(capsys, train_args(data, tmp_path / "run", *extra))
    assert not (tmp_path / "run").exists()


def test_a_folder_holding_other_files_is_not_taken_over(data, tmp_path, capsys):
    folder = tmp_path / "project"
    (folder / "logs").mkdir(parents=True)
    (folder / "logs" / "important.txt").write_text("notes")
    (folder / "README.md").write_text("mine")
    err = one_error_line(capsys, train_args(data, folder, *TINY))
    assert "holds files that are not a run's (README.md, logs); give --out an empty or new folder" in err
    assert (folder / "logs" / "important.txt").read_text() == "notes" and (folder / "README.md").exists()


@pytest.mark.slow    # builds and starts fitting a tiny model
@pytest.mark.parametrize("loader", ["tf", "pydataset"])
def test_a_frame_that_cant_be_read_is_named_in_one_line_and_no_run_is_left(data, tmp_path, capsys, loader):
    damaged = sorted((data / "images" / "train").iterdir())[1]
    damaged.write_bytes(damaged.read_bytes()[:60])                      # truncated
    err = one_error_line(capsys, train_args(data, tmp_path / "run", "--loader", loader, *TINY))
    assert damaged.name in err and "segcore data check" in err
    assert not (tmp_path / "run").exists()
    existing = tmp_path / "existing"                                     # a folder the user made: kept, emptied
    existing.mkdir()
    one_error_line(capsys, train_args(data, existing, "--loader", loader, *TINY))
    assert existing.is_dir() and sorted(p.name for p in existing.iterdir()) == []


def test_a_run_inside_the_data_set_is_refused(data, capsys):
    err = one_error_line(capsys, train_args(data, data / "images" / "run", *TINY))
    assert "inside the data set" in err and not (data / "images" / "run").exists()


def test_a_folder_not_made_yet_holds_nothing_foreign(tmp_path):
    from segcore.train_folder import check_new_run_folder
    check_new_run_folder(tmp_path / "not-yet")           # a multi-worker run's other worker, before the chief made it
    assert not (tmp_path / "not-yet").exists()


@pytest.mark.slow    # builds and starts fitting a tiny model
def test_a_step_that_cant_be_drawn_on_one_frame_is_named_in_one_line(data, tmp_path, capsys):
    import json

    import albumentations as A
    from PIL import Image

    from segcore import augment
    from segcore.augment.files import portable
    small = sorted((data / "images" / "train").iterdir())[1]     # the first frame, which train checks up front, fits
    for path in (small, data / "labels" / "train" / small.name):
        Image.open(path).crop((0, 0, 20, 20)).save(path)
    pipeline = tmp_path / "crop.json"
    steps = [{"name": "RandomCrop", "params": {"height": 24, "width": 24, "pad_if_needed": False}, "p": 1.0}]
    pipeline.write_text(json.dumps(portable(A.to_dict(augment.build_pipeline(steps, mask_fill=11)))))
    err = one_error_line(capsys, train_args(data, tmp_path / "run", "--augment", pipeline, *TINY))
    assert small.name in err and "a step can't be drawn on this 20x20 frame" in err and "crop.json" in err, err
    assert not (tmp_path / "run").exists()
