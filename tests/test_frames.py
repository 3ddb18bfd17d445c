"""segcore.frames: the one path in (image -> model input) and out (scores -> label map), bounded memory."""
import subprocess
import sys
import tracemalloc
from pathlib import Path

import cv2
import numpy as np
import pytest

from segcore import frames

ROOT = Path(__file__).resolve().parents[1]


def resized(scores, size, *, per_channel):
    """All class channels at `size`: resized one by one (label_map's arithmetic) or all at once."""
    if per_channel:
        return np.stack([cv2.resize(np.ascontiguousarray(scores[..., c]), (size[1], size[0]),
                                    interpolation=cv2.INTER_LINEAR) for c in range(scores.shape[2])], axis=-1)
    full = cv2.resize(scores, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
    return full[..., None] if full.ndim == 2 else full


def naive_label_map(scores, size):
    """Every channel at full size, then np.argmax: what label_map computes without holding all channels."""
    return resized(scores, size, per_channel=True).argmax(axis=-1).astype(np.uint8)


@pytest.mark.parametrize("shape, size", [((24, 32, 11), (37, 53)), ((30, 40, 3), (15, 20)), ((8, 8, 1), (17, 9)),
                                         ((12, 16, 19), (240, 320)), ((20, 20, 5), (20, 20))])
def test_label_map_equals_the_full_resize_arg_max(shape, size):
    rng = np.random.default_rng(sum(shape) + sum(size))
    for scores in (rng.standard_normal(shape).astype(np.float32),                 # logits
                   rng.dirichlet(np.ones(shape[2]), shape[:2]).astype(np.float32)):  # probabilities
        labels = frames.label_map(scores, size)
        assert labels.dtype == np.uint8 and labels.shape == size
        np.testing.assert_array_equal(labels, naive_label_map(scores, size))
        # cv2's all-channel resize rounds differently: it agrees wherever the best two classes are not near-tied.
        full = resized(scores, size, per_channel=False)
        top_two = np.sort(np.concatenate([np.full((*size, 1), -np.inf, np.float32), full], axis=-1), axis=-1)[..., -2:]
        clear = top_two[..., 1] - top_two[..., 0] > 1e-4
        np.testing.assert_array_equal(labels[clear], full.argmax(axis=-1)[clear])
        assert clear.mean() > 0.99


def test_ties_go_to_the_lowest_class_as_argmax_does():
    # Small whole numbers upsampled 2x: many pixels tie exactly between classes.
    scores = np.random.default_rng(0).integers(0, 3, (10, 14, 6)).astype(np.float32)
    labels = frames.label_map(scores, (20, 28))
    expected = naive_label_map(scores, (20, 28))
    full = resized(scores, (20, 28), per_channel=True)
    assert (np.sort(full, axis=-1)[..., -1] == np.sort(full, axis=-1)[..., -2]).sum() > 50   # ties were tested
    np.testing.assert_array_equal(labels, expected)


def test_a_large_label_map_never_holds_all_classes_at_full_resolution():
    scores = np.random.default_rng(1).standard_normal((60, 80, 11)).astype(np.float32)
    size = (1500, 2000)                        # 3 MP: all 11 channels in float32 would be 132 MB
    all_channels = size[0] * size[1] * 11 * 4
    tracemalloc.start()
    try:
        labels = frames.label_map(scores, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert labels.shape == size
    assert peak < size[0] * size[1] * 12, f"peak {peak / 1e6:.0f} MB; all channels would be {all_channels / 1e6:.0f} MB"


def test_model_input_averages_when_shrinking_and_interpolates_when_growing_in_the_images_own_dtype():
    image = np.random.default_rng(2).integers(0, 256, (36, 48, 3), dtype=np.uint8)
    for size, interpolation in (((24, 32), cv2.INTER_AREA), ((36, 40), cv2.INTER_AREA),
                                ((50, 60), cv2.INTER_LINEAR), ((24, 60), cv2.INTER_LINEAR)):
        batch = frames.model_input(image, size)
        assert batch.dtype == np.float32 and batch.shape == (*size, 3)
        expected = cv2.resize(image, (size[1], size[0]), interpolation=interpolation).astype(np.float32)
        np.testing.assert_array_equal(batch, expected)
    # Before segcore.frames, training shrank with INTER_LINEAR (and inference with INTER_AREA): one rule now.
    linear = cv2.resize(image, (32, 24), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    assert not np.array_equal(frames.model_input(image, (24, 32)), linear)
    np.testing.assert_array_equal(frames.model_input(image, (36, 48)), image.astype(np.float32))
    with pytest.raises(ValueError, match="expected an"):
        frames.model_input(image[..., 0], (24, 32))


def test_resize_label_keeps_labels_discrete():
    label = np.random.default_rng(1).integers(0, 12, (32, 48)).astype(np.uint8)
    out = frames.resize_label(label, (20, 30))
    assert out.shape == (20, 30) and out.dtype == np.uint8
    assert set(np.unique(out)) <= set(np.unique(label))


def test_a_resized_label_takes_the_source_pixel_under_each_output_pixels_centre():
    """As the image's resize is centre-aligned, so is the label's: no fraction-of-a-pixel shift between them."""
    columns = np.tile(np.arange(48, dtype=np.uint8), (36, 1))          # each pixel holds its column index
    for width in (32, 24, 96):                                         # 1.5x and 2x smaller, 2x larger
        out = frames.resize_label(columns, (36, width))[0]
        scale = 48 / width
        assert out.tolist() == [int((j + 0.5) * scale) for j in range(width)]


def test_at_the_scores_own_size_ties_and_top_scores_match_numpy_in_either_memory_layout():
    scores = np.random.default_rng(1).integers(0, 3, (12, 16, 6)).astype(np.float32)     # many exact ties
    for layout in (scores, np.moveaxis(np.moveaxis(scores, -1, 0).copy(), 0, -1)):      # (H, W, C) or planes
        labels, top = frames.top_class(layout, (12, 16))
        np.testing.assert_array_equal(labels, scores.argmax(axis=-1))
        np.testing.assert_array_equal(top, scores.max(axis=-1))
        assert labels.dtype == np.uint8 and top.dtype == np.float32


def test_probabilities_from_logits_or_probabilities():
    logits = np.random.default_rng(3).standard_normal((4, 5, 7)).astype(np.float32) * 50   # large: no overflow
    probs = frames.probabilities(logits, "logits")
    shifted = np.exp(logits.astype(np.float64) - logits.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(probs, shifted / shifted.sum(axis=-1, keepdims=True), atol=1e-6)
    np.testing.assert_allclose(probs.sum(axis=-1), 1, atol=1e-5)
    np.testing.assert_array_equal(probs.argmax(-1), logits.argmax(-1))
    assert frames.probabilities(probs, "probabilities") is not None
    np.testing.assert_allclose(frames.probabilities(probs, "probabilities"), probs)
    with pytest.raises(ValueError, match="output kind"):
        frames.probabilities(logits, "scores")


def test_label_map_refuses_what_is_not_a_score_map():
    with pytest.raises(ValueError, match="height, width, classes"):
        frames.label_map(np.zeros((4, 5), np.float32), (8, 10))
    with pytest.raises(ValueError, match="uint8"):
        frames.label_map(np.zeros((2, 2, 300), np.float32), (4, 4))


def imported_segcore_modules(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(m for m in sys.modules if m.startswith('segcore')))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return set(result.stdout.split())


def test_imports_flow_one_way():
    """files -> samples -> batches -> model -> label maps -> metrics -> stored results -> figures -> page."""
    assert imported_segcore_modules("segcore.frames") <= {"segcore", "segcore.frames"}
    figures = imported_segcore_modules("segcore.figures")
    assert not figures & {"segcore.histories", "segcore.runs", "segcore.figures_curves"}, figures
    predict = imported_segcore_modules("segcore.predict")
    assert "segcore.figures" not in predict and "segcore.frames" in predict
    assert not {m for m in predict if m.startswith("segcore.backends.")}, "a back-end is imported only when used"
