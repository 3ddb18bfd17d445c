"""The val frames least like any training frame, and each run's scores on just those, from its stored evaluation.

CamVid val is a stretch of the drive 0016E5 that train also samples: every val frame is 1-5 seconds from a training
frame, and many look almost the same, so val flatters every model. Scoring on the val frames that look least like
any training frame reads closer to held-out data without retraining anything. Frames are compared by appearance:
colour thumbnails (60x80), each normalised for exposure and contrast, mean absolute difference to the most alike
training frame. Scores sum the chosen frames' stored confusion matrices (evaluation format 3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from segcore.eval_records import confusion_is_partial, frame_matrix
from segcore.evaluations import RERUN_HINT
from segcore.frame_queries import sequence_of
from segcore.metrics import ConfusionMatrix

THUMBNAIL = (60, 80)        # height, width: a scene's layout and colours, not its texture or noise
STORED_SHARE = 0.25         # the share views score from distances stored in an evaluation
DISTANCE_DECIMALS = 5       # as evaluations store a frame's distance
MEASURE = ("mean absolute difference of 60x80 colour thumbnails, each normalised to zero mean and unit spread, "
           "to the most alike training frame")


@dataclass(frozen=True)
class FrameNovelty:
    name: str
    distance: float             # mean absolute difference to the most alike training frame (0: identical)
    nearest: str                # that training frame
    frame_gap: int | None       # frame numbers to the nearest training frame of the same sequence; None: none


def appearance(path) -> np.ndarray:
    """A frame's normalised colour thumbnail, flattened (zero mean, unit spread: exposure changes don't count)."""
    import cv2   # here: the views that read stored distances need neither OpenCV nor image decoding

    from segcore.imageio import read_image
    small = cv2.resize(read_image(path), THUMBNAIL[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
    return ((small - small.mean()) / (small.std() + 1e-6)).ravel()


def _frame_gaps(names: list[str], train_names: list[str]) -> dict[str, int | None]:
    numbers: dict[str, list[int]] = {}
    for name in train_names:
        sequence, number = sequence_of(name)
        if number is not None:
            numbers.setdefault(sequence, []).append(number)
    gaps = {}
    for name in names:
        sequence, number = sequence_of(name)
        known = numbers.get(sequence)
        gaps[name] = None if number is None or not known else min(abs(number - other) for other in known)
    return gaps


def novelty(samples, train_samples) -> list[FrameNovelty]:
    """Every sample with its distance to the most alike training sample, least alike first."""
    if not samples or not train_samples:
        raise ValueError("no frames to compare: the split to rank and the training split must both hold frames")
    train = np.stack([appearance(sample.image) for sample in train_samples])
    gaps = _frame_gaps([s.name for s in samples], [s.name for s in train_samples])
    ranked = []
    for sample in samples:
        distances = np.abs(train - appearance(sample.image)).mean(axis=1)
        nearest = int(distances.argmin())
        # Rounded as evaluations store it, so the CLI and the stored distances rank ties alike.
        ranked.append(FrameNovelty(sample.name, round(float(distances[nearest]), DISTANCE_DECIMALS),
                                   train_samples[nearest].name, gaps[sample.name]))
    return sorted(ranked, key=lambda frame: (-frame.distance, frame.name))


def least_alike(ranked: list[FrameNovelty], share: float) -> list[FrameNovelty]:
    """The `share` (0-1] of `ranked` (novelty's order) least like any training frame, at least one frame."""
    return ranked[: share_count(share, len(ranked))]


def share_count(share: float, frames: int) -> int:
    """How many of `frames` the share (0-1] holds: rounded up, at least one."""
    _check_share(share)
    return max(1, math.ceil(share * frames))


def _check_share(share: float) -> None:
    if not 0 < share <= 1:
        raise ValueError(f"share must be above 0 and at most 1, got {share}")


def subset_scores(result: dict, names: list[str], level: str = "class") -> dict:
    """ConfusionMatrix.summary of a stored evaluation restricted to the frames `names` (their confusions summed)."""
    summary = result.get(f"{level}_level")
    if not isinstance(summary, dict):
        raise ValueError(f"evaluation of {result.get('run')} has no {level} level")
    records = {record.get("name"): record for record in result.get("per_image", [])}
    missing = [name for name in names if name not in records]
    if missing:
        raise ValueError(f"evaluation of {result.get('run')} lacks frame {missing[0]} (and {len(missing) - 1} "
                         "more): evaluate the run on the same split")
    chosen = [records[name] for name in names]
    if any(confusion_is_partial(record, level) for record in chosen):
        raise ValueError(f"evaluation of {result.get('run')} stores only each frame's largest confusions: "
                         + RERUN_HINT.format(what="full confusion matrices"))
    class_names = summary["names"]
    total = ConfusionMatrix(len(class_names))
    for record in chosen:
        total = total.merge(frame_matrix(record, level, len(class_names)))
    return total.summary(class_names)


def stored_evaluation(run, identity: dict) -> dict:
    """A run's stored evaluation of the data set split `identity` names; ValueError saying how to make it."""
    from segcore.evaluations import evaluation_file, read_evaluation
    from segcore.runs import META_FILE, open_run
    if not (Path(run) / META_FILE).is_file():       # not a run folder at all: evaluating it is no advice
        raise ValueError(open_run(run).error)
    path = evaluation_file(run, identity)
    if not path.is_file():
        raise ValueError(f"{run} has no stored evaluation of {identity['path']} {identity['split']}: run `segcore "
                         f"evaluate --run {run} --data {identity['path']} --split {identity['split']}` first")
    return read_evaluation(path)      # RunError (a ValueError) naming the file if it is damaged


def store_distances(run, identity: dict, ranked: list[FrameNovelty], train_split: str, train_frames: int) -> Path:
    """Write each frame's distance to the training split into the run's stored evaluation (atomically): views
    then score the least-alike share without reading a training frame. ValueError where frames don't match."""
    from segcore.evaluations import evaluation_file, write_evaluation
    result = stored_evaluation(run, identity)
    by_name = {frame.name: frame for frame in ranked}
    records = result.get("per_image", [])
    if {record.get("name") for record in records} != set(by_name):
        raise ValueError(f"{run}: its stored evaluation holds other frames than {identity['path']} "
                         f"{identity['split']} has now: re-run `segcore evaluate --overwrite` first")
    for record in records:
        frame = by_name[record["name"]]
        record["train_distance"], record["nearest_train_frame"] = round(frame.distance, DISTANCE_DECIMALS), \
            frame.nearest
    result["unlike_train"] = {"train_split": train_split, "train_frames": train_frames, "measure": MEASURE}
    return write_evaluation(evaluation_file(run, identity), result)


def carry_distances(previous_path, result: dict) -> None:
    """Copy the distances of the evaluation `result` replaces (same data set fingerprint, so the same frames) into
    `result`: they depend on the frames alone, and re-evaluating a run should not drop them."""
    from segcore.runs import read_json
    try:
        previous = read_json(previous_path)
    except (OSError, ValueError):
        return              # an unreadable old file is being replaced anyway: it has nothing to carry
    same_frames = (previous.get("dataset") or {}).get("fingerprint") == (result.get("dataset") or {}).get("fingerprint")
    if "unlike_train" not in previous or not same_frames:
        return
    distances = {r.get("name"): r for r in previous.get("per_image", []) if "train_distance" in r}
    records = result.get("per_image", [])
    if not records or any(record.get("name") not in distances for record in records):
        return
    for record in records:
        old = distances[record["name"]]
        record["train_distance"], record["nearest_train_frame"] = old["train_distance"], old.get("nearest_train_frame")
    result["unlike_train"] = previous["unlike_train"]


def stored_least_alike(result: dict, level: str = "class", share: float = STORED_SHARE) -> dict | None:
    """subset_scores of the `share` least like train, from the distances store_distances wrote; None where the
    evaluation has none."""
    records = result.get("per_image", [])
    if "unlike_train" not in result or not records or any("train_distance" not in r for r in records):
        return None
    ranked = [FrameNovelty(r["name"], float(r["train_distance"]), r.get("nearest_train_frame", ""), None)
              for r in records]
    ranked.sort(key=lambda frame: (-frame.distance, frame.name))
    return subset_scores(result, [frame.name for frame in least_alike(ranked, share)], level)


def stored_least_alike_label(result: dict, share: float = STORED_SHARE) -> str | None:
    """What stored_least_alike scored, in words ('26 of the 101 frames least like the 367 train frames'); None
    where the evaluation stores no distances."""
    stored = result.get("unlike_train")
    frames = len(result.get("per_image", []))
    if not isinstance(stored, dict) or not frames:
        return None
    return (f"{share_count(share, frames)} of the {frames} frames least like the "
            f"{stored.get('train_frames', '?')} {stored.get('train_split', 'training')} frames")


def score_runs(data, runs, *, split: str = "val", train_split: str = "train", share: float = STORED_SHARE,
               level: str = "class", store: bool = False, log=None) -> dict:
    """Rank `split`'s frames by how unlike `train_split` they look and score each run on all of them and on the
    `share` least alike. {"ranked": [FrameNovelty], "chosen": [...], "runs": {run: (all, chosen) summaries}}.
    With `store`, each run's evaluation also keeps the distances (store_distances). `log(text)` hears what is
    being read (a Cityscapes train split takes minutes)."""
    from segcore.datasets import list_pairs
    from segcore.evaluations import dataset_identity, trained_on
    _check_share(share)                 # before reading any frame
    if split == train_split:
        raise ValueError(f"--split and --train-split are both {split!r}: compare the evaluated split with another one")
    samples = list_pairs(data, split)
    identity = dataset_identity(data, split, samples)
    evaluations = {str(run): stored_evaluation(run, identity) for run in runs}   # fail before reading images
    train_samples = list_pairs(data, train_split)
    if log:
        log(f"comparing {len(samples)} {split} frames with {len(train_samples)} {train_split} frames...")
    ranked = novelty(samples, train_samples)
    chosen = least_alike(ranked, share)
    names = [frame.name for frame in chosen]
    scores = {run: (subset_scores(e, [f.name for f in ranked], level), subset_scores(e, names, level))
              for run, e in evaluations.items()}     # before storing: refuses evaluations it can't score
    if store:
        for run in runs:
            store_distances(run, identity, ranked, train_split, len(train_samples))
    return {"ranked": ranked, "chosen": chosen, "level": level,
            "tta": {run: e.get("tta") for run, e in evaluations.items()}, "runs": scores,
            "trained_on": [run for run, e in evaluations.items() if trained_on(e)]}


def format_report(report: dict) -> str:
    ranked, chosen = report["ranked"], report["chosen"]
    gaps = [frame.frame_gap for frame in chosen if frame.frame_gap is not None]
    lines = [f"{len(chosen)} of {len(ranked)} frames least like any training frame (distance to the most alike "
             f"training frame {chosen[-1].distance:.2f}-{chosen[0].distance:.2f}; all frames' lowest "
             f"{ranked[-1].distance:.2f}"
             + (f"; {min(gaps)}-{max(gaps)} frames from the nearest training frame of their sequence" if gaps else "")
             + ")", ""]
    first = next(iter(report["runs"].values()))[0]
    classes = first["names"]
    width = max(len(run) for run in report["runs"])
    lines.append(f"{'run':<{width}}  tta    mIoU all  mIoU least-alike  " + "  ".join(c[:10] for c in classes))
    for run, (everything, subset) in report["runs"].items():
        cells = "  ".join(_percent(subset["per_class"][c]["iou"]).rjust(len(c[:10])) for c in classes)
        mark = "  *" if run in report["trained_on"] else ""
        lines.append(f"{run:<{width}}  {str(report['tta'][run] or 'none'):<5}  {_percent(everything['mean_iou']):>8}  "
                     f"{_percent(subset['mean_iou']):>16}  {cells}{mark}")
    lines.append(f"(per-class IoU % on the least-alike frames; {report['level']} level)")
    if report["trained_on"]:
        lines.append("* trained on these frames (a final model trained on this split too): its scores measure how "
                     "well it fits them, not how it does on new frames; don't rank it against the others")
    return "\n".join(lines)


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}"
