"""Side by Side and Evaluation pages, run headless with AppTest on two tiny trained runs (a U-Net, a SegNet)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import make_camvid_like
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
SIDE, EVAL = (str(ROOT / "pages" / name) for name in ("side_by_side.py", "evaluation.py"))
RUNS = {"unet-tiny": ["--arch", "unet", "--option", "base_filters=4", "--option", "depth=2",
                      "--option", "stem_filters=4"],
        "segnet-tiny": ["--arch", "segnet-mobilenet", "--option", "alpha=0.125"]}
TIMEOUT = 180          # TensorFlow loads on the first prediction

pytestmark = pytest.mark.slow


def segcore(*args):
    result = subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                            cwd=ROOT, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]


def build_runs(root: Path, runs: dict[str, list[str]] = RUNS, evaluate: bool = True) -> tuple[Path, Path]:
    """(data, models): a CamVid-style folder and one-epoch runs trained on it (all of RUNS unless `runs` picks),
    each evaluated on val unless `evaluate` is false (test_bad_inputs_app needs one run, no evaluation)."""
    data = make_camvid_like(root / "data", splits=(("train", 4), ("val", 3)))
    models = root / "models"
    for name, options in runs.items():
        segcore("train", "--data", data, "--size", "32x48", "--epochs", 1, "--batch", 2, "--out", models / name,
                *options)
        if evaluate:
            segcore("evaluate", "--run", models / name, "--data", data, "--split", "val", "--quiet")
    return data, models


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_runs(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def folders(built, monkeypatch):
    data, models = built
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    return data, models


def run(at: AppTest) -> AppTest:
    at.run(timeout=TIMEOUT)
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in at.get(kind))


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def uploader(at: AppTest, label: str):
    return next(u for u in at.file_uploader if u.label.startswith(label))


def upload(at: AppTest, label: str, files) -> AppTest:
    uploader(at, label).set_value(files)
    return run(at)


def png(path: Path) -> tuple[str, bytes, str]:
    return path.name, path.read_bytes(), "image/png"


# ------------------------------------------------------------------------------------------------ side by side

def test_upload_gives_one_result_per_model(folders):
    data, _ = folders
    at = run(AppTest.from_file(SIDE))
    assert at.multiselect(key="sbs_runs").value == ["unet-tiny", "segnet-tiny"]
    assert "Upload one or more" in texts(at, "info")
    upload(at, "Images", png(data / "images" / "val" / "f000.png"))
    assert not at.error
    shown = captions(at)
    assert "unet-tiny" in shown and "segnet-tiny" in shown and "original · 48×32" in shown
    assert sum("ms model" in c.value for c in at.caption) == 2                 # one timing per model
    assert list(at.dataframe[0].value.index) == ["unet-tiny", "segnet-tiny"]
    assert any("of pixels differ" in c for c in shown) and any(c.startswith("◀ unet-tiny") for c in shown)
    assert len(at.main.get("download_button")) == 6                                 # labels, colour, overlay per model


def test_swipe_and_opacity_change_the_pictures(folders):
    data, _ = folders
    at = upload(run(AppTest.from_file(SIDE)), "Images", png(data / "images" / "val" / "f001.png"))
    urls = {c: i.value[0] for i in at.image for c in i.captions}
    at.slider(key="sbs_swipe_0").set_value(0.1)
    run(at)
    after = {c: i.value[0] for i in at.image for c in i.captions}
    swiped = next(c for c in after if c.startswith("◀"))
    assert after[swiped] != urls[swiped] and after["unet-tiny"] == urls["unet-tiny"]
    at.slider(key="sbs_alpha").set_value(1.0)
    run(at)
    assert {c: i.value[0] for i in at.image for c in i.captions}["unet-tiny"] != urls["unet-tiny"]


def test_class_category_toggle_changes_the_legend(folders):
    data, _ = folders
    at = upload(run(AppTest.from_file(SIDE)), "Images", png(data / "images" / "val" / "f000.png"))
    classes = texts(at, "html")
    at.radio(key="sbs_level").set_value("category")
    categories = texts(run(at), "html")
    assert classes != categories
    assert not {"flat", "construction", "object", "nature", "sky", "human", "vehicle"}.isdisjoint(
        name for name in categories.replace(">", " ").replace("<", " ").split())
    assert "Building" not in categories and "Fence" not in categories


def test_ground_truth_upload_adds_scores_that_match_the_evaluation(folders):
    data, models = folders
    at = run(AppTest.from_file(SIDE))
    uploader(at, "Images").set_value(png(data / "images" / "val" / "f002.png"))
    upload(at, "Ground-truth", png(data / "labels" / "val" / "f002.png"))
    assert not at.error
    table = at.dataframe[0].value
    assert {"pixel acc %", "mIoU %"} <= set(table.columns)
    for name in RUNS:       # the page scores a frame exactly as `segcore evaluate` did
        record = next(r for r in load_eval(models, name)["per_image"] if r["name"] == "f002")
        assert table.loc[name, "mIoU %"] == pytest.approx(round(100 * record["mean_iou"], 1), abs=0.051)
        assert table.loc[name, "pixel acc %"] == pytest.approx(round(100 * record["pixel_accuracy"], 1), abs=0.051)
    shown = captions(at)
    assert "ground truth" in shown and sum(c.startswith(tuple(RUNS)) and "mIoU" in c for c in shown) == 2


@pytest.mark.parametrize("how", ["radio", "button"])
def test_data_folder_frames_come_with_their_ground_truth(folders, how):
    at = run(AppTest.from_file(SIDE))
    if how == "radio":
        at.radio(key="sbs_source").set_value("Data folder")
    else:                                       # the empty page's button, for a visitor with nothing to upload
        at.button(key="sbs_try_folder").click()
    run(at)
    assert at.radio(key="sbs_source").value == "Data folder" and "sbs_try_folder" not in [b.key for b in at.button]
    if how == "button":                         # hiding a class changes the overlays, not the scores
        scores = at.dataframe[0].value
        assert "Road" in at.multiselect(key="sbs_hidden_class").options
        at.multiselect(key="sbs_hidden_class").set_value(["Road", "Sky"])
        run(at)
        pd.testing.assert_frame_equal(at.dataframe[0].value.drop(columns=["model ms", "total ms"]),
                                      scores.drop(columns=["model ms", "total ms"]))
    assert at.selectbox(key="sbs_split").value == "val"
    assert at.multiselect(key="sbs_frames_val").value == ["f000"]
    assert "mIoU %" in at.dataframe[0].value.columns and "ground truth" in captions(at)


def test_bad_uploads_and_broken_models_are_errors_not_crashes(folders, tmp_path, monkeypatch):
    data, models = folders
    at = upload(run(AppTest.from_file(SIDE)), "Images", [("broken.png", b"not an image", "image/png"),
                                                         png(data / "images" / "val" / "f000.png")])
    assert "broken.png" in texts(at, "error") and "unet-tiny" in captions(at)      # the good image still shows
    uploader(at, "Images").set_value(png(data / "images" / "val" / "f000.png"))
    upload(at, "Ground-truth", ("small.png", (data / "labels" / "val" / "f000.png").read_bytes()[:40], "image/png"))
    assert "small.png" in texts(at, "error")
    wrong_size = tmp_path / "wrong.png"
    make_camvid_like(tmp_path / "other", splits=(("val", 1),), size=(16, 16))
    shutil.copy(tmp_path / "other" / "labels" / "val" / "f000.png", wrong_size)
    upload(at, "Ground-truth", png(wrong_size))
    assert "must have its image's size" in texts(at, "error") and "mIoU %" not in at.dataframe[0].value.columns

    # A run whose model file is damaged: listed, chosen, reported; the other model still predicts.
    damaged = tmp_path / "models"
    shutil.copytree(models, damaged)
    (damaged / "segnet-tiny" / "model.keras").write_bytes(b"not a keras file")
    (damaged / "half-copied").mkdir()
    (damaged / "half-copied" / "meta.json").write_text("{}")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(damaged))
    at = upload(run(AppTest.from_file(SIDE)), "Images", png(data / "images" / "val" / "f000.png"))
    assert "can't be loaded safely" in texts(at, "error") and "unet-tiny" in captions(at)
    assert "half-copied" not in at.multiselect(key="sbs_runs").options
    assert "**half-copied**: " in texts(at, "markdown") and "missing 'arch'" in texts(at, "markdown")


# ------------------------------------------------------------------------------------------------ evaluation

def eval_file(models: Path, run_name: str, split: str = "val", name: str = "data") -> Path:
    """The run's one stored evaluation of data set `name` and `split` (<name>-<fingerprint>-<split>.json)."""
    found = list((models / run_name / "eval").glob(f"{name}-*-{split}.json"))
    assert len(found) == 1, found
    return found[0]


def load_eval(models: Path, run_name: str, split: str = "val") -> dict:
    return json.loads(eval_file(models, run_name, split).read_text())


def test_metrics_table_shows_the_stored_numbers(folders):
    _, models = folders
    at = run(AppTest.from_file(EVAL))
    assert at.selectbox(key="ev_key").value == eval_file(models, "unet-tiny").stem
    for level in ("class_level", "category_level"):
        at.radio(key="ev_level").set_value(level.split("_")[0])
        table = run(at).dataframe[0].value
        for name in RUNS:
            stored = load_eval(models, name)[level]
            assert table.loc[name, "mean_iou"] == round(100 * stored["mean_iou"], 1)
            assert table.loc[name, "pixel_accuracy"] == round(100 * stored["pixel_accuracy"], 1)


def test_iou_bars_and_confusion_heatmaps_are_drawn(folders):
    at = run(AppTest.from_file(EVAL))
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert [trace["type"] for trace in specs[0]["data"]] == ["bar", "bar"]
    heatmaps = [spec for spec in specs if spec["data"][0]["type"] == "heatmap"]
    assert [[trace["type"] for trace in spec["data"]] for spec in heatmaps] == [["heatmap", "scatter"]] * 2
    assert [spec["layout"]["title"]["text"] for spec in heatmaps] == list(RUNS)      # scatter: clickable cells
    titles = [spec["layout"].get("title", {}).get("text", "") for spec in specs]
    reliability = [title for title in titles if "ECE" in title]
    assert [title.split(":")[0] for title in reliability] == list(RUNS)     # segcore evaluate stores calibration
    at.radio(key="ev_normalize").set_value("row")
    specs = [json.loads(chart.proto.spec) for chart in run(at).get("plotly_chart")]
    assert [spec["data"][0]["zmax"] for spec in specs if spec["data"][0]["type"] == "heatmap"] == [1, 1]


def test_pair_picker_lists_the_frames_behind_a_confusion(folders):
    from segcore.compare import frames_for_confusion, largest_confusion

    _, models = folders
    at = run(AppTest.from_file(EVAL))
    stored = load_eval(models, "unet-tiny")
    true_id, pred_id = largest_confusion(stored["class_level"])
    assert (at.selectbox(key="ev_truth_class_level").value, at.selectbox(key="ev_pred_class_level").value) == \
           (true_id, pred_id)
    expected, partial = frames_for_confusion(stored, "class", true_id, pred_id)
    assert expected and not partial                       # segcore evaluate stores every frame's full matrix
    listed = [m.value for m in at.markdown if m.value.startswith("`")]
    assert len(listed) == min(3, len(expected))
    assert all(f"`{r['name']}`: {r['pixels']:,} px" in line for r, line in zip(expected, listed))
    assert f"{len(expected)} frames have" in texts(at, "markdown")
    first = expected[0]
    assert f"unet-tiny: {first['pixels']} px of this confusion" in captions(at)   # stored PNG = stored counts

    at.selectbox(key="ev_truth_class_level").set_value(0)
    at.selectbox(key="ev_pred_class_level").set_value(0)
    assert "the diagonal: correct pixels" in texts(run(at), "markdown")

    segnet = load_eval(models, "segnet-tiny")
    unseen = next((t, p) for t in range(11) for p in range(11)
                  if t != p and not frames_for_confusion(segnet, "class", t, p)[0])
    at.selectbox(key="ev_model").set_value("segnet-tiny")
    at.selectbox(key="ev_truth_class_level").set_value(unseen[0])
    at.selectbox(key="ev_pred_class_level").set_value(unseen[1])
    assert "0 frames have" in texts(run(at), "markdown")
    assert not [m for m in at.markdown if m.value.startswith("`")]


def test_worst_frames_table_and_frame_pictures(folders):
    at = run(AppTest.from_file(EVAL))
    table = at.dataframe[-1].value
    assert list(table.columns[:2]) == ["mean mIoU %", "unet-tiny mIoU %"]
    assert table["mean mIoU %"].is_monotonic_increasing
    assert at.selectbox(key="ev_frame").value == table.index[0]
    assert {"image", "ground truth", "unet-tiny", "segnet-tiny"} <= set(captions(at)[-4:])


def test_evaluate_on_writes_and_shows_a_new_evaluation(folders, tmp_path, monkeypatch):
    data, models = folders
    copy = tmp_path / "models"
    shutil.copytree(models, copy)                 # this test writes evaluations; keep the shared runs as they are
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(copy))
    monkeypatch.setenv("SEGLAB_DATA_DIR", os.pathsep.join([str(data), str(tmp_path / "nowhere")]))
    at = run(AppTest.from_file(EVAL))
    assert not at.text_input                      # a choice among the configured folders, never a typed path
    assert at.selectbox(key="ev_data").options == [str(data), str(tmp_path / "nowhere")]
    at.selectbox(key="ev_data").set_value(str(tmp_path / "nowhere"))
    assert "no such folder" in texts(run(at), "error")
    at.selectbox(key="ev_data").set_value(str(data))
    run(at).selectbox(key="ev_split").set_value("train")
    run(at).button(key="ev_go").click()
    run(at)
    assert "Evaluated unet-tiny, segnet-tiny on data/train" in texts(at, "success")
    key = eval_file(copy, "unet-tiny", "train").stem
    assert at.selectbox(key="ev_key").value == key and key.startswith("data-") and key.endswith("-train")
    for name in RUNS:
        stored = load_eval(copy, name, "train")
        assert stored["images"] == 4 and stored["split"] == "train"
        assert at.dataframe[0].value.loc[name, "mean_iou"] == round(100 * stored["class_level"]["mean_iou"], 1)

    # Evaluating again asks first: the button stays disabled until the replacement is confirmed.
    before = eval_file(copy, "unet-tiny", "train").stat().st_mtime_ns
    assert "already have an evaluation on data/train" in texts(at, "warning")
    assert at.button(key="ev_go").disabled
    at.checkbox(key="ev_replace").check()
    assert not run(at).button(key="ev_go").disabled
    at.button(key="ev_go").click()
    run(at)
    assert eval_file(copy, "unet-tiny", "train").stat().st_mtime_ns > before
    assert "Evaluated" in texts(at, "success") and not at.error


def test_evaluate_on_reports_a_damaged_data_set(folders, tmp_path, monkeypatch):
    data, models = folders
    copy, broken = tmp_path / "models", tmp_path / "broken"
    shutil.copytree(models, copy)
    shutil.copytree(data, broken)
    (broken / "labels" / "val" / "f001.png").write_bytes(b"damaged")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(copy))
    monkeypatch.setenv("SEGLAB_DATA_DIR", os.pathsep.join([str(data), str(broken)]))
    at = run(AppTest.from_file(EVAL))
    at.selectbox(key="ev_data").set_value(str(broken))
    run(at).selectbox(key="ev_split").set_value("val")
    run(at).button(key="ev_go").click()
    errors = texts(run(at), "error")
    assert errors.count("was not evaluated") == 2 and "f001.png" in errors
    assert not list((copy / "unet-tiny" / "eval").glob("broken-*"))
    assert at.selectbox(key="ev_key").value == eval_file(copy, "unet-tiny").stem   # carries on with what it had


def test_stored_evaluation_is_portable_and_frames_need_the_same_data_set(folders, tmp_path, monkeypatch):
    """Per-image paths are relative to the data set; the page finds the frames in any configured folder holding
    the same data set (by fingerprint), and says so plainly when none does."""
    data, models = folders
    stored = load_eval(models, "unet-tiny")
    assert stored["dataset"]["name"] == "data" and stored["dataset"]["split"] == "val"
    assert stored["dataset"]["path"] == str(data.resolve()) and stored["dataset"]["layout"] == "camvid"
    assert {(r["image"], r["label"]) for r in stored["per_image"]} == {
        (f"images/val/{n}.png", f"labels/val/{n}.png") for n in ("f000", "f001", "f002")}
    assert eval_file(models, "unet-tiny").stem == f"data-{stored['dataset']['fingerprint']}-val"

    moved = tmp_path / "elsewhere" / "copy"
    shutil.copytree(data, moved)                       # the same data set under another path and folder name
    monkeypatch.chdir(tmp_path)                        # and the app started from another folder
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(moved))
    at = run(AppTest.from_file(EVAL))
    assert {"image", "ground truth", "unet-tiny", "segnet-tiny"} <= set(captions(at))
    assert "not available here" not in texts(at, "info")

    other = make_camvid_like(tmp_path / "data", splits=(("val", 3),), size=(16, 16))   # same name, other content
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(other))
    at = run(AppTest.from_file(EVAL))
    info = texts(at, "info")
    assert "Frame pictures are not available here" in info and stored["dataset"]["fingerprint"] in info
    assert "ground truth" not in captions(at) and not at.error
