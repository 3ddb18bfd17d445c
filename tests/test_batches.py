import numpy as np
import pytest

from segcore.datasets import list_pairs
from segcore.labels import CAMVID11
from segcore import frames
from segcore.batches import SampleLoader, SegmentationSequence, draw_seed, epoch_order
from segcore.imageio import read_pair


def test_loader_reads_and_resizes(camvid_like):
    sample = list_pairs(camvid_like, "train")[0]
    image, label = SampleLoader(CAMVID11, (16, 24))(sample.image, sample.label)
    assert image.dtype == np.float32 and image.shape == (16, 24, 3) and image.max() > 1
    assert label.dtype == np.int32 and label.shape == (16, 24)


def test_training_resizes_through_the_same_path_as_prediction(camvid_like):
    sample = list_pairs(camvid_like, "train")[0]
    raw_image, raw_label = read_pair(sample.image, sample.label, CAMVID11)
    image, label = SampleLoader(CAMVID11, (20, 30))(sample.image, sample.label)
    np.testing.assert_array_equal(image, frames.model_input(raw_image, (20, 30)))
    np.testing.assert_array_equal(label, frames.resize_label(raw_label, (20, 30)))


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
        def __call__(self, image_path, label_path, **where):
            calls.append(image_path)
            return super().__call__(image_path, label_path, **where)

    sequence = SegmentationSequence(samples, CountingLoader(CAMVID11, (16, 24)), batch_size=3, seed=0)
    assert len(sequence) == 2 and calls == []          # nothing read before it is asked for
    images, labels = sequence[1]
    assert images.shape == (1, 16, 24, 3) and labels.shape == (1, 16, 24) and len(calls) == 1
    orders = set()
    for _ in range(6):
        orders.add(tuple(sequence.order))
        sequence.on_epoch_end()
    assert len(orders) > 1
    with pytest.raises(IndexError):
        sequence[2]


def test_an_epochs_order_depends_only_on_seed_and_epoch(camvid_like):
    samples = list_pairs(camvid_like, "train")
    loader = SampleLoader(CAMVID11, (16, 24))
    played = SegmentationSequence(samples, loader, batch_size=2, seed=3)
    for _ in range(4):
        played.on_epoch_end()
    resumed = SegmentationSequence(samples, loader, batch_size=2, seed=3, epoch=4)   # a run resumed at epoch 4
    assert played.epoch == resumed.epoch == 4
    np.testing.assert_array_equal(played.order, resumed.order)
    np.testing.assert_array_equal(played.order, epoch_order(len(samples), 3, 4))
    assert len({tuple(epoch_order(12, 3, e)) for e in range(5)}) > 1
    assert not np.array_equal(epoch_order(12, 3, 0), epoch_order(12, 4, 0))


def test_tf_dataset_gives_the_same_samples(camvid_like):
    from segcore.batches import tf_dataset
    samples = list_pairs(camvid_like, "train")
    loader = SampleLoader(CAMVID11, (16, 24))
    batches = list(tf_dataset(samples, loader, batch_size=2, shuffle=False).as_numpy_iterator())
    sequence = SegmentationSequence(samples, loader, batch_size=2, shuffle=False)
    assert len(batches) == len(sequence)
    for (tf_images, tf_labels), index in zip(batches, range(len(sequence))):
        images, labels = sequence[index]
        np.testing.assert_array_equal(tf_images, images)
        np.testing.assert_array_equal(tf_labels, labels)


PIPELINE = {"transform": {"__class_fullname__": "Compose", "p": 1.0, "transforms": [
    {"__class_fullname__": "HorizontalFlip", "p": 0.5},
    {"__class_fullname__": "RandomBrightnessContrast", "p": 0.5, "brightness_limit": [-0.3, 0.3],
     "contrast_limit": [-0.3, 0.3]}]}}


def _draws(loader, sample, where):
    return [loader(sample.image, sample.label, epoch=e, index=i) for e, i in where]


def test_augmentation_is_a_function_of_seed_epoch_and_index_not_of_the_thread(camvid_like):
    from concurrent.futures import ThreadPoolExecutor
    sample = list_pairs(camvid_like, "train")[0]
    loader = SampleLoader(CAMVID11, None, PIPELINE, seed=7)
    where = [(epoch, index) for epoch in range(4) for index in range(3)]
    expected = _draws(loader, sample, where)
    # Other threads, in another order, after other draws: the same (epoch, index) gives the same sample.
    with ThreadPoolExecutor(4) as pool:
        shuffled = list(reversed(where))
        got = dict(zip(shuffled, pool.map(lambda w: loader(sample.image, sample.label, epoch=w[0], index=w[1]),
                                          shuffled)))
    fresh = SampleLoader(CAMVID11, None, PIPELINE, seed=7)   # a new process would build a fresh loader
    for (epoch, index), (image, label) in zip(where, expected):
        for other in (got[(epoch, index)], fresh(sample.image, sample.label, epoch=epoch, index=index)):
            np.testing.assert_array_equal(other[0], image)
            np.testing.assert_array_equal(other[1], label)
    # Different epochs (and samples) get different draws; another run seed changes them too.
    assert len({expected[i][0].tobytes() for i in range(0, len(where), 3)}) > 1
    other_seed = SampleLoader(CAMVID11, None, PIPELINE, seed=8)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(expected, _draws(other_seed, sample, where)))
    assert draw_seed(7, 1, 2) == draw_seed(7, 1, 2) != draw_seed(7, 2, 2)


def test_tf_dataset_over_epochs_matches_the_sequence_batch_for_batch(camvid_like):
    from segcore.batches import tf_dataset
    samples = list_pairs(camvid_like, "train")
    loader = SampleLoader(CAMVID11, (16, 24), PIPELINE, seed=5)
    # Epochs 2 and 3 only, as a run resumed after two epochs would build it.
    batches = list(tf_dataset(samples, loader, 3, seed=5, epochs=range(2, 4)).as_numpy_iterator())
    sequence = SegmentationSequence(samples, loader, 3, seed=5, epoch=2)
    assert len(batches) == 2 * len(sequence)
    expected = []
    for _ in range(2):
        expected += [sequence[i] for i in range(len(sequence))]
        sequence.on_epoch_end()
    for (tf_images, tf_labels), (images, labels) in zip(batches, expected):
        np.testing.assert_array_equal(tf_images, images)
        np.testing.assert_array_equal(tf_labels, labels)


@pytest.mark.parametrize("initial_epoch", [0, 2])
def test_under_fit_each_keras_epoch_is_served_its_own_order_and_draws(camvid_like, initial_epoch):
    """Keras' fit calls on_epoch_end once before the first epoch too: the epoch comes from Keras' own count."""
    import keras
    samples = list_pairs(camvid_like, "train")
    keras_epoch, served = [None], []

    class RecordingLoader(SampleLoader):
        def __call__(self, image_path, label_path, **where):
            served.append((keras_epoch[0], where["epoch"], where["index"]))
            return super().__call__(image_path, label_path, **where)

    class KerasEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            keras_epoch[0] = epoch

    sequence = SegmentationSequence(samples, RecordingLoader(CAMVID11, (16, 24)), batch_size=2, seed=5,
                                    epoch=initial_epoch, steps=1)
    assert len(sequence) == 1 < len(samples) // 2
    model = keras.Sequential([keras.Input((16, 24, 3)), keras.layers.Conv2D(12, 1)])
    model.compile(optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(sequence, epochs=initial_epoch + 3, initial_epoch=initial_epoch, verbose=0,
              callbacks=[sequence.epoch_callback(), KerasEpoch()])
    epochs = range(initial_epoch, initial_epoch + 3)
    served = [read for read in served if read[0] is not None]   # Keras peeks at one batch for its shapes first
    assert [(keras_at, drawn_for) for keras_at, drawn_for, _ in served] == [(e, e) for e in epochs for _ in range(2)]
    for e in epochs:       # each epoch's one batch is the first two samples of that epoch's own order
        assert [index for at, _, index in served if at == e] == epoch_order(len(samples), 5, e)[:2].tolist()
