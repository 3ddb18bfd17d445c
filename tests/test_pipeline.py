import numpy as np
import pytest

from segcore.datasets import list_pairs
from segcore.labels import CAMVID11
from segcore.pipeline import SampleLoader, SegmentationSequence, resize_pair


def test_resize_keeps_labels_discrete():
    image = np.random.default_rng(0).integers(0, 255, (32, 48, 3), dtype=np.uint8)
    label = np.random.default_rng(1).integers(0, 12, (32, 48)).astype(np.uint8)
    out_image, out_label = resize_pair(image, label, (20, 30))
    assert out_image.shape == (20, 30, 3) and out_label.shape == (20, 30)
    assert set(np.unique(out_label)) <= set(np.unique(label))


def test_loader_reads_and_resizes(camvid_like):
    sample = list_pairs(camvid_like, "train")[0]
    image, label = SampleLoader(CAMVID11, (16, 24))(sample.image, sample.label)
    assert image.dtype == np.float32 and image.shape == (16, 24, 3) and image.max() > 1
    assert label.dtype == np.int32 and label.shape == (16, 24)


def test_augmentation_moves_image_and_mask_together(camvid_like):
    import albumentations as A
    sample = list_pairs(camvid_like, "train")[0]
    plain = SampleLoader(CAMVID11, None)(sample.image, sample.label)
    flipped = SampleLoader(CAMVID11, None, A.to_dict(A.Compose([A.HorizontalFlip(p=1)])))(sample.image, sample.label)
    assert (flipped[0] == plain[0][:, ::-1]).all()
    assert (flipped[1] == plain[1][:, ::-1]).all()


def test_sequence_batches_lazily_and_reshuffles(camvid_like):
    samples = list_pairs(camvid_like, "train")
    calls = []

    class CountingLoader(SampleLoader):
        def __call__(self, image_path, label_path):
            calls.append(image_path)
            return super().__call__(image_path, label_path)

    sequence = SegmentationSequence(samples, CountingLoader(CAMVID11, (16, 24)), batch_size=3, seed=0)
    assert len(sequence) == 2 and calls == []          # nothing read before it is asked for
    images, labels = sequence[1]
    assert images.shape == (1, 16, 24, 3) and labels.shape == (1, 16, 24) and len(calls) == 1
    orders = set()
    for _ in range(6):
        orders.add(tuple(sequence._order))
        sequence.on_epoch_end()
    assert len(orders) > 1
    with pytest.raises(IndexError):
        sequence[2]


def test_tf_dataset_gives_the_same_samples(camvid_like):
    from segcore.pipeline import tf_dataset
    samples = list_pairs(camvid_like, "train")
    loader = SampleLoader(CAMVID11, (16, 24))
    batches = list(tf_dataset(samples, loader, batch_size=2, shuffle=False).as_numpy_iterator())
    sequence = SegmentationSequence(samples, loader, batch_size=2, shuffle=False)
    assert len(batches) == len(sequence)
    for (tf_images, tf_labels), index in zip(batches, range(len(sequence))):
        images, labels = sequence[index]
        np.testing.assert_array_equal(tf_images, images)
        np.testing.assert_array_equal(tf_labels, labels)
