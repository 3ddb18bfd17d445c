"""Resuming exactly: config checks, two-slot backups, fresh history for new runs, kill + resume = no kill."""
import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like
from segcore import runs, train_backup
from segcore.runs import RunError
from segcore.train import TrainConfig, resume_differences, train

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ROOT / "data" / "pipelines" / "street-train.json"
TINY_OPTIONS = {"base_filters": 4, "depth": 2, "stem_filters": 4}
TINY = [arg for key, value in TINY_OPTIONS.items() for arg in ("--option", f"{key}={value}")]


def segcore(*args):
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT)


def history(run: Path) -> list[dict]:
    with (run / "history.csv").open() as handle:
        return list(csv.DictReader(handle))


# ------------------------------------------------------------------------------------------ configuration

@pytest.mark.parametrize("changes, message", [
    ({"batch": 0}, "batch (--batch) must be a whole number of at least 1, got 0"),
    ({"epochs": -3}, "epochs (--epochs) must be"),
    ({"steps_per_epoch": 0}, "steps_per_epoch (--steps-per-epoch)"),
    ({"learning_rate": float("nan")}, "learning_rate (--lr) must be a positive finite number"),
    ({"learning_rate": 0.0}, "learning_rate (--lr)"),
    ({"seed": -1}, "seed (--seed)"),
    ({"size": (4, 48)}, "size (--size)"),
    ({"loader": "fast"}, "loader (--loader) must be one of tf, pydataset"),
])
def test_impossible_settings_are_refused_up_front(changes, message):
    with pytest.raises(ValueError) as error:
        TrainConfig(arch="unet", data="d", out="o", **changes)
    assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize("args, needle", [(["--batch", "0"], "batch"), (["--option", "base_filters=x"], "--option")])
def test_cli_gives_one_line_instead_of_a_tensorflow_traceback(tmp_path, args, needle):
    data = make_camvid_like(tmp_path / "data")
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "32x48", "--out", tmp_path / "run", *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("segcore train: error:")]
    assert len(lines) == 1 and needle in lines[0], result.stderr[-2000:]
    assert not (tmp_path / "run" / "meta.json").exists()


@pytest.mark.parametrize("argv, needle", [(["train", "--arch", "unet", "--size", "4x4", "--data", "d", "--out", "o"],
                                             "segcore train: error: argument --size: size must be at least 8x8"),
                                            (["evaluate", "--tta", "bad"], "segcore evaluate: error: argument --tta"),
                                            (["bogus"], "segcore: error: argument command: invalid choice")])
def test_an_option_argparse_refuses_is_one_line_too_not_the_usage_block(argv, needle, capsys):
    from segcore.cli import main
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    said = capsys.readouterr().err
    assert stopped.value.code == 2 and said.startswith(needle) and said.count("\n") == 1, said


def interrupted_run(tmp_path, config: TrainConfig, augment: dict | None = None) -> Path:
    """A run folder as a killed training leaves it: meta.json with the config, a backup folder."""
    out = Path(config.out)
    (out / train_backup.BACKUP_DIR).mkdir(parents=True)
    meta = {"config": config.record(), "dataset": {"train": 4, "val": 2}}
    (out / "meta.json").write_text(json.dumps(meta))
    if augment is not None:
        (out / "augment.json").write_text(json.dumps(augment))
    return out


def test_resume_refuses_a_changed_configuration_and_names_what_differs(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), batch=2,
                         epochs=3, arch_options=dict(TINY_OPTIONS))
    interrupted_run(tmp_path, config)
    for changed, expected in [(replace(config, batch=4), "batch: 2 -> 4"),
                              (replace(config, epochs=5), "epochs: 3 -> 5"),
                              (replace(config, learning_rate=0.01), "learning_rate: 0.001 -> 0.01"),
                              (replace(config, arch_options={**TINY_OPTIONS, "depth": 3}), "arch_options"),
                              (replace(config, augment=str(PIPELINE)), "augmentation pipeline: none -> a pipeline")]:
        with pytest.raises(RunError) as error:
            train(changed, resume=True)
        assert expected in str(error.value) and "can't resume" in str(error.value)
    # The data folder written another way (relative, with ..) is the same folder: not a difference.
    relative = os.path.relpath(data / ".." / "data")
    same = replace(config, data=relative)
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert resume_differences(meta, same, None, None, 4, 2) == []
    assert resume_differences(meta, same, None, None, 5, 2) == ["train images: 4 -> 5"]


def test_resume_compares_the_pipelines_content_not_its_path(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48))
    stored = {"transform": {"__class_fullname__": "Compose", "transforms": [], "p": 1.0}}
    meta = {"config": config.record()}
    assert resume_differences(meta, replace(config, augment="moved.json"), stored, stored, 4, 2) == []
    changed = {"transform": {**stored["transform"], "p": 0.5}}
    assert resume_differences(meta, replace(config, augment="x.json"), changed, stored, 4, 2) == [
        "augmentation pipeline: its steps differ from the run's augment.json"]


# ------------------------------------------------------------------------------------------ backup slots

def tiny_model():
    import keras
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")
    return model


def step(model, n=1):
    x = np.arange(12, dtype="float32").reshape(4, 3)
    model.fit(x, np.ones((4, 2), "float32"), epochs=n, batch_size=4, verbose=0)


def snapshot(model):
    return [w.numpy().copy() for w in model.weights], int(model.optimizer.iterations)


@pytest.mark.slow   # fits a tiny model for its optimizer state
def test_backups_alternate_slots_and_a_damaged_newest_falls_back_to_the_previous(tmp_path):
    model = tiny_model()
    step(model)
    first = train_backup.save(model, tmp_path, 1, {"best": {"val_mean_iou": 0.1}})
    after_one = snapshot(model)
    step(model, 2)
    second = train_backup.save(model, tmp_path, 2, {"best": {"val_mean_iou": 0.2}})
    assert first != second                                          # never overwrites the newest backup
    assert [b.epoch for b in train_backup.complete_backups(tmp_path)] == [2, 1]

    weights = second / train_backup.WEIGHTS_FILE                    # a kill left the newest half written
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    assert [b.epoch for b in train_backup.complete_backups(tmp_path)] == [1]
    fresh = tiny_model()
    restored = train_backup.restore(fresh, tmp_path)
    assert restored.epoch == 1 and restored.state["best"] == {"val_mean_iou": 0.1}
    got = snapshot(fresh)
    assert got[1] == after_one[1] == 1                              # optimizer step restored
    for a, b in zip(got[0], after_one[0]):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7)


@pytest.mark.slow   # fits a tiny model for its optimizer state
def test_a_kill_during_a_save_leaves_the_other_slot_complete(tmp_path, monkeypatch):
    model = tiny_model()
    step(model)
    train_backup.save(model, tmp_path, 1, {})
    train_backup.save(model, tmp_path, 2, {})

    def dies_half_way(path, overwrite=True):
        Path(path).write_bytes(b"\x89HDF half a file")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(model, "save_weights", dies_half_way)
    with pytest.raises(KeyboardInterrupt):
        train_backup.save(model, tmp_path, 3, {})
    assert [b.epoch for b in train_backup.complete_backups(tmp_path)] == [2]
    assert train_backup.restore(tiny_model(), tmp_path).epoch == 2


@pytest.mark.slow   # fits a tiny model for its optimizer state
def test_a_complete_newest_backup_that_will_not_load_is_said_not_swapped_for_the_older(tmp_path):
    model = tiny_model()
    step(model)
    train_backup.save(model, tmp_path, 1, {})
    newest = train_backup.save(model, tmp_path, 2, {})
    weights = newest / train_backup.WEIGHTS_FILE                     # its checksum matches, its bytes don't load
    weights.write_bytes(b"not an HDF5 file")
    state = runs.read_json(newest / train_backup.STATE_FILE)
    runs.write_json(newest / train_backup.STATE_FILE, {**state, "weights_bytes": weights.stat().st_size,
                                                        "weights_sha256": train_backup._sha256(weights)})
    assert [b.epoch for b in train_backup.complete_backups(tmp_path)] == [2, 1]
    with pytest.raises(runs.RunError, match=rf"\(epoch 2\) does not load into this model: .*to go on from epoch 1 "
                                            rf"instead, delete {re.escape(str(newest))} and resume again"):
        train_backup.restore(tiny_model(), tmp_path)


def test_a_resumed_run_compares_its_epochs_against_the_exact_best_score(tmp_path):
    from segcore.train import RunCheckpoint
    meta = {}
    first = RunCheckpoint.make(tmp_path, meta, lambda: 0.0)
    first.set_model(tiny_model())
    first.on_epoch_end(0, {"val_mean_iou": 0.1234564})
    resumed_meta = runs.read_json(tmp_path / runs.META_FILE)         # what a resume starts from
    assert resumed_meta["best"]["val_mean_iou"] == 0.1234564
    resumed = RunCheckpoint.make(tmp_path, resumed_meta, lambda: 0.0)
    resumed.set_model(tiny_model())
    resumed.on_epoch_end(1, {"val_mean_iou": 0.1234562})             # below the best, above its 6-decimal rounding
    assert runs.read_json(tmp_path / runs.META_FILE)["best"]["epoch"] == 0


# ------------------------------------------------------------------------------------------ real training

@pytest.mark.slow
def test_a_new_run_in_a_folder_with_an_old_history_starts_it_afresh(tmp_path):
    data = make_camvid_like(tmp_path / "data")
    run = tmp_path / "run"
    run.mkdir()
    (run / "history.csv").write_text("epoch,loss\n0,9.5\n1,9.0\n2,8.5\n")   # left by an old, failed run
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "32x48", "--epochs", 1, "--batch", 2,
                     "--out", run, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = history(run)
    assert [row["epoch"] for row in rows] == ["0"] and rows[0]["loss"] != "9.5"       # the old rows are gone
    # (Not a substring test: the wall_time column, seconds since 1970, may hold "9.5" by chance.)
    assert (run / "history.csv").read_text().count("epoch,") == 1
    assert not (run / ".lock").exists() and not (run / "backup").exists()


class FinalState:
    """A Keras callback keeping the model's final weights and optimizer step."""

    def __new__(cls):
        import keras

        class _FinalState(keras.callbacks.Callback):
            def on_train_end(self, logs=None):
                self.weights, self.iterations = snapshot(self.model)

        return _FinalState()


@pytest.mark.slow
def test_kill_mid_epoch_and_resume_matches_an_uninterrupted_run(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 40), ("val", 2)))
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "killed"), size=(32, 48), epochs=3,
                         batch=2, augment=str(PIPELINE), arch_options=dict(TINY_OPTIONS))
    args = ["train", "--arch", "unet", "--data", data, "--size", "32x48", "--epochs", 3, "--batch", 2,
            "--augment", PIPELINE, "--out", config.out, *TINY]
    process = subprocess.Popen([sys.executable, "-m", "segcore", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup = Path(config.out) / train_backup.BACKUP_DIR
    try:
        # Poll until the first epoch's backup is complete: the second epoch starts right after it.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and process.poll() is None:
            if train_backup.complete_backups(backup):
                break
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    done = [b.epoch for b in train_backup.complete_backups(backup)]
    assert done and 1 <= done[0] < 3, f"the run was not killed between epochs 1 and 3 ({done})"

    resumed_state, straight_state = FinalState(), FinalState()
    train(config, resume=True, verbose=0, callbacks=[resumed_state])
    straight = replace(config, out=str(tmp_path / "straight"))
    train(straight, verbose=0, callbacks=[straight_state])

    assert resumed_state.iterations == straight_state.iterations == 3 * 20          # optimizer step
    for a, b in zip(resumed_state.weights, straight_state.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    killed_meta = json.loads((Path(config.out) / "meta.json").read_text())
    straight_meta = json.loads((tmp_path / "straight" / "meta.json").read_text())
    assert killed_meta["best"]["epoch"] == straight_meta["best"]["epoch"]
    assert killed_meta["best"]["val_mean_iou"] == pytest.approx(straight_meta["best"]["val_mean_iou"], abs=1e-4)
    assert killed_meta["optimizer_steps"] == straight_meta["optimizer_steps"] == 60
    assert killed_meta["hardware"] == straight_meta["hardware"] and len(killed_meta["hardware"]) == 1  # same machine
    resumed_rows, straight_rows = history(Path(config.out)), history(tmp_path / "straight")
    assert [r["epoch"] for r in resumed_rows] == [r["epoch"] for r in straight_rows] == ["0", "1", "2"]
    for a, b in zip(resumed_rows, straight_rows):
        assert float(a["loss"]) == pytest.approx(float(b["loss"]), rel=1e-4)
    # Training time runs on across the kill (the time between the sessions left out) up to meta.json's total.
    relative = [float(row["relative_time"]) for row in resumed_rows]
    assert relative == sorted(relative) and relative[-1] == pytest.approx(killed_meta["wall_time_s"], abs=1.0)
    assert not backup.exists() and not (Path(config.out) / ".lock").exists()


@pytest.mark.slow
def test_a_run_stopped_after_its_last_epochs_backup_resumes_to_its_wrap_up(tmp_path):
    """A kill between the last epoch's backup and the end of fit left a complete backup at epoch N of N: resuming
    it refused to build an empty epoch range; it only has to finish."""
    import keras

    class StopAfterTheBackup(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):       # after the run's own callbacks, its backup among them
            if epoch == 1:
                raise KeyboardInterrupt

    data = make_camvid_like(tmp_path / "data")
    config = TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), epochs=2, batch=2,
                         arch_options=TINY_OPTIONS)
    with pytest.raises(KeyboardInterrupt):
        train(config, verbose=0, callbacks=[StopAfterTheBackup()])
    run = Path(config.out)
    assert train_backup.complete_backups(run / train_backup.BACKUP_DIR)[0].epoch == 2
    train(config, resume=True, verbose=0)
    meta = json.loads((run / "meta.json").read_text())
    assert "finished" in meta and meta["epochs_completed"] == 2 and "wall_time_before_s" not in meta
    assert not (run / "backup").exists() and (run / "model.keras").exists()
    assert [row["epoch"] for row in history(run)] == ["0", "1"]
