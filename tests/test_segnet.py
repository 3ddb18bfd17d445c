"""SegNet: exact argmax pooling/unpooling, both bodies (logits), one training step, and reload in a fresh process."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from keras.ops import convert_to_numpy as to_numpy

from segcore.models import build, output_kind
from segcore.models.segnet import (SEGNET_STRIDE, MaxPoolingWithArgmax2D, MaxUnpooling2D, segnet,
                                   segnet_mobilenet, segnet_mobilenet_stride)

ROOT = Path(__file__).resolve().parents[1]
NUM_CLASSES = 5


def reference_mask(x: np.ndarray, p: int) -> np.ndarray:
    """NumPy argmax pooling: 1 at the first (row-major) maximum of each p x p window."""
    b, h, w, c = x.shape
    windows = x.reshape(b, h // p, p, w // p, p, c).transpose(0, 1, 3, 5, 2, 4).reshape(b, h // p, w // p, c, p * p)
    one_hot = np.eye(p * p, dtype=x.dtype)[windows.argmax(-1)]  # np.argmax returns the first maximum
    return one_hot.reshape(b, h // p, w // p, c, p, p).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)


def window_sums(mask: np.ndarray, p: int = 2) -> np.ndarray:
    b, h, w, c = mask.shape
    return mask.reshape(b, h // p, p, w // p, p, c).sum(axis=(2, 4))


@pytest.mark.parametrize("value", [0.0, 3.5])
def test_constant_windows_unpool_to_exactly_the_first_position(value):
    x = np.full((2, 4, 6, 3), value, "float32")
    pooled, mask = (to_numpy(t) for t in MaxPoolingWithArgmax2D()(x))
    np.testing.assert_array_equal(pooled, value)
    np.testing.assert_array_equal(window_sums(mask), 1)
    np.testing.assert_array_equal(mask[:, 0::2, 0::2], 1)  # the first max of each window
    up = to_numpy(MaxUnpooling2D()([np.ones_like(pooled), mask]))
    np.testing.assert_array_equal(window_sums(up), 1)
    np.testing.assert_array_equal(up, mask)


@pytest.mark.parametrize("pool_size", [2, 3])
def test_pool_and_unpool_match_numpy_reference(pool_size):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 3, size=(3, 6 * pool_size, 4 * pool_size, 7)).astype("float32")  # frequent ties
    x[0] = rng.normal(size=x[0].shape)
    pooled, mask = (to_numpy(t) for t in MaxPoolingWithArgmax2D(pool_size)(x))
    expected_mask = reference_mask(x, pool_size)
    np.testing.assert_array_equal(mask, expected_mask)
    b, h, w, c = x.shape
    windows = x.reshape(b, h // pool_size, pool_size, w // pool_size, pool_size, c)
    np.testing.assert_array_equal(pooled, windows.max(axis=(2, 4)))
    up = to_numpy(MaxUnpooling2D(pool_size)([pooled, mask]))
    np.testing.assert_array_equal(up, x * expected_mask)  # every max back at its own position, zeros elsewhere


@pytest.mark.parametrize("channels", [1, 3, 5])
def test_round_trip_shapes_with_dynamic_batch(channels):
    inputs = keras.Input(shape=(8, 12, channels))
    pooled, mask = MaxPoolingWithArgmax2D(name="pool")(inputs)
    restored = MaxUnpooling2D(name="unpool")([pooled, mask], output_shape=inputs)
    model = keras.Model(inputs, [pooled, restored])
    assert model.output_shape == [(None, 4, 6, channels), (None, 8, 12, channels)]
    for given in ((8, 12), (8, 12, channels)):        # the size alone, or with its channels
        assert MaxUnpooling2D()([pooled, mask], output_shape=given).shape == (None, 8, 12, channels)
    x = np.random.default_rng(1).normal(size=(3, 8, 12, channels)).astype("float32")
    small, back = model.predict_on_batch(x)
    assert small.shape == (3, 4, 6, channels) and back.shape == x.shape
    np.testing.assert_array_equal(window_sums(back != 0), 1)


def test_strides():
    assert SEGNET_STRIDE == 32
    assert segnet_mobilenet_stride() == 16 and segnet_mobilenet_stride(5) == 32
    with pytest.raises(ValueError):
        segnet_mobilenet_stride(6)
    with pytest.raises(ValueError, match="divisible by 32"):
        segnet(keras.Input((48, 64, 3)), NUM_CLASSES)
    with pytest.raises(ValueError, match="divisible by 16"):
        segnet_mobilenet(keras.Input((40, 64, 3)), NUM_CLASSES)


def small_models():
    return [build("segnet", NUM_CLASSES, (64, 64), base_filters=4),
            build("segnet-mobilenet", NUM_CLASSES, (64, 64), alpha=0.25, depth=5)]


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return small_models()


def test_builders_output_logits_from_one_flat_graph(models):
    x = np.random.default_rng(2).uniform(0, 255, size=(2, 64, 64, 3)).astype("float32")
    for model, name in zip(models, ["segnet", "segnet_mobilenet"]):
        assert model.name == name and output_kind(model) == "logits"
        assert not any(isinstance(layer, keras.Model) for layer in model.layers)   # reads top to bottom
        logits = to_numpy(model(x, training=False))
        assert logits.shape == (2, 64, 64, NUM_CLASSES) and logits.dtype == np.float32
        assert not np.allclose(logits.sum(-1), 1.0, atol=1e-2)


@pytest.mark.slow
def test_one_training_step_updates_the_encoder():
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, size=(2, 64, 64, 3)).astype("float32")
    y = rng.integers(0, NUM_CLASSES, size=(2, 64, 64)).astype("int32")
    for model, first_conv in zip(small_models(), ["enc1_1_conv", "stem_conv"]):
        # The first encoder conv: gradients must cross every unpooling to reach it.
        first = model.get_layer(first_conv)
        before = to_numpy(first.kernel)
        model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        history = model.fit(x, y, batch_size=2, epochs=1, steps_per_epoch=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        assert not np.allclose(before, to_numpy(first.kernel))


def test_saved_models_reload_in_a_fresh_process(models, tmp_path):
    x = np.random.default_rng(4).uniform(0, 255, size=(2, 64, 64, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    for model in models:
        model.save(tmp_path / f"{model.name}.keras")
        np.save(tmp_path / f"{model.name}.npy", model.predict_on_batch(x))
    script = (
        "import sys, pathlib, numpy as np, keras\n"
        "import segcore.models\n"
        "d = pathlib.Path(sys.argv[1]); x = np.load(d / 'x.npy')\n"
        "for name in ('segnet', 'segnet_mobilenet'):\n"
        "    model = keras.models.load_model(d / f'{name}.keras', safe_mode=True)\n"
        "    np.testing.assert_allclose(model.predict_on_batch(x), np.load(d / f'{name}.npy'), atol=1e-5)\n"
        "print('reloaded')\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "reloaded" in done.stdout, done.stderr[-3000:]
