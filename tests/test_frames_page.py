"""The Frames page under AppTest, on hand-built stored evaluations (tests/frames_fixtures.py): the grid, its
filters and pages, opening a frame, a format-2 evaluation, no data folder, and never a model or TensorFlow."""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from frames_fixtures import FRAMES, make_frames_data, make_frames_models
from PIL import Image
from streamlit.testing.v1 import AppTest

from app import frame_browser, frame_links
from segcore.labels import CAMVID11
from segcore.runs import discover_runs

ROOT = Path(__file__).resolve().parents[1]
FRAMES_PAGE = str(ROOT / "pages" / "frames.py")


def make_folders(root: Path, fmt: int = 3) -> tuple[Path, Path]:
    data = make_frames_data(root / "data")
    return data, make_frames_models(root / "models", data, fmt)


@pytest.fixture
def folders(tmp_path, monkeypatch):
    data, models = make_folders(tmp_path)
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    return data, models


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page() -> AppTest:
    return run(AppTest.from_file(FRAMES_PAGE, default_timeout=60))


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(element.value) for element in at.get(kind))


def grid_names(at: AppTest) -> list[str]:
    return [caption.split(" · ")[0] for caption in captions(at)]


def open_frame(at: AppTest, name: str) -> AppTest:
    at.button(key=f"fr_open_{name}").click()
    return run(at)


# ------------------------------------------------------------------------------------------------ grid

def test_grid_shows_every_frame_with_its_scores(folders):
    at = page()
    assert sorted(grid_names(at)) == sorted(FRAMES)
    caption = next(c for c in captions(at) if c.startswith("seqA_00000"))
    scores = json.loads(next((folders[1] / "segnet-b" / "eval").glob("*.json")).read_text())["per_image"][0]
    assert f"segnet-b {100 * scores['mean_iou']:.1f}" in caption and "unet-a " in caption
    assert len([b for b in at.button if b.label == "Open"]) == len(FRAMES)
    assert ("14 frames scored by unet-a (no test-time augmentation), segnet-b (no test-time augmentation)"
            in texts(at, "caption"))
    assert not at.warning                      # format 3: nothing partial to warn about
    assert not at.info


def test_an_evaluation_on_frames_a_run_trained_on_says_so(folders):
    stored = next((folders[1] / "unet-a" / "eval").glob("*.json"))
    stored.write_text(json.dumps({**json.loads(stored.read_text()), "trained_on_split": True}))
    at = page()
    assert "unet-a trained on these frames (val is one of its training splits)" in texts(at, "info")


def test_filters_find_a_small_confusion_and_a_missed_class(folders):
    at = page()
    at.selectbox(key="fr_truth").select("Building")
    at.selectbox(key="fr_pred").select("Sky")
    at.selectbox(key="fr_model").select("unet-a")
    run(at)
    assert sorted(grid_names(at)) == [name for i, name in enumerate(FRAMES) if i % 4 == 0]
    at.selectbox(key="fr_truth").select("any")
    at.selectbox(key="fr_missed").select("Car")
    run(at)
    assert sorted(grid_names(at)) == [name for i, name in enumerate(FRAMES) if i % 3 == 0]
    at.selectbox(key="fr_model").select("segnet-b")
    run(at)
    assert not at.image and "No frame passes these filters" in texts(at, "info")


def test_sort_and_near_duplicate_option(folders):
    at = page()
    at.selectbox(key="fr_sort_run").select("segnet-b")
    run(at)
    ranked = grid_names(at)
    at.number_input(key="fr_one_per").set_value(3)
    run(at)
    thinned = grid_names(at)
    assert thinned[0] == ranked[0] and len(thinned) < len(ranked)
    assert [name for name in ranked if name in thinned] == thinned      # same order, neighbours left out


def test_paging(folders, monkeypatch):
    monkeypatch.setattr(frame_browser, "PER_PAGE", 6)
    at = page()
    first = grid_names(at)
    assert len(first) == 6 and at.number_input(key="fr_page").max == 3
    at.number_input(key="fr_page").set_value(3)
    run(at)
    last = grid_names(at)
    assert len(last) == 2 and not set(first) & set(last)
    # A new filter starts again at page 1.
    at.selectbox(key="fr_present").select("Car")
    run(at)
    assert at.number_input(key="fr_page").value == 1 and len(grid_names(at)) == 5


# ------------------------------------------------------------------------------------------------ viewer

def test_opening_a_frame_shows_its_layers_toggles_and_back(folders):
    at = open_frame(page(), "seqA_00004")
    assert captions(at) == ["image", "ground truth", "unet-a prediction", "unet-a errors", "unet-a label doubts",
                            "segnet-b prediction", "segnet-b errors"]
    assert at.get("bidi_component") and at.get("plotly_chart")
    hover = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][1]
    assert "unet-a: %{customdata[1]}" in hover["hovertemplate"]
    fill = [image.proto.imgs[0].url for image in at.image]
    at.radio(key="fr_mode").set_value("outline")
    run(at)
    assert [image.proto.imgs[0].url for image in at.image][1] != fill[1]
    toggles = at.multiselect(key="fr_classes_class_seqA_00004")
    assert {"Sky", "Building", "Road"} <= set(toggles.value)
    toggles.set_value(["Sky"])
    run(at)
    assert "seqA_00004" in texts(at, "markdown")
    at.button(key="fr_step_1").click()
    run(at)
    assert at.session_state["fr_open"] != "seqA_00004"
    at.button(key="fr_back").click()
    run(at)
    assert len(grid_names(at)) == len(FRAMES)


def test_a_request_from_another_page_opens_the_confusion(folders):
    at = AppTest.from_file(FRAMES_PAGE, default_timeout=60)
    key = next((folders[1] / "unet-a" / "eval").glob("*.json")).stem
    at.session_state["fr_one_per"] = 3                  # thinning left from an earlier visit: every frame counted shows
    at.session_state[frame_links.REQUEST_KEY] = frame_links.FramesRequest(key, ("unet-a",), "class", (1, 0), 1)
    run(at)
    assert at.multiselect(key="fr_runs").value == ["unet-a"] and at.number_input(key="fr_one_per").value == 1
    assert at.selectbox(key="fr_truth").value == "Building" and at.selectbox(key="fr_sort").value == "confused_pixels"
    assert sorted(grid_names(at)) == [name for i, name in enumerate(FRAMES) if i % 4 == 0]


def test_a_request_to_review_label_doubts_opens_every_frame_lowest_label_quality_first(folders):
    at = AppTest.from_file(FRAMES_PAGE, default_timeout=60)
    key = next((folders[1] / "unet-a" / "eval").glob("*.json")).stem
    at.session_state["fr_truth"] = "Building"            # filters left from an earlier visit: cleared
    at.session_state["fr_one_per"] = 3
    at.session_state[frame_links.REQUEST_KEY] = frame_links.FramesRequest(key, ("unet-a", "segnet-b"), "class",
                                                                          lowest_first="label_quality")
    run(at)
    assert at.selectbox(key="fr_sort").value == "label_quality" and at.toggle(key="fr_worst_first").value
    assert at.selectbox(key="fr_truth").value == "any" and at.number_input(key="fr_one_per").value == 1
    assert grid_names(at) == list(reversed(FRAMES))[:len(grid_names(at))]     # the fixture's quality falls


def test_open_frames_stores_the_request_and_switches_page(monkeypatch):
    switched = []
    fake = types.SimpleNamespace(session_state={}, switch_page=switched.append)
    monkeypatch.setattr(frame_links, "st", fake)
    monkeypatch.setattr(frame_links, "_frames_page", lambda: "frames page")
    frame_links.open_frames("camvid-1234abcd-val", ["unet", "segnet"], "category", (4, 0), 50)
    request = fake.session_state[frame_links.REQUEST_KEY]
    assert request == frame_links.FramesRequest("camvid-1234abcd-val", ("unet", "segnet"), "category", (4, 0), 50)
    assert switched == ["frames page"]


# ------------------------------------------------------------------------------------------------ older or partial data

def test_format_2_evaluation_says_what_it_cannot_do(tmp_path, monkeypatch):
    data, models = make_folders(tmp_path, fmt=2)
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = page()
    warning = texts(at, "warning")
    assert "format 2" in warning and "8 largest confusions" in warning and "--overwrite" in warning
    assert len(at.image) == len(FRAMES)        # thumbnails made from the data set's images
    at = open_frame(at, "seqA_00000")
    assert captions(at) == ["image", "ground truth"]
    assert "stored no prediction" in texts(at, "info") and "never runs a model" in texts(at, "info")


def test_without_the_data_folder_predictions_only(tmp_path, monkeypatch):
    data, models = make_folders(tmp_path)
    other = make_frames_data(tmp_path / "other")
    (other / "labels" / "val" / f"{FRAMES[0]}.png").unlink()   # another data set: its fingerprint differs
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(other))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = page()
    assert "Ground truth is not shown" in texts(at, "info")
    assert len(at.image) == len(FRAMES)        # the stored thumbnails
    at = open_frame(at, "seqB_00101")
    assert captions(at) == ["image", "unet-a prediction", "unet-a label doubts", "segnet-b prediction"]
    assert "only the stored predictions are shown" in texts(at, "info")


def test_without_thumbnails_or_the_data_folder_the_grid_shows_a_prediction_and_says_so(tmp_path, monkeypatch):
    """The shipped runs' case: their evaluations keep no thumbnails (CamVid's photos are not committed) and the
    data set is not configured, so each frame shows the first run's stored prediction in the schema's colours."""
    _, models = make_folders(tmp_path)
    for thumbnail in models.glob("*/eval/*/thumbnails/*.jpg"):
        thumbnail.unlink()
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(make_frames_data(tmp_path / "elsewhere", size=(40, 64))))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = page()
    assert "shows a run's prediction instead of the photo" in texts(at, "info")
    assert sorted(grid_names(at)) == sorted(FRAMES)
    assert all(caption.endswith(" · picture: unet-a's prediction") for caption in captions(at))
    found = {run.name: run for run in discover_runs(models)}
    runs = {name: found[name] for name in ("unet-a", "segnet-b")}      # the grid's order: the first run's picture
    key = next(iter(runs["unet-a"].evaluations()))
    records = {name: json.loads(runs[name].evaluations()[key].read_text())["per_image"][0] for name in runs}
    picture, stand_in = frame_browser.thumbnail(runs, key, records, data_root=None)
    stored = np.asarray(Image.open(next(models.glob(f"unet-a/eval/*/predictions/{FRAMES[0]}.png"))))
    assert stand_in == "unet-a's prediction" and np.array_equal(picture, CAMVID11.colorize(stored))
    records["unet-a"] = {**records["unet-a"], "prediction": None}
    assert frame_browser.thumbnail(runs, key, records, None)[1] == "segnet-b's prediction"   # the next run's


def test_grid_reads_stored_thumbnails_not_the_data_set_images(folders):
    data, _ = folders
    for image in (data / "images" / "val").glob("*.png"):       # same sizes: the data set's fingerprint holds
        image.write_bytes(b"\0" * image.stat().st_size)
    at = page()
    assert len(at.image) == len(FRAMES) and not at.error


def test_the_page_never_imports_tensorflow(folders):
    code = ("import sys; from streamlit.testing.v1 import AppTest; "
            f"at = AppTest.from_file({FRAMES_PAGE!r}, default_timeout=60).run(); "
            "at.button(key='fr_open_seqA_00000').click().run(); "
            "assert not at.exception, [e.value for e in at.exception]; "
            "assert len(at.image) == 7, len(at.image); "
            "sys.exit(3 if 'tensorflow' in sys.modules or 'keras' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:] or "tensorflow was imported"


# ------------------------------------------------------------------------------------------------ real evaluate

def test_a_real_segcore_evaluate_feeds_the_page(tmp_path, monkeypatch):
    """`segcore import --predictions` + `segcore evaluate` (the writer, not a hand-built JSON): the grid shows the
    stored thumbnails, the full confusions find a 1-px confusion, and a frame opens with its stored predictions."""
    import numpy as np
    from conftest import save_png
    from frames_fixtures import prediction_of
    from PIL import Image

    from segcore.cli import main

    data = make_frames_data(tmp_path / "data")
    models = tmp_path / "models"
    for number, run_name in enumerate(("unet-a", "segnet-b")):
        folder = tmp_path / f"pred-{run_name}"
        for index, name in enumerate(FRAMES):
            truth = np.asarray(Image.open(data / "labels" / "val" / f"{name}.png"))
            save_png(folder / f"{name}.png", prediction_of(number, index, truth), "L")
        assert main(["import", str(folder), "--predictions", "--schema", "camvid11",
                     "--out", str(models / run_name)]) == 0
        assert main(["evaluate", "--run", str(models / run_name), "--data", str(data), "--split", "val",
                     "--quiet"]) == 0
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = page()
    assert sorted(grid_names(at)) == sorted(FRAMES) and not at.warning
    stored_thumbnail = next((models / "unet-a" / "eval").rglob("thumbnails/*.jpg"))
    assert stored_thumbnail.stat().st_size > 0
    at.selectbox(key="fr_truth").select("Building")
    at.selectbox(key="fr_pred").select("Sky")
    at.selectbox(key="fr_model").select("unet-a")
    run(at)
    assert sorted(grid_names(at)) == [name for i, name in enumerate(FRAMES) if i % 4 == 0]
    at = open_frame(at, "seqA_00004")
    # Stored predictions have no probabilities: no label quality, no label doubts.
    assert captions(at) == ["image", "ground truth", "unet-a prediction", "unet-a errors", "segnet-b prediction",
                            "segnet-b errors"]
    assert not at.info


def test_the_viewer_adds_the_doubts_every_run_shares_where_two_runs_stored_them():
    import numpy as np

    from app.frame_viewer import Frame, layers
    from segcore.frame_views import DOUBT_COLOUR
    from segcore.labels import get_schema

    truth = np.zeros((8, 10), np.uint8)
    first, second = np.zeros((8, 10), bool), np.zeros((8, 10), bool)
    first[2:4, 2:6], second[3:5, 4:8] = True, True
    frame = Frame(np.full((8, 10, 3), 200, np.uint8), truth, {"a": truth, "b": truth}, get_schema("camvid11"),
                  doubts={"a": first, "b": second})
    shown = layers(frame, "fill", None)
    assert list(shown)[-3:] == ["b errors", "b label doubts", "label doubts of every run"]
    shared = (shown["label doubts of every run"] == DOUBT_COLOUR).all(axis=-1)
    assert np.array_equal(shared, first & second)
    frame.doubts.pop("b")
    assert "label doubts of every run" not in layers(frame, "fill", None)


def test_the_viewer_has_an_opacity_and_a_legend_of_the_classes_shown(folders):
    at = open_frame(page(), "seqA_00004")
    legend = next(str(block.proto.body) for block in at.main.get("html") if "Sky" in str(block.proto.body))
    assert "Building" in legend and "Road" in legend and "line-through" not in legend
    fill = [image.proto.imgs[0].url for image in at.image]
    at.slider(key="fr_alpha").set_value(1.0)
    run(at)
    assert [image.proto.imgs[0].url for image in at.image][1] != fill[1]
    at.multiselect(key="fr_classes_class_seqA_00004").set_value(["Sky"])
    run(at)
    legend = next(str(block.proto.body) for block in at.main.get("html") if "Sky" in str(block.proto.body))
    assert legend.count("line-through") == legend.count("<span style=\"display:inline-flex") - 1   # all but Sky
    at.radio(key="fr_mode").set_value("outline")
    assert run(at).slider(key="fr_alpha").disabled


def test_layers_fill_at_the_chosen_opacity():
    from app.frame_viewer import TRUTH, Frame, layers
    truth = np.full((4, 6), CAMVID11.names.index("Road"), np.uint8)
    frame = Frame(np.zeros((4, 6, 3), np.uint8), truth, {}, CAMVID11)
    road = np.array(CAMVID11.classes[CAMVID11.names.index("Road")].color)
    assert (layers(frame, "fill", None, 1.0)[TRUTH] == road).all()
    assert (layers(frame, "fill", None, 0.5)[TRUTH] == np.rint(road * 0.5)).all()


def test_a_request_from_evaluation_keeps_a_run_brought_in_on_home_out_of_its_runs():
    def script():
        import streamlit as st

        from app.frame_browser import apply_request
        from app.frame_links import FramesRequest
        st.session_state["runs_brought"] = ["brought-on-home"]
        apply_request(FramesRequest("key", ("asked",), "class", (0, 1)))

    at = AppTest.from_function(script)
    at.run(timeout=30)
    assert at.session_state["fr_runs"] == ["asked"]
    assert "brought-on-home" in at.session_state["fr_runs_runs_brought"]      # pickers.pick_runs won't add it


def test_names_are_shown_as_they_are_in_markdown():
    from app.text import plain
    assert plain("seqA_00004") == "seqA_00004"                               # nothing to escape: as it was
    for name in ("x*y [z](q)_00002", "..\\..\\etc_4", "a$b$ :red[c]", "`tick`", "_lead_"):
        escaped = plain(name)
        assert all(escaped[i - 1] == "\\" for i, ch in enumerate(escaped) if ch in "*[]$:`" and i)
        assert escaped.replace("\\", "") == name.replace("\\", "")
