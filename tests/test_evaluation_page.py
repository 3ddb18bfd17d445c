"""The Evaluation page as a projection of stored data (AppTest): format 3 evaluations draw the frames from the
stored prediction PNGs, show boundary IoU, calibration and the per-class report; format 2 ones say how to store
what is missing; no model runs and TensorFlow is never imported (checked in a fresh process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from evaluation_fixtures import BUILDING, FRAMES, ROAD, RUNS, SKY, eval_json, make_data, make_models
from streamlit.testing.v1 import AppTest

from segcore import compare
from segcore import eval_records
from segcore.calibration import expected_calibration_error
from segcore.labels import CAMVID11

ROOT = Path(__file__).resolve().parents[1]
EVAL = str(ROOT / "pages" / "evaluation.py")


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("evaluation-page") / "data")


@pytest.fixture(scope="module")
def format3(data, tmp_path_factory):
    return make_models(tmp_path_factory.mktemp("models3"), data, fmt=3)


@pytest.fixture(scope="module")
def format2(data, tmp_path_factory):
    return make_models(tmp_path_factory.mktemp("models2"), data, fmt=2)


def open_page(monkeypatch, data: Path, models: Path) -> AppTest:
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = AppTest.from_file(EVAL)
    at.run(timeout=60)
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in at.get(kind))


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def load(models: Path, run: str) -> dict:
    return json.loads(eval_json(models, run).read_text())


def test_format3_scores_show_boundary_iou_and_calibration_from_the_file(monkeypatch, data, format3):
    at = open_page(monkeypatch, data, format3)
    assert not at.error
    scores = at.dataframe[0].value
    for run in RUNS:
        result = load(format3, run)
        assert scores.loc[run, "mean_iou"] == round(100 * result["class_level"]["mean_iou"], 1)
        assert scores.loc[run, "mean_boundary_iou"] == round(
            100 * eval_records.mean_boundary_score(result["class_level"]), 1)
        assert scores.loc[run, "ece"] == round(100 * expected_calibration_error(result["calibration"]), 1)
    assert "not stored" not in texts(at, "caption")
    reliability = [spec for spec in charts(at) if "ECE" in spec["layout"].get("title", {}).get("text", "")]
    assert [spec["layout"]["title"]["text"].split(":")[0] for spec in reliability] == list(RUNS)

    report = at.dataframe[1].value
    assert "boundary IoU % · unet-a" in report.columns and "support px · segnet-b" in report.columns
    boundary = eval_records.boundary_scores(load(format3, "segnet-b")["class_level"])
    assert report["boundary IoU % · segnet-b"].tolist()[:3] == pytest.approx([100 * b for b in boundary[:3]],
                                                                             abs=0.051)
    labels = [button.proto.label for button in at.main.get("download_button")]
    assert labels == ["Download this comparison as a review page (HTML)", "Download the report (CSV)"]


def test_format3_frames_behind_a_confusion_come_from_the_stored_predictions(monkeypatch, data, format3):
    at = open_page(monkeypatch, data, format3)
    result = load(format3, "unet-a")
    true_id, pred_id = compare.largest_confusion(result["class_level"])
    picked = (at.selectbox(key="ev_truth_class_level").value, at.selectbox(key="ev_pred_class_level").value)
    assert picked == (true_id, pred_id)
    expected, partial = compare.frames_for_confusion(result, "class", true_id, pred_id)
    assert expected and not partial
    shown = captions(at)
    for record in expected[:3]:
        assert f"unet-a: {record['pixels']} px of this confusion" in shown      # drawn from the stored PNG
    assert at.button(key="ev_open_cell").proto.label == f"Open these {len(expected)} frames in Frames"

    # The picked cell is outlined on the picked model's matrix only.
    heatmaps = [spec for spec in charts(at) if spec["data"][0]["type"] == "heatmap"]
    assert [len(spec["layout"].get("shapes", [])) for spec in heatmaps] == [1, 0]
    shape = heatmaps[0]["layout"]["shapes"][0]
    assert (shape["x0"], shape["y0"]) == (pred_id - 0.5, true_id - 0.5)
    assert heatmaps[0]["layout"]["width"] >= 11 * 50                        # 11 classes, readable cells

    # A small confusion outside a frame's 8 largest is found too (format 3 stores every cell).
    at.selectbox(key="ev_model").set_value("segnet-b")
    at.run(timeout=60)
    segnet = load(format3, "segnet-b")
    cells = {(t, p) for record in segnet["per_image"] for t, p, _ in record["confusion"] if t != p}
    top8 = {(t, p) for record in segnet["per_image"] for t, p, _ in record["confusions"]}
    hidden = sorted(cells - top8)[0]
    at.selectbox(key="ev_truth_class_level").set_value(hidden[0])
    at.selectbox(key="ev_pred_class_level").set_value(hidden[1])
    at.run(timeout=60)
    found, _ = compare.frames_for_confusion(segnet, "class", *hidden)
    assert found and f"{len(found)} frames have" in texts(at, "markdown")
    assert f"segnet-b: {found[0]['pixels']} px of this confusion" in captions(at)
    heatmaps = [spec for spec in charts(at) if spec["data"][0]["type"] == "heatmap"]
    assert [len(spec["layout"].get("shapes", [])) for spec in heatmaps] == [0, 1]


def test_format3_worst_frames_show_every_run_without_the_model(monkeypatch, data, format3):
    at = open_page(monkeypatch, data, format3)
    table = at.dataframe[-1].value
    assert set(table.index) == set(FRAMES) and at.selectbox(key="ev_frame").value == table.index[0]
    assert {"image", "ground truth", *RUNS} <= set(captions(at)[-4:])
    legend = str(at.main.get("html")[-1].proto.body)            # the colours of the pictures above it
    assert all(name in legend for name in CAMVID11.names) and "#804080" in legend
    assert at.button(key="ev_open_all").proto.label == "Browse all frames"
    assert at.button(key="ev_open_doubts").proto.label == "Review likely label errors"

    # The data set is not here: the stored thumbnail and prediction still show, with the one-line reason.
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data.parent / "elsewhere"))
    (data.parent / "elsewhere").mkdir(exist_ok=True)
    at = open_page(monkeypatch, data.parent / "elsewhere", format3)
    assert "Frame pictures are not available here" in texts(at, "info")
    assert "ground truth" not in captions(at) and {"thumbnail", *RUNS} <= set(captions(at))


def test_a_damaged_stored_prediction_is_one_error_line(monkeypatch, data, format3, tmp_path):
    import shutil

    models = tmp_path / "models"
    shutil.copytree(format3, models)
    for path in (models / "unet-a" / "eval").rglob("predictions/*.png"):
        path.write_bytes(b"not a png")
    at = open_page(monkeypatch, data, models)
    errors = texts(at, "error")
    assert "stored prediction can't be read" in errors and "--overwrite" in errors
    assert "Traceback" not in errors


def test_format2_says_how_to_store_frames_instead_of_running_a_model(monkeypatch, data, format2):
    at = open_page(monkeypatch, data, format2)
    assert not at.error
    info = texts(at, "info")
    assert "stores no predicted frames (format 2)" in info and "--overwrite" in info
    assert info.count("stores no predicted frames") == 2            # once for the confusion, once for the worst frame
    assert not [c for c in captions(at) if c.endswith("px of this confusion")]
    notes = texts(at, "caption")
    assert "Boundary IoU is not stored for unet-a, segnet-b" in notes
    assert "Calibration is not stored for unet-a, segnet-b (evaluation format 2" in notes
    assert np.isnan(at.dataframe[0].value.loc["unet-a", "ece"])
    assert not any("boundary" in column for column in at.dataframe[1].value.columns)
    # Only the top-8 confusions are searchable, and the page says so.
    assert "among their 8 largest confusions" in texts(at, "markdown")


SCRIPT = """
import sys
from streamlit.testing.v1 import AppTest
at = AppTest.from_file(sys.argv[1])
at.run(timeout=60)
at.radio(key="ev_level").set_value("category")
at.run(timeout=60)
assert not at.exception, [e.value for e in at.exception]
assert len(at.image) >= int(sys.argv[2]), "no frame pictures were drawn"
print("loaded:", sorted(m for m in ("tensorflow", "keras", "segcore.predict", "segcore.backends.keras")
                         if m in sys.modules))
"""


@pytest.mark.parametrize("fmt", [3, 2])
def test_the_page_never_imports_tensorflow(fmt, data, format3, format2):
    """In a fresh interpreter (other tests' imports can't hide it): both levels drawn, frames included."""
    models = format3 if fmt == 3 else format2
    env = {**os.environ, "SEGLAB_DATA_DIR": str(data), "SEGLAB_MODELS_DIR": str(models),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    pictures = 4 if fmt == 3 else 0          # format 2: a line on how to store them, never a model run
    result = subprocess.run([sys.executable, "-c", SCRIPT, EVAL, str(pictures)], capture_output=True, text=True,
                            env=env, cwd=ROOT, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "loaded: []" in result.stdout, result.stdout


def test_stored_trimap_counts_draw_the_curves_near_the_edges(monkeypatch, data, format3, tmp_path):
    import shutil

    import numpy as np

    from segcore.trimap import TrimapCounts
    assert "Near the edges (trimap)" not in texts(open_page(monkeypatch, data, format3), "subheader")
    models = Path(shutil.copytree(format3, tmp_path / "models", symlinks=True))
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 11, (20, 30)).astype(np.uint8)
    for run in RUNS:
        counts = TrimapCounts(11, 11)
        counts.add(truth, np.where(rng.random(truth.shape) < 0.7, truth, 0).astype(np.uint8))
        result = load(models, run)
        result["class_level"]["trimap"] = counts.to_json()
        eval_json(models, run).write_text(json.dumps(result))
    at = open_page(monkeypatch, data, models)
    assert "Near the edges (trimap)" in texts(at, "subheader")
    titles = [spec["layout"].get("xaxis", {}).get("title", {}).get("text", "") for spec in charts(at)]
    assert any("from a ground-truth edge" in title for title in titles), titles


def test_a_click_on_one_matrix_counts_while_another_still_holds_an_older_selection(monkeypatch, data, format3):
    at = open_page(monkeypatch, data, format3)
    at.selectbox(key="ev_model").set_value("segnet-b")
    at.selectbox(key="ev_truth_class_level").set_value(ROAD)
    at.selectbox(key="ev_pred_class_level").set_value(SKY)
    at.run()
    # A click on segnet-b's outlined cell: its figure does not change, so its chart keeps that selection...
    at.session_state["ev_cm_segnet-b_class_level"] = {"selection": {"points": [{"x": "Sky", "y": "Road"}]}}
    at.run()
    # ...while a click on unet-a's matrix must still move the picker there.
    at.session_state["ev_cm_unet-a_class_level"] = {"selection": {"points": [{"x": "Road", "y": "Building"}]}}
    at.run()
    assert not at.exception
    picked = (at.selectbox(key="ev_model").value, at.selectbox(key="ev_truth_class_level").value,
              at.selectbox(key="ev_pred_class_level").value)
    assert picked == ("unet-a", BUILDING, ROAD)
    at.run()                                     # nothing clicked since: the picker stays
    assert at.selectbox(key="ev_model").value == "unet-a"
