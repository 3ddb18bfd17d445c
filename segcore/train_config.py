"""What a training run is asked to do: `TrainConfig`, checked up front, what it means (the learning-rate
schedule, what val is), and what a resume may not change."""
from __future__ import annotations

import json
import math
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from segcore.limits import MAX_INPUT_PIXELS

LOSSES = ("ce", "ce+dice", "lovasz")     # segcore.models.objectives.LOSSES builds them


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
    train_split: str = "train"          # or splits joined by "+", e.g. train+val for a final model
    val_split: str = "val"
    seed: int = 0
    arch_options: dict = field(default_factory=dict)
    steps_per_epoch: int | None = None   # for smoke tests
    init_from: str | None = None         # run folder whose weights start this run (fine-tuning)
    # Added later: each default is what runs did before the field existed (resume_differences relies on it).
    loss: str = "ce"                     # ce | ce+dice | lovasz
    warmup_epochs: int = 0               # linear warm-up to learning_rate, then the cosine decay
    holdout_sequence: str | None = None  # validate on this train sequence's frames instead of val_split

    def __post_init__(self):
        """Refuse impossible settings up front, with the option's name (the CLI's flag in brackets)."""
        def positive_int(name, value, flag):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} ({flag}) must be a whole number of at least 1, got {value!r}")

        def choice(name, value, allowed, flag):
            if value not in allowed:
                raise ValueError(f"{name} ({flag}) must be one of {', '.join(allowed)}, got {value!r}")

        positive_int("epochs", self.epochs, "--epochs")
        positive_int("batch", self.batch, "--batch")
        if self.steps_per_epoch is not None:
            positive_int("steps_per_epoch", self.steps_per_epoch, "--steps-per-epoch")
        if not (isinstance(self.size, (tuple, list)) and len(self.size) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 8 for v in self.size)):
            raise ValueError(f"size (--size) must be height x width, each at least 8, got {self.size!r}")
        if self.size[0] * self.size[1] > MAX_INPUT_PIXELS:
            raise ValueError(f"size (--size) {self.size[0]}x{self.size[1]} is over {MAX_INPUT_PIXELS / 1e6:.1f} MP, "
                             "the largest model input SegLab runs; train at a smaller size")
        self.size = tuple(self.size)
        splits = self.train_split.split("+") if isinstance(self.train_split, str) else []
        if not splits or not all(splits) or len(set(splits)) < len(splits):
            raise ValueError(f"train_split (--train-split) must name splits joined by '+', each once, e.g. train or "
                             f"train+val, got {self.train_split!r}")
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"learning_rate (--lr) must be a positive finite number, got {rate!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed (--seed) must be a whole number from 0 to {2**32 - 1}, got {self.seed!r}")
        choice("class_weights", self.class_weights, ("none", "median-frequency"), "--class-weights")
        choice("strategy", self.strategy, ("default", "mirrored", "multiworker"), "--strategy")
        choice("loader", self.loader, ("tf", "pydataset"), "--loader")
        choice("loss", self.loss, LOSSES, "--loss")
        if (isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int)
                or not 0 <= self.warmup_epochs < self.epochs):
            raise ValueError(f"warmup_epochs (--warmup-epochs) must be a whole number from 0 to {self.epochs - 1} "
                             f"(fewer than --epochs {self.epochs}), got {self.warmup_epochs!r}")
        sequence = self.holdout_sequence
        if sequence is not None and not (isinstance(sequence, str) and sequence.isalnum()):
            raise ValueError("holdout_sequence (--holdout-sequence) must be a sequence name of letters and digits, "
                             f"the part of a frame's file name before its first _ (e.g. 0006R0), got {sequence!r}")
        if not isinstance(self.arch_options, dict):
            raise ValueError(f"arch_options (--option) must be a mapping, got {self.arch_options!r}")

    def record(self) -> dict:
        """The configuration as meta.json stores it: JSON types, the data folder as an absolute path."""
        return {**asdict(self), "size": list(self.size), "data": str(Path(self.data).resolve()),
                "augment": str(Path(self.augment).resolve()) if self.augment else None,
                "init_from": str(Path(self.init_from).resolve()) if self.init_from else None}


def train_splits(config: dict) -> list[str]:
    """The splits a run trains on, from its recorded config ("train+val" -> ["train", "val"])."""
    return str(config.get("train_split") or "train").split("+")


def trains_on_val(config: dict) -> bool:
    """Whether a run trains on the split it validates on (a final model on train+val): then val can't choose its
    best epoch, and the run keeps its last one."""
    return not config.get("holdout_sequence") and config.get("val_split", "val") in train_splits(config)


def validation_source(config: dict) -> str:
    """What a run validated (and chose its best epoch) on, from its recorded config."""
    if config.get("holdout_sequence"):
        return (f"sequence {config['holdout_sequence']} held out of the {config.get('train_split', 'train')} "
                "split (not trained on)")
    if trains_on_val(config):
        return f"the {config.get('val_split', 'val')} split, which it also trains on"
    return f"the {config.get('val_split', 'val')} split"


def learning_rate_schedule(config: TrainConfig, steps_per_epoch: int):
    """Cosine decay from --lr to 2 % of it over the run; with --warmup-epochs N, first a linear rise from 0 to
    --lr over N epochs, then the cosine over the remaining epochs."""
    import keras
    cosine = keras.optimizers.schedules.CosineDecay
    if not config.warmup_epochs:
        return cosine(config.learning_rate, decay_steps=steps_per_epoch * config.epochs, alpha=0.02)
    return cosine(0.0, decay_steps=steps_per_epoch * (config.epochs - config.warmup_epochs), alpha=0.02,
                  warmup_target=config.learning_rate, warmup_steps=steps_per_epoch * config.warmup_epochs)


# Fields a resume may change: `out` names the folder itself, `augment` is the path to the pipeline (its
# content is compared instead, against the run's augment.json). Nothing else: a different epoch count
# changes the cosine learning-rate schedule of the epochs already trained, so a resumed run would match
# neither the old nor the new configuration; start a new run for that.
RESUMABLE_CHANGES = ("out", "augment")
FIELD_DEFAULTS = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}


def resume_differences(meta: dict, config: TrainConfig, augment_dict: dict | None, stored_augment: dict | None,
                       train_count: int, val_count: int) -> list[str]:
    """What differs between an interrupted run (its meta.json and augment.json) and the config resuming it."""
    # A key the stored config lacks predates its option: that run trained with the option's default.
    stored = {**FIELD_DEFAULTS, **(meta.get("config") or {})}
    if stored.get("data"):
        stored["data"] = str(Path(stored["data"]).resolve())
    new = config.record()
    differences = [f"{key}: {stored.get(key)!r} -> {new.get(key)!r}"
                   for key in sorted(set(stored) | set(new)) if key not in RESUMABLE_CHANGES
                   and json.dumps(stored.get(key), sort_keys=True) != json.dumps(new.get(key), sort_keys=True)]
    if json.dumps(stored_augment, sort_keys=True) != json.dumps(augment_dict, sort_keys=True):
        differences.append("augmentation pipeline: "
                           + ("none -> a pipeline" if stored_augment is None else "a pipeline -> none"
                              if augment_dict is None else "its steps differ from the run's augment.json"))
    counts = meta.get("dataset") or {}
    for split, count in (("train", train_count), ("val", val_count)):
        if split in counts and counts[split] != count:
            differences.append(f"{split} images: {counts[split]} -> {count}")
    return differences


def pipeline_to_resume(run_augment: dict | None, augment_dict: dict | None) -> dict | None:
    """The pipeline a resume trains with: the run's own augment.json where its catalogue steps are the ones asked
    for (SegLab's managed arguments, such as a mask interpolation, may have changed since the run began: the run
    goes on as it began), else `augment_dict`, which resume_differences then compares."""
    if run_augment is None or augment_dict is None:
        return augment_dict
    from segcore.augment import PipelineError, steps_from_pipeline
    try:
        same = steps_from_pipeline(run_augment) == steps_from_pipeline(augment_dict)
    except PipelineError:          # a step the catalogue no longer offers: the two differ
        same = False
    return run_augment if same else augment_dict
