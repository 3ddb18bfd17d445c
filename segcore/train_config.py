"""What a training run is asked to do: `TrainConfig`, checked up front, and what a resume may not change."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path


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
    init_from: str | None = None         # run folder whose weights start this run (fine-tuning)

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
        self.size = tuple(self.size)
        rate = self.learning_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise ValueError(f"learning_rate (--lr) must be a positive finite number, got {rate!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**32:
            raise ValueError(f"seed (--seed) must be a whole number from 0 to {2**32 - 1}, got {self.seed!r}")
        choice("class_weights", self.class_weights, ("none", "median-frequency"), "--class-weights")
        choice("strategy", self.strategy, ("default", "mirrored", "multiworker"), "--strategy")
        choice("loader", self.loader, ("tf", "pydataset"), "--loader")
        if not isinstance(self.arch_options, dict):
            raise ValueError(f"arch_options (--option) must be a mapping, got {self.arch_options!r}")

    def record(self) -> dict:
        """The configuration as meta.json stores it: JSON types, the data folder as an absolute path."""
        return {**asdict(self), "size": list(self.size), "data": str(Path(self.data).resolve()),
                "augment": str(Path(self.augment).resolve()) if self.augment else None,
                "init_from": str(Path(self.init_from).resolve()) if self.init_from else None}


# Fields a resume may change: `out` names the folder itself, `augment` is the path to the pipeline (its
# content is compared instead, against the run's augment.json). Nothing else: a different epoch count
# changes the cosine learning-rate schedule of the epochs already trained, so a resumed run would match
# neither the old nor the new configuration; start a new run for that.
RESUMABLE_CHANGES = ("out", "augment")


def resume_differences(meta: dict, config: TrainConfig, augment_dict: dict | None, stored_augment: dict | None,
                       train_count: int, val_count: int) -> list[str]:
    """What differs between an interrupted run (its meta.json and augment.json) and the config resuming it."""
    stored = dict(meta.get("config") or {})
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
