"""The dashboard against careless and hostile set-ups (AppTest): bad meta.json files, folders outside the configured
data folders, a read-only deployment, and a run linked in from elsewhere. The runs here have placeholder model files:
none of these checks loads a model."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_camvid_like
from segcore.labels import CAMVID11, CATEGORIES
from segcore.metrics import ConfusionMatrix, top_confusions

ROOT = Path(__file__).resolve().parents[1]
HOME, EVAL, SIDE = (str(ROOT / "pages" / name) for name in ("home.py", "evaluation.py", "side_by_side.py"))
META = {"arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [32, 48], "parameters": 1234,
        "epochs_completed": 2, "best": {"val_mean_iou": 0.3, "epoch": 1}}
BAD_META = {"lots-of-parameters": {"parameters": "lots"}, "half-epoch": {"epochs_completed": 2.5},
            "big-input": {"input_size": "big"}, "bad-schema": {"schema": {"name": "x", "classes": 3}}}


def stored_evaluation(frames=("f000", "f001"), fingerprint="ffffffff") -> dict:
    """A complete evaluation JSON as segcore.evaluate writes it (numbers from a made-up confusion matrix)."""
    counts = np.eye(11, dtype=np.int64) * 100 + 3
    classes = ConfusionMatrix(11, None, counts)
    categories = classes.fold(CAMVID11.category_ids(), len(CATEGORIES))
    dataset = {"name": "data", "path": "/somewhere/data", "layout": "camvid", "split": "val",
               "fingerprint": fingerprint}
    return {"run": "r", "schema": "camvid11", "images": len(frames), "input_size": [32, 48], "seconds": 1.0,
            "created": "2026-01-01T00:00:00", "class_level": classes.summary(CAMVID11.names),
            "category_level": categories.summary(list(CATEGORIES)), "format": 2, "dataset": dataset, "split": "val",
            "label": "data val", "resolution": "label",
            "per_image": [{"name": name, "image": f"images/val/{name}.png", "label": f"labels/val/{name}.png",
                           "pixel_accuracy": 0.9, "mean_iou": 0.5, "confusions": top_confusions(counts, 8),
                           "category_confusions": top_confusions(categories.counts, 8)} for name in frames]}


def make_run(models: Path, name: str, meta: dict | None = None, evaluation: dict | None = None) -> Path:
    run = models / name
    (run / "eval").mkdir(parents=True)
    (run / "meta.json").write_text(json.dumps(META if meta is None else meta))
    (run / "model.keras").write_bytes(b"placeholder")
    if evaluation is not None:
        key = f"{evaluation['dataset']['name']}-{evaluation['dataset']['fingerprint']}-val"
        (run / "eval" / f"{key}.json").write_text(json.dumps(evaluation))
    return run


def run_page(at: AppTest) -> AppTest:
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in at.get(kind))


def snapshot(folder: Path) -> dict:
    return {str(p): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


@pytest.fixture
def setup(tmp_path, monkeypatch):
    """Two configured data folders, one data set outside them (with a 'secret' split), two good runs."""
    data, second = make_camvid_like(tmp_path / "data"), make_camvid_like(tmp_path / "second", splits=(("val", 1),))
    outside = make_camvid_like(tmp_path / "outside", splits=(("secret", 2),))
    models = tmp_path / "models"
    for name in ("unet-good", "segnet-good"):
        make_run(models, name, evaluation=stored_evaluation())
    monkeypatch.setenv("SEGLAB_DATA_DIR", os.pathsep.join([str(data), str(second)]))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    return data, second, outside, models


def test_home_lists_bad_meta_files_as_broken_and_keeps_serving(setup):
    _, _, _, models = setup
    for name, change in BAD_META.items():
        make_run(models, name, {**META, **change})
    at = run_page(AppTest.from_file(HOME))
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["unet-good", "status"] == "ok" and table.loc["unet-good", "parameters"] == 1234
    for name, change in BAD_META.items():
        field = next(iter(change))
        assert table.loc[name, "status"].startswith(f"broken: {name}/meta.json: '{field}'"), table.loc[name, "status"]
        assert name in texts(at, "warning")
    assert "Traceback" not in texts(at, "markdown") + texts(at, "warning")


def test_home_scores_name_their_data_set_and_the_camvid_caveat(setup):
    _, _, _, models = setup
    camvid = stored_evaluation(frames=("0016E5_07959",))
    camvid["dataset"]["name"] = "camvid"
    make_run(models, "unet-camvid-like", evaluation=camvid)
    at = run_page(AppTest.from_file(HOME))
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["unet-good", "evaluated on"] == "data val (data set ffffffff), label resolution"
    assert table.loc["unet-camvid-like", "evaluated on"] == "camvid val (data set ffffffff), label resolution"
    assert table.loc["unet-good", "mIoU % (evaluation)"] == pytest.approx(
        round(100 * stored_evaluation()["class_level"]["mean_iou"], 1))
    assert table.loc["unet-good", "val mIoU % (training log)"] == 30.0
    assert "0016E5" in texts(at, "info") and "45.7" in texts(at, "info")


def test_home_scores_each_run_on_the_data_set_the_others_share(setup):
    _, _, _, models = setup        # unet-good: data val, fingerprint ffffffff
    run = make_run(models, "unet-two-vals", evaluation=stored_evaluation(fingerprint="ffffffff"))
    elsewhere = stored_evaluation(fingerprint="00000000")    # named first, and the same name: only its frames differ
    elsewhere["class_level"]["mean_iou"] = 0.123
    (run / "eval" / "data-00000000-val.json").write_text(json.dumps(elsewhere))
    alone = make_run(models, "unet-elsewhere-only", evaluation=elsewhere)
    at = run_page(AppTest.from_file(HOME))
    table = at.dataframe[0].value.set_index("run")
    shared = round(100 * stored_evaluation()["class_level"]["mean_iou"], 1)
    assert table.loc["unet-two-vals", "mIoU % (evaluation)"] == pytest.approx(shared)
    assert table.loc["unet-two-vals", "evaluated on"] == "data val (data set ffffffff), label resolution"
    assert table.loc[alone.name, "mIoU % (evaluation)"] == pytest.approx(12.3)
    assert table.loc[alone.name, "evaluated on"] == "data val (data set 00000000), label resolution"


def test_pages_never_read_a_folder_outside_the_configured_ones(setup):
    data, second, outside, _ = setup
    at = AppTest.from_file(EVAL)
    at.session_state["ev_data"] = str(outside)            # as if a crafted request named another folder
    run_page(at)
    assert not at.text_input                               # there is no free path to type
    assert at.selectbox(key="ev_data").options == [str(data), str(second)]
    assert at.selectbox(key="ev_data").value == str(data)
    assert "secret" not in at.selectbox(key="ev_split").options
    assert str(outside) not in texts(at, "markdown") + texts(at, "error") + texts(at, "info")

    at = AppTest.from_file(SIDE)
    at.session_state["sbs_source"] = "Data folder"
    at.session_state["sbs_data"] = str(outside)
    run_page(at)
    assert at.selectbox(key="sbs_data").value == str(data)
    assert "secret" not in at.selectbox(key="sbs_split").options

    at = AppTest.from_file(str(ROOT / "pages" / "augmentation_lab.py"))
    at.session_state["lab_data"] = str(outside)
    run_page(at)
    assert at.selectbox(key="lab_data").options == [str(data), str(second)]
    assert at.selectbox(key="lab_data").value == str(data)
    assert "secret" not in at.sidebar.selectbox[1].options


def test_read_only_mode_offers_no_evaluation_and_writes_nothing(setup, monkeypatch):
    _, _, _, models = setup
    monkeypatch.setenv("SEGLAB_READ_ONLY", "1")
    before = snapshot(models)
    at = run_page(AppTest.from_file(EVAL))
    assert "read-only" in texts(at, "info")
    assert not [b for b in at.button if b.key == "ev_go"]
    assert not [s for s in at.selectbox if s.key == "ev_data"]
    assert at.dataframe[0].value.loc["unet-good", "mean_iou"] > 0          # the stored evaluations still show
    assert snapshot(models) == before


def test_evaluation_page_labels_scores_and_says_when_frames_are_not_here(setup):
    at = run_page(AppTest.from_file(EVAL))
    assert at.radio(key="ev_level").options == ["classes", "7 categories"]
    assert "data val, 2 images, scored at each label's own resolution, model input 32x48" in texts(at, "caption")
    info = texts(at, "info")
    assert "Frame pictures are not available here" in info and "ffffffff" in info
    assert at.selectbox(key="ev_key").options == ["data val (data set ffffffff)"]


def test_a_run_linked_in_from_elsewhere_is_broken_not_offered(setup, tmp_path):
    _, _, _, models = setup
    foreign = make_run(tmp_path / "elsewhere", "unet-foreign", evaluation=stored_evaluation())
    (models / "unet-linked").symlink_to(foreign, target_is_directory=True)
    at = run_page(AppTest.from_file(EVAL))
    assert "unet-linked" not in at.multiselect(key="ev_runs").options
    assert "links outside the models folder to" in texts(at, "markdown")
    home = run_page(AppTest.from_file(HOME)).dataframe[0].value.set_index("run")
    assert home.loc["unet-linked", "status"].startswith("broken: links outside the models folder")


@pytest.mark.parametrize("damage", ["no names", "ragged matrix", "not a list of frames", "short unpredicted"])
def test_an_incomplete_evaluation_is_an_error_line_not_a_traceback(setup, damage):
    _, _, _, models = setup
    evaluation = stored_evaluation()
    if damage == "no names":
        del evaluation["class_level"]["names"]
    elif damage == "ragged matrix":
        evaluation["category_level"]["confusion_matrix"][0].pop()
    elif damage == "short unpredicted":
        evaluation["class_level"]["unpredicted"] = [5, 1]
    else:
        evaluation["per_image"] = "lots"
    for name in ("unet-good", "segnet-good"):
        for stale in (models / name / "eval").glob("*.json"):
            stale.unlink()
    make_run(models, "unet-damaged", evaluation=evaluation)
    at = AppTest.from_file(EVAL)
    at.session_state["ev_runs"] = ["unet-damaged"]
    run_page(at)
    assert "is not a complete evaluation" in texts(at, "error")


def test_damaged_frame_extras_leave_the_pages_serving(setup):
    """A frame's pixels-without-a-class pairs or a level's trimap counts edited by hand: the Evaluation page leaves
    out what it can't read, the Frames page says in one line what to do."""
    _, _, _, models = setup
    evaluation = stored_evaluation()
    evaluation["format"] = 3
    for record in evaluation["per_image"]:
        record["confusion"], record["unpredicted"] = [[0, 0, 100]], [[99, 5]]
    evaluation["class_level"]["trimap"] = {"widths": [1, 2], "support": "lots"}
    make_run(models, "unet-edited", evaluation=evaluation)
    at = AppTest.from_file(EVAL)
    at.session_state["ev_runs"] = ["unet-edited"]
    run_page(at)
    assert "Near the edges" not in texts(at, "subheader")          # the trimap it can't read is left out
    assert "f000: unpredicted entry [99, 5] is not [true id, pixels]" in texts(at, "error") and "--overwrite" in \
        texts(at, "error")
    frames = AppTest.from_file(str(Path(EVAL).parent / "frames.py"))
    frames.session_state["fr_runs"] = ["unet-edited"]
    run_page(frames)
    assert "unpredicted entry [99, 5] is not [true id, pixels]" in texts(frames, "error")
    assert "--overwrite" in texts(frames, "error")


def test_evaluation_problem_accepts_what_evaluate_writes():
    from segcore.evaluations import evaluation_problem
    assert evaluation_problem(stored_evaluation()) is None
    assert evaluation_problem([]) == "not a JSON object"


def test_run_and_data_folder_names_are_shown_as_they_are(setup, tmp_path, monkeypatch):
    _, _, _, models = setup
    broken = models / "br_*oken*_[x](x.com)"
    broken.mkdir()
    (broken / "meta.json").write_text("{not json")
    odd_data = tmp_path / "d_*x*"
    odd_data.mkdir()
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(odd_data))
    at = run_page(AppTest.from_file(HOME))
    warnings = texts(at, "warning")
    assert r"br\_\*oken\*\_\[x\](x.com)" in warnings and "[x](x.com)" not in warnings.replace(r"\[x\]", "")
    assert r"d\_\*x\*" in warnings
