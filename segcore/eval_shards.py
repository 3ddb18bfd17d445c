"""Sharded evaluation: `--shard I/N` scores every N-th frame from I; merging adds the parts into the JSON one run
writes.

Everything a part stores is an integer count (confusion matrices, boundary bands, trimap bands, calibration bins:
the confidence sums are exact multiples of 2**-20), so parts add exactly and every score is recomputed from the sums by the same
summary code a full evaluation uses. The one exception, Cityscapes' iIoU sums (segcore.instance_iou), are weighted
pixel counts stored to 6 decimals: merged, they can differ from a single run's in the last decimal. Per-frame files
(predicted maps, thumbnails) already lie in the one `<key>/` folder all shards write to; the merged records point at
them unchanged.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from segcore import evaluations, runs
from segcore.boundary import boundary_summary, stored_widths
from segcore.calibration import CalibrationCounts, read_calibration
from segcore.instance_iou import merged as merged_instances
from segcore.trimap import merged as merged_trimaps
from segcore.metrics import ConfusionMatrix

SHARD_DIR = "shards"      # under RUN/eval: partial results are not evaluations the app lists
# Fields every shard of one evaluation must share.
SHARED_FIELDS = ("run", "schema", "data_schema", "dataset", "split", "input_size", "format", "resolution",
                 "split_images", "tta", "trained_on_split")
LEVEL_NAMES = tuple(f"{level}.names" for level in evaluations.LEVEL_KEYS)
# Keys a part holds that the merged evaluation computes anew (or, for shard bookkeeping, drops).
RECOMPUTED = ("shard", "frames", "split_images", "class_level", "category_level", "per_image", "calibration",
              "missing_predictions")


def _shared_value(part: dict, field: str):
    """part[field]; 'class_level.names' reaches into the level (absent level: None)."""
    level, _, key = field.partition(".")
    value = (part.get(level) or {}).get(key) if key else part.get(field)
    if field == "dataset" and isinstance(value, dict):     # one data set read from another mount point is the same
        value = {name: item for name, item in value.items() if name != "path"}
    return value


def check_shard(shard) -> tuple[int, int]:
    index, count = shard
    if not (isinstance(index, int) and isinstance(count, int) and 0 <= index < count):
        raise ValueError(f"shard must be I/N with 0 <= I < N, e.g. 0/3, got {index}/{count}")
    return index, count


def parse_shard(text: str) -> tuple[int, int]:
    """'I/N' -> (I, N)."""
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ValueError(f"shard must look like I/N (e.g. 0/3: every 3rd frame from the first), got {text!r}") \
            from None
    return check_shard((index, count))


def _check_parts(parts) -> dict:
    """{shard index: (name, part)} of one complete --shard I/N series, or ValueError naming the part."""
    by_index, first = {}, None
    for name, part in parts:
        problem = evaluations.evaluation_problem(part, shard_ok=True)
        shard = part.get("shard") if isinstance(part, dict) else None
        if problem is None and not (isinstance(shard, list) and len(shard) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) for v in shard) and 0 <= shard[0] < shard[1]):
            problem = "not a shard (no 'shard': [I, N]); merge the files `segcore evaluate --shard` wrote"
        if problem is not None:
            raise ValueError(f"{name}: {problem}")
        if first is None:
            first = (name, part)
        for field in SHARED_FIELDS + LEVEL_NAMES:
            if _shared_value(part, field) != _shared_value(first[1], field):
                raise ValueError(f"{name}: its {field} differs from {first[0]}'s; merge only shards of one run, "
                                 "data set and split")
        if shard[1] != first[1]["shard"][1]:
            raise ValueError(f"{name}: shard {shard[0]}/{shard[1]} is not one of {first[1]['shard'][1]}; merge the "
                             "shards of one --shard I/N series")
        if shard[0] in by_index:
            raise ValueError(f"{name}: shard {shard[0]}/{shard[1]} is also in {by_index[shard[0]][0]}; give each "
                             "shard once")
        by_index[shard[0]] = (name, part)
    count = first[1]["shard"][1]
    missing = [i for i in range(count) if i not in by_index]
    if missing:
        raise ValueError(f"shard {missing[0]}/{count} is missing (have {sorted(by_index)}); evaluate it with "
                         f"--shard {missing[0]}/{count} and merge all {count}")
    return by_index


def _frames_in_split_order(by_index: dict, total: int) -> list:
    """Every frame of the split in order: its record (a dict), or its name (a str) where it had no prediction."""
    count = len(by_index)
    slots = [None] * total
    for index, (name, part) in sorted(by_index.items()):
        expected = len(range(index, total, count))
        records, frames = part["per_image"], part.get("frames")
        missing = part.get("missing_predictions", [])
        missing = missing if isinstance(missing, list) and all(isinstance(m, str) for m in missing) else None
        names = [record["name"] for record in records]
        if missing is None or not (isinstance(frames, list) and len(frames) == expected
                                   and [f for f in frames if f not in set(missing)] == names):
            raise ValueError(f"{name}: holds {len(records)} frame records, not the "
                             f"{expected - len(missing or [])} of shard {index}/{count} of {total} frames; "
                             "evaluate that shard again")
        by_name = dict(zip(names, records))
        for position, frame in enumerate(frames):
            slots[index + position * count] = by_name.get(frame, frame)
    return slots


def _merged_boundary(level: str, named_parts, classes: int) -> dict | None:
    """The sum of the parts' boundary counts at `level`; None if the parts have none (format 2)."""
    if "boundary" not in named_parts[0][1][level]:
        return None
    intersection, union = np.zeros(classes, np.int64), np.zeros(classes, np.int64)
    widths = set()
    for name, part in named_parts:
        stored = part[level].get("boundary")
        counts = [stored.get(key) if isinstance(stored, dict) else None for key in ("intersection", "union")]
        if not all(isinstance(values, list) and len(values) == classes and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values) for values in counts):
            raise ValueError(f"{name}: its {level}.boundary is not {classes} intersection and union counts; "
                             "evaluate that shard again")
        intersection += counts[0]
        union += counts[1]
        widths |= stored_widths(stored.get("width_px"))
    return boundary_summary(intersection, union, widths)


def _merged_calibration(named_parts) -> dict | None:
    """The sum of the parts' calibration bins; None unless every part with scored frames has them."""
    total = None
    for name, part in named_parts:
        if not part["per_image"]:
            continue            # a part without a scored frame adds nothing either way
        counts = read_calibration(part.get("calibration"))
        if counts is None:
            return None
        total = CalibrationCounts(counts.bins) if total is None else total
        if counts.bins != total.bins:
            raise ValueError(f"{name}: its calibration has {counts.bins} bins, not {total.bins}; evaluate the "
                             "shards with one version of segcore")
        total.add(counts)
    return None if total is None else total.to_json()


def merge_evaluations(parts) -> dict:
    """The evaluation a single run writes, from the partial results of shards 0..N-1 ({name: part} or pairs).

    Confusion matrices, boundary bands and calibration bins add exactly; every score is recomputed from the sums,
    and the per-image records are put back in the split's order. ValueError naming the part that doesn't fit.
    """
    parts = list(parts.items() if isinstance(parts, dict) else parts)
    if not parts:
        raise ValueError("nothing to merge: give the shard files of one evaluation")
    by_index = _check_parts(parts)
    named = [by_index[i] for i in range(len(by_index))]
    first_name, first = named[0]
    total = first.get("split_images")
    if not (isinstance(total, int) and total >= 0):
        raise ValueError(f"{first_name}: no 'split_images' count; evaluate the shards again")
    slots = _frames_in_split_order(by_index, total)
    per_image = [slot for slot in slots if isinstance(slot, dict)]
    if not per_image:
        raise ValueError(f"no shard holds a scored frame ({first.get('run', 'the run')} has no prediction for any "
                         "of them); nothing to merge")
    levels = {}
    for level in evaluations.LEVEL_KEYS:
        if level in first:
            names = first[level]["names"]
            total = ConfusionMatrix(len(names))
            for _, part in named:
                total = total.merge(ConfusionMatrix.from_summary(part[level]))
            levels[level] = total.summary(names)
            boundary = _merged_boundary(level, named, len(names))
            if boundary is not None:
                levels[level]["boundary"] = boundary
            instance = merged_instances([part[level].get("instance") for _, part in named])
            if instance is not None:
                levels[level]["instance"] = instance
            trimap = merged_trimaps([part[level].get("trimap") for _, part in named], len(names))
            if trimap is not None:
                levels[level]["trimap"] = trimap
    merged = {key: value for key, value in first.items() if key not in RECOMPUTED}
    merged.update({"images": len(per_image), "seconds": round(sum(part.get("seconds", 0) for _, part in named), 1),
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    merged.update(levels)
    calibration = _merged_calibration(named)
    if calibration is not None:
        merged["calibration"] = calibration
    missing = [slot for slot in slots if isinstance(slot, str)]
    if missing:
        merged["missing_predictions"] = missing
    merged["per_image"] = per_image
    return merged


def merge_files(paths, out, *, overwrite: bool = False) -> tuple[dict, Path]:
    """merge_evaluations over shard JSON files, written atomically to `out` (an existing file only with
    `overwrite`)."""
    from segcore.unlike_train import carry_distances
    if Path(out).exists() and not overwrite:
        raise ValueError(f"{out} exists; add --overwrite to replace it (a stored evaluation of the same frames keeps "
                         "their distances to train), or choose another --out")
    parts = [(str(path), runs.read_json(Path(path))) for path in paths]
    result = merge_evaluations(parts)
    if Path(out).exists():          # a merge over a stored evaluation keeps its frames' distances to train
        carry_distances(out, result)
    evaluations.write_evaluation(Path(out), result)
    return result, Path(out)
