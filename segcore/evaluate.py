"""Evaluation: stream a labelled split through a run, accumulate the confusion matrix, store it as JSON.

The JSON is the single source for every evaluation view: class- and category-level scores, the
confusion matrices, and per-image records (with their largest confusions) that link a matrix cell to
the images behind it. Scoring is at each label's own resolution. Where the JSON goes and how it names
its data set: segcore.evaluations.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from segcore import evaluations, runs
from segcore.datasets import list_pairs, schema_for
from segcore.imageio import read_pair
from segcore.labels import CATEGORIES, category_schema
from segcore.metrics import ConfusionMatrix, top_confusions


def evaluate_predictor(predictor, samples, *, progress: bool = False, on_image=None, root=None,
                       truth_schema=None) -> dict:
    """Score `predictor` (a predict.Predictor) on samples; `on_image(i, n)` is called after each image.

    With `root` (the data set folder) per-image paths are stored relative to it, as evaluate_run does. With a
    `truth_schema` other than the model's, both label maps are folded onto the shared categories (void ignored)
    and only the category level is scored.
    """
    where = (lambda path: evaluations.relative(path, Path(root))) if root is not None else str
    schema = predictor.schema
    truth_schema = truth_schema or schema
    same = truth_schema.name == schema.name
    scored = schema if same else category_schema()
    matrix = ConfusionMatrix(scored.num_classes, scored.ignore_index)
    bar = None
    if progress:
        import keras
        bar = keras.utils.Progbar(len(samples), unit_name="image")
    per_image, started = [], time.time()
    for index, sample in enumerate(samples):
        image, truth = read_pair(sample.image, sample.label, truth_schema)
        pred = predictor.predict(image).labels
        if not same:
            truth, pred = truth_schema.to_categories(truth), schema.to_categories(pred)
        counts = matrix.update(truth, pred)
        single = ConfusionMatrix(scored.num_classes, None, counts)
        record = {"name": sample.name, "image": where(sample.image), "label": where(sample.label),
                  "pixel_accuracy": _round(single.pixel_accuracy()), "mean_iou": _round(single.mean_iou())}
        if same:
            record["confusions"] = top_confusions(counts, 8)
        record["category_confusions"] = top_confusions(single.to_categories(schema).counts if same else counts, 8)
        per_image.append(record)
        if bar is not None:
            bar.update(index + 1)
        if on_image is not None:
            on_image(index + 1, len(samples))
    result = {"run": predictor.name, "schema": schema.name, "data_schema": truth_schema.name, "images": len(samples),
              "input_size": list(predictor.input_size), "seconds": round(time.time() - started, 1),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    result.update(level_summaries(matrix.counts, schema if same else None))
    result["per_image"] = per_image
    return result


def level_summaries(counts, schema=None) -> dict:
    """class_level and category_level from a class matrix of `schema`; with schema None, `counts` is already a
    category matrix (a cross-schema evaluation) and only category_level is given."""
    if schema is None:
        return {"category_level": ConfusionMatrix(len(CATEGORIES), None, counts).summary(list(CATEGORIES))}
    classes = ConfusionMatrix(schema.num_classes, schema.ignore_index, counts)
    return {"class_level": classes.summary(schema.names),
            "category_level": classes.fold(schema.category_ids(), len(CATEGORIES)).summary(list(CATEGORIES))}


def _round(value: float):
    return None if np.isnan(value) else round(float(value), 6)


def evaluation_path(run: runs.Run, data, split: str) -> Path:
    """RUN/eval/<name>-<fingerprint>-<split>.json; a folder that isn't a readable data set is keyed by its path."""
    try:
        identity = evaluations.dataset_identity(data, split)
    except (ValueError, OSError):
        resolved = Path(data).expanduser().resolve()
        identity = {"name": resolved.name, "split": split,
                    "fingerprint": hashlib.sha256(str(resolved).encode()).hexdigest()[:evaluations.FINGERPRINT_CHARS]}
    return evaluations.evaluation_file(run.path, identity)


def evaluate_run(run, data, split: str = "val", *, schema=None, out=None, progress: bool = False,
                 on_image=None, predictor=None, overwrite: bool = True, inside=None, level: str | None = None,
                 shard: tuple[int, int] | None = None) -> tuple[dict, Path]:
    """Evaluate and write the JSON atomically (an interrupted evaluation leaves the previous file intact).

    overwrite=False refuses (RunError, before any work) when the target file exists. `inside`: a folder the
    resolved target must lie in (the app passes its models folder, so a linked run can't write elsewhere).
    `level`: None or "class" scores classes (and their categories) and needs data labelled in the model's
    schema; "category" also scores data labelled in another schema, on the shared categories. `shard` (I, N):
    score every N-th frame from I and write a partial result for merge_evaluations (RUN/eval/shards/ by default).
    """
    from segcore.predict import Predictor

    if level not in (None, "class", "category"):
        raise ValueError(f"level must be class or category, got {level!r}")
    if predictor is not None:
        run = predictor.run
    run = run if isinstance(run, runs.Run) else runs.open_run(run)
    if not run.ok:
        raise runs.RunError(run.error)
    if shard is not None:
        check_shard(shard)
    root = Path(data).expanduser().resolve()
    samples = list_pairs(root, split)
    identity = evaluations.dataset_identity(root, split, samples)
    data_schema = schema_for(root, schema)
    if data_schema.name != run.schema.name and level != "category":
        raise ValueError(f"the data set uses the {data_schema.name} schema but {run.name} predicts "
                         f"{run.schema.name} classes; pass --level category to score both on the shared categories")
    path = Path(out) if out else evaluations.evaluation_file(run.path, identity)
    if out is None and shard is not None:
        path = path.parent / SHARD_DIR / f"{path.stem}-shard-{shard[0]}-of-{shard[1]}.json"
    if inside is not None:
        path = evaluations.check_inside(path, inside)
    if path.exists() and not overwrite:
        raise runs.RunError(f"{path} already holds an evaluation; pass --overwrite to replace it")
    predictor = predictor or Predictor(run)
    scored = samples if shard is None else samples[shard[0]::shard[1]]
    result = evaluate_predictor(predictor, scored, progress=progress, on_image=on_image, root=root,
                                truth_schema=data_schema)
    result.update({"format": evaluations.FORMAT, "dataset": identity, "split": split,
                   "label": evaluations.label({"dataset": identity}), "resolution": evaluations.RESOLUTION})
    if shard is not None:
        result.update({"shard": list(shard), "split_images": len(samples),
                       "frames": [sample.name for sample in scored]})
    runs.write_json(path, result)
    return result, path


SHARD_DIR = "shards"      # under RUN/eval: partial results are not evaluations the app lists
# Fields every shard of one evaluation must share.
SHARED_FIELDS = ("run", "schema", "data_schema", "dataset", "split", "input_size", "format", "resolution",
                 "split_images")
LEVEL_NAMES = tuple(f"{level}.names" for level in evaluations.LEVEL_KEYS)


def _shared_value(part: dict, field: str):
    """part[field]; 'class_level.names' reaches into the level (absent level: None)."""
    level, _, key = field.partition(".")
    return (part.get(level) or {}).get(key) if key else part.get(field)


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


def merge_evaluations(parts) -> dict:
    """The evaluation a single run writes, from the partial results of shards 0..N-1 ({name: part} or pairs).

    Confusion matrices add exactly; every score is recomputed from the sums by the same summary code, and the
    per-image records are put back in the split's order. ValueError naming the part that doesn't fit.
    """
    parts = list(parts.items() if isinstance(parts, dict) else parts)
    if not parts:
        raise ValueError("nothing to merge: give the shard files of one evaluation")
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
    ordered = [by_index[i][1] for i in range(count)]
    total = first[1].get("split_images")
    if not (isinstance(total, int) and total >= 0):
        raise ValueError(f"{first[0]}: no 'split_images' count; evaluate the shards again")
    per_image = [None] * total
    for index, (name, part) in sorted(by_index.items()):
        expected = len(range(index, total, count))
        if len(part["per_image"]) != expected or part.get("frames") != [r["name"] for r in part["per_image"]]:
            raise ValueError(f"{name}: holds {len(part['per_image'])} frame records, not the {expected} of shard "
                             f"{index}/{count} of {total} frames; evaluate that shard again")
        per_image[index::count] = part["per_image"]
    levels = {}
    for level in evaluations.LEVEL_KEYS:
        if level in first[1]:
            names = first[1][level]["names"]
            counts = sum(np.asarray(part[level]["confusion_matrix"], dtype=np.int64) for part in ordered)
            levels[level] = ConfusionMatrix(len(names), None, counts).summary(names)
    merged = {key: value for key, value in first[1].items()
              if key not in ("shard", "frames", "split_images", "class_level", "category_level", "per_image")}
    merged.update({"images": len(per_image), "seconds": round(sum(part.get("seconds", 0) for part in ordered), 1),
                   "created": time.strftime("%Y-%m-%dT%H:%M:%S")})
    merged.update(levels)
    merged["per_image"] = per_image
    return merged


def merge_files(paths, out) -> tuple[dict, Path]:
    """merge_evaluations over shard JSON files, written atomically to `out`."""
    parts = [(str(path), runs.read_json(Path(path))) for path in paths]
    result = merge_evaluations(parts)
    runs.write_json(Path(out), result)
    return result, Path(out)


def format_evaluation(result: dict) -> str:
    lines = []
    for level in ("class_level", "category_level"):
        summary = result.get(level)
        if summary is None:       # a cross-schema evaluation has categories only
            continue
        lines.append(f"{level.replace('_', ' ')}: mIoU {_pct(summary['mean_iou'])}  pixel acc "
                     f"{_pct(summary['pixel_accuracy'])}  mean class acc {_pct(summary['mean_class_accuracy'])}  "
                     f"FW-IoU {_pct(summary['frequency_weighted_iou'])}  mean Dice {_pct(summary['mean_dice'])}")
        for name, scores in summary["per_class"].items():
            lines.append(f"  {name:<14} IoU {_pct(scores['iou'])}  acc {_pct(scores['accuracy'])}  "
                         f"Dice {_pct(scores['dice'])}")
    return "\n".join(lines)


def _pct(value) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"
