"""Training: data -> batches -> model.fit with the run folder's callbacks; resumable; optional tf.distribute.

A run killed at any point, even while writing its backup, resumes with `resume=True` from its last completed
epoch and then matches an uninterrupted run: the backup holds weights, optimizer state and best score
(segcore.train_backup), and data order and augmentation depend only on (seed, epoch, sample index)
(segcore.batches). history.csv holds every epoch exactly once. One trainer at a time writes a run folder
(segcore.run_lock).
"""
from __future__ import annotations

import contextlib
import math
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from segcore import provenance, runs, train_backup, train_folder
from segcore.datasets import dataset_name, frame_names_digest, hold_out_sequence, list_pairs, schema_for
from segcore.imageio import ImageError, read_mask
from segcore.labels import LabelSchema
from segcore.train_config import (RESUMABLE_CHANGES, TrainConfig, learning_rate_schedule,  # noqa: F401 - public here
                                   pipeline_to_resume, resume_differences, train_splits, trains_on_val,
                                   validation_source)
from segcore.train_distribute import build_without_a_batch, is_chief, strategy_named
from segcore.train_history import fill_clock, fill_learning_rate, history_logger, trim_history


def median_frequency_weights(samples, schema: LabelSchema, damping: float = 0.5) -> list[float]:
    """SegNet's median-frequency balancing: w_c = median(f) / f_c, f_c over images containing c.

    f_c = pixels of c / labelled pixels of the images that contain c: void pixels count in neither (they are never
    trained on), so an image's share of void (Cityscapes' ego vehicle, say) does not lower its classes' frequency.
    The shipped runs' weights (in their meta.json) were computed so; a resumed run recomputes them the same way.

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


class RunCheckpoint:
    """Keras callback factory: atomic best-model save on val mean IoU and meta.json upkeep."""

    @staticmethod
    def make(out: Path, meta: dict, training_seconds, monitor: str = "val_mean_iou"):
        import keras

        class _Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.best = meta.get("best", {}).get(monitor, -math.inf)
                # Trained on its own val split: val can't choose, so every epoch replaces the last.
                self.keep_last = trains_on_val(meta.get("config") or {})

            def on_epoch_end(self, epoch, logs=None):
                logs = logs or {}
                value = logs.get(monitor)
                meta["epochs_completed"] = epoch + 1
                # .value: under tf.distribute a MirroredVariable, which int() does not take directly; a JAX array
                # has no .numpy().
                meta["optimizer_steps"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations.value))
                meta["wall_time_s"] = training_seconds()
                if value is not None and (value > self.best or self.keep_last):
                    self.best = float(value)
                    runs.save_model(self.model, out / runs.MODEL_FILE)
                    # "selected_by": the best epoch is the one with the highest val score (never a test split).
                    source = validation_source(meta.get("config") or {})
                    meta["best"] = {"selected_by": "the last epoch (no selection: the val split is trained on)"
                                    if self.keep_last else f"highest {monitor} on {source}",
                                    # Unrounded: a resumed run compares against it as an uninterrupted one would.
                                    monitor: float(value), "epoch": epoch,
                                    **{k: round(float(v), 6) for k, v in logs.items()
                                       if k not in ("learning_rate", monitor)}}
                runs.write_json(out / runs.META_FILE, meta)

        return _Callback()


def _check_folder(out: Path, resume: bool, config: TrainConfig, augment_dict, train_count: int,
                  val_count: int) -> tuple[dict, train_backup.Backup | None]:
    """Decide between a new run and a resume; returns (meta to start from, backup to restore or None)."""
    backup_dir = out / train_backup.BACKUP_DIR
    interrupted = backup_dir.is_dir()
    if interrupted and not resume:
        raise runs.RunError(f"{out} holds an interrupted training; pass --resume to continue it")
    if resume and not interrupted:
        raise runs.RunError(f"{out} has no interrupted training to resume (no {backup_dir.name}/ folder)")
    if not interrupted:
        if (out / runs.MODEL_FILE).exists():
            raise runs.RunError(f"{out} already holds a trained run; choose another --out or delete it")
        train_folder.check_new_run_folder(out)
        return {}, None
    meta = runs.read_json(out / runs.META_FILE)
    if not isinstance(meta.get("config"), dict):
        raise runs.RunError(f"{out / runs.META_FILE} has no stored configuration to check a resume against; "
                            "start a new run")
    stored_augment = runs.read_json(out / runs.AUGMENT_FILE) if (out / runs.AUGMENT_FILE).exists() else None
    differences = resume_differences(meta, config, augment_dict, stored_augment, train_count, val_count)
    if differences:
        raise runs.RunError(f"can't resume {out} with a different configuration ({'; '.join(differences)}); "
                            "resume with the original options or start a new run")
    backups = train_backup.complete_backups(backup_dir)
    return meta, (backups[0] if backups else None)


def train(config: TrainConfig, *, resume: bool = False, verbose: int | None = None, callbacks=()) -> Path:
    """Train `config` into its run folder (or resume it); returns the folder. `callbacks` are extra Keras
    callbacks, run after the run folder's own."""
    from segcore.models import check_options
    from segcore.run_lock import RunLock

    check_options(config.arch, config.arch_options)      # before any folder is made
    strategy = strategy_named(config.strategy)
    out = Path(config.out)
    if out.resolve().is_relative_to(Path(config.data).resolve()):
        raise ValueError(f"{out}: inside the data set {config.data}, where a run folder would read as a split or "
                         "stray files; give --out a folder outside it")
    schema = schema_for(config.data, config.schema)
    train_samples = _training_samples(config)
    if config.holdout_sequence:   # an honest recipe check: val frames from a sequence training never sees
        train_samples, val_samples = hold_out_sequence(train_samples, config.holdout_sequence)
    else:
        val_samples = list_pairs(config.data, config.val_split)
    if strategy is not None and len(train_samples) < config.batch:
        raise ValueError(f"batch (--batch) {config.batch} is larger than the {len(train_samples)} training "
                         "images; distributed training needs at least one full batch")
    augment_dict = None
    if config.augment:   # validated exactly as the Lab validates a pipeline (catalogue limits included)
        from segcore.augment import load_training_pipeline
        augment_dict = load_training_pipeline(config.augment, mask_fill=schema.ignore_index)
        if resume and (out / runs.AUGMENT_FILE).is_file():
            augment_dict = pipeline_to_resume(runs.read_json(out / runs.AUGMENT_FILE), augment_dict)
        _check_augmentation(schema, config, augment_dict, train_samples[0])

    if not is_chief(strategy):
        # Non-chief workers write to a temporary folder (the usual tf.distribute pattern); the run folder is
        # the chief's. They read the same backup, so every worker resumes from the same epoch.
        scratch = Path(tempfile.mkdtemp(prefix="segcore-worker-"))
        try:
            meta, backup = _check_folder(out, resume, config, augment_dict, len(train_samples), len(val_samples))
            return _fit(config, out, scratch, schema, train_samples, val_samples, augment_dict, meta, backup,
                        strategy, verbose, callbacks)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    created, new_run = not out.exists(), False
    try:
        with RunLock(out) as lock:
            if lock.took_over:
                print(f"segcore: took over the stale lock of {out} (pid {lock.took_over['pid']} on "
                      f"{lock.took_over.get('host')} is no longer running)", file=sys.stderr)
            meta, backup = _check_folder(out, resume, config, augment_dict, len(train_samples), len(val_samples))
            new_run = not meta      # not a resume, and the folder is this process's from here on
            return _fit(config, out, out, schema, train_samples, val_samples, augment_dict, meta, backup, strategy,
                        verbose, callbacks)
    except Exception:
        if new_run:                 # a new run that failed: leave no half-made run behind
            train_folder.remove_unstarted(out, created)
        raise


def _training_samples(config: TrainConfig) -> list:
    """The frames of every split in config.train_split ("train+val": both), refused where two share a name."""
    samples = [sample for split in train_splits(config.record()) for sample in list_pairs(config.data, split)]
    twice = sorted(name for name, count in Counter(sample.name for sample in samples).items() if count > 1)
    if twice:
        raise ValueError(f"frames {', '.join(twice[:3])} are in more than one of the splits {config.train_split}; "
                         "train on splits that share no frame")
    return samples


def _frame_name_digests(config: TrainConfig) -> dict:
    """Per split the run trained on, the hash of its frame names: an evaluation of those frames, wherever they
    are stored, then says the run trained on them. The held-out sequence of --holdout-sequence is not trained on."""
    if config.holdout_sequence:
        return {}
    return {split: frame_names_digest(list_pairs(config.data, split)) for split in train_splits(config.record())}


def _check_augmentation(schema, config, augment_dict, sample) -> None:
    """One draw of the pipeline on the first train frame, before any folder is written: a pipeline that can't run
    on these frames (a crop larger than the frame, say) stops here with one line, not with a traceback from inside
    the first batch. It catches steps that fire on that draw (crops usually fire always)."""
    from segcore.batches import SampleLoader
    try:
        SampleLoader(schema, config.size, augment_dict, seed=config.seed)(sample.image, sample.label)
    except ValueError as err:
        said = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise ValueError(f"{config.augment}: the pipeline can't run on the train frame {sample.name}: {said}; "
                         "put PadIfNeeded before a crop larger than the frames, or crop less") from None


def _datasets(config, strategy, train_samples, val_samples, train_loader, val_loader, first_epoch):
    """(train data, val data, steps per epoch to pass to fit, steps per epoch for the schedule)."""
    import keras

    from segcore.batches import SegmentationSequence, tf_dataset

    distributed = strategy is not None
    full_steps = len(train_samples) // config.batch if distributed else math.ceil(len(train_samples) / config.batch)
    steps = min(config.steps_per_epoch or full_steps, full_steps)
    if distributed or (config.loader == "tf" and keras.backend.backend() == "tensorflow"):
        # Distributed batches drop their remainder: a replica handed an empty final batch breaks batch norm.
        # Validation then uses one image per replica and skips at most replicas-1 images (`segcore evaluate`
        # scores every image).
        val_batch = strategy.num_replicas_in_sync if distributed else config.batch
        train_data = tf_dataset(train_samples, train_loader, config.batch, shuffle=True, seed=config.seed,
                                drop_remainder=distributed, epochs=range(first_epoch, config.epochs), steps=steps)
        val_data = tf_dataset(val_samples, val_loader, val_batch, shuffle=False, drop_remainder=distributed)
        if distributed:
            import tensorflow as tf
            options = tf.data.Options()   # elements are (epoch, index) pairs, not files: shard by data
            options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
            train_data, val_data = train_data.with_options(options), val_data.with_options(options)
        return train_data, val_data, steps, steps
    # Loader threads: up to one per core (a GPU machine's 16 would otherwise wait on 2); batches don't depend on it.
    train_data = SegmentationSequence(train_samples, train_loader, config.batch, seed=config.seed,
                                      epoch=first_epoch, steps=steps, workers=min(8, max(2, os.cpu_count() or 2)),
                                      use_multiprocessing=False)
    val_data = SegmentationSequence(val_samples, val_loader, config.batch, shuffle=False)
    # The sequence cuts its epochs itself: given steps_per_epoch, Keras would carry one iterator across epochs.
    return train_data, val_data, None, steps


def _start_from_run(model, config) -> dict:
    """Copy a finished run's weights into `model` (same architecture and classes; input size may differ, the
    models being fully convolutional); returns what meta.json records of the source."""
    source = runs.open_run(Path(config.init_from))
    if not source.ok:
        raise runs.RunError(f"--init-from: {source.error}")
    if source.meta.get("arch") != config.arch:
        raise runs.RunError(f"--init-from {config.init_from} is a {source.meta.get('arch')} run; "
                            f"it can only start a {source.meta.get('arch')} run, not {config.arch}")
    if source.kind != "keras":
        raise runs.RunError(f"--init-from {config.init_from} is an imported {source.kind} run; "
                            "start from a run that segcore train made")
    weights = runs.load_model(source).get_weights()
    shapes = [w.shape for w in model.get_weights()]
    if [w.shape for w in weights] != shapes:
        raise runs.RunError(f"--init-from {config.init_from}: its layers differ from this run's "
                            "(another --option or class count); pass the options it was trained with")
    model.set_weights(weights)
    return {"path": str(Path(config.init_from).resolve()), "best": source.meta.get("best"),
            "input_size": source.meta.get("input_size")}


def _fit(config, run_folder: Path, out: Path, schema, train_samples, val_samples, augment_dict, meta, backup,
         strategy, verbose, extra_callbacks) -> Path:
    """Build, restore and fit; `out` is where this process writes (the run folder, or a worker's scratch)."""
    import keras

    from segcore.models import LOGITS, build, output_kind
    from segcore.models.objectives import PixelAccuracy, make_loss, mean_iou_metric
    from segcore.batches import SampleLoader

    resuming = bool(meta)
    first_epoch = backup.epoch if backup else 0
    if backup is not None and first_epoch >= config.epochs:
        # Stopped after its last epoch's backup, before the wrap-up: every epoch is trained and saved.
        _wrap_up(out, meta)
        return run_folder
    if resuming:
        meta["wall_time_before_s"] = backup.state.get("wall_time_s", 0) if backup else 0
        meta["epochs_completed"] = first_epoch
        if backup and backup.state.get("best"):
            meta["best"] = backup.state["best"]
        else:
            meta.pop("best", None)

    keras.utils.set_random_seed(config.seed)
    weights = median_frequency_weights(train_samples, schema) if config.class_weights == "median-frequency" \
        else None
    train_loader = SampleLoader(schema, config.size, augment_dict, seed=config.seed)
    val_loader = SampleLoader(schema, config.size)
    train_data, val_data, fit_steps, steps = _datasets(config, strategy, train_samples, val_samples,
                                                       train_loader, val_loader, first_epoch)

    with strategy.scope() if strategy else contextlib.nullcontext():
        model = build(config.arch, schema.num_classes, config.size, **config.arch_options)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate_schedule(config, steps)),
            loss=make_loss(config.loss, schema.num_classes, schema.ignore_index, weights,
                           from_logits=output_kind(model) == LOGITS),
            metrics=[PixelAccuracy(schema.num_classes, schema.ignore_index),
                     mean_iou_metric(schema.num_classes, schema.ignore_index)],
        )
        if strategy is not None:
            build_without_a_batch(model, strategy, config.size)
        # The backup `first_epoch` and meta came from, or a RunError: never an older slot's weights in its place.
        if backup is not None and train_backup.restore(model, backup.slot.parent) != backup:
            raise runs.RunError(f"{run_folder}: the backup of the interrupted training changed while it started; "
                                "resume again")
        if backup is None and config.init_from:
            meta["init_from"] = _start_from_run(model, config)

    meta.update({
        "arch": config.arch, "output": output_kind(model), "schema": schema.to_dict(), "input_size": list(config.size),
        "parameters": int(model.count_params()), "config": config.record(),
        "dataset": {"path": str(Path(config.data).resolve()), "name": dataset_name(config.data),
                    "train": len(train_samples), "val": len(val_samples),
                    "val_from": validation_source(config.record()),
                    "frame_names": _frame_name_digests(config)},
        "class_weights": weights, "epochs": config.epochs, "versions": provenance.versions(),
        "git_commit": provenance.git_commit(),
    })
    meta.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
    meta["hardware"] = provenance.with_machine(meta.get("hardware"), provenance.hardware())
    out.mkdir(parents=True, exist_ok=True)
    if augment_dict is not None:
        runs.write_json(out / runs.AUGMENT_FILE, augment_dict)
    if resuming:
        trim_history(out / runs.HISTORY_FILE, first_epoch)
        fill_learning_rate(out / runs.HISTORY_FILE, learning_rate_schedule(config, steps), steps)
        fill_clock(out / runs.HISTORY_FILE, out / "logs")
    else:
        # A new run in a folder with an old run's logs: start them afresh instead of appending.
        (out / runs.HISTORY_FILE).unlink(missing_ok=True)
        shutil.rmtree(out / "logs", ignore_errors=True)
    runs.write_json(out / runs.META_FILE, meta)

    started = time.time()

    def training_seconds() -> float:        # the run's training time so far, earlier sessions included
        return round(meta.get("wall_time_before_s", 0) + time.time() - started, 1)

    callbacks = [
        *([train_data.epoch_callback()] if hasattr(train_data, "epoch_callback") else []),   # the PyDataset path
        history_logger(out / runs.HISTORY_FILE, training_seconds),
        RunCheckpoint.make(out, meta, training_seconds),
    ]
    if keras.backend.backend() == "tensorflow":
        callbacks.append(keras.callbacks.TensorBoard(str(out / "logs"), write_graph=False, profile_batch=0))
    # Last of the run's callbacks: an epoch's history row and meta are on disk before its backup is.
    callbacks.append(train_backup.callback(out / train_backup.BACKUP_DIR, lambda: {
        "best": meta.get("best"), "wall_time_s": meta.get("wall_time_s", 0)}))
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    with warnings.catch_warnings():
        # On JAX, Keras' IoU metric casts class ids to int64, which JAX (32-bit by default) truncates to int32 and
        # warns about at every compile: ids below 256 lose nothing.
        warnings.filterwarnings("ignore", message="Explicitly requested dtype int64", category=UserWarning)
        try:
            model.fit(train_data, validation_data=val_data, epochs=config.epochs, initial_epoch=first_epoch,
                      callbacks=[*callbacks, *extra_callbacks], verbose=verbose, steps_per_epoch=fit_steps,
                      shuffle=False)
        except Exception:               # tf.data wraps a frame's read error in a graph traceback: say the frame
            failure = train_loader.failure or val_loader.failure
            if failure is None and train_loader.augment_failure:
                raise ValueError(f"{train_loader.augment_failure} (change that step of {config.augment} so it "
                                 "fits every training frame, then train again)") from None
            if failure is None:
                raise
            raise ImageError(f"{failure} (fix or remove that frame: `segcore data check {config.data}` lists every "
                             "such file, then train again)") from None
    _wrap_up(out, meta)
    return run_folder


def _wrap_up(out: Path, meta: dict) -> None:
    """What ends a run once its last epoch is trained: no backup, "finished" in meta.json, a lighter model file."""
    train_backup.remove(out / train_backup.BACKUP_DIR)
    meta.pop("wall_time_before_s", None)
    meta["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    runs.write_json(out / runs.META_FILE, meta)
    if (out / runs.MODEL_FILE).exists():
        runs.drop_optimizer_state(out)          # a finished run resumes no more: a third of the file size
