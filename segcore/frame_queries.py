"""Queries over the evaluated frames of one data set, across runs: a score table, filters (a class present in the
ground truth, a class missed, a confusion of at least N pixels, an mIoU range), sorting, and thinning out
near-duplicate neighbouring frames of a video sequence. Pure functions of the stored evaluation JSON.

Per-frame confusions come from each record's full matrix (evaluation format 3). A format-2 record holds only its
8 largest off-diagonal cells: a frame index built from one is marked `partial`, and its class and confusion
filters see those cells only.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from segcore.eval_records import confusion_is_partial, frame_matrix, frame_scores
from segcore.metrics import NO_CLASS


METRICS = {"mean_iou": "mIoU", "pixel_accuracy": "pixel accuracy", "boundary_iou": "boundary IoU",
           "label_quality": "label quality",           # segcore.label_quality's, where stored
           "train_distance": "distance to train"}      # the last: segcore.unlike_train's, where stored; not a %
STORED_ONLY = ("boundary_iou", "label_quality", "train_distance")     # older evaluations may lack them
CONFUSED = "confused_pixels"        # the sort key of "pixels of the filtered confusion"
ANY_RUN = None


@dataclass
class FrameIndex:
    """Every frame the evaluations share, with per-run scores and per-frame confusion matrices at one level."""
    level: str
    class_names: list[str]
    names: list[str]                            # data-set order (the first run's)
    runs: list[str]
    scores: pd.DataFrame                        # index frame name; columns MultiIndex (metric, run); 0..1 or NaN
    # run -> (frames, classes, classes + 1) pixel counts; the last column: pixels predicted no class (void)
    confusions: dict[str, np.ndarray]
    partial: dict[str, bool] = field(default_factory=dict)   # run -> confusions are a format-2 top-8 only

    @property
    def any_partial(self) -> bool:
        return any(self.partial.values())

    @property
    def predicted_names(self) -> list[str]:
        """What a confusion's predicted side can name: the classes, and NO_CLASS (id len(class_names)) where some
        run left pixels without a class."""
        no_class = any(matrix[..., -1].any() for matrix in self.confusions.values())
        return [*self.class_names, *([NO_CLASS] if no_class else [])]

    def class_id(self, name: str) -> int:
        return self.class_names.index(name)


@dataclass(frozen=True)
class FrameQuery:
    """What to show: filters (all optional) and the order. `model` names the run whose prediction the
    prediction-based filters (missed, confusion, mIoU range) test; ANY_RUN (None) keeps a frame if any run passes."""
    present: int | None = None                  # class id in the ground truth
    missed: int | None = None                   # class id in the ground truth, no pixel of it predicted right
    confusion: tuple[int, int] | None = None    # (truth id, predicted id)
    min_pixels: int = 1
    miou_range: tuple[float, float] = (0.0, 1.0)
    model: str | None = ANY_RUN
    sort_by: str = "mean_iou"                   # a METRICS key, CONFUSED or "name"
    sort_run: str | None = None                 # whose score to sort by; None: the mean over runs
    ascending: bool = True
    one_per: int = 1                            # at most one frame per this many consecutive frames of a sequence


# ------------------------------------------------------------------------------------------------ building

def build_index(evaluations: dict[str, dict], level: str = "class") -> FrameIndex:
    """The FrameIndex of `evaluations` ({run: its stored evaluation of one data set}) at `level`.

    Frames are those every run scored (a frame missing from one run can't be compared). ValueError when the runs
    disagree on the level's class names (compare them at category level instead)."""
    if level not in ("class", "category"):
        raise ValueError(f"level must be one of ['class', 'category'], got {level!r}")
    if not evaluations:
        raise ValueError("no evaluations to browse: choose at least one run with a stored evaluation")
    level_key = f"{level}_level"
    names_by_run = {run: result.get(level_key, {}).get("names") for run, result in evaluations.items()}
    first_run = next(iter(evaluations))
    class_names = names_by_run[first_run]
    for run, names in names_by_run.items():
        if not names:
            raise ValueError(f"{run}'s evaluation has no {level} level; browse at category level")
        if names != class_names:
            raise ValueError(f"{run} and {first_run} name their classes differently; browse at category level")
    by_run = {run: {r["name"]: r for r in result.get("per_image", []) if isinstance(r, dict) and "name" in r}
              for run, result in evaluations.items()}
    # A frame's "boundary_iou" is at its evaluation's finest level; at category level, where that is the classes,
    # the categories' own ("category_boundary_iou", NaN in evaluations made before it was stored).
    boundary_key = {run: "category_boundary_iou" if level == "category" and "class_level" in result else
                    "boundary_iou" for run, result in evaluations.items()}
    shared = set.intersection(*(set(records) for records in by_run.values()))
    frame_names = [name for name in by_run[first_run] if name in shared]
    columns, confusions, partial = {}, {}, {}
    for run, records in by_run.items():
        chosen = [records[name] for name in frame_names]
        for metric in METRICS:
            key = boundary_key[run] if metric == "boundary_iou" else metric
            columns[(metric, run)] = [_score(record.get(key)) for record in chosen]
        if level == "category":             # stored per-frame scores are class level: these come from the matrices
            at_level = [frame_scores(record, level, len(class_names)) for record in chosen]
            columns[("mean_iou", run)] = [miou for miou, _ in at_level]
            columns[("pixel_accuracy", run)] = [accuracy for _, accuracy in at_level]
        stacked = np.zeros((len(chosen), len(class_names), len(class_names) + 1), dtype=np.int64)
        partial[run] = False
        for row, record in enumerate(chosen):
            matrix, is_partial = record_confusion(record, level, len(class_names))
            stacked[row] = matrix
            partial[run] |= is_partial
        confusions[run] = stacked
    scores = pd.DataFrame(columns, index=pd.Index(frame_names, name="frame"), dtype=float)
    scores.columns = pd.MultiIndex.from_tuples(scores.columns, names=["metric", "run"])
    return FrameIndex(level, list(class_names), frame_names, list(evaluations), scores, confusions, partial)


def record_confusion(record: dict, level: str, num_classes: int) -> tuple[np.ndarray, bool]:
    """(the frame's confusion matrix at `level` with its pixels predicted no class as a last column, whether it is
    partial: a format-2 top-8 only). ValueError for a malformed stored cell, with what to do about it."""
    try:
        matrix = frame_matrix(record, level, num_classes)
    except ValueError as err:
        raise ValueError(f"{err}; evaluate the run again with --overwrite") from None
    return np.column_stack([matrix.counts, matrix.unpredicted]), confusion_is_partial(record, level)


def _score(value) -> float:
    """A stored per-frame score as a float; NaN where missing or not a number (a hand-edited file)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return np.nan
    return float(value)


# ------------------------------------------------------------------------------------------------ filters

def present_mask(index: FrameIndex, class_id: int) -> np.ndarray:
    """Frames whose ground truth holds `class_id` (any run's matrix shows the truth: rows are the same)."""
    return np.any([matrix[:, class_id, :].sum(axis=1) > 0 for matrix in index.confusions.values()], axis=0)


def missed_mask(index: FrameIndex, class_id: int, run: str) -> np.ndarray:
    """Frames where `run` predicted no pixel of class `class_id` right although the truth holds it (IoU 0); none
    for a format-2 evaluation, which stores no diagonal (every class it lists would look missed)."""
    if index.partial.get(run):
        return np.zeros(len(index.names), dtype=bool)
    matrix = index.confusions[run]
    return (matrix[:, class_id, :].sum(axis=1) > 0) & (matrix[:, class_id, class_id] == 0)


def confusion_pixels(index: FrameIndex, truth: int, predicted: int, run: str) -> np.ndarray:
    """Per frame, `run`'s pixels of truth `truth` predicted as `predicted`."""
    return index.confusions[run][:, truth, predicted]


def select_frames(index: FrameIndex, query: FrameQuery) -> list[str]:
    """The frame names that pass `query`'s filters, in its order, near-duplicates thinned out."""
    _check_query(index, query)
    runs = index.runs if query.model is ANY_RUN else [query.model]
    keep = np.ones(len(index.names), dtype=bool)
    if query.present is not None:
        keep &= present_mask(index, query.present)
    if query.missed is not None:
        keep &= np.any([missed_mask(index, query.missed, run) for run in runs], axis=0)
    if query.confusion is not None:
        pixels = np.stack([confusion_pixels(index, *query.confusion, run) for run in runs])
        keep &= np.any(pixels >= max(1, query.min_pixels), axis=0)
    low, high = query.miou_range
    if (low, high) != (0.0, 1.0):
        miou = index.scores["mean_iou"][runs].to_numpy()
        keep &= np.any((miou >= low) & (miou <= high), axis=1)
    order = _sort_keys(index, query)
    ranked = [index.names[i] for i in order if keep[i]]
    return thin_sequences(ranked, index.names, query.one_per)


def _check_query(index: FrameIndex, query: FrameQuery) -> None:
    classes = range(len(index.class_names))
    for what, value in (("present", query.present), ("missed", query.missed)):
        if value is not None and value not in classes:
            raise ValueError(f"{what}: class id {value} is not one of the {len(classes)} {index.level} ids")
    predicted = range(len(index.predicted_names))        # the predicted side may name NO_CLASS
    if query.confusion is not None and not (query.confusion[0] in classes and query.confusion[1] in predicted):
        raise ValueError(f"confusion {query.confusion}: ids must be 0..{len(classes) - 1} (predicted: "
                         f"0..{len(predicted) - 1}) at {index.level} level")
    for what, run in (("model", query.model), ("sort run", query.sort_run)):
        if run is not None and run not in index.runs:
            raise ValueError(f"{what} {run!r} is not one of the browsed runs {index.runs}")
    if query.sort_by not in (*METRICS, CONFUSED, "name"):
        raise ValueError(f"sort_by must be one of {[*METRICS, CONFUSED, 'name']}, got {query.sort_by!r}")
    if query.sort_by == CONFUSED and query.confusion is None:
        raise ValueError("sorting by confused pixels needs a confusion filter")


def _sort_keys(index: FrameIndex, query: FrameQuery) -> np.ndarray:
    """Positions of the frames in query order; frames without the score go last, ties keep data-set order."""
    positions = np.arange(len(index.names))
    if query.sort_by == "name":
        order = sorted(positions, key=lambda i: index.names[i])
        return np.array(order[::-1] if not query.ascending else order, dtype=np.int64)
    runs = index.runs if query.sort_run is None else [query.sort_run]
    if query.sort_by == CONFUSED:
        values = np.stack([confusion_pixels(index, *query.confusion, run) for run in runs]).astype(float).mean(axis=0)
    else:
        table = index.scores[query.sort_by][runs].to_numpy()
        counted = (~np.isnan(table)).sum(axis=1)
        values = np.where(counted > 0, np.nansum(table, axis=1) / np.maximum(counted, 1), np.nan)
    key = values if query.ascending else -values
    missing = np.isnan(key)
    return np.lexsort((positions, np.where(missing, 0.0, key), missing))


# ------------------------------------------------------------------------------------------------ sequences

_TRAILING_NUMBER = re.compile(r"^(.*?)(\d+)$")


def sequence_of(name: str) -> tuple[str, int | None]:
    """(sequence, frame number) from a file name: the part before the last `_` and the number after it
    ('0016E5_07959' -> ('0016E5', 7959)), or the text before a trailing number ('f012' -> ('f', 12)); a name with
    neither is a sequence of its own (number None)."""
    if "_" in name:
        prefix, _, tail = name.rpartition("_")
        digits = _TRAILING_NUMBER.match(tail)
        return prefix, int(digits.group(2)) if digits else None
    digits = _TRAILING_NUMBER.match(name)
    if digits and digits.group(1):
        return digits.group(1), int(digits.group(2))
    return name, None


def sequence_positions(names: list[str]) -> dict[str, tuple[str, int]]:
    """name -> (sequence, position among the evaluated frames of that sequence, in frame-number order)."""
    by_sequence: dict[str, list[tuple[int, str]]] = {}
    for name in names:
        sequence, number = sequence_of(name)
        if number is None:
            sequence = f"\0{name}"          # unnumbered: never a neighbour of anything
        by_sequence.setdefault(sequence, []).append((number or 0, name))
    return {name: (sequence, position) for sequence, frames in by_sequence.items()
            for position, (_, name) in enumerate(sorted(frames))}


def thin_sequences(ranked: list[str], all_names: list[str], one_per: int) -> list[str]:
    """`ranked` without any frame that lies within `one_per` - 1 frames of a better-ranked kept frame of the same
    sequence, so that one scene's near-identical neighbours don't fill the top. one_per <= 1 keeps everything."""
    if one_per <= 1:
        return list(ranked)
    positions = sequence_positions(all_names)
    kept, taken = [], {}
    for name in ranked:
        sequence, position = positions[name]
        if any(abs(position - other) < one_per for other in taken.get(sequence, ())):
            continue
        taken.setdefault(sequence, []).append(position)
        kept.append(name)
    return kept


# ------------------------------------------------------------------------------------------------ display

def score_table(index: FrameIndex, names: list[str], query: FrameQuery | None = None) -> pd.DataFrame:
    """The chosen frames' scores in % (1 decimal; label quality 2), one column per (score, run), e.g.
    'mIoU % · unet'; boundary IoU and label quality columns only where a run stored them; the frame's distance to the
    training frames where stored (one column); with a confusion filter, each run's pixels of that confusion."""
    columns = {}
    for metric, label in METRICS.items():
        if metric == "train_distance":      # the frame's, not a run's: one column, where stored
            values = index.scores.loc[names, metric].max(axis=1)
            if not values.isna().all():
                columns[label] = values.round(3)
            continue
        for run in index.runs:
            values = index.scores.loc[names, (metric, run)]
            if metric in STORED_ONLY and values.isna().all():
                continue
            # Label quality sits near 100 %: its second decimal is what tells frames apart.
            columns[f"{label} % · {run}"] = (100 * values).round(2 if metric == "label_quality" else 1)
    if query is not None and query.confusion is not None:
        truth, predicted = query.confusion
        positions = [index.names.index(name) for name in names]
        for run in index.runs:
            columns[f"{index.class_names[truth]}→{index.predicted_names[predicted]} px · {run}"] = \
                confusion_pixels(index, truth, predicted, run)[positions]
    table = pd.DataFrame(columns, index=pd.Index(names, name="frame"))
    return table


def frame_label(index: FrameIndex, name: str) -> str:
    """A thumbnail's caption: the frame name and each run's mIoU, e.g. 'f001 · unet 41.2 · segnet 38.0'."""
    parts = [name]
    for run in index.runs:
        value = index.scores.at[name, ("mean_iou", run)]
        parts.append(f"{run} {'–' if np.isnan(value) else f'{round(100 * value, 1):.1f}'}")   # as the table rounds
    return " · ".join(parts)
