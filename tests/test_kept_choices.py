"""Choices a visitor made stay made: across reruns, a visit to another page, a level switched and back, a run
folder appearing, another data folder (AppTest)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from evaluation_fixtures import make_data, make_models

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "pages"


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    data = make_data(tmp_path_factory.mktemp("kept") / "data")
    return data, make_models(tmp_path_factory.mktemp("kept-models"), data, fmt=3)


def run(at: AppTest) -> AppTest:
    at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_training_curves_keep_the_runs_and_metric_chosen(tmp_path, monkeypatch):
    models = tmp_path / "models"
    for name in ("unet-camvid", "segnet-camvid", "unet-camvid-full"):
        shutil.copytree(ROOT / "models" / name, models / name, ignore=shutil.ignore_patterns("*.keras", "eval"))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = run(AppTest.from_file(str(PAGES / "training_curves.py")))
    at.multiselect(key="curves_runs").set_value(["unet-camvid", "segnet-camvid"])
    at.selectbox(key="curves_metric").set_value("loss")
    run(at)
    shutil.copytree(models / "unet-camvid", models / "unet-new")       # a training's new run folder
    run(at)
    assert at.multiselect(key="curves_runs").value == ["unet-camvid", "segnet-camvid"]
    assert at.selectbox(key="curves_metric").value == "loss"
    shutil.rmtree(models / "segnet-camvid")                             # a chosen run goes: the other stays
    run(at)
    assert at.multiselect(key="curves_runs").value == ["unet-camvid"]


def test_evaluation_keeps_its_level_and_cell_across_a_level_switch_and_another_page(stored, monkeypatch):
    data, models = stored
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(data))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = run(AppTest.from_file(str(ROOT / "streamlit_app.py")))
    run(at.switch_page("pages/evaluation.py"))
    truth, pred = at.selectbox(key="ev_truth_class_level"), at.selectbox(key="ev_pred_class_level")
    picked = (len(truth.options) - 1, 0)
    assert picked != (truth.value, pred.value)
    truth.set_value(picked[0])
    pred.set_value(picked[1])
    run(at)
    at.radio(key="ev_level").set_value("category")
    run(at)
    at.radio(key="ev_level").set_value("class")
    run(at)
    assert (at.selectbox(key="ev_truth_class_level").value, at.selectbox(key="ev_pred_class_level").value) == picked
    at.radio(key="ev_level").set_value("category")
    run(at)
    run(at.switch_page("pages/frames.py"))
    run(at.switch_page("pages/evaluation.py"))
    assert at.radio(key="ev_level").value == "category"


def test_side_by_side_starts_another_data_folder_on_its_first_frame(tmp_path, monkeypatch):
    from conftest import make_camvid_like
    first = make_camvid_like(tmp_path / "first", splits=(("val", 3),))
    second = tmp_path / "second"
    shutil.copytree(first, second)
    for folder in ("images", "labels"):                                  # other frame names
        for path in (second / folder / "val").iterdir():
            path.rename(path.with_name("other_" + path.name))
    monkeypatch.setenv("SEGLAB_DATA_DIR", f"{first}{':'}{second}")
    from segcore.importing import import_model
    from test_onnx_import import foreign_onnx
    import_model(foreign_onnx(tmp_path / "foreign.onnx"), tmp_path / "models" / "onnx-a", schema="camvid11")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "models"))
    at = run(AppTest.from_file(str(PAGES / "side_by_side.py")))
    if not at.radio(key="sbs_source").value == "Data folder":
        at.radio(key="sbs_source").set_value("Data folder")
    run(at)
    at.multiselect(key="sbs_frames_val").set_value(["f001", "f002"])
    run(at)
    at.selectbox(key="sbs_data").set_value(str(second))
    run(at)
    assert at.multiselect(key="sbs_frames_val").value == ["other_f000"]
    at.multiselect(key="sbs_frames_val").set_value([])                  # emptied by the visitor: stays empty
    run(at)
    assert at.multiselect(key="sbs_frames_val").value == []
