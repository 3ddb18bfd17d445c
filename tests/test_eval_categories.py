"""Category-level evaluation across schemas: a CamVid-schema run scored on a Cityscapes-layout folder, both folded
onto the 7 shared categories (void ignored); the stored JSON then holds the category level only."""
import json

import numpy as np
import pytest

from conftest import make_camvid_like, save_png
from segcore import evaluations, runs
from segcore.cli import main
from segcore.datasets import list_pairs
from segcore.evaluate import evaluate_run
from segcore.imageio import read_pair
from segcore.labels import CAMVID11, CATEGORIES, CITYSCAPES, CITYSCAPES_LABELS
from segcore.metrics import ConfusionMatrix
from segcore.predict import Predictor
from test_hardening import one_error_line


def tiny_camvid_run(folder):
    """A random, untrained CamVid-schema U-Net in a run folder (a counting test needs no training)."""
    from segcore.models import build
    import keras
    keras.utils.set_random_seed(3)
    folder.mkdir(parents=True, exist_ok=True)
    runs.save_model(build("unet", 11, (16, 16), base_filters=4, depth=1, stem_filters=4), folder / runs.MODEL_FILE)
    runs.write_json(folder / runs.META_FILE, {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [16, 16],
                                               "output": "logits"})
    return folder


def make_cityscapes_like(root, split="val", cities=("aachen", "bremen"), frames=2, size=(24, 32)):
    """leftImg8bit/<split>/<city>/*_leftImg8bit.png + gtFine/<split>/<city>/*_gtFine_labelIds.png, random raw ids
    (0 unlabeled -> void included)."""
    raw_ids = sorted({row[1] for row in CITYSCAPES_LABELS})
    rng = np.random.default_rng(7)
    for city in cities:
        for i in range(frames):
            stem = f"{city}_{i:06d}_000019"
            image = rng.integers(0, 256, size=(*size, 3), dtype=np.uint8)
            labels = rng.choice(raw_ids, size=size).astype(np.uint8)
            save_png(root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png", image)
            save_png(root / "gtFine" / split / city / f"{stem}_gtFine_labelIds.png", labels, "L")
    return root


@pytest.fixture(scope="module")
def camvid_run(tmp_path_factory):
    return tiny_camvid_run(tmp_path_factory.mktemp("runs") / "tiny")


def test_a_camvid_run_on_cityscapes_data_is_scored_on_categories(camvid_run, tmp_path, capsys):
    data = make_cityscapes_like(tmp_path / "cityscapes")
    argv = ["evaluate", "--run", camvid_run, "--data", data, "--split", "val", "--level", "category", "--quiet",
            "--out", tmp_path / "eval.json"]
    assert main([str(a) for a in argv]) == 0
    result = json.loads((tmp_path / "eval.json").read_text())
    assert "class_level" not in result and result["data_schema"] == "cityscapes" and result["schema"] == "camvid11"
    assert evaluations.evaluation_problem(result) is None and evaluations.levels(result) == ["category"]
    assert "cityscapes" in evaluations.category_only_reason(result)

    # The same matrix by hand: the predictor's label maps and the ground truth, each folded with its own schema.
    predictor, expected = Predictor(camvid_run), np.zeros((7, 7), dtype=np.int64)
    for sample in list_pairs(data, "val"):
        image, truth = read_pair(sample.image, sample.label, CITYSCAPES)
        pred = CAMVID11.to_categories(predictor.predict(image).labels).ravel().astype(np.int64)
        folded = CITYSCAPES.to_categories(truth).ravel().astype(np.int64)
        keep = folded < len(CATEGORIES)                       # void is ignored
        np.add.at(expected, (folded[keep], pred[keep]), 1)
    assert (truth == CITYSCAPES.ignore_index).any()            # the data does hold void pixels
    assert np.array_equal(np.array(result["category_level"]["confusion_matrix"]), expected)
    assert result["category_level"]["names"] == list(CATEGORIES)
    assert result["category_level"]["mean_iou"] == ConfusionMatrix(7, None, expected).summary(
        list(CATEGORIES))["mean_iou"]
    assert len(result["per_image"]) == 4 and all("confusions" not in r for r in result["per_image"])
    assert "category level" in capsys.readouterr().out


def test_other_schema_without_level_category_is_one_line(camvid_run, tmp_path, capsys):
    data = make_cityscapes_like(tmp_path / "cityscapes")
    for level in ([], ["--level", "class"]):
        err = one_error_line(capsys, ["evaluate", "--run", camvid_run, "--data", data, "--quiet", *level])
        assert "--level category" in err and "cityscapes" in err
    assert not (camvid_run / runs.EVAL_DIR).exists()


def test_same_schema_keeps_both_levels_and_their_category_level_equals_folding_maps(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "camvid")
    both, _ = evaluate_run(camvid_run, data, "val", out=tmp_path / "both.json")
    assert evaluations.levels(both) == ["class", "category"]
    assert evaluations.category_only_reason(both) is None
    # Folding the class matrix equals scoring folded maps (what --level category does across schemas).
    predictor, expected = Predictor(camvid_run), np.zeros((7, 7), dtype=np.int64)
    for sample in list_pairs(data, "val"):
        image, truth = read_pair(sample.image, sample.label, CAMVID11)
        pairs = ConfusionMatrix.pair_counts(CAMVID11.to_categories(truth),
                                            CAMVID11.to_categories(predictor.predict(image).labels), 7, 7)
        assert not pairs[:, -1].any()           # a model's arg-max leaves no pixel without a class
        expected += pairs[:, :-1]
    assert np.array_equal(np.array(both["category_level"]["confusion_matrix"]), expected)


def test_evaluation_problem_still_needs_the_category_level():
    result = {"category_level": {"names": ["a"], "confusion_matrix": [[1]], "per_class": {}}, "per_image": []}
    assert evaluations.evaluation_problem(result) is None
    assert "category_level" in evaluations.evaluation_problem({"per_image": []})


def test_the_evaluation_page_evaluates_and_shows_a_category_only_evaluation(tmp_path, monkeypatch):
    import os
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    data = make_cityscapes_like(tmp_path / "cityscapes")
    models = tmp_path / "models"
    tiny_camvid_run(models / "tiny")
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    page = str(Path(__file__).resolve().parents[1] / "pages" / "evaluation.py")
    at = AppTest.from_file(page)
    at.session_state["ev_runs"] = ["tiny"]
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert "only the 7 shared categories can be scored" in "\n".join(str(e.value) for e in at.info)
    at.button(key="ev_go").click().run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    stored = list((models / "tiny" / runs.EVAL_DIR).glob("*.json"))
    assert len(stored) == 1 and evaluations.levels(json.loads(stored[0].read_text())) == ["category"]
    assert at.radio(key="ev_level").options == ["7 categories"]
    info = "\n".join(str(e.value) for e in at.info)
    assert "Category level only" in info and "cityscapes" in info and "scored on the 7 categories only" in info
    assert at.get("image"), "the frame pictures (folded ground truth and prediction) are shown"
    assert not at.error and os.path.basename(str(data)) in "\n".join(str(e.value) for e in at.success)
