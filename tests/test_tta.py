"""Test-time augmentation (`Predictor(tta=...)`, `--tta`, meta.json "tta"): the mirrored frame's probabilities are
mapped back and averaged with the frame's own; evaluations record what they were made with."""
from __future__ import annotations

import json

import numpy as np
import pytest

from segcore import frames, runs
from segcore.labels import CAMVID11
from segcore.predict import Predictor
from test_hardening import one_error_line

SIZE = (12, 16)


class ShiftingBackend:
    """Not mirror-symmetric: class c's logit is the red channel shifted c pixels to the right (wrapping)."""

    name, schema, input_size, output_kind, engine = "shifting", CAMVID11, SIZE, frames.LOGITS, "test"

    def forward(self, batch: np.ndarray) -> np.ndarray:
        red = batch[..., 0] / 32.0
        return np.stack([np.roll(red, shift, axis=2) for shift in range(CAMVID11.num_classes)], axis=-1)


def predictor(tmp_path, tta=None, meta_tta=None) -> Predictor:
    meta = {"schema": CAMVID11.to_dict(), "input_size": list(SIZE)}
    if meta_tta is not None:
        meta["tta"] = meta_tta
    return Predictor(runs.Run(tmp_path, meta), backend=ShiftingBackend(), tta=tta)


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)   # the model's own size


def test_flip_averages_the_probabilities_of_the_frame_and_of_its_mirror_mapped_back(tmp_path):
    backend, frame = ShiftingBackend(), image()
    own = frames.probabilities(backend.forward(frame[None].astype(np.float32))[0], frames.LOGITS)
    mirrored = frames.probabilities(backend.forward(frame[None, :, ::-1].astype(np.float32))[0], frames.LOGITS)
    expected = (own + mirrored[:, ::-1]) / 2
    flipped = predictor(tmp_path, tta="flip").predict(frame, keep_scores=True)
    np.testing.assert_allclose(flipped.scores, expected, atol=1e-6)
    assert np.mean(flipped.labels == expected.argmax(-1)) > 0.99
    plain = predictor(tmp_path, tta="none").predict(frame)
    assert np.mean(plain.labels != flipped.labels) > 0.2        # the mirror changed the answer (not symmetric)


def test_flip_scores_are_probabilities_and_the_predictor_says_so(tmp_path):
    tta = predictor(tmp_path, tta="flip")
    assert (tta.output_kind, predictor(tmp_path).output_kind) == (frames.PROBABILITIES, frames.LOGITS)
    scores = tta.predict(image(1), keep_scores=True).scores
    np.testing.assert_allclose(scores.sum(-1), 1, atol=1e-5)
    np.testing.assert_allclose(tta.probabilities(scores), scores)         # not softmaxed twice


def test_the_runs_own_setting_is_the_default_and_an_argument_overrides_it(tmp_path):
    assert predictor(tmp_path).tta == "none"
    assert predictor(tmp_path, meta_tta="flip").tta == "flip"
    assert predictor(tmp_path, tta="none", meta_tta="flip").tta == "none"
    with pytest.raises(runs.RunError, match="test-time augmentation 'rotate' is unknown; use one of none, flip"):
        predictor(tmp_path, meta_tta="rotate")


def test_cli_refuses_an_unknown_tta_in_one_line(tmp_path, capsys):
    from segcore.cli import main
    with pytest.raises(SystemExit):
        main(["predict", "--run", str(tmp_path), "x.png", "--out", str(tmp_path), "--tta", "rotate"])
    assert "invalid choice: 'rotate'" in capsys.readouterr().err


def test_a_run_with_an_unknown_tta_is_refused_by_predict_in_one_line(tmp_path, capsys):
    from test_onnx_import import foreign_onnx, sample_image, save_png
    from segcore.importing import import_model
    run = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11")
    meta = json.loads((run / "meta.json").read_text())
    (run / "meta.json").write_text(json.dumps({**meta, "tta": "rotate"}))
    picture = save_png(tmp_path / "street.png", sample_image())
    err = one_error_line(capsys, ["predict", "--run", run, picture, "--out", tmp_path / "masks"])
    assert "test-time augmentation 'rotate' is unknown" in err


def test_evaluations_record_their_tta_and_shards_of_different_ttas_do_not_merge(tmp_path):
    from conftest import make_camvid_like
    from test_onnx_import import foreign_onnx
    from segcore.eval_shards import merge_evaluations
    from segcore.evaluate import evaluate_run
    from segcore.importing import import_model
    data = make_camvid_like(tmp_path / "data", splits=(("val", 4),))
    run = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11", input_size=(32, 48))
    plain, _ = evaluate_run(run, data, "val")
    flipped, _ = evaluate_run(run, data, "val", tta="flip", out=tmp_path / "flip.json")
    assert (plain["tta"], flipped["tta"]) == ("none", "flip")
    from segcore.evaluations import scored_at
    assert "test-time flip" in scored_at(flipped) and scored_at(plain).endswith(", no test-time augmentation")
    # A 1x1 convolution commutes with the mirror: flip TTA must give the same masks, if it maps them back right.
    assert abs(plain["class_level"]["mean_iou"] - flipped["class_level"]["mean_iou"]) < 1e-3
    parts = [evaluate_run(run, data, "val", shard=(index, 2), tta=tta, out=tmp_path / f"part{index}.json")[0]
             for index, tta in ((0, "none"), (1, "flip"))]
    with pytest.raises(ValueError, match="its tta differs"):
        merge_evaluations([("part0.json", parts[0]), ("part1.json", parts[1])])


def test_side_by_side_says_when_a_run_predicts_with_test_time_flip(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from test_onnx_import import SIDE, foreign_onnx, run_page, show_runs_on_an_upload
    from segcore.importing import import_model
    models = tmp_path / "models"
    for name, tta in (("plain", None), ("flipped", "flip")):
        run = import_model(foreign_onnx(tmp_path / f"{name}.onnx"), models / name, schema="camvid11")
        if tta:
            meta = json.loads((run / "meta.json").read_text())
            (run / "meta.json").write_text(json.dumps({**meta, "tta": tta}))
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(models))
    at = show_runs_on_an_upload(run_page(AppTest.from_file(SIDE)), ["plain", "flipped"])
    timings = [caption.value for caption in at.caption if " ms model" in caption.value]
    assert len(timings) == 2
    assert timings[0].endswith("· ONNX Runtime") and timings[1].endswith("· ONNX Runtime · test-time flip"), timings


class ScalableShiftingBackend(ShiftingBackend):
    """ShiftingBackend at any input size, as a Keras back-end of a segcore architecture rebuilds itself."""

    def __init__(self, size=SIZE):
        self.input_size = size

    def at_input_size(self, size):
        return ScalableShiftingBackend(tuple(size))


def test_multiscale_averages_frame_and_mirror_at_every_scale_at_the_models_own_output_size(tmp_path):
    from segcore.predict import MULTISCALE_SCALES
    meta = {"schema": CAMVID11.to_dict(), "input_size": [32, 48]}
    served = Predictor(runs.Run(tmp_path, meta), backend=ScalableShiftingBackend((32, 48)), tta="multiscale")
    sizes = [backend.input_size for backend in served.scaled_backends]
    assert sizes == [(24, 32), (32, 48), (40, 64), (48, 72)]         # x0.75 ... x1.5, rounded to multiples of 8
    frame = np.random.default_rng(3).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    expected = np.zeros((32, 48, CAMVID11.num_classes), np.float32)
    for size in sizes:
        backend = ScalableShiftingBackend(size)
        batch = frames.model_input(frame, size)[None]
        own = frames.probabilities(backend.forward(batch)[0], frames.LOGITS)
        mirrored = frames.probabilities(backend.forward(batch[:, :, ::-1])[0], frames.LOGITS)[:, ::-1]
        expected += frames.resize_scores(own + mirrored, (32, 48))
    expected /= 2 * len(MULTISCALE_SCALES)
    result = served.predict(frame, keep_scores=True)
    np.testing.assert_allclose(result.scores, expected, atol=1e-5)
    np.testing.assert_allclose(result.scores.sum(-1), 1, atol=1e-5)
    assert result.labels.shape == (30, 50) and served.output_kind == frames.PROBABILITIES
    flipped = Predictor(runs.Run(tmp_path, meta), backend=ScalableShiftingBackend((32, 48)), tta="flip")
    assert np.mean(flipped.predict(frame).labels != result.labels) > 0.05     # the scales changed the answer


class SoftmaxShiftingBackend(ScalableShiftingBackend):
    """As the 240x320 shipped runs: the loaded model ends in a softmax, the ones rebuilt at other sizes in logits."""

    output_kind = frames.PROBABILITIES

    def forward(self, batch: np.ndarray) -> np.ndarray:
        return frames.probabilities(super().forward(batch), frames.LOGITS)


def test_multiscale_turns_each_pass_into_probabilities_by_its_own_output_kind(tmp_path):
    meta = {"schema": CAMVID11.to_dict(), "input_size": [32, 48]}
    frame = np.random.default_rng(4).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    mixed = Predictor(runs.Run(tmp_path, meta), backend=SoftmaxShiftingBackend((32, 48)), tta="multiscale")
    assert [backend.output_kind for backend in mixed._passes] == ["probabilities", "logits", "logits", "logits"]
    all_logits = Predictor(runs.Run(tmp_path, meta), backend=ScalableShiftingBackend((32, 48)), tta="multiscale")
    scores = mixed.predict(frame, keep_scores=True).scores
    np.testing.assert_allclose(scores, all_logits.predict(frame, keep_scores=True).scores, atol=1e-6)
    assert scores.min() >= 0 and np.allclose(scores.sum(-1), 1, atol=1e-5)


def test_multiscale_runs_the_models_own_size_once_whatever_its_rounding(tmp_path):
    meta = {"schema": CAMVID11.to_dict(), "input_size": [30, 44]}      # not multiples of 8
    served = Predictor(runs.Run(tmp_path, meta), backend=ScalableShiftingBackend((30, 44)), tta="multiscale")
    assert [backend.input_size for backend in served.scaled_backends] == [(24, 32), (30, 44), (40, 56), (48, 64)]
    assert len(served._passes) == 4 and served._passes[0] is served.backend


def test_a_keras_run_rebuilt_at_its_own_size_scores_like_the_loaded_model_and_multiscale_runs(tmp_path):
    from test_hardening import make_run, tiny_model
    from segcore.backends.keras import KerasBackend
    options = {"base_filters": 4, "depth": 1, "stem_filters": 4}
    folder = make_run(tmp_path / "run", tiny_model(), meta={
        "arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [16, 16], "config": {"arch_options": options}})
    backend = KerasBackend(runs.open_run(folder))
    batch = np.random.default_rng(0).uniform(0, 255, (1, 16, 16, 3)).astype(np.float32)
    np.testing.assert_allclose(backend.at_input_size((16, 16)).forward(batch), backend.forward(batch), atol=1e-5)
    assert backend.at_input_size((24, 24)).forward(np.zeros((1, 24, 24, 3), np.float32)).shape == (1, 24, 24, 11)
    result = Predictor(folder, tta="multiscale").predict(image(), keep_scores=True)
    assert result.labels.shape == SIZE and result.scores.shape == (16, 16, 11)


def test_multiscale_is_refused_in_one_line_where_the_model_cannot_be_rebuilt(tmp_path, capsys):
    from test_hardening import make_run, tiny_model
    from test_onnx_import import foreign_onnx, sample_image, save_png
    from segcore.importing import import_model
    onnx_run = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "onnx", schema="camvid11")
    picture = save_png(tmp_path / "street.png", sample_image())
    err = one_error_line(capsys, ["predict", "--run", onnx_run, picture, "--out", tmp_path / "masks",
                                  "--tta", "multiscale"])
    assert "the ONNX model declares a fixed input size 16x20; multi-scale prediction needs free height" in err
    foreign = make_run(tmp_path / "keras", tiny_model(), meta={"arch": "someone-elses", "schema": CAMVID11.to_dict(),
                                                                 "input_size": [16, 16]})
    with pytest.raises(runs.RunError, match="needs a segcore architecture in meta.json"):
        Predictor(foreign, tta="multiscale")
    unfitting = make_run(tmp_path / "unfit", tiny_model())     # meta.json lacks the tiny model's arch_options
    with pytest.raises(runs.RunError, match="its weights don't fit a unet rebuilt at"):
        Predictor(unfitting, tta="multiscale")


def test_models_with_free_input_sides_are_fed_each_scale_as_they_are(tmp_path):
    import onnx
    from test_onnx_import import foreign_onnx
    from segcore.importing import import_model
    free = onnx.load(str(foreign_onnx(tmp_path / "fixed.onnx")))
    for value in (*free.graph.input, *free.graph.output):
        for axis, name in ((2, "H"), (3, "W")):
            value.type.tensor_type.shape.dim[axis].dim_param = name      # clears the fixed dim_value
    onnx.save(free, str(tmp_path / "free.onnx"))
    run = import_model(tmp_path / "free.onnx", tmp_path / "run", schema="camvid11", input_size=(32, 48))
    served = Predictor(run, tta="multiscale")
    assert [backend.input_size for backend in served.scaled_backends] == [(24, 32), (32, 48), (40, 64), (48, 72)]
    # A 1x1 convolution sees each pixel alone, so every scale gives nearly the same answer as one plain pass.
    frame = image(2)
    agreement = np.mean(served.predict(frame).labels == Predictor(run, tta="none").predict(frame).labels)
    assert agreement > 0.9
    import keras
    from test_hardening import make_run
    pointwise = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(11, 1)])
    folder = make_run(tmp_path / "keras", pointwise, meta={"arch": "someone-elses", "schema": CAMVID11.to_dict(),
                                                           "input_size": [32, 48]})
    served = Predictor(folder, tta="multiscale")
    assert [backend.input_size for backend in served.scaled_backends] == [(24, 32), (32, 48), (40, 64), (48, 72)]
    assert served.predict(frame, keep_scores=True).scores.shape == (32, 48, 11)


def test_evaluations_made_with_multiscale_say_so():
    from segcore.evaluations import scored_at
    assert "multi-scale test-time augmentation" in scored_at({"tta": "multiscale", "input_size": [360, 480]})


def test_every_view_names_an_evaluations_tta_in_the_same_words():
    from segcore.evaluations import tta_in_words
    assert tta_in_words({"tta": "flip"}) == "test-time flip"
    assert tta_in_words({"tta": "multiscale"}) == "multi-scale + flip"
    assert tta_in_words({}) == tta_in_words({"tta": "none"}) == tta_in_words({"tta": ["bad"]}) == "none"
    assert tta_in_words({"tta": "none"}, none="no test-time augmentation") == "no test-time augmentation"
    # A value this version doesn't know (a newer segcore's) is shown as stored, not passed off as none.
    assert tta_in_words({"tta": "rotate90" + "x" * 60}) == ("rotate90" + "x" * 60)[:40]


def test_side_by_side_serves_a_multiscale_run_with_keras_and_says_so(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from test_hardening import make_run, tiny_model
    from test_onnx_import import SIDE, run_page, show_runs_on_an_upload
    options = {"base_filters": 4, "depth": 1, "stem_filters": 4}
    make_run(tmp_path / "models" / "scaled", tiny_model(), meta={
        "arch": "unet", "schema": CAMVID11.to_dict(), "input_size": [16, 16], "config": {"arch_options": options},
        "tta": "multiscale"})
    monkeypatch.setenv("SEGLAB_MODELS_DIR", str(tmp_path / "models"))
    at = show_runs_on_an_upload(run_page(AppTest.from_file(SIDE)), ["scaled"])
    timings = [caption.value for caption in at.caption if " ms model" in caption.value]
    assert len(timings) == 1 and timings[0].endswith("· Keras · multi-scale + flip"), timings    # no ONNX export
    assert not at.error, [e.value for e in at.error]


def test_an_evaluation_with_another_tta_than_the_runs_own_is_stored_beside_it_not_over_it(tmp_path):
    from conftest import make_camvid_like
    from test_onnx_import import foreign_onnx
    from segcore import compare
    from segcore.evaluate import evaluate_run
    from segcore.importing import import_model
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    folder = import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11",
                          input_size=(32, 48))
    own, own_path = evaluate_run(folder, data, "val")                        # the run's own: none
    flipped, flip_path = evaluate_run(folder, data, "val", tta="flip", overwrite=False)
    again, again_path = evaluate_run(folder, data, "val", tta="none", overwrite=True)   # "none" is its own
    assert again_path == own_path and flip_path == own_path.with_name(f"{own_path.stem}-tta-flip.json")
    run = runs.open_run(folder)
    keys = list(run.evaluations())
    assert sorted(keys) == [own_path.stem, flip_path.stem]
    assert (run.evaluation(own_path.stem)["tta"], run.evaluation(flip_path.stem)["tta"]) == ("none", "flip")
    # each with its own frame files: the variant's predictions never replace the run's own
    assert (own_path.parent / own_path.stem / "predictions").is_dir()
    assert (flip_path.parent / flip_path.stem / "predictions").is_dir()
    assert compare.evaluation_keys({"run": keys}) == (sorted(keys), sorted(keys)[0])  # the own one by default
    assert run.evaluation("data-val")["tta"] == "none"     # data set + split still names the run's own
    # A run whose own TTA is flip keeps flip under the plain key, and "none" becomes the variant.
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "tta": "flip"}))
    _, plain_path = evaluate_run(folder, data, "val", tta="none", overwrite=False)
    assert plain_path == own_path.with_name(f"{own_path.stem}-tta-none.json")
    # The Evaluation and Frames pages' picker names each by its data set, and a variant by its TTA.
    from app.evaluation_views import evaluation_label
    fingerprint = own["dataset"]["fingerprint"]
    assert {key: evaluation_label(runs.open_run(folder), key) for key in runs.open_run(folder).evaluations()} == {
        own_path.stem: f"data val (data set {fingerprint})",
        flip_path.stem: f"data val (data set {fingerprint}), test-time flip",
        plain_path.stem: f"data val (data set {fingerprint}), no test-time augmentation"}
