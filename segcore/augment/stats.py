"""What a pipeline does over many draws: how often each step fires, which on/off combinations occur, and how
class pixel shares change (void included: what geometric steps push out of the frame).

Draw k uses seed draw_seed(seed, k) on frame k modulo the number of frames, through the same seeded pipeline
as the Lab's preview, so the numbers describe the draws the Lab shows and training makes.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from segcore.augment.build import draw, draw_seed
from segcore.augment.catalogue import PipelineError
from segcore.augment.steps import validate_steps
from segcore.limits import MAX_AUGMENT_DRAWS as MAX_DRAWS


class DatasetFrames:
    """Frames of a data set split as a sequence of (image, mask), read on demand (a few kept in memory)."""

    def __init__(self, samples, schema):
        self.samples = list(samples)
        self.schema = schema
        self._read = lru_cache(maxsize=8)(self._read_uncached)

    def _read_uncached(self, index: int):
        from segcore.imageio import read_pair
        sample = self.samples[index]
        return read_pair(sample.image, sample.label, self.schema)

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        return self._read(index)


def step_keys(steps) -> list[str]:
    """"i:Name" per step, as time_steps and the reports key them."""
    return [f"{i}:{step['name']}" for i, step in enumerate(steps)]


def _pixel_counts(mask: np.ndarray, schema) -> np.ndarray:
    """Pixels per class id, with every id outside the schema counted as void in the last cell."""
    labels = np.asarray(mask).ravel().astype(np.int64)
    valid = (labels >= 0) & (labels < schema.num_classes)
    counts = np.bincount(labels[valid], minlength=schema.num_classes)
    return np.append(counts, np.count_nonzero(~valid))


def _shares(counts: np.ndarray, schema) -> dict[str, float]:
    names = [schema.classes[i].name for i in range(schema.num_classes)] + ["void"]
    total = counts.sum()
    return {name: float(c / total) if total else 0.0 for name, c in zip(names, counts)}


def augmentation_stats(steps, frames, *, draws: int, seed: int = 0, schema=None, mask_fill: int | None = None):
    """Statistics of `draws` seeded draws of `steps` over `frames` (a sequence of (image, mask or None)).

    Returns a JSON-ready dict: "draws", "seed", "frames", "steps" (the keys below, in order), "p" per step,
    "applied_rate" per step key ("0:RandomRain": share of draws it fired in), "combinations" (on/off pattern
    such as "10110", one character per step, -> number of draws, most frequent first) and "class_shares"
    ({"before": {class: share}, "after": {...}} with "void" for ignore and uncovered pixels; None without
    masks or schema). `mask_fill` defaults to the schema's ignore index.
    """
    steps = validate_steps(steps)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        raise PipelineError(f"draws must be a whole number from 1 to {MAX_DRAWS:,}, got {draws!r}")
    if not len(frames):
        raise PipelineError("no frames to draw from")
    if mask_fill is None:
        mask_fill = schema.ignore_index if schema is not None else 0
    keys = step_keys(steps)
    fired = np.zeros(len(steps), np.int64)
    combinations: Counter[str] = Counter()
    before = after = None
    for k in range(draws):
        image, mask = frames[k % len(frames)]
        _, out_mask, record = draw(steps, image, mask, seed=draw_seed(seed, k), mask_fill=mask_fill)
        pattern = [r["applied"] for r in record]
        fired += pattern
        combinations["".join("1" if on else "0" for on in pattern)] += 1
        if mask is not None and schema is not None:
            before = _pixel_counts(mask, schema) + (0 if before is None else before)
            after = _pixel_counts(out_mask, schema) + (0 if after is None else after)
    return {
        "draws": draws, "seed": seed, "frames": len(frames), "steps": keys,
        "p": {key: step["p"] for key, step in zip(keys, steps)},
        "applied_rate": {key: float(n / draws) for key, n in zip(keys, fired)},
        "combinations": dict(sorted(combinations.items(), key=lambda item: (-item[1], item[0]))),
        "class_shares": None if before is None else {"before": _shares(before, schema),
                                                     "after": _shares(after, schema)},
    }


def format_stats(stats: dict, *, top: int = 12) -> str:
    """A readable report of augmentation_stats: steps, the most frequent combinations, class shares."""
    lines = [f"{stats['draws']} draws over {stats['frames']} frame(s), seed {stats['seed']}", "",
             f"{'step':<32} {'p':>6} {'fired':>7}"]
    lines += [f"{key:<32} {stats['p'][key]:>6.2f} {rate:>7.1%}" for key, rate in stats["applied_rate"].items()]
    n_steps = len(stats["steps"])
    seen = len(stats["combinations"])
    lines += ["", f"on/off combinations: {seen} of {2 ** n_steps} seen (one character per step, 1 = fired)"]
    for pattern, count in list(stats["combinations"].items())[:top]:
        lines.append(f"  {pattern or '(no steps)':<{max(n_steps, 10)}} {count:>6}  {count / stats['draws']:>6.1%}")
    if seen > top:
        lines.append(f"  ... {seen - top} more")
    shares = stats.get("class_shares")
    if shares:
        lines += ["", f"{'class':<20} {'before':>8} {'after':>8}"]
        lines += [f"{name:<20} {shares['before'][name]:>8.2%} {shares['after'][name]:>8.2%}"
                  for name in shares["before"] if shares["before"][name] or shares["after"][name]]
    return "\n".join(lines)
