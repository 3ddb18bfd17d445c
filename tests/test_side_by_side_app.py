"""Side by Side with AppTest on ONNX runs (no TensorFlow, so fast): masks paired by name, ground truth in another
schema at category level, confidence view and threshold, runs of stored predictions left out with a reason."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from segcore.importing import import_model
from segcore.importing_predictions import import_predictions
from segcore.labels import CAMVID11, CITYSCAPES
from test_onnx_import import foreign_onnx, sample_image

SIDE = str(Path(__file__).resolve().parents[1] / "pages" / "side_by_side.py")
SIZE = (40, 60)


def png(name: str, array: np.ndarray) -> tuple[str, bytes, str]:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return name, buffer.getvalue(), "image/png"


@pytest.fixture
def models(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    onnx_file = foreign_onnx(tmp_path / "foreign.onnx")
    for name in ("onnx-a", "onnx-b"):
        import_model(onnx_file, folder / name, schema="camvid11", preprocess="torch")
    stored = tmp_path / "preds"
    stored.mkdir()
    Image.fromarray(np.zeros(SIZE, np.uint8)).save(stored / "street.png")
    import_predictions(stored, folder / "stored-preds", schema="camvid11")
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(folder))
    monkeypatch.setenv("SEGLAB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SEGLAB_READ_ONLY", raising=False)
    return folder


def run(at: AppTest) -> AppTest:
    at.run(timeout=120)
    assert not at.exception, [e.value for e in at.exception]
    return at


def page() -> AppTest:
    at = run(AppTest.from_file(SIDE))
    at.multiselect(key="sbs_runs").set_value(["onnx-a", "onnx-b"])
    return run(at)


def upload(at: AppTest, label: str, files) -> AppTest:
    next(u for u in at.file_uploader if u.label.startswith(label)).set_value(files)
    return run(at)


def texts(at: AppTest, kind: str) -> str:
    return "\n".join(str(e.value) for e in at.get(kind))


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def test_stored_prediction_runs_are_left_out_with_one_line(models):
    at = run(AppTest.from_file(SIDE))
    assert "stored-preds" not in at.multiselect(key="sbs_runs").options
    assert "Not offered here: stored-preds (stored predictions can't label new images" in texts(at, "info")


def test_every_image_is_scored_against_the_mask_named_after_it(models):
    from segcore.predict import Predictor
    predictor = Predictor(models / "onnx-a")
    images = {f"f{i}.png": sample_image(i, SIZE) for i in range(3)}
    truths = {name: predictor.predict(image).labels for name, image in images.items()}
    wrong = (truths["f1.png"] + 1) % CAMVID11.num_classes        # every pixel another class: 0 % for f1
    at = upload(page(), "Images", [png(name, image) for name, image in images.items()])
    at = upload(at, "Ground-truth", [png("f0_mask.png", truths["f0.png"]), png("f1_L.png", wrong),
                                     png("nobody_mask.png", truths["f2.png"])])
    tables = [frame.value for frame in at.dataframe if "mIoU %" in frame.value.columns]
    assert len(tables) == 2                                       # f0 and f1 scored; f2 has no mask
    assert tables[0].loc["onnx-a", "pixel acc %"] == pytest.approx(100.0)       # its own labels as truth
    assert tables[1].loc["onnx-a", "pixel acc %"] == pytest.approx(0.0)
    assert "No image for mask(s) nobody_mask.png" in texts(at, "warning")
    # The second upload did not stop the first from being scored (the old page scored one image only).
    assert sum("mIoU" in caption for caption in captions(at)) == 4


def test_a_mask_of_another_schema_scores_at_category_level_only(models):
    image = sample_image(5, SIZE)
    from segcore.predict import Predictor
    labels = Predictor(models / "onnx-a").predict(image).labels
    # The same scene labelled in Cityscapes labelIds: each CamVid class as a Cityscapes class of its category.
    raw_id = {train: raw for raw, train in sorted(CITYSCAPES.raw_to_train.items(), reverse=True) if train != 255}
    by_category = {cls.category: raw_id[cls.train_id] for cls in reversed(CITYSCAPES.classes)}
    lookup = np.zeros(256, np.uint8)
    lookup[:CAMVID11.num_classes] = [by_category[cls.category] for cls in CAMVID11.classes]
    cityscapes_truth = lookup[labels]
    at = upload(page(), "Images", png("street.png", image))
    at = upload(at, "Ground-truth", png("street_gtFine_labelIds.png", cityscapes_truth))
    at.selectbox(key="sbs_mask_schema").set_value("cityscapes")
    run(at)
    assert "only the 7 categories they share compare" in texts(at, "caption")    # class level: refused, with why
    assert "mIoU %" not in at.dataframe[0].value.columns
    at.radio(key="sbs_level").set_value("category")
    run(at)
    table = at.dataframe[0].value
    assert table.loc["onnx-a", "pixel acc %"] == pytest.approx(100.0)            # same categories everywhere
    assert "only the 7 categories" not in texts(at, "caption")
    said = texts(at, "caption")                  # the scores say what they were computed on
    assert "(mask read as cityscapes), at 7-category level" in said and any(
        c.startswith("onnx-a: category mIoU 100.0%") for c in captions(at))


def test_confidence_view_and_threshold_grey_out_pixels(models):
    at = upload(page(), "Images", png("street.png", sample_image(9, SIZE)))
    before = {c: i.value[0] for i in at.image for c in i.captions}
    at.toggle(key="sbs_confidence").set_value(True)
    run(at)
    assert any(c.startswith("onnx-a confidence") for c in captions(at))
    assert any(c.startswith("onnx-a entropy") for c in captions(at))
    assert "mean confidence" in texts(at, "caption")
    at.slider(key="sbs_threshold").set_value(1.0)                # every pixel is below 100 %: all greyed
    run(at)
    assert "100.0% of pixels below 100% confidence" in texts(at, "caption")
    assert {c: i.value[0] for i in at.image for c in i.captions}["onnx-a"] != before["onnx-a"]


def test_with_confidence_a_masks_label_doubts_and_quality_show_per_model_and_for_all(models):
    from segcore.label_quality import mask_doubts
    from segcore.predict import Predictor
    predictor = Predictor(models / "onnx-a")
    image = sample_image(7, SIZE)
    result = predictor.predict(image, keep_scores=True)
    mask = result.labels.copy()
    mask[:, : SIZE[1] // 2] = (mask[:, : SIZE[1] // 2] + 1) % CAMVID11.num_classes   # left half relabelled
    expected = mask_doubts(predictor.probabilities(result.scores), mask, CAMVID11, CAMVID11)
    at = upload(page(), "Images", png("street.png", image))
    at = upload(at, "Ground-truth", png("street_mask.png", mask))
    assert "label quality %" not in at.dataframe[0].value.columns                  # only with confidence on
    at.toggle(key="sbs_confidence").set_value(True)
    run(at)
    table = at.dataframe[0].value
    assert table.loc["onnx-a", "label quality %"] == pytest.approx(100 * expected.quality, abs=0.02)
    assert table.loc["onnx-a", "label quality %"] == table.loc["onnx-b", "label quality %"]     # the same model
    assert any(c.startswith("onnx-a label doubts: the mask's pixels it confidently rejects, by class")
               for c in captions(at))
    shared = next(c for c in captions(at) if c.startswith("label doubts of every model"))
    assert f"{expected.contradicted.mean():.2%} of the image" in shared
    # At the 7 categories the doubts, the quality beside the category mIoU and the confidence are the categories'.
    by_category = mask_doubts(predictor.probabilities(result.scores), mask, CAMVID11, CAMVID11, level="category")
    at.radio(key="sbs_level").set_value("category")
    run(at)
    assert at.dataframe[0].value.loc["onnx-a", "label quality %"] == pytest.approx(100 * by_category.quality,
                                                                                   abs=0.02)
    assert any(c.startswith("onnx-a label doubts: the mask's pixels it confidently rejects, by category")
               for c in captions(at))


def test_at_category_level_a_pixels_confidence_is_the_drawn_categorys_probability(models):
    import cv2
    from app import predictions
    from segcore.predict import Predictor
    from segcore.runs import open_run
    predictor, run_ = Predictor(models / "onnx-a"), open_run(models / "onnx-a")
    image = sample_image(9, SIZE)
    prediction = predictor.predict(image, keep_scores=True)
    categories = predictor.probabilities(prediction.scores) @ CAMVID11.category_fold()
    drawn = CAMVID11.to_categories(prediction.labels)        # the category of the top class, as the overlay shows
    planes = cv2.resize(categories, SIZE[::-1], interpolation=cv2.INTER_LINEAR).reshape(*SIZE, -1)
    expected = np.take_along_axis(planes, drawn[..., None].astype(np.int64), axis=-1)[..., 0]
    by_class = predictions.confidence(run_, image)[0].confidence
    by_category = predictions.confidence(run_, image, level="category")[0].confidence
    np.testing.assert_allclose(by_category, expected, atol=1e-5)
    assert (planes.max(axis=-1) > expected + 0.01).any()     # the drawn category is not always the most probable
    assert (by_category > by_class + 0.01).any()             # a category sums its classes' probabilities


def test_test_time_augmentation_is_chosen_for_every_model_and_named_beside_its_timing(models):
    at = upload(page(), "Images", png("street.png", sample_image(3, SIZE)))
    assert at.selectbox(key="sbs_tta").value is None                      # each run's own: none for these
    assert not any("test-time flip" in c for c in texts(at, "caption").splitlines())
    plain = next(i.value[0] for i in at.image if "onnx-a" in i.captions)
    at.selectbox(key="sbs_tta").set_value("flip")
    run(at)
    timings = [c for c in texts(at, "caption").splitlines() if " ms model · " in c]
    assert len(timings) == 2 and all(c.endswith("· test-time flip") for c in timings), timings
    assert next(i.value[0] for i in at.image if "onnx-a" in i.captions) is not plain
    at.selectbox(key="sbs_tta").set_value("multiscale")
    run(at)
    errors = [str(e.value) for e in at.error]
    # The imported ONNX model has a fixed input size: multi-scale is refused per model, with what to do instead.
    assert len(errors) == 2 and all("declares a fixed input size" in e for e in errors), errors
    assert all(e.endswith("Choose another test-time augmentation.") for e in errors), errors


def test_with_confidence_on_each_model_runs_once_per_image(models, monkeypatch):
    from segcore.predict import Predictor
    calls = []
    original = Predictor.predict

    def counted(self, image, **options):
        calls.append((self.name, options.get("keep_scores", False)))
        return original(self, image, **options)

    monkeypatch.setattr(Predictor, "predict", counted)
    at = page()
    at.toggle(key="sbs_confidence").set_value(True)
    run(at)
    upload(at, "Images", [png(f"c{i}.png", sample_image(20 + i, SIZE)) for i in range(2)])
    assert sorted(calls) == [("onnx-a", True)] * 2 + [("onnx-b", True)] * 2      # labels and confidence: one pass
    assert "mean confidence" in texts(at, "caption")


def test_choosing_a_runs_own_test_time_augmentation_reuses_its_prediction(models, monkeypatch):
    from segcore.predict import Predictor
    calls = []
    original = Predictor.predict

    def counted(self, image, **options):
        calls.append(self.tta)
        return original(self, image, **options)

    monkeypatch.setattr(Predictor, "predict", counted)
    at = upload(page(), "Images", png("street.png", sample_image(30, SIZE)))
    assert calls == ["none", "none"]                          # the imported runs' own: no augmentation
    at.selectbox(key="sbs_tta").set_value("none")
    run(at)
    assert calls == ["none", "none"]                          # the same predictions, from the cache
    at.selectbox(key="sbs_tta").set_value("flip")
    run(at)
    assert calls == ["none", "none", "flip", "flip"]


def test_a_model_that_fails_to_load_is_one_error_per_image_and_the_other_model_still_shows(models):
    (models / "onnx-b" / "model.onnx").write_bytes(b"not an onnx graph")
    images = [png(f"f{i}.png", sample_image(i, SIZE)) for i in range(2)]
    at = upload(page(), "Images", images)
    errors = [str(e.value) for e in at.error]
    assert len(errors) == 2 and all(e.startswith("onnx-b: model.onnx can't be loaded") for e in errors), errors
    assert all("Retrain the run or choose another one" in e for e in errors)
    assert captions(at).count("onnx-a") == 2                      # onnx-a's mask of each image


def test_an_edited_meta_json_is_served_on_the_next_rerun_without_a_restart(models):
    import json
    at = upload(page(), "Images", [png("f0.png", sample_image(0, SIZE))])
    assert not any("test-time flip" in caption for caption in texts(at, "caption").splitlines())
    meta_path = models / "onnx-a" / "meta.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "tta": "flip"}))
    at = run(at)
    flipped = [line for line in texts(at, "caption").splitlines() if "test-time flip" in line]
    assert len(flipped) == 1, flipped                                       # onnx-a's timing line only


def test_a_colour_picked_in_the_sidebar_draws_every_models_legend(models):
    at = upload(page(), "Images", [png("street.png", sample_image(0, SIZE))])
    legends = [str(block.proto.body) for block in at.main.get("html")]
    shown = [name for name in CAMVID11.names if all(f"</span>{name} " in legend for legend in legends)]
    assert len(legends) == 2 and shown and "#ff00ff" not in "".join(legends)
    at.sidebar.selectbox(key="cc_class_camvid11").select(shown[0])
    at = run(at)
    picker = next(p for p in at.sidebar.color_picker if p.key.startswith("cc_pick"))
    assert picker.label == f"Colour of {shown[0]}"
    picker.set_value("#ff00ff")
    at = run(at)
    assert at.session_state["class_colours"] == {"camvid11": {shown[0]: (255, 0, 255)}}
    assert all("#ff00ff" in str(block.proto.body) for block in at.main.get("html"))


def test_uploads_past_the_pixel_budget_are_named_and_not_run(models, monkeypatch):
    """A few small files of huge frames would each take gigabytes to predict: the page runs a budget of pixels."""
    from app import image_sources
    monkeypatch.setattr(image_sources, "MAX_SHOWN_PIXELS", 2 * SIZE[0] * SIZE[1])     # two frames' worth
    at = upload(page(), "Images", [png(f"f{i}.png", sample_image(i, SIZE)) for i in range(4)])
    shown = [e.value for e in at.subheader]
    assert shown == ["f0.png", "f1.png"], shown
    assert "Not shown: f2.png and the uploads after it" in texts(at, "warning")


def test_label_quality_of_a_model_of_another_schema_is_not_put_beside_class_level_ones(models, tmp_path):
    import_model(foreign_onnx(tmp_path / "wide.onnx", classes=19), models / "onnx-cs", schema="cityscapes",
                 preprocess="torch")
    at = run(AppTest.from_file(SIDE))
    at.multiselect(key="sbs_runs").set_value(["onnx-a", "onnx-cs"])
    at = upload(run(at), "Images", png("street.png", sample_image(7, SIZE)))
    at = upload(at, "Ground-truth", png("street_mask.png", np.zeros(SIZE, np.uint8)))
    at.toggle(key="sbs_confidence").set_value(True)
    table = run(at).dataframe[0].value
    assert not pd.isna(table.loc["onnx-a", "label quality %"])
    assert pd.isna(table.loc["onnx-cs", "label quality %"])      # measured on the categories: not this column
    from segcore.runs import open_run
    height, width = open_run(models / "onnx-a").input_size
    assert height != width                                              # the input's sides, as the image's
    assert f"onnx-a input {width}×{height}, no test-time augmentation" in texts(at, "caption")
