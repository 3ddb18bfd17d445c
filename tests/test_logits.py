"""Models output logits; the loss works from them; older runs that end in a softmax are told apart and still load."""
import json
from pathlib import Path

import numpy as np
import pytest

from conftest import make_camvid_like

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"unet": {"base_filters": 4, "depth": 2, "stem_filters": 4}, "segnet": {"base_filters": 4},
         "segnet-mobilenet": {"alpha": 0.125}}
SHIPPED = ["unet-camvid", "segnet-camvid"]


def numpy_masked_cross_entropy(labels, logits, ignore_index, class_weights=None):
    """Per image: weighted -log softmax over valid pixels / valid pixel count; then the batch mean (float64)."""
    logits = logits.astype(np.float64)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    per_image = []
    for image_labels, image_log_probs in zip(labels, log_probs):
        valid = image_labels != ignore_index
        picked = image_log_probs[valid, image_labels[valid]]
        weights = np.ones_like(picked) if class_weights is None else np.asarray(class_weights)[image_labels[valid]]
        per_image.append(-(weights * picked).sum() / max(valid.sum(), 1))
    return float(np.mean(per_image))


@pytest.fixture(scope="module")
def example():
    """Two 3x4 images, 3 classes, void 9; one image has more void pixels; logits up to +-80 (exp overflows)."""
    rng = np.random.default_rng(7)
    logits = rng.normal(0, 3, (2, 3, 4, 3)).astype("float32")
    logits[0, 0, 0] = [80.0, -80.0, 0.0]
    logits[1, 2, 3] = [-80.0, 80.0, 40.0]
    labels = rng.integers(0, 3, (2, 3, 4))
    labels[0, 0, 0], labels[1, 2, 3] = 1, 2                   # confidently wrong pixels
    labels[0, 1, :3] = 9
    labels[1, 0, 0] = 9
    return labels, logits


@pytest.mark.parametrize("class_weights", [None, [0.5, 2.0, 3.0]])
def test_loss_from_logits_equals_numpy_log_softmax_cross_entropy(example, class_weights):
    from segcore.models.objectives import MaskedSparseCrossEntropy
    labels, logits = example
    loss = float(MaskedSparseCrossEntropy(3, 9, class_weights)(labels, logits))
    expected = numpy_masked_cross_entropy(labels, logits, 9, class_weights)
    assert np.isfinite(loss)
    assert loss == pytest.approx(expected, rel=1e-5)


def test_a_confidently_wrong_pixel_gets_a_gradient_where_clipped_probabilities_gave_none():
    tf = pytest.importorskip("tensorflow")
    import keras

    from segcore.models.objectives import MaskedSparseCrossEntropy
    if keras.backend.backend() != "tensorflow":
        pytest.skip("gradient taken with tf.GradientTape")
    labels = np.array([[[1]]])
    logits = tf.Variable(np.array([[[[50.0, -50.0]]]], dtype="float32"))   # p(true class) = e^-100

    def gradient(loss_fn, to_scores):
        with tf.GradientTape() as tape:
            value = loss_fn(labels, to_scores(logits))
        return value.numpy(), tape.gradient(value, logits).numpy()

    value, grad = gradient(MaskedSparseCrossEntropy(2, 255), lambda x: x)
    assert value == pytest.approx(100.0, rel=1e-4)
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0.5   # d/dlogits = softmax - onehot = (1, -1)
    np.testing.assert_allclose(grad[0, 0, 0], [1.0, -1.0], atol=1e-4)
    # The old way: the model's softmax, then -log(clip(p, 1e-7, 1)) -- the clip cuts the gradient to zero.
    _, old_grad = gradient(MaskedSparseCrossEntropy(2, 255, from_logits=False), lambda x: tf.nn.softmax(x))
    np.testing.assert_array_equal(old_grad, 0.0)


def test_a_loss_saved_before_logits_loads_as_taking_probabilities():
    import keras

    from segcore.models.objectives import MaskedSparseCrossEntropy
    old_config = {"name": "masked_cross_entropy", "reduction": "sum_over_batch_size", "num_classes": 11,
                  "ignore_index": 11, "class_weights": None}          # as stored in the shipped model.keras
    assert MaskedSparseCrossEntropy.from_config(old_config).from_logits is False
    new = MaskedSparseCrossEntropy(11, 11)
    assert new.from_logits is True
    again = keras.losses.deserialize(keras.losses.serialize(new))
    assert isinstance(again, MaskedSparseCrossEntropy) and again.from_logits is True


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_every_architecture_outputs_logits_from_a_flat_graph(arch):
    import keras

    from segcore.models import build, output_kind
    model = build(arch, 5, (36, 50), **SMALL[arch])
    assert model.layers[-1].name == "logits"
    assert not any(isinstance(layer, (keras.Model, keras.layers.Softmax)) for layer in model.layers)
    assert output_kind(model) == "logits"
    out = np.asarray(model.predict_on_batch(np.random.default_rng(0).uniform(0, 255, (2, 36, 50, 3))
                                            .astype("float32")))
    assert out.shape == (2, 36, 50, 5) and out.dtype == np.float32 and out.std() > 0
    assert not np.allclose(out.sum(-1), 1.0, atol=1e-2)
    assert out.min() < 0 or out.max() > 1          # not probabilities


def test_output_kind_from_meta():
    from segcore.models import output_kind
    assert output_kind({"arch": "unet"}) == "probabilities"      # trained before the key existed
    assert output_kind({"output": "logits"}) == "logits"
    assert output_kind({"output": "probabilities"}) == "probabilities"
    with pytest.raises(ValueError, match=r"outputs 'scores'.*\"output\" key") as error:
        output_kind({"output": "scores"})
    assert "\n" not in str(error.value)


def test_output_kind_looks_through_cropping_and_nested_models():
    import keras
    from keras import layers

    from segcore.models import output_kind
    inputs = keras.Input((8, 8, 3))
    scores = layers.Conv2D(4, 1)(inputs)
    inner = keras.Model(inputs, layers.Softmax()(scores))
    outer_inputs = keras.Input((6, 8, 3))
    padded = layers.ZeroPadding2D(((0, 2), (0, 0)))(outer_inputs)
    nested = keras.Model(outer_inputs, layers.Cropping2D(((0, 2), (0, 0)))(inner(padded)))
    assert output_kind(nested) == "probabilities"       # SegNet as saved before: nested, softmax inside, cropped
    assert output_kind(keras.Model(inputs, layers.Conv2D(4, 1, activation="softmax")(inputs))) == "probabilities"
    assert output_kind(keras.Model(inputs, scores)) == "logits"


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_runs_still_load_and_output_probabilities(name):
    from segcore import runs
    from segcore.models import output_kind
    run = runs.open_run(ROOT / "models" / name)
    model = runs.load_model(run)                        # safe mode, registered segcore classes only
    assert output_kind(run.meta) == "probabilities" and output_kind(model) == "probabilities"
    height, width = model.input_shape[1:3]
    image = np.random.default_rng(1).uniform(0, 255, (1, height, width, 3)).astype("float32")
    probabilities = np.asarray(model.predict_on_batch(image))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_training_records_logits_and_compiles_the_loss_from_logits(tmp_path):
    import keras

    from segcore.models import output_kind
    from segcore.train import TrainConfig, train
    compiled = []

    class RecordLoss(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            compiled.append(self.model.loss)
    data = make_camvid_like(tmp_path / "data", splits=(("train", 2), ("val", 1)))
    run = train(TrainConfig(arch="unet", data=str(data), out=str(tmp_path / "run"), size=(32, 48), epochs=1,
                            batch=2, arch_options=SMALL["unet"]), verbose=0, callbacks=[RecordLoss()])
    meta = json.loads((run / "meta.json").read_text())
    assert meta["output"] == "logits" and output_kind(meta) == "logits"
    model = keras.models.load_model(run / "model.keras", safe_mode=True, compile=False)
    assert output_kind(model) == "logits" and compiled[0].from_logits is True
