"""Batches for training: one per-sample function (read, augment, resize via segcore.frames) behind two paths.

- `SegmentationSequence`: a `keras.utils.PyDataset` (Keras 3's Sequence) that reads from disk batch by
  batch, so memory stays bounded whatever the data set size; backend-agnostic (works on JAX too).
- `tf_dataset`: the same function under `tf.data` (parallel map + prefetch), faster on TensorFlow.

Images come out as float32 0..255 (models rescale inside), labels as int32 train ids (ignore kept).

Randomness is a function of (seed, epoch, sample index) only, never of threads, workers or how many batches
were read before: an epoch's sample order comes from `epoch_order` and each sample's augmentation from
`draw_seed`, so a resumed run sees exactly the batches an uninterrupted one would.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from segcore import frames
from segcore.datasets import Sample
from segcore.imageio import ImageError, read_pair
from segcore.labels import LabelSchema


def draw_seed(seed: int, epoch: int, index: int) -> int:
    """The augmentation seed of sample `index` in `epoch` of a run seeded with `seed` (a uint32)."""
    from segcore.augment import draw_seed as combine
    return combine(seed, epoch, index)


def epoch_order(count: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    """The order in which an epoch visits `count` samples: a permutation fixed by (seed, epoch)."""
    if not shuffle:
        return np.arange(count)
    # A spawn key keeps this stream apart from draw_seed's (plain entropy [s, e] would equal [s, e, 0]).
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(epoch,))).permutation(count)


class SampleLoader:
    """The per-sample function: read an (image, label) pair, augment it, resize it to the model's size.

    `augment` is a pipeline dict (as `segcore.augment.load_training_pipeline` returns), a pipeline file (then
    validated as training validates it) or an A.Compose. Every draw is seeded from (seed, epoch, index) and
    each thread keeps its own pipeline object (`augment.SeededAugmenter`), so which thread runs it does not
    matter.
    """

    def __init__(self, schema: LabelSchema, size: tuple[int, int] | None, augment=None, seed: int = 0):
        self.schema = schema
        self.size = tuple(size) if size else None
        self.seed = seed
        self._augmenter = None
        self.failure: str | None = None     # the first frame that could not be read (tf.data hides the error)
        self.augment_failure: str | None = None     # the first frame the pipeline could not be drawn on
        if augment is not None:
            from segcore import augment as aug
            if isinstance(augment, (str, Path)):
                augment = aug.load_training_pipeline(augment, mask_fill=schema.ignore_index)
            elif not isinstance(augment, dict):
                augment = aug.to_dict(augment)
            self._augmenter = aug.SeededAugmenter(augment)

    def __call__(self, image_path, label_path, *, epoch: int = 0, index: int = 0) -> tuple[np.ndarray, np.ndarray]:
        try:
            image, label = read_pair(image_path, label_path, self.schema)
        except (ImageError, OSError) as err:
            self.failure = self.failure or str(err)
            raise
        if self._augmenter is not None:
            try:
                image, label = self._augmenter(image, label, draw_seed(self.seed, epoch, index))
            except ValueError as err:          # PipelineError: a step that can't be drawn on this frame
                self.augment_failure = self.augment_failure or f"{image_path}: {err}"
                raise
        if self.size:   # the same resize-in as prediction and evaluation
            return frames.model_input(image, self.size), frames.resize_label(label, self.size).astype(np.int32)
        return image.astype(np.float32), label.astype(np.int32)


class SegmentationSequence(keras.utils.PyDataset):
    """Batches read from disk on demand; each epoch has its own order, fixed by (seed, epoch).

    `epoch` is the epoch being served. Under `fit`, pass `epoch_callback()` among the callbacks: it sets the epoch
    from Keras' own count as each epoch begins. Keras' `on_epoch_end` alone can't be trusted to count: `fit` also
    calls it once before the first epoch (Keras 3.15), so a sequence advanced only by it serves epoch e + 1's order
    and augmentation in epoch e. `steps` cuts each epoch to its first `steps` batches (as tf_dataset's does).
    """

    def __init__(self, samples: list[Sample], loader: SampleLoader, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, epoch: int = 0, steps: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if not samples:
            raise ValueError("no samples to batch")
        self.samples = list(samples)
        self.loader = loader
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = epoch
        self.steps = steps
        self._orders: dict[int, np.ndarray] = {}

    def epoch_callback(self) -> keras.callbacks.Callback:
        """A callback that makes this sequence serve the epoch Keras is about to train."""
        sequence = self

        class ServeKerasEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):     # before the epoch's loader threads start
                sequence.epoch = epoch

        return ServeKerasEpoch()

    @property
    def order(self) -> np.ndarray:
        """Sample indices in the order the current epoch visits them."""
        epoch = self.epoch
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(len(self.samples), self.seed, epoch, self.shuffle)}
        return self._orders[epoch]

    def __len__(self) -> int:
        batches = -(-len(self.samples) // self.batch_size)
        return min(batches, self.steps) if self.steps else batches

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        epoch = self.epoch
        picks = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        pairs = [self.loader(self.samples[i].image, self.samples[i].label, epoch=epoch, index=int(i))
                 for i in picks]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def on_epoch_end(self):
        self.epoch += 1         # for a loop of its own; under fit, epoch_callback sets the epoch


def tf_dataset(samples: list[Sample], loader: SampleLoader, batch_size: int, *, shuffle: bool = True,
               seed: int = 0, repeat: bool = False, drop_remainder: bool = False, epochs: range | None = None,
               steps: int | None = None):
    """The same per-sample function under tf.data: parallel decode/augment, prefetch. TensorFlow only.

    With `epochs` (e.g. range(first_epoch, last_epoch)) the dataset runs through those epochs back to back,
    each element carrying its epoch and sample index, so order and augmentation are exact functions of
    (seed, epoch, index); batches never straddle two epochs, and `steps` cuts each epoch to that many
    batches. Pass the same `steps_per_epoch` to `fit`. Without `epochs` it is one pass as epoch 0.
    """
    import tensorflow as tf

    if loader.size is None:
        raise ValueError("tf_dataset needs a fixed size to batch")
    height, width = loader.size
    images = [str(s.image) for s in samples]
    labels = [str(s.label) for s in samples]
    epochs = epochs if epochs is not None else range(0, 1)
    if len(epochs) == 0:
        raise ValueError("tf_dataset needs at least one epoch")
    orders = tf.constant(np.stack([epoch_order(len(samples), seed, e, shuffle) for e in epochs]), tf.int64)

    def read(epoch, index):
        return loader(images[index], labels[index], epoch=int(epoch), index=int(index))

    def load(epoch, index):
        image, label = tf.numpy_function(read, [epoch, index], [tf.float32, tf.int32])
        image.set_shape((height, width, 3))
        label.set_shape((height, width))
        return image, label

    def one_epoch(epoch):
        order = tf.gather(orders, epoch - epochs.start)
        elements = tf.data.Dataset.from_tensor_slices((tf.fill(tf.shape(order), epoch), order))
        # deterministic=True: parallel reads finish in any order, but batches keep the epoch's order.
        batches = elements.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) \
            .batch(batch_size, drop_remainder=drop_remainder)
        return batches.take(steps) if steps else batches

    per_epoch = len(samples) // batch_size if drop_remainder else -(-len(samples) // batch_size)
    per_epoch = min(per_epoch, steps) if steps else per_epoch
    # flat_map hides the length; state it, so Keras knows where the data ends (no "ran out of data").
    dataset = tf.data.Dataset.range(epochs.start, epochs.stop).flat_map(one_epoch) \
        .apply(tf.data.experimental.assert_cardinality(per_epoch * len(epochs)))
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(tf.data.AUTOTUNE)
