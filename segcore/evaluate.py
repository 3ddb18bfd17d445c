"""Evaluation: stream a labelled split through a run, accumulate every count the views need, store them.

The JSON (format 3, see segcore.evaluations) is the single source for every evaluation view: class- and
category-level scores and confusion matrices, boundary IoU bands, Cityscapes' iIoU sums (segcore.instance_iou),
calibration bins, and per-frame records with the frame's full confusion matrix, its label quality
(segcore.label_quality) and the paths of its stored predicted label map, thumbnail and label doubts
(segcore.eval_frames), so a view never runs a model. Scoring is at each label's own resolution. Sharding and
merging: segcore.eval_shards. Where the JSON goes and how it names its data set: segcore.evaluations.
"""
from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path

import numpy as np

from segcore import evaluations, frames, runs
from segcore.backends import MissingPrediction
from segcore.boundary import boundary_counts, boundary_summary, boundary_width, mean_boundary_iou
from segcore.calibration import CalibrationCounts, calibration_counts, expected_calibration_error
from segcore.datasets import frame_names_digest, list_pairs, schema_for
from segcore.eval_frames import FrameStore
from segcore.eval_shards import (SHARD_DIR, SHARED_FIELDS, check_shard, merge_evaluations,  # noqa: F401 - public
                                 merge_files, parse_shard)
from segcore.imageio import read_instance_map, read_pair
from segcore.instance_iou import InstanceCounts, instance_map_path, object_classes
from segcore.label_quality import contradicted, quality_of
from segcore.labels import CATEGORIES, category_schema
from segcore.metrics import ConfusionMatrix, sparse_confusion, sparse_unpredicted, top_confusions
from segcore.train_config import train_splits
from segcore.trimap import TrimapCounts, trimap_scores
from segcore.unlike_train import carry_distances

MISSING_SHOWN = 3           # frames named in the one-line note about frames without a prediction


class _Level:
    """One scored level of an evaluation: its schema, its boundary band totals and its trimap counts."""

    def __init__(self, key: str, num_classes: int, ignore_index: int | None):
        self.key, self.num_classes, self.ignore_index = key, num_classes, ignore_index
        self.intersection = np.zeros(num_classes, np.int64)
        self.union = np.zeros(num_classes, np.int64)
        self.widths: set[int] = set()
        self.trimap = TrimapCounts(num_classes, ignore_index)

    def add_frame(self, truth, pred) -> float | None:
        """Add one frame's boundary bands and trimap counts; the frame's mean boundary IoU."""
        self.trimap.add(truth, pred)
        intersection, union = boundary_counts(truth, pred, self.num_classes, self.ignore_index)
        self.intersection += intersection
        self.union += union
        self.widths.add(boundary_width(truth.shape))
        return mean_boundary_iou(intersection, union)

    def boundary(self) -> dict:
        return boundary_summary(self.intersection, self.union, self.widths)


def _level_maps(truth, pred, schema, truth_schema, same: bool) -> dict:
    """{level key: (truth map, predicted map)} at every level scored, finest first."""
    if same:
        return {"class_level": (truth, pred),
                "category_level": (schema.to_categories(truth), schema.to_categories(pred))}
    return {"category_level": (truth_schema.to_categories(truth), schema.to_categories(pred))}


def _frame_probabilities(predictor, scores, fold=None) -> np.ndarray:
    """The frame's class probabilities at the model's output size; with `fold` (classes -> categories, one-hot)
    summed per category."""
    probabilities = predictor.probabilities(scores)
    return probabilities if fold is None else probabilities @ fold


def _frame_calibration(probabilities, truth, valid, no_class: int | None = None) -> CalibrationCounts:
    """One frame's calibration bins: top-class probability against the ground truth, at the label's resolution
    (the probabilities are brought to the label's size by segcore.frames, the path the label map takes); with
    `no_class`, a pixel whose void channel wins counts with that channel's probability, and as wrong."""
    labels, confidence = frames.top_class(probabilities, truth.shape, no_class)
    return calibration_counts(confidence, labels == truth, valid)


def missing_note(run_name: str, missing: list[str], total: int) -> str:
    """One line about the frames a prediction-folder run has no prediction for."""
    shown = ", ".join(missing[:MISSING_SHOWN]) + (", ..." if len(missing) > MISSING_SHOWN else "")
    return (f"{run_name}: no prediction for {len(missing)} of {total} frames ({shown}); they are skipped and "
            "listed under missing_predictions")


class _Progress:
    """"12/101 images, 0.41 s an image" on stdout: redrawn in place on a terminal, every 10 % in a log."""

    def __init__(self, total: int):
        self.total, self.started, self.tty = total, time.time(), sys.stdout.isatty()

    def update(self, done: int) -> None:
        step = max(1, self.total // 10)
        if not (self.tty or done % step == 0 or done == self.total):
            return
        line = f"{done}/{self.total} images, {(time.time() - self.started) / done:.2f} s an image"
        print(f"\r{line}" if self.tty else line, end="\n" if done == self.total or not self.tty else "", flush=True)


def evaluate_predictor(predictor, samples, *, progress: bool = False, on_image=None, root=None,
                       truth_schema=None, store: FrameStore | None = None, allow_empty: bool = False) -> dict:
    """Score `predictor` (a predict.Predictor) on samples; `on_image(i, n)` is called after each image.

    With `root` (the data set folder) per-image paths are stored relative to it, as evaluate_run does. With a
    `truth_schema` other than the model's, both label maps are folded onto the shared categories (void ignored)
    and only the category level is scored. With `store`, each frame's predicted label map and thumbnail are
    written there and the record points at them. A frame the run has no prediction for (a prediction folder)
    is skipped and listed under "missing_predictions"; RunError if no frame has one, unless `allow_empty` (a shard).
    """
    where = (lambda path: evaluations.relative(path, Path(root))) if root is not None else str
    schema = predictor.schema
    truth_schema = truth_schema or schema
    same = truth_schema.name == schema.name
    scored = schema if same else category_schema()
    categories = category_schema()
    matrix = ConfusionMatrix(scored.num_classes, scored.ignore_index)
    levels = {"category_level": _Level("category_level", categories.num_classes, categories.ignore_index)}
    if same:
        levels = {"class_level": _Level("class_level", schema.num_classes, schema.ignore_index), **levels}
    fold = None if same else schema.category_fold()
    calibration, calibrated = CalibrationCounts(), True
    # iIoU needs every scored frame's instanceIds file (Cityscapes); one frame without it drops iIoU. A model of
    # another schema is scored on the categories (human, vehicle), as its other scores are.
    objects = InstanceCounts(truth_schema) if not np.isnan(object_classes(truth_schema)).all() else None
    bar = _Progress(len(samples)) if progress else None     # not Keras' Progbar: ONNX and stored runs need no TF
    per_image, missing, started = [], [], time.time()
    for index, sample in enumerate(samples):
        image, truth = read_pair(sample.image, sample.label, truth_schema)
        try:
            prediction = predictor.predict(image, keep_scores=True, name=Path(sample.image).stem)
        except MissingPrediction:
            missing.append(sample.name)
        else:
            maps = _level_maps(truth, prediction.labels, schema, truth_schema, same)
            finest = next(iter(levels))
            finest_truth, finest_pred = maps[finest]
            single = matrix.update(finest_truth, finest_pred)
            frame_boundary = {key: level.add_frame(*maps[key]) for key, level in levels.items()}
            instance_map = instance_map_path(sample.label) if objects is not None else None
            if instance_map is None:
                objects = None
            else:
                objects.add(read_instance_map(instance_map, size=finest_truth.shape),
                            maps["class_level"][1] if same else None, maps["category_level"][1])
            record = {"name": sample.name, "image": where(sample.image), "label": where(sample.label),
                      **_frame_scores(single, schema if same else None), "boundary_iou": _round(frame_boundary[finest])}
            if same:     # the categories' own: a class border inside a category is no boundary there
                record["category_boundary_iou"] = _round(frame_boundary["category_level"])
            if prediction.scaled_from is not None:          # a stored prediction of another size, scaled (nearest)
                record["scaled_from"] = list(prediction.scaled_from)
            doubted = None                  # the pixels whose label the model rejects (label quality)
            if prediction.scores is None:
                calibrated = False
            elif calibrated:
                valid = (finest_truth < scored.num_classes) & (finest_truth != scored.ignore_index)
                probabilities = _frame_probabilities(predictor, prediction.scores, fold)
                calibration.add(_frame_calibration(probabilities, finest_truth, valid, predictor.no_class))
                doubted, counted = contradicted(probabilities, finest_truth, valid)
                record["label_quality"] = _round(quality_of(doubted, counted))
            if store is not None:
                record.update(store.write(sample.name, prediction.labels, image, doubted))
            per_image.append(record)
        if bar is not None:
            bar.update(index + 1)
        if on_image is not None:
            on_image(index + 1, len(samples))
    if not per_image and not allow_empty:
        raise runs.RunError(f"{predictor.name} has no prediction for any of the {len(samples)} frames (e.g. "
                            f"{', '.join(s.name for s in samples[:MISSING_SHOWN])}); import the prediction folder "
                            "of this data set, or evaluate on the data set its predictions belong to")
    size = predictor.input_size
    result = {"run": predictor.name, "schema": schema.name, "data_schema": truth_schema.name, "images": len(per_image),
              "input_size": None if size is None else list(size), "seconds": round(time.time() - started, 1),
              "created": time.strftime("%Y-%m-%dT%H:%M:%S")}
    if getattr(predictor, "serves_stored_labels", False):
        result["kind"] = "predictions"          # its "input size" is the predictions' size; views say so
    else:
        result["tta"] = getattr(predictor, "tta", "none")     # test-time augmentation the scores were made with
    result.update(level_summaries(matrix, schema if same else None))
    for key, level in levels.items():
        result[key]["boundary"] = level.boundary()
        result[key]["trimap"] = level.trimap.to_json()
        if objects is not None:
            result[key]["instance"] = objects.to_json(key)
    if per_image and calibrated:
        result["calibration"] = calibration.to_json()
    if missing:
        result["missing_predictions"] = missing
    result["per_image"] = per_image
    return result


def _frame_scores(single: ConfusionMatrix, schema=None) -> dict:
    """A frame's scores and confusions from its matrix; `schema` None: the matrix is already at category level."""
    categories = single.to_categories(schema) if schema is not None else None
    category_counts = categories.counts if categories is not None else single.counts
    scores = {"pixel_accuracy": _round(single.pixel_accuracy()), "mean_iou": _round(single.mean_iou())}
    if schema is not None:
        scores["confusions"] = top_confusions(single.counts, 8)
    scores["category_confusions"] = top_confusions(category_counts, 8)
    scores["confusion"] = sparse_confusion(single.counts)
    if schema is not None:
        scores["category_confusion"] = sparse_confusion(category_counts)
    # Pixels the prediction left without a class (a stored prediction's void), as [true id, pixels].
    for key, unpredicted in (("unpredicted", single.unpredicted),
                             ("category_unpredicted", categories.unpredicted if categories is not None else None)):
        if unpredicted is not None and unpredicted.any():
            scores[key] = sparse_unpredicted(unpredicted)
    return scores


def level_summaries(matrix, schema=None) -> dict:
    """class_level and category_level from a ConfusionMatrix (or a bare count array) of `schema`'s classes; with
    schema None it is already a category matrix (a cross-schema evaluation) and only category_level is given."""
    if not isinstance(matrix, ConfusionMatrix):
        matrix = ConfusionMatrix(len(matrix), None, matrix)
    if schema is None:
        return {"category_level": matrix.summary(list(CATEGORIES))}
    return {"class_level": matrix.summary(schema.names),
            "category_level": matrix.fold(schema.category_ids(), len(CATEGORIES)).summary(list(CATEGORIES))}


def _round(value):
    return None if value is None or np.isnan(value) else round(float(value), 6)


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
                 shard: tuple[int, int] | None = None, tta: str | None = None) -> tuple[dict, Path]:
    """Evaluate, store each frame's files, and write the JSON atomically (an interrupted evaluation leaves the
    previous JSON intact).

    overwrite=False refuses (RunError, before any work) when the target file exists. `inside`: a folder the
    resolved targets must lie in (the app passes its models folder, so a linked run can't write elsewhere).
    `level`: None or "class" scores classes (and their categories) and needs data labelled in the model's
    schema; "category" also scores data labelled in another schema, on the shared categories. `shard` (I, N):
    score every N-th frame from I and write a partial result for merge_evaluations (RUN/eval/shards/ by default).
    `tta`: test-time augmentation (segcore.predict.TTA_MODES); None = the run's own (meta.json "tta").
    Frame files go to `<eval folder>/<data set key>/`, the eval folder being RUN/eval/ or, with `out`, out's
    folder; every shard of one evaluation writes into the same one.
    """
    from segcore.predict import Predictor, own_tta

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
    # Another test-time augmentation than the run's own is stored beside its own evaluation, not over it.
    asked = getattr(predictor, "tta", None) if predictor is not None else tta      # a folder of predictions has none
    variant = asked if asked is not None and asked != own_tta(run) else None
    path = Path(out) if out else evaluations.evaluation_file(run.path, identity, variant)
    eval_dir = path.parent
    if out is None and shard is not None:
        path = path.parent / SHARD_DIR / f"{path.stem}-shard-{shard[0]}-of-{shard[1]}.json"
    store = FrameStore(eval_dir, evaluations.evaluation_key(identity, variant))
    if inside is not None:
        path = evaluations.check_inside(path, inside)
        evaluations.check_inside(store.folder / "frame", inside)
    if path.exists() and not overwrite:
        raise runs.RunError(f"{path} already holds an evaluation; pass --overwrite to replace it")
    predictor = predictor or Predictor(run, tta=tta)
    scored = samples if shard is None else samples[shard[0]::shard[1]]
    try:
        result = evaluate_predictor(predictor, scored, progress=progress, on_image=on_image, root=root,
                                    truth_schema=data_schema, store=store, allow_empty=shard is not None)
    except BaseException:
        store.discard()         # a failed evaluation leaves the stored frames as they were
        raise
    if result.get("missing_predictions"):
        print(missing_note(run.name, result["missing_predictions"], len(scored)), file=sys.stderr)
    result.update({"format": evaluations.FORMAT, "dataset": identity, "split": split,
                   "label": evaluations.label({"dataset": identity}), "resolution": evaluations.RESOLUTION})
    if _trained_on(run, root, split, samples):
        result["trained_on_split"] = True
    if shard is not None:
        result.update({"shard": list(shard), "split_images": len(samples),
                       "frames": [sample.name for sample in scored]})
    try:
        store.commit(replace_all=shard is None)
    except BaseException:
        store.discard()
        raise
    if shard is None and path.exists():
        carry_distances(path, result)
    evaluations.write_evaluation(path, result)
    return result, path


def _trained_on(run: runs.Run, root: Path, split: str, samples) -> bool:
    """Whether the run trained on `split` of the data folder `root`: its recorded config names that folder and
    split, or it trained on a split of that name whose frame names hash alike (the same frames elsewhere: a copy,
    the JPEG pack a GPU machine trained on)."""
    config = run.meta.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("data"), str):
        return False
    dataset = run.meta.get("dataset")
    digests = dataset.get("frame_names") if isinstance(dataset, dict) else None
    # Same split name too: a data set may name its train and val frames alike (0001.png in each).
    if isinstance(digests, dict) and digests.get(split) == frame_names_digest(samples):
        return True
    try:
        same_folder = Path(config["data"]).resolve() == root
    except (OSError, RuntimeError):
        return False
    return same_folder and split in train_splits(config)


def format_evaluation(result: dict) -> str:
    """The CLI's summary: scores per level (with boundary IoU, and iIoU where stored), per class, calibration, the
    frames of lowest label quality and skipped frames."""
    from segcore.eval_records import boundary_scores
    from segcore.instance_iou import instance_scores, mean_instance_score
    from segcore.reports import frame_mean_iou, unpredicted_note
    note = evaluations.trained_on_note(result)
    lines = [note] if note else []
    for level in ("class_level", "category_level"):
        summary = result.get(level)
        if summary is None:       # a cross-schema evaluation has categories only
            continue
        boundary, objects = boundary_scores(summary), instance_scores(summary)
        mean_boundary = _mean_or_none(boundary)
        frame_mean = frame_mean_iou(result, level.removesuffix("_level"))     # every frame weighs the same
        lines.append(f"{level.replace('_', ' ')}: mIoU {_pct(summary['mean_iou'])}  pixel acc "
                     f"{_pct(summary['pixel_accuracy'])}  mean class acc {_pct(summary['mean_class_accuracy'])}  "
                     f"FW-IoU {_pct(summary['frequency_weighted_iou'])}  mean Dice {_pct(summary['mean_dice'])}"
                     + (f"  boundary mIoU {_pct(mean_boundary)}" if boundary is not None else "")
                     + (f"  iIoU {_pct(mean_instance_score(summary))}" if objects is not None else "")
                     + (f"  mean of frames' mIoU {_pct(frame_mean)}" if frame_mean is not None else ""))
        no_class = unpredicted_note(summary)
        if no_class:
            lines.append(f"  {no_class}")
        near = trimap_scores(summary)
        if near is not None:
            lines.append(f"  mIoU within {'/'.join(map(str, near['widths']))} px of a ground-truth edge: "
                         + " / ".join(_pct(v).strip() for v in near["mean_iou"]))
        for index, (name, scores) in enumerate(summary["per_class"].items()):
            lines.append(f"  {name:<14} IoU {_pct(scores['iou'])}  acc {_pct(scores['accuracy'])}  "
                         f"Dice {_pct(scores['dice'])}"
                         + (f"  boundary IoU {_pct(boundary[index])}" if boundary is not None else "")
                         + (f"  iIoU {_pct(objects[index])}" if objects and objects[index] is not None else ""))
    ece = expected_calibration_error(result.get("calibration"))
    if ece is not None:
        pixels = sum(result["calibration"]["count"])
        lines.append(f"calibration: ECE {100 * ece:.2f} % over {pixels} pixels "
                     f"({result['calibration']['bins']} confidence bins)")
    doubted = sorted((r["label_quality"], r["name"]) for r in result.get("per_image", [])
                     if isinstance(r, dict) and isinstance(r.get("label_quality"), (int, float)))
    if doubted:
        shown = ", ".join(f"{name} {100 * quality:.2f} %" for quality, name in doubted[:MISSING_SHOWN])
        lines.append(f"label quality: lowest {shown} (frames to review for label errors: Frames page, sort by "
                     "label quality)")
    scaled = evaluations.scaled_note(result)
    if scaled:
        lines.append(f"stored predictions: {scaled}")
    missing = result.get("missing_predictions")
    if isinstance(missing, list) and missing:
        lines.append(missing_note(str(result.get("run", "the run")), missing, len(missing) + len(result["per_image"])))
    return "\n".join(lines)


def _mean_or_none(values):
    values = [v for v in values or [] if v is not None]
    return sum(values) / len(values) if values else None


def _pct(value) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"
