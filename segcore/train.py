"""Training: data -> batches -> model.fit with the run folder's callbacks; resumable; optional tf.distribute.

A run killed at any point resumes with `resume=True` from its last completed epoch (BackupAndRestore),
and history.csv then holds every epoch exactly once.
"""
from __future__ import annotations

import contextlib
import csv
import json
import math
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from segcore import runs
from segcore.datasets import list_pairs, schema_for
from segcore.imageio import read_mask
from segcore.labels import LabelSchema


@dataclass
class TrainConfig:
    arch: str
    data: str
    out: str
    schema: str | None = None
    size: tuple[int, int] = (240, 320)
    epochs: int = 30
    batch: int = 8
    augment: str | None = None
    class_weights: str = "none"          # none | median-frequency
    learning_rate: float = 1e-3
    strategy: str = "default"            # default | mirrored | multiworker
    loader: str = "tf"                   # tf (tf.data) | pydataset
    train_split: str = "train"
    val_split: str = "val"
    seed: int = 0
    arch_options: dict = field(default_factory=dict)
    steps_per_epoch: int | None = None   # for smoke tests


def median_frequency_weights(samples, schema: LabelSchema, damping: float = 0.5) -> list[float]:
    """SegNet's median-frequency balancing: w_c = median(f) / f_c, f_c over images containing c.

    `damping` raises the weights to a power (0.5 = square root) so the rarest classes don't swamp
    the loss; 1.0 is the paper's plain form.
    """
    pixels = np.zeros(schema.num_classes, dtype=np.float64)
    image_pixels = np.zeros(schema.num_classes, dtype=np.float64)
    for sample in samples:
        labels = read_mask(sample.label, schema)
        counts = np.bincount(labels.ravel(), minlength=256)[: schema.num_classes]
        valid = counts.sum()
        pixels += counts
        image_pixels += (counts > 0) * valid
    freq = np.divide(pixels, image_pixels, out=np.zeros_like(pixels), where=image_pixels > 0)
    median = np.median(freq[freq > 0])
    weights = np.divide(median, freq, out=np.ones_like(freq), where=freq > 0) ** damping
    return [round(float(w), 4) for w in weights]


def trim_history(path: Path, first_epoch_to_drop: int) -> None:
    """Drop history rows of epochs that will be re-run on resume, so every epoch appears once."""
    if not path.exists():
        return
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return
    header, body = rows[0], rows[1:]
    kept = [r for r in body if r and int(float(r[0])) < first_epoch_to_drop]
    if len(kept) != len(body):
        text = "\n".join(",".join(r) for r in [header, *kept]) + "\n"
        runs.atomic_write_bytes(path, text.encode())


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict:
    import albumentations
    import keras
    versions = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
                "numpy": np.__version__, "albumentations": albumentations.__version__}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        versions["tensorflow"] = tf.__version__
    return versions


def _strategy(name: str):
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
        return tf.distribute.MultiWorkerMirroredStrategy()  # workers come from TF_CONFIG
    raise ValueError(f"unknown strategy {name!r}; choose default, mirrored or multiworker")


class RunCheckpoint:
    """Keras callback factory: atomic best-model save on val mean IoU and meta.json upkeep."""

    @staticmethod
    def make(out: Path, meta: dict, monitor: str = "val_mean_iou"):
        import keras

        class _Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best = meta.get("best", {}).get(monitor, -math.inf)
                self.started = time.time()

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                value = logs.get(monitor)
                meta["epochs_completed"] = epoch + 1
                meta["wall_time_s"] = round(meta.get("wall_time_before_s", 0) + time.time() - self.started, 1)
                if value is not None and value > self.best:
                    self.best = float(value)
                    runs.save_model(self.model, out / runs.MODEL_FILE)
                    meta["best"] = {monitor: round(float(value), 6), "epoch": epoch,
                                    **{k: round(float(v), 6) for k, v in logs.items() if k != "learning_rate"}}
                runs.write_json(out / runs.META_FILE, meta)

        return _Callback()


def train(config: TrainConfig, *, resume: bool = False, verbose: int | None = None) -> Path:
    import keras

    from segcore.models import build
    from segcore.models.objectives import MaskedSparseCrossEntropy, PixelAccuracy, mean_iou_metric
    from segcore.pipeline import SampleLoader, SegmentationSequence, tf_dataset

    strategy = _strategy(config.strategy)
    out = Path(config.out)
    schema = schema_for(config.data, config.schema)
    train_samples = list_pairs(config.data, config.train_split)
    val_samples = list_pairs(config.data, config.val_split)
    backup_dir = out / "backup"
    resuming = backup_dir.is_dir()
    if resuming and not resume:
        raise runs.RunError(f"{out} holds an interrupted training; pass --resume to continue it")
    if resume and not resuming:
        raise runs.RunError(f"{out} has no interrupted training to resume (no {backup_dir.name}/ folder)")
    if not resuming and (out / runs.MODEL_FILE).exists():
        raise runs.RunError(f"{out} already holds a trained run; choose another --out or delete it")
    meta_path = out / runs.META_FILE
    meta = runs.read_json(meta_path) if resuming and meta_path.exists() else {}
    if resuming:
        meta["wall_time_before_s"] = meta.get("wall_time_s", 0)

    keras.utils.set_random_seed(config.seed)
    weights = median_frequency_weights(train_samples, schema) if config.class_weights == "median-frequency" \
        else None
    if config.class_weights not in ("none", "median-frequency"):
        raise ValueError("--class-weights must be none or median-frequency")

    augment_dict = None
    if config.augment:
        from segcore import augment as aug
        augment_dict = aug.to_dict(aug.load_pipeline(config.augment))
    train_loader = SampleLoader(schema, config.size, augment_dict, seed=config.seed)
    val_loader = SampleLoader(schema, config.size)
    if strategy is not None:
        # A replica handed an empty final batch breaks batch norm, so distributed batches drop their
        # remainder; validation then uses one image per replica and skips at most replicas-1 images
        # (`segcore evaluate` scores every image).
        train_data = tf_dataset(train_samples, train_loader, config.batch, shuffle=True, seed=config.seed,
                                drop_remainder=True)
        val_data = tf_dataset(val_samples, val_loader, strategy.num_replicas_in_sync, shuffle=False,
                              drop_remainder=True)
    elif config.loader == "tf" and keras.backend.backend() == "tensorflow":
        train_data = tf_dataset(train_samples, train_loader, config.batch, shuffle=True, seed=config.seed)
        val_data = tf_dataset(val_samples, val_loader, config.batch, shuffle=False)
    else:
        train_data = SegmentationSequence(train_samples, train_loader, config.batch, seed=config.seed,
                                          workers=2, use_multiprocessing=False)
        val_data = SegmentationSequence(val_samples, val_loader, config.batch, shuffle=False)

    steps = config.steps_per_epoch or math.ceil(len(train_samples) / config.batch)
    with strategy.scope() if strategy else contextlib.nullcontext():
        model = build(config.arch, schema.num_classes, config.size, **config.arch_options)
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, decay_steps=steps * config.epochs,
                                                          alpha=0.02)
        model.compile(
            optimizer=keras.optimizers.Adam(schedule),
            loss=MaskedSparseCrossEntropy(schema.num_classes, schema.ignore_index, weights),
            metrics=[PixelAccuracy(schema.num_classes, schema.ignore_index),
                     mean_iou_metric(schema.num_classes, schema.ignore_index)],
        )

    meta.update({
        "arch": config.arch, "schema": schema.to_dict(), "input_size": list(config.size),
        "parameters": int(model.count_params()), "config": {**asdict(config), "size": list(config.size)},
        "dataset": {"path": str(Path(config.data).resolve()), "name": Path(config.data).resolve().name,
                    "train": len(train_samples), "val": len(val_samples)},
        "class_weights": weights, "epochs": config.epochs, "versions": _versions(), "git_commit": _git_commit(),
    })
    meta.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
    out.mkdir(parents=True, exist_ok=True)
    if augment_dict is not None:
        runs.write_json(out / runs.AUGMENT_FILE, augment_dict)
    if resuming:
        state = backup_dir / "training_metadata.json"
        done = json.loads(state.read_text())["epoch"] if state.exists() else 0
        trim_history(out / runs.HISTORY_FILE, done)
    runs.write_json(meta_path, meta)

    callbacks = [
        keras.callbacks.CSVLogger(str(out / runs.HISTORY_FILE), append=True),
        RunCheckpoint.make(out, meta),
        keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=True),
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(out / "logs"), write_graph=False, profile_batch=0))
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    model.fit(train_data, validation_data=val_data, epochs=config.epochs, callbacks=callbacks, verbose=verbose,
              steps_per_epoch=config.steps_per_epoch)
    meta.pop("wall_time_before_s", None)
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    runs.write_json(meta_path, meta)
    return out
