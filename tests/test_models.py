import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"unet": {"base_filters": 4, "depth": 2, "stem_filters": 4}, "segnet": {"base_filters": 4},
         "segnet-mobilenet": {"alpha": 0.125}}


@pytest.mark.parametrize("arch", sorted(SMALL))
def test_any_size_is_padded_and_cropped_back(arch):
    from segcore.models import ARCHS, build, padding_for
    model = build(arch, 5, (36, 50), **SMALL[arch])
    out = model.predict_on_batch(np.random.default_rng(0).uniform(0, 255, (2, 36, 50, 3)).astype("float32"))
    assert out.shape == (2, 36, 50, 5)
    assert model.layers[-1].name == "logits"
    names = [layer.name for layer in model.layers]
    assert ("pad_to_stride" in names) == any(padding_for((36, 50), ARCHS[arch].stride(**SMALL[arch])))


def test_unet_has_concatenated_skips_and_separable_residual_blocks():
    from segcore.models import build
    model = build("unet", 3, (32, 32), base_filters=4, depth=3, stem_filters=4)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Concatenate") == 3
    assert "SeparableConv2D" in kinds and "Add" in kinds


def test_unknown_arch_is_explained():
    from segcore.models import build
    with pytest.raises(ValueError, match="choose one of"):
        build("fcn", 3)


def test_models_use_keras_only():
    paths = sorted((ROOT / "segcore" / "models").rglob("*.py"))
    assert {"unet.py", "segnet.py"} <= {path.name for path in paths}
    for path in paths:
        text = path.read_text()
        assert "tensorflow" not in text and not re.search(r"\btf\.", text), path


@pytest.mark.slow
@pytest.mark.parametrize("arch", sorted(SMALL))
def test_trains_a_step_and_reloads_in_a_fresh_process_with_safe_mode(arch, tmp_path):
    import keras

    from segcore.models import build
    from segcore.models.objectives import MaskedSparseCrossEntropy, PixelAccuracy, mean_iou_metric
    # Seeded, and a rate that fits two images in 8 epochs: unseeded at 1e-3, segnet-mobilenet's loss once rose
    # (2.020 -> 2.028) on another machine. Seeds 0-2 fall by 7-30 % here; the test asks for 3 %.
    keras.utils.set_random_seed(0)
    model = build(arch, 4, (32, 32), **SMALL[arch])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=MaskedSparseCrossEntropy(4, 255, [1, 2, 1, 1]),
                  metrics=[PixelAccuracy(4, 255), mean_iou_metric(4, 255)])
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 4, (2, 32, 32))
    y[0, :4] = 255
    losses = model.fit(x, y, epochs=8, verbose=0).history["loss"]
    assert losses[-1] < 0.97 * losses[0], losses
    path = tmp_path / "m.keras"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", model.predict_on_batch(x))
    code = (f"import numpy as np, keras, segcore.models\n"
            f"m = keras.models.load_model(r'{path}', safe_mode=True)\n"
            f"out = m.predict_on_batch(np.load(r'{tmp_path / 'x.npy'}'))\n"
            f"assert np.allclose(out, np.load(r'{tmp_path / 'expected.npy'}'), atol=1e-5), abs(out).max()\n"
            f"assert m.loss.ignore_index == 255 and m.loss.from_logits\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    keras.backend.clear_session()


@pytest.mark.parametrize("from_logits", [True, False])
def test_masked_loss_ignores_void_and_weights_classes(from_logits):
    from segcore.models.objectives import MaskedSparseCrossEntropy
    scores = np.array([[[[0.5, 0.5], [0.9, 0.1]]]], dtype="float32")   # (1, 1, 2, 2): equal scores, p = 0.5
    if from_logits:
        scores = np.log(scores)
    labels = np.array([[[0, 9]]])
    loss = MaskedSparseCrossEntropy(2, 9, from_logits=from_logits)
    assert float(loss(labels, scores)) == pytest.approx(-np.log(0.5), rel=1e-5)
    weighted = MaskedSparseCrossEntropy(2, 9, [3.0, 1.0], from_logits=from_logits)
    assert float(weighted(labels, scores)) == pytest.approx(-3 * np.log(0.5), rel=1e-5)


def test_count_flops_by_hand():
    import keras
    from keras import layers

    from segcore.models import count_flops
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)              # 8*8*3*4*9 MACs
    x = layers.SeparableConv2D(5, 3, padding="same")(x)          # 8*8*4*(9+5)
    model = keras.Model(inputs, x)
    assert count_flops(model) == 2 * (8 * 8 * 3 * 4 * 9 + 8 * 8 * 4 * (9 + 5))
    # A depth multiplier: depthwise 4 -> 8 channels (8*8*8*9), then pointwise 8 -> 5 (8*8*8*5).
    doubled = keras.Model(inputs, layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2)(inputs))
    assert count_flops(doubled) == 2 * 8 * 8 * 3 * 2 * (9 + 5)
    depthwise = keras.Model(inputs, layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(inputs))
    assert count_flops(depthwise) == 2 * 8 * 8 * 6 * 9
