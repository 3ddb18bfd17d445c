"""Stored evaluations: keyed by the data set's content (no collisions), paths relative to the data set, no silent
overwrite, no writes outside the models folder; meta.json checked field by field; linked runs from elsewhere."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import CAMVID, make_camvid_like, needs_camvid, save_png
from segcore import compare, evaluations, runs
from segcore.cli import main
from segcore.datasets import DatasetError, frame_names_digest, list_pairs
from segcore.evaluate import evaluate_run, evaluation_path
from segcore.labels import CAMVID11

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("unet-camvid", "segnet-camvid")
META = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [32, 48], "parameters": 10,
        "epochs_completed": 1, "best": {"val_mean_iou": 0.5, "epoch": 0}}


def make_run(models: Path, name: str, meta: dict | None = None) -> Path:
    """A run folder the readers accept; the model file is a placeholder (nothing here loads it)."""
    run = models / name
    run.mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps(META if meta is None else meta))
    (run / "model.keras").write_bytes(b"placeholder")
    return run


# ------------------------------------------------------------------------------------------------ identity and keys

def test_same_name_different_content_never_share_a_key(tmp_path):
    shipped_like = make_camvid_like(tmp_path / "a" / "camvid")
    other = make_camvid_like(tmp_path / "b" / "camvid", size=(16, 16))      # any folder named camvid
    keys = {evaluations.evaluation_key(evaluations.dataset_identity(root, "val")) for root in (shipped_like, other)}
    assert len(keys) == 2 and all(key.startswith("camvid-") and key.endswith("-val") for key in keys)


def test_fingerprint_follows_content_not_location(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    moved = shutil.copytree(data, tmp_path / "mounted" / "elsewhere")
    first, second = evaluations.dataset_identity(data, "val"), evaluations.dataset_identity(moved, "val")
    assert first["fingerprint"] == second["fingerprint"] and first["path"] != second["path"]
    assert first == {"name": "data", "path": str(data.resolve()), "layout": "camvid", "split": "val",
                     "fingerprint": first["fingerprint"]}
    save_png(moved / "images" / "val" / "f009.png", np.zeros((32, 48, 3), np.uint8))
    shutil.copy(moved / "labels" / "val" / "f000.png", moved / "labels" / "val" / "f009.png")
    assert evaluations.dataset_identity(moved, "val")["fingerprint"] != first["fingerprint"]   # a frame added
    assert evaluations.dataset_identity(data, "train")["fingerprint"] != first["fingerprint"]  # another split


def test_file_names_are_safe_whatever_the_folder_is_called(tmp_path):
    identity = {"name": "my data v2 ../x", "split": "val", "fingerprint": "0123abcd"}
    path = evaluations.evaluation_file(tmp_path / "run", identity)
    assert path == tmp_path / "run" / "eval" / "my_data_v2_x-0123abcd-val.json"
    run = runs.Run(tmp_path / "run")
    for data in (tmp_path / "nothing-here", Path("/")):          # not data sets: keyed by path, still inside eval/
        assert evaluation_path(run, data, "val").parent == tmp_path / "run" / "eval"


def test_a_run_finds_its_evaluation_by_data_set_name_and_split(tmp_path):
    run = runs.open_run(make_run(tmp_path, "r"))
    (run.path / "eval").mkdir()
    (run.path / "eval" / "camvid-0123abcd-val.json").write_text('{"x": 1}')
    (run.path / "eval" / "camvid-0123abcd-train.json").write_text('{"x": 2}')
    (run.path / "eval" / "my-data-99aa00bb-val.json").write_text('{"x": 3}')
    assert run.evaluation("camvid-val") == {"x": 1} and run.evaluation("camvid-0123abcd-train") == {"x": 2}
    assert run.evaluation("my-data-val") == {"x": 3}
    with pytest.raises(runs.RunError, match="no evaluation 'camvid-test'"):
        run.evaluation("camvid-test")
    (run.path / "eval" / "camvid-ffff0000-val.json").write_text('{"x": 4}')     # a second CamVid-named folder
    with pytest.raises(runs.RunError, match="matches 2 evaluations"):
        run.evaluation("camvid-val")


def test_the_default_evaluation_is_camvid_val_in_either_key_style():
    assert compare.evaluation_keys({"a": ["camvid-8a853e67-val", "camvid-8a853e67-train", "x-1-val"],
                                    "b": ["camvid-8a853e67-val", "camvid-8a853e67-train"]})[1] == "camvid-8a853e67-val"


# ------------------------------------------------------------------------------------------------ shipped files

@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_evaluations_are_in_the_portable_format(name):
    folder = ROOT / "models" / name / "eval"
    [path] = folder.glob("*.json")
    result = json.loads(path.read_text())
    dataset = result["dataset"]
    assert result["format"] in evaluations.READABLE_FORMATS and path.stem == evaluations.evaluation_key(dataset)
    assert (dataset["name"], dataset["split"], dataset["layout"]) == ("camvid", "val", "camvid")
    assert result["label"] == "camvid val" and result["resolution"] == "label"
    for record in result["per_image"]:
        assert record["image"] == f"images/val/{record['name']}.png"
        assert record["label"] == f"labels/val/{record['name']}.png"
    assert evaluations.optimism_note(result) == evaluations.CAMVID_VAL_NOTE
    assert "45.7" in evaluations.CAMVID_VAL_NOTE and "43.7" in evaluations.CAMVID_VAL_NOTE
    assert evaluations.scored_at(result) == ("camvid val, 101 images, scored at each label's own resolution, "
                                             "model input 240x320 (height x width), no test-time augmentation")


@needs_camvid()
def test_shipped_fingerprint_matches_the_camvid_here_and_frames_resolve():
    result = runs.open_run(ROOT / "models" / "unet-camvid").evaluation("camvid-val")
    assert evaluations.locate_dataset(result, [ROOT / "data" / "sample", CAMVID]) == CAMVID.resolve()
    sample = evaluations.record_sample(result["per_image"][0], CAMVID)
    assert sample.image.is_file() and sample.label.is_file()


def test_migration_keeps_the_numbers_and_makes_paths_relative(tmp_path, monkeypatch):
    data = make_camvid_like(tmp_path / "camvid")
    monkeypatch.chdir(tmp_path)
    old = {"run": "r", "schema": "camvid11", "images": 2, "class_level": {"mean_iou": 0.5},
           "category_level": {"mean_iou": 0.6}, "dataset": "camvid", "split": "val",
           "per_image": [{"name": f"f00{i}", "image": f"camvid/images/val/f00{i}.png",
                          "label": f"camvid/labels/val/f00{i}.png", "mean_iou": 0.1 * i} for i in range(2)]}
    new = evaluations.migrate(old, data)
    assert new["class_level"] == old["class_level"] and new["per_image"][1]["mean_iou"] == 0.1
    assert new["per_image"][1]["image"] == "images/val/f001.png"
    assert new["dataset"] == evaluations.dataset_identity(data, "val") and new["format"] == evaluations.MIGRATED_FORMAT
    with pytest.raises(DatasetError, match="migrate against the data set"):
        evaluations.migrate({**old, "per_image": old["per_image"][:1]}, data)


def test_stored_paths_cannot_leave_the_data_set(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    assert evaluations.record_sample({"name": "f000", "image": "images/val/f000.png",
                                      "label": "labels/val/f000.png"}, data).image == data / "images/val/f000.png"
    for bad in ("../../etc/passwd", "/etc/passwd", "", "images/../../data2/x.png"):
        with pytest.raises(DatasetError, match="not inside"):
            evaluations.record_sample({"name": "x", "image": bad, "label": "labels/val/f000.png"}, data)


def test_a_linked_frame_of_the_data_set_is_shown_as_it_was_evaluated(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    frame = data / "images" / "val" / "f000.png"
    shutil.move(frame, tmp_path / "downloads.png")
    frame.symlink_to(tmp_path / "downloads.png")         # a data set assembled with links, as many are
    # The record as `segcore evaluate` stores it: the frame's path in the data set, not where its link leads.
    record = {"name": "f000", "image": evaluations.relative(frame, data.resolve()), "label": "labels/val/f000.png"}
    assert record["image"] == "images/val/f000.png"
    sample = evaluations.record_sample(record, data)
    assert sample.image == data.resolve() / "images/val/f000.png" and sample.image.read_bytes()


# ------------------------------------------------------------------------------------------------ writing

def test_cli_refuses_to_replace_an_evaluation_without_overwrite(tmp_path, capsys):
    data = make_camvid_like(tmp_path / "data")
    run = runs.open_run(make_run(tmp_path / "models", "r"))
    target = evaluation_path(run, data, "val")
    target.parent.mkdir()
    target.write_text('{"previous": true}')
    code = main(["evaluate", "--run", str(run.path), "--data", str(data), "--verbose"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "already holds an evaluation" in err and "--overwrite" in err
    assert json.loads(target.read_text()) == {"previous": True}
    # --overwrite gets past the check (and then fails on the placeholder model, leaving the file alone).
    assert main(["evaluate", "--run", str(run.path), "--data", str(data), "--verbose", "--overwrite"]) == 2
    assert "can't be loaded safely" in capsys.readouterr().err
    assert json.loads(target.read_text()) == {"previous": True}


def test_no_write_outside_the_models_folder(tmp_path):
    models, outside = tmp_path / "models", tmp_path / "outside"
    data = make_camvid_like(tmp_path / "data")
    run = runs.open_run(make_run(models, "r"))
    outside.mkdir()
    (run.path / "eval").symlink_to(outside, target_is_directory=True)     # eval/ leads out of the models folder
    with pytest.raises(evaluations.OutsideFolderError, match="outside the models folder"):
        evaluate_run(run, data, "val", inside=models)
    assert list(outside.iterdir()) == []
    inside = evaluations.check_inside(models / "r" / "x.json", models)
    assert inside == (models / "r" / "x.json").resolve()


def test_runs_linked_in_from_outside_are_listed_broken(tmp_path):
    models, elsewhere = tmp_path / "models", tmp_path / "elsewhere"
    make_run(models, "real")
    make_run(elsewhere, "foreign")
    (models / "linked").symlink_to(elsewhere / "foreign", target_is_directory=True)
    (models / "alias").symlink_to(models / "real", target_is_directory=True)    # a link inside is fine
    found = {run.name: run for run in runs.discover_runs(models)}
    assert found["real"].ok and found["alias"].ok
    assert not found["linked"].ok and found["linked"].meta == {}              # never read
    assert found["linked"].error.startswith(f"links outside the models folder to {(elsewhere / 'foreign').resolve()}")


# ------------------------------------------------------------------------------------------------ meta.json

@pytest.mark.parametrize("change, field", [
    ({"parameters": "lots"}, "'parameters' must be a whole number"),
    ({"epochs_completed": 2.5}, "'epochs_completed' must be a whole number"),
    ({"epochs_completed": True}, "'epochs_completed' must be a whole number"),
    ({"input_size": "big"}, "'input_size' must be [height, width]"),
    ({"input_size": [32, 0]}, "'input_size' must be [height, width]"),
    ({"schema": {"name": "x", "classes": "many", "ignore_index": 1}}, "'schema' is unusable"),
    ({"schema": ["camvid11"]}, "'schema' is unusable"),
    ({"arch": 5}, "'arch' must be an architecture name"),
    ({"best": "yesterday"}, "'best' must be an object"),
    ({"best": {"val_mean_iou": 60.1}}, "best val_mean_iou must be a number from 0 to 1"),
])
def test_bad_meta_fields_break_only_that_run_with_a_one_line_reason(tmp_path, change, field):
    make_run(tmp_path, "good")
    make_run(tmp_path, "bad", {**META, **change})
    found = {run.name: run for run in runs.discover_runs(tmp_path)}
    assert found["good"].ok
    assert not found["bad"].ok and found["bad"].error.startswith("bad/meta.json: ")
    assert field in found["bad"].error and "\n" not in found["bad"].error


def test_an_evaluation_on_frames_the_run_trained_on_says_so(tmp_path, capsys):
    from segcore.importing import import_model
    from test_onnx_import import foreign_onnx
    data = make_camvid_like(tmp_path / "data")
    run = tmp_path / "models" / "final"
    import_model(foreign_onnx(tmp_path / "foreign.onnx"), run, schema="camvid11", preprocess="torch")
    meta = json.loads((run / "meta.json").read_text())
    meta["config"] = {"data": str(tmp_path / "models" / ".." / "data"), "train_split": "train+val"}  # as train writes
    (run / "meta.json").write_text(json.dumps(meta))
    on_val, _ = evaluate_run(run, data, "val", out=tmp_path / "val.json")
    assert on_val["trained_on_split"] is True
    note = evaluations.optimism_note(on_val)
    assert note.startswith("final trained on these frames (val is one of its training splits)")
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--split", "val", "--out",
                 str(tmp_path / "again.json")]) == 0
    assert note in capsys.readouterr().out
    elsewhere = shutil.copytree(data, tmp_path / "other")                # another folder: no claim
    assert "trained_on_split" not in evaluate_run(run, elsewhere, "val", out=tmp_path / "other.json")[0]
    # unless the run recorded its training frames' names (segcore train does): then a copy of them is claimed,
    # as is the original seen from a JPEG pack's run trained on another machine.
    meta["dataset"] = {"frame_names": {"train": "0123456789abcdef", "val": frame_names_digest(list_pairs(data, "val"))}}
    (run / "meta.json").write_text(json.dumps(meta))
    assert evaluate_run(run, elsewhere, "val", out=tmp_path / "copy.json")[0]["trained_on_split"] is True
    # Its train split's names are val's names here (f000, f001 in both), yet train is not val: no claim.
    meta["dataset"]["frame_names"] = {"train": frame_names_digest(list_pairs(data, "train"))}
    (run / "meta.json").write_text(json.dumps(meta))
    assert "trained_on_split" not in evaluate_run(run, elsewhere, "val", out=tmp_path / "copy2.json")[0]
    del meta["dataset"]
    meta["config"]["train_split"] = "train"                              # trained on train only: val is new to it
    (run / "meta.json").write_text(json.dumps(meta))
    on_val, _ = evaluate_run(run, data, "val", out=tmp_path / "val2.json")
    assert "trained_on_split" not in on_val and evaluations.optimism_note(on_val) is None
