"""Distributed training under tf.distribute: choosing the strategy, which worker writes the run, and two
workarounds for Keras 3.15's fit under it. TensorFlow only; the default strategy needs none of this."""
from __future__ import annotations

import numpy as np


def strategy_named(name: str):
    """The tf.distribute strategy `segcore train --strategy` names (None for Keras' default)."""
    if name == "default":
        return None
    import tensorflow as tf
    if name == "mirrored":
        cpus = tf.config.list_physical_devices("CPU")
        gpus = tf.config.list_physical_devices("GPU")
        if not gpus and tf.config.get_logical_device_configuration(cpus[0]) is None:
            # Two logical CPU devices so mirrored training runs (and is tested) on a CPU-only machine.
            # Must happen before TensorFlow initialises its devices: train() asks for the strategy first.
            tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
        devices = [d.name for d in tf.config.list_logical_devices("GPU" if gpus else "CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if name == "multiworker":
        reduce_scalar_logs_across_workers()
        return tf.distribute.MultiWorkerMirroredStrategy()  # workers come from TF_CONFIG
    raise ValueError(f"unknown strategy {name!r}; choose default, mirrored or multiworker")


def reduce_scalar_logs_across_workers() -> None:
    """Keras 3.15's fit under MultiWorkerMirroredStrategy averages each step's logs with
    strategy.reduce("MEAN", v, axis=0), which fails on scalar losses and metrics (keras-team/keras#20585).
    Average scalars with axis=None; everything else goes to Keras' own function. Pinned Keras: the
    multi-worker test catches a change here."""
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as tf_trainer
    if getattr(tf_trainer.reduce_per_replica, "segcore_patched", False):
        return
    keras_reduce = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not tf_trainer._collective_all_reduce_multi_worker(strategy):
            return keras_reduce(values, strategy, reduction)

        def mean(value):
            if not tf_trainer._is_per_replica_instance(value):
                return value
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return tree.map_structure(mean, values)

    reduce_per_replica.segcore_patched = True
    tf_trainer.reduce_per_replica = reduce_per_replica


def is_chief(strategy) -> bool:
    """Whether this process writes the run folder: always, except for non-chief multi-worker workers."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in resolver.cluster_spec().jobs


def build_without_a_batch(model, strategy, size) -> None:
    """Under tf.distribute, Keras 3.15's fit builds the model from the first batch of the training iterator:
    it consumes that batch (the epoch loses it, breaking exact resume) and, under MultiWorkerMirroredStrategy,
    fails on (image, label) batches (strategy.reduce of a tuple; keras-team/keras#20585). Shapes are all
    the build needs, so give it a batch of zeros of the right shapes instead."""
    height, width = size
    batch = (np.zeros((1, height, width, 3), np.float32), np.zeros((1, height, width), np.int32))

    def build(iterator=None, data_batch=None):
        with strategy.scope():
            model._symbolic_build(data_batch=batch)

    model._maybe_symbolic_build = build
