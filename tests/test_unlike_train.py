"""segcore.unlike_train: ranking val frames by how unlike any training frame they look, and scoring stored
evaluations on the least alike (`segcore unlike-train`)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from frames_fixtures import FRAMES, make_frames_data, make_frames_models, prediction_of
from segcore import unlike_train
from segcore.cli import main
from segcore.datasets import list_pairs
from segcore.evaluations import dataset_identity
from segcore.labels import CAMVID11
from segcore.metrics import ConfusionMatrix

TRAIN_COPIES = ("seqA_00001", "seqA_00002")      # val frames whose exact copies are in train


@pytest.fixture()
def data(tmp_path):
    root = make_frames_data(tmp_path / "data")
    for split in ("images", "labels"):
        (root / split / "train").mkdir(parents=True)
        for name in TRAIN_COPIES:
            shutil.copy(root / split / "val" / f"{name}.png", root / split / "train" / f"{name}.png")
    # An unrelated training frame: noise, like nothing in val.
    noise = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(root / "images" / "train" / "other_00500.png")
    Image.fromarray(np.zeros((48, 64), np.uint8)).save(root / "labels" / "train" / "other_00500.png")
    return root


def test_frames_copied_into_train_rank_last_with_distance_zero_and_gaps_count_frame_numbers(data):
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    assert sorted(frame.name for frame in ranked) == sorted(FRAMES)
    assert [frame.distance for frame in ranked] == sorted((frame.distance for frame in ranked), reverse=True)
    last_two = ranked[-2:]
    assert {frame.name for frame in last_two} == set(TRAIN_COPIES)
    assert all(frame.distance == pytest.approx(0, abs=1e-6) and frame.nearest == frame.name for frame in last_two)
    assert all(frame.distance > 0.01 for frame in ranked[:-2])
    gaps = {frame.name: frame.frame_gap for frame in ranked}
    assert gaps["seqA_00001"] == 0 and gaps["seqA_00005"] == 3 and gaps["seqA_00000"] == 1
    assert gaps["seqB_00100"] is None            # no training frame of that sequence


def test_least_alike_takes_a_share_rounded_up_and_refuses_a_bad_share(data):
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    assert unlike_train.least_alike(ranked, 0.5) == ranked[:7]
    assert unlike_train.least_alike(ranked, 0.01) == ranked[:1]
    assert unlike_train.least_alike(ranked, 1) == ranked
    with pytest.raises(ValueError, match="share"):
        unlike_train.least_alike(ranked, 0)


def _expected(names, run_number: int, data) -> ConfusionMatrix:
    matrix = ConfusionMatrix(CAMVID11.num_classes, CAMVID11.ignore_index)
    for name in names:
        truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
        matrix.update(truth, prediction_of(run_number, FRAMES.index(name), truth))
    return matrix


def test_subset_scores_equal_scoring_just_those_frames(data, tmp_path):
    models = make_frames_models(tmp_path / "models", data)
    result = unlike_train.stored_evaluation(models / "segnet-b", dataset_identity(data, "val"))
    names = ["seqA_00003", "seqB_00104", "seqB_00105"]
    scores = unlike_train.subset_scores(result, names)
    expected = _expected(names, 1, data)
    assert scores["confusion_matrix"] == expected.counts.tolist()
    assert scores["mean_iou"] == pytest.approx(expected.mean_iou())
    assert unlike_train.subset_scores(result, FRAMES)["mean_iou"] == pytest.approx(result["class_level"]["mean_iou"])
    with pytest.raises(ValueError, match="lacks frame nope_00001"):
        unlike_train.subset_scores(result, ["nope_00001"])


def test_a_format_2_evaluation_is_refused_with_the_command_that_rewrites_it(data, tmp_path):
    models = make_frames_models(tmp_path / "models", data, fmt=2)
    result = unlike_train.stored_evaluation(models / "unet-a", dataset_identity(data, "val"))
    with pytest.raises(ValueError, match="segcore evaluate .*--overwrite"):
        unlike_train.subset_scores(result, FRAMES[:2])


def test_cli_prints_each_run_on_all_frames_and_on_the_least_alike(data, tmp_path, capsys):
    models = make_frames_models(tmp_path / "models", data)
    assert main(["unlike-train", "--data", str(data), "--runs", str(models / "unet-a"), str(models / "segnet-b"),
                 "--share", "0.5"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("7 of 14 frames least like any training frame")
    assert "trained on these frames" not in out        # neither run trained on val
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    chosen = [frame.name for frame in ranked[:7]]
    for number, run in enumerate(("unet-a", "segnet-b")):
        row = next(line for line in out.splitlines() if line.startswith(str(models / run)))
        cells = row.split()
        assert cells[2] == f"{100 * _expected(FRAMES, number, data).mean_iou():.1f}"
        assert cells[3] == f"{100 * _expected(chosen, number, data).mean_iou():.1f}"


def test_a_run_that_trained_on_the_scored_frames_is_marked_in_the_report(data, tmp_path, capsys):
    models = make_frames_models(tmp_path / "models", data)
    evaluation = next((models / "segnet-b" / "eval").glob("*.json"))
    evaluation.write_text(json.dumps({**json.loads(evaluation.read_text()), "trained_on_split": True}))
    assert main(["unlike-train", "--data", str(data), "--runs", str(models / "unet-a"), str(models / "segnet-b")]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {run: next(line for line in lines if line.startswith(str(models / run))) for run in ("unet-a", "segnet-b")}
    assert rows["segnet-b"].endswith("  *") and not rows["unet-a"].endswith("*")
    assert lines[-1].startswith("* trained on these frames") and "don't rank it against the others" in lines[-1]


def test_cli_says_how_to_make_a_missing_evaluation(data, tmp_path, capsys):
    empty_run = tmp_path / "models" / "fresh"          # a run, never evaluated
    empty_run.mkdir(parents=True)
    (empty_run / "meta.json").write_text(json.dumps({"arch": "unet", "schema": CAMVID11.to_dict(),
                                                     "input_size": [48, 64]}))
    assert main(["unlike-train", "--data", str(data), "--runs", str(empty_run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "has no stored evaluation" in err and f"segcore evaluate --run {empty_run}" in err


def test_store_writes_each_frames_distance_and_the_evaluation_page_shows_the_least_alike_quarter(
        data, tmp_path, monkeypatch, capsys):
    from streamlit.testing.v1 import AppTest

    from segcore import reports
    models = make_frames_models(tmp_path / "models", data)
    runs = [str(models / "unet-a"), str(models / "segnet-b")]
    assert main(["unlike-train", "--data", str(data), "--runs", *runs, "--store"]) == 0
    assert "stored each frame's distance in the 2 evaluations" in capsys.readouterr().out
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    quarter = [frame.name for frame in ranked[:4]]                 # ceil(0.25 * 14)
    identity = dataset_identity(data, "val")
    for number, run in enumerate(runs):
        result = unlike_train.stored_evaluation(run, identity)
        assert result["unlike_train"]["train_split"] == "train" and result["unlike_train"]["train_frames"] == 3
        distances = {record["name"]: record["train_distance"] for record in result["per_image"]}
        assert distances["seqA_00001"] == 0 and distances[ranked[0].name] == round(ranked[0].distance, 5)
        assert unlike_train.stored_least_alike(result)["mean_iou"] == pytest.approx(
            _expected(quarter, number, data).mean_iou(), abs=1e-5)

    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    page = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "evaluation.py"))
    page.run(timeout=60)
    assert not page.exception, [e.value for e in page.exception]
    scores = page.dataframe[0].value
    for number, run in enumerate(("unet-a", "segnet-b")):
        assert scores.loc[run, "least_alike_miou"] == round(100 * _expected(quarter, number, data).mean_iou(), 1)
    assert any("mIoU least like train: on the 4 of the 14 frames least like the 3 train frames" in caption.value
               for caption in page.caption)

    # One run re-evaluated without distances: the column says so, and how to store them.
    plain = json.loads((models / "segnet-b" / "eval").glob("*.json").__next__().read_text())
    del plain["unlike_train"]
    evaluations = {"unet-a": unlike_train.stored_evaluation(runs[0], identity), "segnet-b": plain}
    table = reports.extras_table(evaluations)
    assert np.isnan(table.loc["segnet-b", "least_alike_miou"]) and not np.isnan(table.loc["unet-a", "least_alike_miou"])
    assert any("not stored for segnet-b" in line and "--store" in line for line in reports.missing_extras(evaluations))


def test_store_refuses_an_evaluation_of_other_frames(data, tmp_path):
    models = make_frames_models(tmp_path / "models", data)
    identity = dataset_identity(data, "val")
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    with pytest.raises(ValueError, match="other frames .* --overwrite"):
        unlike_train.store_distances(models / "unet-a", identity, ranked[1:], "train", 3)


def test_the_frames_page_sorts_by_the_stored_distance_least_alike_first(data, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    models = make_frames_models(tmp_path / "models", data)
    frames_page = str(Path(__file__).resolve().parents[1] / "pages" / "frames.py")
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    before = AppTest.from_file(frames_page, default_timeout=60)
    before.run()
    assert "mIoU" in before.selectbox(key="fr_sort").options      # options read as shown
    assert "distance to the training frames" not in before.selectbox(key="fr_sort").options     # none stored

    assert main(["unlike-train", "--data", str(data), "--runs", str(models / "unet-a"), str(models / "segnet-b"),
                 "--store"]) == 0
    page = AppTest.from_file(frames_page, default_timeout=60)
    page.run()
    assert "distance to the training frames" in page.selectbox(key="fr_sort").options
    page.selectbox(key="fr_sort").select("train_distance")
    page.toggle(key="fr_worst_first").set_value(False)
    page.run()
    assert not page.exception, [e.value for e in page.exception]
    shown = [caption.split(" · ")[0] for image in page.image for caption in image.captions]
    ranked = unlike_train.novelty(list_pairs(data, "val"), list_pairs(data, "train"))
    assert shown == [frame.name for frame in ranked][:len(shown)] and len(shown) >= 8


def test_a_damaged_evaluation_is_one_line_naming_the_file(data, tmp_path, capsys):
    models = make_frames_models(tmp_path / "models", data)
    damaged = next((models / "unet-a" / "eval").glob("*.json"))
    damaged.write_text('{"run": "unet-a", "per_image": [')
    assert main(["unlike-train", "--data", str(data), "--runs", str(models / "unet-a")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and damaged.name in err and "Traceback" not in err


@pytest.mark.parametrize("kind", ["missing", "file"])
def test_something_that_is_not_a_run_is_said_to_be_none(data, tmp_path, capsys, kind):
    from test_hardening import one_error_line
    target = tmp_path / "not-a-run.png"
    if kind == "file":
        target.write_bytes(b"\x89PNG")
    err = one_error_line(capsys, ["unlike-train", "--data", data, "--runs", target])
    assert ("no such run folder" if kind == "missing" else "not a run folder") in err and "segcore evaluate" not in err
