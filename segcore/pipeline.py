"""Batches for training and evaluation: one per-sample function (read, augment, resize) behind two paths.

- `SegmentationSequence`: a `keras.utils.PyDataset` (Keras 3's Sequence) that reads from disk batch by
  batch, so memory stays bounded whatever the data set size; backend-agnostic (works on JAX too).
- `tf_dataset`: the same function under `tf.data` (parallel map + prefetch), faster on TensorFlow.

Images come out as float32 0..255 (models rescale inside), labels as int32 train ids (ignore kept).
"""
from __future__ import annotations

import threading
from pathlib import Path

import cv2
import keras
import numpy as np

from segcore.datasets import Sample
from segcore.imageio import read_pair
from segcore.labels import LabelSchema


def resize_pair(image: np.ndarray, label: np.ndarray | None, size: tuple[int, int]):
    """Resize to (H, W): image bilinear, label nearest (a label must never be interpolated)."""
    height, width = size
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
    if label is not None and label.shape[:2] != (height, width):
        label = cv2.resize(label, (width, height), interpolation=cv2.INTER_NEAREST)
    return image, label


class SampleLoader:
    """The per-sample function: read an (image, label) pair, augment it, resize it to the model's size.

    The augmentation pipeline is kept as a dict and rebuilt once per thread, because albumentations'
    pipelines hold a random generator that should not be shared between tf.data worker threads.
    """

    def __init__(self, schema: LabelSchema, size: tuple[int, int] | None, augment=None, seed: int = 0):
        self.schema = schema
        self.size = tuple(size) if size else None
        self.seed = seed
        self._augment_dict = None
        if isinstance(augment, dict):
            self._augment_dict = augment
        elif augment is not None:
            from segcore import augment as aug
            self._augment_dict = aug.to_dict(aug.load_pipeline(augment) if isinstance(augment, (str, Path))
                                              else augment)
        self._local = threading.local()

    def _pipeline(self):
        if self._augment_dict is None:
            return None
        if not hasattr(self._local, "pipeline"):
            import albumentations as A
            self._local.pipeline = A.from_dict(self._augment_dict)
            self._local.pipeline.set_random_seed(self.seed + threading.get_ident() % 100_000)
        return self._local.pipeline

    def __call__(self, image_path, label_path) -> tuple[np.ndarray, np.ndarray]:
        image, label = read_pair(image_path, label_path, self.schema)
        pipeline = self._pipeline()
        if pipeline is not None:
            out = pipeline(image=image, mask=label)
            image, label = out["image"], out["mask"]
        if self.size:
            image, label = resize_pair(image, label, self.size)
        return image.astype(np.float32), label.astype(np.int32)


class SegmentationSequence(keras.utils.PyDataset):
    """Batches read from disk on demand; reshuffled after every epoch."""

    def __init__(self, samples: list[Sample], loader: SampleLoader, batch_size: int, *, shuffle: bool = True,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        if not samples:
            raise ValueError("no samples to batch")
        self.samples = list(samples)
        self.loader = loader
        self.batch_size = batch_size
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self.samples))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return -(-len(self.samples) // self.batch_size)

    def __getitem__(self, index: int):
        if not 0 <= index < len(self):
            raise IndexError(index)
        picks = self._order[index * self.batch_size:(index + 1) * self.batch_size]
        pairs = [self.loader(self.samples[i].image, self.samples[i].label) for i in picks]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def on_epoch_end(self):
        if self.shuffle:
            self._rng.shuffle(self._order)


def tf_dataset(samples: list[Sample], loader: SampleLoader, batch_size: int, *, shuffle: bool = True,
               seed: int = 0, repeat: bool = False, drop_remainder: bool = False):
    """The same per-sample function under tf.data: parallel decode/augment, prefetch. TensorFlow only."""
    import tensorflow as tf

    if loader.size is None:
        raise ValueError("tf_dataset needs a fixed size to batch")
    height, width = loader.size
    images = [str(s.image) for s in samples]
    labels = [str(s.label) for s in samples]

    def load(image_path, label_path):
        image, label = tf.numpy_function(
            lambda a, b: loader(a.decode(), b.decode()), [image_path, label_path], [tf.float32, tf.int32])
        image.set_shape((height, width, 3))
        label.set_shape((height, width))
        return image, label

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=not shuffle)
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(tf.data.AUTOTUNE)
