"""Cityscapes' instance-level IoU (iIoU): scored from the `*_gtFine_instanceIds.png` files as cityscapesScripts scores
it (checked against that script's formulas written out here in label-id space), stored as sums that add over
shards, shown by the CLI, the reports and the Evaluation page only where the instance files were there."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import save_png
from segcore.cli import main
from segcore.evaluate import evaluate_run
from segcore.instance_iou import (AVERAGE_OBJECT_PIXELS, InstanceCounts, instance_map_path, instance_scores,
                                  mean_instance_score)
from segcore.labels import CATEGORIES, CITYSCAPES, CITYSCAPES_LABELS
from segcore.metrics import ConfusionMatrix
from segcore import reports
from test_hardening import one_error_line

LABEL_ID = {name: label for name, label, *_ in CITYSCAPES_LABELS}
NAME = {label: name for name, label, *_ in CITYSCAPES_LABELS}
CATEGORY = {label: category for _, label, _, category, _ in CITYSCAPES_LABELS}
IGNORED = {label for _, label, train, _, _ in CITYSCAPES_LABELS if train == 255}
TO_LABEL_ID = np.zeros(256, np.uint8)
for _label, _train in CITYSCAPES.raw_to_train.items():
    if _train != 255:
        TO_LABEL_ID[_train] = _label
OBJECTS = ["person", "person", "rider", "car", "car", "car", "bicycle", "caravan"]


def cityscapes_with_objects(root: Path, frames: int = 4, size=(48, 64), seed: int = 0) -> dict:
    """A Cityscapes val split with instanceIds: blocks of road, sidewalk, building, sky and unlabeled, then objects
    (persons, a rider, cars, a bicycle, a caravan, which is void) as overlapping rectangles, and a group of cars
    with no object number. {frame name: (label ids, instance ids)}."""
    rng = np.random.default_rng(seed)
    written = {}
    for index in range(frames):
        city = ("aachen", "bremen")[index % 2]
        stem = f"{city}_{index:06d}_000019"
        blocks = rng.choice([7, 8, 11, 23, 0], size=(size[0] // 8, size[1] // 8))
        labels = blocks.repeat(8, 0).repeat(8, 1).astype(np.uint8)
        instances = labels.astype(np.int32)
        for number, name in enumerate(OBJECTS):
            height, width = int(rng.integers(2, 16)), int(rng.integers(2, 24))
            top, left = int(rng.integers(0, size[0] - height)), int(rng.integers(0, size[1] - width))
            labels[top:top + height, left:left + width] = LABEL_ID[name]
            instances[top:top + height, left:left + width] = LABEL_ID[name] * 1000 + number
        labels[:4, :10] = instances[:4, :10] = LABEL_ID["car"]         # a car group: no object number
        save_png(root / "leftImg8bit" / "val" / city / f"{stem}_leftImg8bit.png",
                 rng.integers(0, 256, (*size, 3), dtype=np.uint8))
        save_png(root / "gtFine" / "val" / city / f"{stem}_gtFine_labelIds.png", labels, "L")
        Image.fromarray(instances.astype(np.uint16)).save(root / "gtFine" / "val" / city /
                                                         f"{stem}_gtFine_instanceIds.png")
        written[f"{city}/{stem}"] = (labels, instances)
    return written


def predictions_of(frames: dict, folder: Path, seed: int = 1) -> dict:
    """Train-id predictions near the truth (a quarter of the pixels random), saved as Cityscapes result files."""
    rng = np.random.default_rng(seed)
    predicted = {}
    for name, (labels, _) in frames.items():
        truth = CITYSCAPES.encode(labels)
        pred = np.where(truth == 255, rng.integers(0, 19, truth.shape), truth).astype(np.uint8)
        noisy = rng.random(truth.shape) < 0.25
        pred[noisy] = rng.integers(0, 19, int(noisy.sum()))
        city, stem = name.split("/")
        save_png(folder / city / f"{stem}_leftImg8bit.png", pred, "L")
        predicted[name] = pred
    return predicted


def official_scores(frames: dict, predicted: dict) -> tuple[dict, dict]:
    """iIoU per class and per category by evalPixelLevelSemanticLabeling.py's formulas, on label ids (its average
    object sizes scaled to the labels' size, as segcore does for labels smaller than Cityscapes' 1024x2048)."""
    confusion = np.zeros((34, 34), np.int64)
    classes = {name: [0.0, 0.0] for name in ("person", "rider", "car", "truck", "bus", "train", "motorcycle",
                                             "bicycle")}
    members = {category: [label for label in NAME if CATEGORY[label] == category] for category in ("human", "vehicle")}
    categories = {category: [0.0, 0.0] for category in members}
    for name, (labels, instances) in frames.items():
        pred = TO_LABEL_ID[predicted[name]]
        np.add.at(confusion, (labels.ravel(), pred.ravel()), 1)
        for object_id in np.unique(instances[instances > 1000]):
            label = int(object_id) // 1000
            if label in IGNORED:
                continue
            mask = instances == object_id
            size = int(mask.sum())
            weight = AVERAGE_OBJECT_PIXELS[NAME[label]] * labels.size / (1024 * 2048) / size   # see FULL_SIZE_PIXELS
            hits = int((pred[mask] == label).sum())
            classes[NAME[label]][0] += hits * weight
            classes[NAME[label]][1] += (size - hits) * weight
            category_hits = int(np.isin(pred[mask], members[CATEGORY[label]]).sum())
            categories[CATEGORY[label]][0] += category_hits * weight
            categories[CATEGORY[label]][1] += (size - category_hits) * weight
    evaluated = [label for label in NAME if label not in IGNORED]

    def score(hit, miss, wrong):
        return hit / (hit + miss + wrong) if hit + miss + wrong else math.nan

    by_class = {name: score(*sums, confusion[[l for l in evaluated if l != LABEL_ID[name]], LABEL_ID[name]].sum())
                for name, sums in classes.items()}
    by_category = {category: score(*sums, confusion[np.ix_([l for l in evaluated if CATEGORY[l] != category],
                                                           members[category])].sum())
                   for category, sums in categories.items()}
    return by_class, by_category


@pytest.fixture
def cityscapes_run(tmp_path):
    """(data, imported prediction run, frames, predictions) with instanceIds beside every label."""
    frames = cityscapes_with_objects(tmp_path / "cityscapes")
    predicted = predictions_of(frames, tmp_path / "results")
    run = tmp_path / "models" / "preds"
    assert main(["import", str(tmp_path / "results"), "--predictions", "--schema", "cityscapes",
                 "--out", str(run)]) == 0
    return tmp_path / "cityscapes", run, frames, predicted


def test_iiou_is_what_the_cityscapes_script_computes(cityscapes_run, tmp_path):
    data, run, frames, predicted = cityscapes_run
    result, _ = evaluate_run(run, data, "val", out=tmp_path / "eval.json")
    by_class, by_category = official_scores(frames, predicted)
    ours = dict(zip(CITYSCAPES.names, instance_scores(result["class_level"])))
    for name, expected in by_class.items():
        if math.isnan(expected):
            assert ours[name] is None, name
        else:
            assert ours[name] == pytest.approx(expected, rel=1e-6), name
    assert {name for name, value in ours.items() if value is not None} == {"person", "rider", "car", "bicycle",
                                                                           "truck", "bus", "train", "motorcycle"}
    categories = dict(zip(CATEGORIES, instance_scores(result["category_level"])))
    for category, expected in by_category.items():
        assert categories[category] == pytest.approx(expected, rel=1e-6), category
    assert [name for name, value in categories.items() if value is not None] == ["human", "vehicle"]
    scored = [value for value in by_class.values() if not math.isnan(value)]
    assert mean_instance_score(result["class_level"]) == pytest.approx(np.mean(scored), rel=1e-6)
    # The noise makes iIoU differ from plain IoU: it is its own figure, not a copy.
    car = CITYSCAPES.names.index("car")
    assert ours["car"] != pytest.approx(result["class_level"]["per_class"]["car"]["iou"], abs=1e-3)
    stored = json.loads((tmp_path / "eval.json").read_text())
    assert stored["class_level"]["instance"]["tp_weighted"][car] > 0
    assert stored["class_level"]["instance"]["tp_weighted"][CITYSCAPES.names.index("road")] is None


def test_a_model_of_another_schema_gets_the_category_iiou(cityscapes_run, tmp_path):
    """A CamVid model on Cityscapes is scored on the 7 categories: its iIoU for human and vehicle is the one a
    Cityscapes model with the same category map gets."""
    from segcore.labels import CAMVID11
    data, run, frames, predicted = cityscapes_run
    same, _ = evaluate_run(run, data, "val", out=tmp_path / "same.json")
    # Each Cityscapes class predicted becomes the CamVid class of its category: the category maps are identical.
    camvid_of = {category: next(c.train_id for c in CAMVID11.classes if c.category == category)
                 for category in CATEGORIES}
    lookup = np.array([camvid_of[c.category] for c in CITYSCAPES.classes], np.uint8)
    for name, pred in predicted.items():
        city, stem = name.split("/")
        save_png(tmp_path / "camvid-results" / city / f"{stem}_leftImg8bit.png", lookup[pred], "L")
    camvid_run = tmp_path / "models" / "camvid-preds"
    assert main(["import", str(tmp_path / "camvid-results"), "--predictions", "--schema", "camvid11",
                 "--out", str(camvid_run)]) == 0
    other, _ = evaluate_run(camvid_run, data, "val", out=tmp_path / "other.json", level="category")
    assert "class_level" not in other
    ours, theirs = instance_scores(other["category_level"]), instance_scores(same["category_level"])
    assert [value is not None for value in ours] == [name in ("human", "vehicle") for name in CATEGORIES]
    assert ours == pytest.approx(theirs, abs=1e-9)


def test_a_missed_small_object_weighs_as_much_as_a_found_big_one():
    """Two cars: 400 px found, 16 px missed (called road). IoU barely notices the small one; iIoU halves."""
    car, road = CITYSCAPES.names.index("car"), CITYSCAPES.names.index("road")
    truth = np.full((40, 40), road, np.uint8)
    instances = np.full((40, 40), LABEL_ID["road"], np.int32)
    truth[:20, :20], instances[:20, :20] = car, LABEL_ID["car"] * 1000
    truth[30:34, 30:34], instances[30:34, 30:34] = car, LABEL_ID["car"] * 1000 + 1
    pred = truth.copy()
    pred[30:34, 30:34] = road
    counts = InstanceCounts(CITYSCAPES)
    counts.add(instances, pred, CITYSCAPES.to_categories(pred))
    matrix = ConfusionMatrix(CITYSCAPES.num_classes, CITYSCAPES.ignore_index)
    matrix.update(truth, pred)
    summary = {"confusion_matrix": matrix.counts.tolist(), "instance": counts.to_json("class_level")}
    assert matrix.iou()[car] == pytest.approx(400 / 416)
    assert instance_scores(summary)[car] == pytest.approx(0.5)
    found = AVERAGE_OBJECT_PIXELS["car"] * 1600 / (1024 * 2048)          # one average car at this label size
    assert counts.to_json("class_level")["tp_weighted"][car] == pytest.approx(found, abs=1e-4)

    # With 20 px of road called car, the same scene at twice the size (a full-size copy of a downscaled data set)
    # scores the same: object weights scale with the label's size as false positives do.
    pred[36, 10:30] = car
    scored = []
    for factor in (1, 2):
        counts = InstanceCounts(CITYSCAPES)
        matrix = ConfusionMatrix(CITYSCAPES.num_classes, CITYSCAPES.ignore_index)
        big = [array.repeat(factor, 0).repeat(factor, 1) for array in (truth, instances, pred)]
        counts.add(big[1], big[2], CITYSCAPES.to_categories(big[2]))
        matrix.update(big[0], big[2])
        scored.append(instance_scores({"confusion_matrix": matrix.counts.tolist(),
                                       "instance": counts.to_json("class_level")})[car])
    assert scored[0] == pytest.approx(found / (2 * found + 20)) and scored[1] == pytest.approx(scored[0])


def test_without_instance_files_no_iiou_is_stored_or_shown(cityscapes_run, tmp_path, capsys):
    data, run, _, _ = cityscapes_run
    assert main(["data", "check", str(data)]) == 0
    assert "val: 4 pairs; sizes 48x64 (4); 9 label values; instanceIds for 4 of 4 (iIoU scored)" in \
        capsys.readouterr().out
    removed = next((data / "gtFine" / "val").glob("*/*_gtFine_instanceIds.png"))
    removed.unlink()                                  # one frame without it: the figure would not be the split's
    assert instance_map_path(removed.with_name(removed.name.replace("instanceIds", "labelIds"))) is None
    assert main(["data", "check", str(data)]) == 0
    assert "instanceIds for 3 of 4 (iIoU needs one beside every labelIds file)" in capsys.readouterr().out
    result, _ = evaluate_run(run, data, "val", out=tmp_path / "eval.json")
    assert "instance" not in result["class_level"] and instance_scores(result["class_level"]) is None
    assert not any("iIoU" in column for column in reports.class_report({"preds": result}).columns)
    assert reports.extras_table({"preds": result})["mean_instance_iou"].isna().all()
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--split", "val", "--quiet", "--overwrite",
                 "--out", str(tmp_path / "again.json")]) == 0
    assert "iIoU" not in capsys.readouterr().out


def test_cli_report_and_extras_show_iiou(cityscapes_run, tmp_path, capsys):
    data, run, _, _ = cityscapes_run
    assert main(["evaluate", "--run", str(run), "--data", str(data), "--split", "val", "--quiet",
                 "--out", str(tmp_path / "eval.json")]) == 0
    out = capsys.readouterr().out
    result = json.loads((tmp_path / "eval.json").read_text())
    mean = mean_instance_score(result["class_level"])
    assert f"iIoU {100 * mean:5.1f}" in out
    assert any(line.strip().startswith("car ") and "iIoU" in line for line in out.splitlines())
    assert not any(line.strip().startswith("road ") and "iIoU" in line for line in out.splitlines())
    report = reports.class_report({"preds": result})
    car = CITYSCAPES.names.index("car")
    assert report.loc["car", "iIoU % · preds"] == pytest.approx(100 * instance_scores(result["class_level"])[car],
                                                                abs=0.05)
    assert np.isnan(report.loc["road", "iIoU % · preds"])
    assert reports.extras_table({"preds": result}).loc["preds", "mean_instance_iou"] == pytest.approx(100 * mean,
                                                                                                      abs=0.05)


def test_shards_merge_into_the_same_iiou(cityscapes_run, tmp_path):
    data, run, _, _ = cityscapes_run
    base = ["evaluate", "--run", str(run), "--data", str(data), "--split", "val", "--quiet"]
    assert main([*base, "--out", str(tmp_path / "full.json")]) == 0
    parts = [tmp_path / f"part{index}.json" for index in range(2)]
    for index, part in enumerate(parts):
        assert main([*base, "--shard", f"{index}/2", "--out", str(part)]) == 0
    assert main(["evaluate", "--merge", *map(str, parts), "--out", str(tmp_path / "merged.json"), "--quiet"]) == 0
    full, merged = (json.loads((tmp_path / name).read_text()) for name in ("full.json", "merged.json"))
    for level in ("class_level", "category_level"):
        for ours, theirs in zip(instance_scores(merged[level]), instance_scores(full[level])):
            assert (ours is None) == (theirs is None)
            assert ours is None or ours == pytest.approx(theirs, abs=1e-6)


def test_a_damaged_instance_file_is_one_line(cityscapes_run, tmp_path, capsys):
    data, run, _, _ = cityscapes_run
    damaged = next((data / "gtFine" / "val").glob("*/*_gtFine_instanceIds.png"))
    damaged.write_bytes(damaged.read_bytes()[:60])
    err = one_error_line(capsys, ["evaluate", "--run", run, "--data", data, "--split", "val", "--quiet",
                                  "--out", tmp_path / "eval.json"])
    assert damaged.name in err and "re-export" in err


def test_the_evaluation_page_shows_iiou_beside_miou(cityscapes_run, tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    data, run, _, _ = cityscapes_run
    evaluate_run(run, data, "val")
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(run.parent))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "evaluation.py"))
    at.session_state["ev_runs"] = ["preds"]
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    scores, report = at.dataframe[0].value, at.dataframe[1].value
    assert list(scores.columns).index("mean_instance_iou") == list(scores.columns).index("mean_iou") + 1
    result = next(iter(json.loads(path.read_text()) for path in (run / "eval").glob("*.json")))
    assert scores.loc["preds", "mean_instance_iou"] == pytest.approx(
        100 * mean_instance_score(result["class_level"]), abs=0.05)
    assert "iIoU % · preds" in report.columns and np.isnan(report.loc["road", "iIoU % · preds"])
    # Undefined cells read "–", not Streamlit's default "None" (Styler's na_rep does not reach the grid).
    assert {table.proto.placeholder for table in at.dataframe} == {"–"}
    assert "iIoU weighs every object the same" in "\n".join(str(caption.value) for caption in at.caption)
    at.radio(key="ev_level").set_value("category").run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    assert at.dataframe[1].value["iIoU % · preds"].notna().sum() == 2         # human and vehicle


@pytest.mark.parametrize("stored", [{"tp_weighted": [1.0, None]}, {"tp_weighted": [1.0, "x"], "fn_weighted": [0, 0]},
                                    {"tp_weighted": [1.0], "fn_weighted": [0.0, 0.0]}, "not a dict"])
def test_malformed_instance_sums_are_not_a_figure(stored):
    """A hand-edited evaluation: no iIoU is shown and shards don't merge one, instead of a crash."""
    from segcore.instance_iou import merged
    summary = {"confusion_matrix": [[5, 1], [0, 4]], "instance": stored}
    assert instance_scores(summary) is None and mean_instance_score(summary) is None
    assert merged([stored, {"tp_weighted": [1.0, None], "fn_weighted": [0.0, None]}]) is None
    assert merged([{"tp_weighted": [1.0, None], "fn_weighted": [0.5, None]}] * 2) == \
        {"tp_weighted": [2.0, None], "fn_weighted": [1.0, None]}
