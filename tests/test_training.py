"""Train a tiny run end to end: run folder, history, resume after SIGKILL, evaluation, prediction, CLI."""
import csv
import json
import os
import signal
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like, save_png
from segcore import train_backup

# Every test here trains a model, itself or through the module's `trained` fixture.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--option", "base_filters=4", "--option", "depth=2", "--option", "stem_filters=4"]


def segcore(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, **kwargs)


def history_epochs(run: Path) -> list[int]:
    with (run / "history.csv").open() as handle:
        return [int(row["epoch"]) for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_camvid_like(tmp_path_factory.mktemp("d") / "data", splits=(("train", 6), ("val", 3)))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    run = tmp_path_factory.mktemp("m") / "tiny"
    pipeline = ROOT / "data" / "pipelines" / "street-train.json"
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "30x44", "--epochs", 2, "--batch", 2,
                     "--augment", pipeline, "--class-weights", "median-frequency", "--out", run, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return run


def test_run_folder_has_everything(trained):
    assert {p.name for p in trained.iterdir()} >= {"model.keras", "meta.json", "history.csv", "augment.json"}
    assert not (trained / "backup").exists()
    meta = json.loads((trained / "meta.json").read_text())
    assert meta["arch"] == "unet" and meta["input_size"] == [30, 44] and meta["schema"]["name"] == "camvid11"
    assert meta["epochs_completed"] == 2 and meta["parameters"] > 0 and len(meta["class_weights"]) == 11
    assert meta["versions"]["keras"] and meta["best"]["selected_by"] == "highest val_mean_iou on the val split"
    assert meta["hardware"] == [{"backend": "tensorflow", "accelerators": [], "cpu_cores": os.cpu_count()}]
    assert history_epochs(trained) == [0, 1]
    header = (trained / "history.csv").read_text().splitlines()[0].split(",")
    assert {"loss", "val_loss", "mean_iou", "val_mean_iou", "pixel_accuracy", "val_pixel_accuracy"} <= set(header)
    # The learning rate at each epoch's end, as the schedule gives it after that epoch's steps (3 of 2 frames).
    from segcore.train import TrainConfig, learning_rate_schedule
    schedule = learning_rate_schedule(TrainConfig(arch="unet", data=str(trained), out=str(trained), epochs=2), 3)
    with (trained / "history.csv").open() as handle:
        rates = [float(row["learning_rate"]) for row in csv.DictReader(handle)]
    assert rates == pytest.approx([float(schedule(3)), float(schedule(6))], rel=1e-5) and rates[0] > rates[1]
    # When each epoch ended: wall time, and training seconds so far, whose last value meta.json's total repeats.
    with (trained / "history.csv").open() as handle:
        clock = [(float(row["wall_time"]), float(row["relative_time"])) for row in csv.DictReader(handle)]
    assert trained.stat().st_mtime - 3600 < clock[0][0] < clock[1][0] <= trained.stat().st_mtime + 1
    assert 0 < clock[0][1] < clock[1][1] and clock[1][1] == pytest.approx(meta["wall_time_s"], abs=1.0)
    import albumentations as A
    assert isinstance(A.from_dict(json.loads((trained / "augment.json").read_text())), A.Compose)


def model_file_groups(path: Path) -> set[str]:
    import io
    import zipfile

    import h5py
    with zipfile.ZipFile(path) as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as weights:
        return set(weights.keys())


def test_a_finished_runs_model_file_holds_no_optimizer_state_and_predicts_the_same(trained, tmp_path):
    from segcore import runs
    from segcore.predict import Predictor
    assert "optimizer" not in model_file_groups(trained / "model.keras")
    # An older model file with the optimizer's state: dropping it changes no weight.
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    model = runs.load_model(copy)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    runs.save_model(model, copy / "model.keras")
    assert "optimizer" in model_file_groups(copy / "model.keras")
    image = np.random.default_rng(0).integers(0, 256, (30, 44, 3), dtype=np.uint8)
    before = Predictor(copy).predict(image, keep_scores=True).scores
    weights = model.get_weights()
    runs.drop_optimizer_state(copy)
    assert "optimizer" not in model_file_groups(copy / "model.keras")
    assert all(np.array_equal(a, b) for a, b in zip(runs.load_model(copy).get_weights(), weights, strict=True))
    assert np.allclose(Predictor(copy).predict(image, keep_scores=True).scores, before, atol=1e-6)


def test_existing_run_is_not_overwritten(trained, data):
    result = segcore("train", "--arch", "unet", "--data", data, "--out", trained, "--epochs", 1, *TINY)
    assert result.returncode == 2 and "already holds a trained run" in result.stderr


def test_evaluation_matches_a_hand_computed_confusion_matrix(trained, data, tmp_path):
    from segcore.evaluate import evaluate_run
    from segcore.imageio import read_image, read_mask
    from segcore.labels import CAMVID11
    from segcore.predict import Predictor

    predictor = Predictor(trained)
    result, path = evaluate_run(trained, data, "val", out=tmp_path / "e.json", predictor=predictor)
    assert json.loads(path.read_text())["class_level"]["mean_iou"] == result["class_level"]["mean_iou"]
    counts = np.zeros((11, 11), dtype=np.int64)
    for image_path in sorted((data / "images" / "val").iterdir()):
        image = read_image(image_path)
        truth = read_mask(data / "labels" / "val" / image_path.name, CAMVID11)
        pred = predictor.predict(image).labels
        assert pred.shape == truth.shape
        for t, p in zip(truth.ravel(), pred.ravel()):
            if t != 11:
                counts[t, p] += 1
    assert result["class_level"]["confusion_matrix"] == counts.tolist()
    tp = np.diag(counts)
    union = counts.sum(0) + counts.sum(1) - tp
    expected = np.mean([tp[c] / union[c] for c in range(11) if union[c] > 0])
    assert result["class_level"]["mean_iou"] == pytest.approx(expected, abs=1e-6)
    assert result["class_level"]["pixel_accuracy"] == pytest.approx(tp.sum() / counts.sum(), abs=1e-6)
    assert np.array(result["category_level"]["confusion_matrix"]).sum() == counts.sum()
    assert len(result["per_image"]) == 3 and {"name", "mean_iou", "confusions"} <= set(result["per_image"][0])


def test_cli_evaluate_and_predict_at_original_size(trained, data, tmp_path):
    result = segcore("evaluate", "--run", trained, "--data", data, "--split", "val", "--quiet")
    assert result.returncode == 0, result.stderr[-2000:]
    # The evaluation file's name (data set key) belongs to segcore.evaluate; one for this data and split.
    assert len(list((trained / "eval").glob("data*val.json"))) == 1 and "mIoU" in result.stdout
    photo = save_png(tmp_path / "odd.png", np.random.default_rng(0).integers(0, 255, (37, 53, 3), dtype=np.uint8))
    out = tmp_path / "out"
    for fmt in ("labels", "color", "overlay"):
        result = segcore("predict", "--run", trained, photo, "--out", out, "--format", fmt)
        assert result.returncode == 0, result.stderr[-2000:]
    from PIL import Image
    labels = Image.open(out / "odd_labels.png")
    assert labels.size == (53, 37) and labels.mode == "L"
    assert Image.open(out / "odd_overlay.png").size == (53, 37)
    bad = segcore("predict", "--run", trained, tmp_path / "missing.png", "--out", out)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_kill_mid_epoch_then_resume_keeps_each_epoch_once(tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("train", 40), ("val", 2)))
    run = tmp_path / "run"
    args = ["train", "--arch", "unet", "--data", data, "--size", "32x48", "--epochs", 4, "--batch", 1,
            "--loader", "pydataset", "--out", run, *TINY]
    process = subprocess.Popen([sys.executable, "-m", "segcore", *map(str, args)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    backup = run / train_backup.BACKUP_DIR
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if train_backup.complete_backups(backup):   # the first epoch is backed up: the second has begun
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done = train_backup.complete_backups(backup)[0].epoch
    assert 1 <= done < 4, "the run finished before it could be killed"
    assert (run / "model.keras").exists()
    refused = segcore(*args)
    assert refused.returncode == 2 and "--resume" in refused.stderr
    resumed = segcore(*args, "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert history_epochs(run) == [0, 1, 2, 3]
    assert json.loads((run / "meta.json").read_text())["epochs_completed"] == 4


def test_mirrored_strategy_on_two_logical_cpus(data, tmp_path):
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "32x48", "--epochs", 1, "--batch", 2,
                     "--strategy", "mirrored", "--out", tmp_path / "m", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    assert history_epochs(tmp_path / "m") == [0]


def test_one_predictor_serves_several_threads_at_once(trained):
    from concurrent.futures import ThreadPoolExecutor

    from segcore.predict import Predictor
    predictor = Predictor(trained)
    images = [np.random.default_rng(i).integers(0, 255, (40 + i, 50, 3), dtype=np.uint8) for i in range(8)]
    expected = [predictor.predict(image).labels for image in images]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda image: predictor.predict(image).labels, images))
    assert all((a == b).all() for a, b in zip(results, expected))


def test_evaluation_output_stays_inside_the_run_folder(trained, tmp_path):
    from segcore.evaluate import evaluation_path
    from segcore.runs import open_run
    run = open_run(trained)
    for data in (tmp_path / "a" / "..", tmp_path / "x" / "..." , Path("/")):
        path = evaluation_path(run, data, "val").resolve()
        assert path.parent == (trained / "eval").resolve(), path


def test_a_run_resumed_on_another_machine_lists_both_in_order():
    from segcore.provenance import with_machine
    cpu = {"backend": "tensorflow", "accelerators": [], "cpu_cores": 2}
    gpu = {"backend": "jax", "accelerators": ["NVIDIA H200"], "cpu_cores": 16}
    assert with_machine(None, cpu) == [cpu]
    assert with_machine([cpu], cpu) == [cpu]
    assert with_machine([cpu], gpu) == [cpu, gpu]
    assert with_machine([cpu, gpu], cpu) == [cpu, gpu]
    assert with_machine("not a list", gpu) == [gpu]          # a hand-edited meta.json starts the list afresh
