"""app.settings: folders from the environment, and plain-words descriptions of what they hold."""
import json
import math
import os
from pathlib import Path

import pytest

from app.settings import (EVAL_MIOU, EVAL_TTA, EVALUATED_ON, INPUT_SIZE, LOG_MIOU, REPO, Settings, describe_data_dir,
                          describe_models_dir)
from conftest import make_camvid_like
from segcore.datasets import DatasetError
from segcore.labels import CAMVID11


def test_defaults_are_the_repo_folders():
    settings = Settings.from_env({})
    assert settings.models_dir == (REPO / "models").resolve()
    assert settings.data_dir == (REPO / "data" / "sample").resolve()
    assert settings.data_dirs == (settings.data_dir,) and not settings.read_only
    assert Settings.from_env({"SEGLAB_MODELS_DIR": " ", "SEGLAB_DATA_DIR": ""}) == settings   # blank = unset


def test_environment_overrides_and_resolves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"SEGLAB_MODELS_DIR": "runs", "SEGLAB_DATA_DIR": "../camvid"})
    assert settings.models_dir == tmp_path / "runs"
    assert settings.data_dir == (tmp_path.parent / "camvid").resolve()
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(tmp_path / "d"))
    assert Settings.from_env().data_dir == tmp_path / "d"


def test_several_data_folders_and_only_those_are_allowed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"SEGLAB_DATA_DIR": os.pathsep.join(["a", "", str(tmp_path / "b"), "a/"])})
    assert settings.data_dirs == (tmp_path / "a", tmp_path / "b")          # blanks and repeats dropped
    assert settings.data_dir == tmp_path / "a"                              # the first, for pages without a choice
    assert settings.data_folder("b/../a") == tmp_path / "a"
    for outside in ("/etc", tmp_path, tmp_path / "a" / "sub", tmp_path / "a" / ".." / "c"):
        with pytest.raises(DatasetError, match="not one of this dashboard's data folders.*SEGLAB_DATA_DIR"):
            settings.data_folder(outside)


@pytest.mark.parametrize("value, read_only", [(None, False), ("", False), ("0", False), ("false", False),
                                              ("off", False), ("1", True), ("yes", True), ("TRUE", True),
                                              ("on please", True)])
def test_read_only_switch(value, read_only):
    env = {} if value is None else {"SEGLAB_READ_ONLY": value}
    assert Settings.from_env(env).read_only is read_only


@pytest.mark.parametrize("make, expected", [
    (lambda p: p / "missing", "does not exist"),
    (lambda p: (p / "file.txt").write_text("x") and p / "file.txt", "is a file"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is empty"),
    (lambda p: (p / "other" / "stuff").mkdir(parents=True) or p / "other", "not a data set layout"),
    (lambda p: ((p / "d" / "images" / "train").mkdir(parents=True), (p / "d" / "labels" / "train").mkdir(parents=True))
     and p / "d", "no image/label pairs"),
])
def test_unusable_data_folders_are_explained(tmp_path, make, expected):
    ok, message, _, counts = describe_data_dir(make(tmp_path))
    assert not ok and expected in message
    assert "SEGLAB_DATA_DIR" in message
    assert not any(counts.values())


def test_camvid_folder_is_described(tmp_path):
    root = make_camvid_like(tmp_path / "camvid", splits=(("train", 3), ("val", 2), ("test", 1)))
    ok, message, layout, counts = describe_data_dir(root)
    assert ok and layout == "camvid"
    assert counts == {"train": 3, "val": 2, "test": 1}
    assert "train: 3 pairs, val: 2 pairs, test: 1 pairs" in message and str(root) in message
    (root / "labels" / "val" / "f000.png").unlink()                        # an image without its label
    ok, message, _, counts = describe_data_dir(root)
    assert ok and counts["val"] == 1 and "val: 1 pairs (1 file left out: `segcore data check` lists them)" in message


def _run(root: Path, name: str, meta: dict | None, model=True, evaluation=None) -> Path:
    run = root / name
    run.mkdir(parents=True)
    if meta is not None:
        (run / "meta.json").write_text(json.dumps(meta))
    if model:
        (run / "model.keras").write_bytes(b"x")
    if evaluation is not None:
        (run / "eval").mkdir()
        for key, value in evaluation.items():
            (run / "eval" / f"{key}.json").write_text(value)
    return run


def test_models_folder_rows_and_broken_runs(tmp_path):
    base = {"arch": "segnet", "schema": CAMVID11.to_dict(), "input_size": [360, 480]}
    _run(tmp_path, "a-eval", {**base, "parameters": 10, "epochs_completed": 4, "best": {"val_mean_iou": 0.2}},
         evaluation={"camvid-test": json.dumps({"class_level": {"mean_iou": 0.9}}),
                     "camvid-0123abcd-val": json.dumps({"class_level": {"mean_iou": 0.5},
                                                        "dataset": {"name": "camvid", "split": "val"}})})
    _run(tmp_path, "b-log", {**base, "best": {"val_mean_iou": 0.25}},
         evaluation={"camvid-val": "{not json"})                 # unreadable evaluation: training log only
    _run(tmp_path, "b-flip", base, evaluation={"camvid-0123abcd-val": json.dumps(
        {"class_level": {"mean_iou": 0.6}, "tta": "flip", "dataset": {"name": "camvid", "split": "val"}})})
    _run(tmp_path, "b-final", {**base, "best": {"val_mean_iou": 0.9}, "config": {"train_split": "train+val"}},
         evaluation={"camvid-0123abcd-val": json.dumps({"class_level": {"mean_iou": 0.95}, "trained_on_split": True,
                                                        "run": "b-final", "dataset": {"name": "camvid", "split": "val"}})})
    _run(tmp_path, "c-nothing", base)
    _run(tmp_path, "d-no-model", base, model=False)
    _run(tmp_path, "e-bad-meta", None)                           # a model file alone still counts as a run
    (tmp_path / "not-a-run").mkdir()
    table, broken = describe_models_dir(tmp_path)
    rows = table.set_index("run")
    assert list(rows.index) == ["a-eval", "b-final", "b-flip", "b-log", "c-nothing", "d-no-model", "e-bad-meta"]
    # A final model trained on train+val logged "val" scores on frames it trained on: not shown as validation.
    assert math.isnan(rows.loc["b-final", LOG_MIOU])
    assert rows.loc["b-final", EVALUATED_ON] == "camvid val (trained on it), label resolution"
    assert table.attrs["notes"][0].startswith("b-final trained on its val split too (a final model)")
    assert rows.loc["b-flip", EVALUATED_ON] == "camvid val, label resolution"
    assert (rows.loc["b-flip", EVAL_TTA], rows.loc["a-eval", EVAL_TTA]) == ("test-time flip", "none")   # as scored
    # Percent, one decimal, and every score says what it was measured on.
    assert rows.loc["a-eval", EVAL_MIOU] == 50.0 and rows.loc["a-eval", EVALUATED_ON] == "camvid val, label resolution"
    assert rows.loc["a-eval", LOG_MIOU] == 20.0
    assert math.isnan(rows.loc["b-log", EVAL_MIOU]) and rows.loc["b-log", LOG_MIOU] == 25.0
    assert math.isnan(rows.loc["c-nothing", EVAL_MIOU]) and math.isnan(rows.loc["c-nothing", LOG_MIOU])
    assert rows.loc["a-eval", INPUT_SIZE] == "360x480" and rows.loc["a-eval", "parameters"] == 10   # height x width
    reasons = dict(broken)
    assert set(reasons) == {"d-no-model", "e-bad-meta"}
    assert "no model.keras" in reasons["d-no-model"] and "meta.json" in reasons["e-bad-meta"]
    assert list(rows["status"][:3]) == ["ok", "ok", "ok"]
    assert rows.loc["d-no-model", "status"] == f"broken: {reasons['d-no-model']}"
    assert not any("_" in column for column in table.columns)              # column names read as words
    # The final model's two caveats (no logged val figure; evaluated on frames it trained on), no CamVid val note.
    assert [note.split(" ")[:3] for note in table.attrs["notes"]] == [["b-final", "trained", "on"]] * 2


def test_missing_models_folder_is_an_empty_table(tmp_path):
    table, broken = describe_models_dir(tmp_path / "none")
    assert table.empty and broken == [] and EVAL_MIOU in table.columns


def test_the_runs_table_shows_status_and_scores_before_model_details():
    from app.settings import LOG_MIOU, RUN_COLUMNS
    assert RUN_COLUMNS[:6] == ["run", "status", EVAL_MIOU, EVALUATED_ON, EVAL_TTA, LOG_MIOU]


def test_a_hand_damaged_evaluation_is_skipped_not_a_crash(tmp_path):
    """A field of the wrong type ("per_image": null) stopped Home and every page that picks runs."""
    base = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [360, 480]}
    _run(tmp_path, "a-damaged", base, evaluation={"camvid-0123abcd-val": json.dumps(
        {"class_level": {"mean_iou": 0.5}, "per_image": None, "dataset": None})})
    table, broken = describe_models_dir(tmp_path)
    assert not broken and table.set_index("run").loc["a-damaged", "status"] == "ok"


def test_a_run_in_its_first_epoch_is_training_not_broken_and_a_dead_trainers_lock_is_noticed(tmp_path, monkeypatch):
    """The runs table is cached on its files: a trainer that dies leaves its .lock unchanged, yet the table moves."""
    import subprocess
    import sys

    from app import loaders
    from segcore.run_lock import RunLock
    base = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [360, 480], "epochs": 3}
    folder = tmp_path / "new-run"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps(base))          # as training writes it before its first model file
    with RunLock(folder):
        table, broken = describe_models_dir(tmp_path)
        assert not broken and table.set_index("run").loc["new-run", "status"] == "training, first epoch"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        from segcore.run_lock import _start_time
        (folder / "model.keras").write_bytes(b"x")
        (folder / ".lock").write_text(json.dumps({"pid": sleeper.pid, "host": os.uname().nodename,
                                                  "started": _start_time(sleeper.pid), "since": "now"}))
        alive = loaders._models_fingerprint(tmp_path)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert loaders._models_fingerprint(tmp_path) != alive           # same files; the trainer is gone


def test_the_evaluate_forms_data_set_fingerprint_follows_a_label_rewritten_in_place(tmp_path, monkeypatch):
    """The fingerprint hashes names and sizes; copying over a file keeps every folder's mtime, yet it changes."""
    import shutil

    from app import loaders
    data = make_camvid_like(tmp_path / "data")
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    labels = sorted((data / "labels" / "val").glob("*.png"))
    before = loaders.dataset_identity(data, "val")["fingerprint"]
    (tmp_path / "bigger.png").write_bytes(labels[0].read_bytes() + b"\0" * 100)     # a PNG ignores trailing bytes
    shutil.copyfile(tmp_path / "bigger.png", labels[0])
    assert loaders.dataset_identity(data, "val")["fingerprint"] != before
