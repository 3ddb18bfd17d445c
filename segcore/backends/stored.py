"""The stored-predictions back-end: a run of kind "predictions" serves the label PNGs imported into RUN/predictions/.

It has no model: `label_map_for(name, image_shape)` returns the stored map of the frame called `name` (matched by
`match_prediction`), and `forward` refuses. Predictions hold train ids of the run's schema at the image's resolution
or at a scaled one of the same aspect ratio (a model that predicted at 240x320 for 360x480 frames), which the
Predictor scales to the image, nearest, as FiftyOne does.
"""
from __future__ import annotations

import bisect
from pathlib import Path

import numpy as np

from segcore import runs
from segcore.backends import MissingPrediction, cannot_predict_new_images
from segcore.imageio import ImageError, read_mask
from segcore.labels import LabelSchema, train_id_schema

PREDICTION_SUFFIX = ".png"
ASPECT_TOLERANCE = 0.01          # a scaled prediction's height/width may differ by 1 % from the image's (rounding)
CITYSCAPES_IMAGE = "_leftImg8bit"          # Cityscapes image names: <city>_<seq>_<frame>_leftImg8bit.png
# What may follow a frame's name in a prediction's name ("X_pred.png", "X-labels.png").
SEPARATORS = ("_", "-", ".")
# Suffixes result folders commonly add; they settle which file is meant when a frame's name is a prefix of another's.
KNOWN_SUFFIXES = ("_pred", "_preds", "_prediction", "_predictions", "_label", "_labels", "_labelIds", "_trainIds",
                  "_mask", "_seg", "_result", CITYSCAPES_IMAGE)


def frame_key(name: str) -> str:
    """The part of a frame's name a prediction is named after: the file stem, without folders or `_leftImg8bit`.

    'aachen/aachen_000000_000019' (a Cityscapes sample), 'aachen_000000_000019_leftImg8bit' and '0016E5_07959.png'
    -> 'aachen_000000_000019', 'aachen_000000_000019', '0016E5_07959'.
    """
    key = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, extension = key.rpartition(".")
    if dot and extension.lower() in ("png", "jpg", "jpeg"):
        key = stem
    return key.removesuffix(CITYSCAPES_IMAGE)


def _known_suffix(suffix: str) -> bool:
    """True if `suffix` is made only of KNOWN_SUFFIXES ('_leftImg8bit_pred')."""
    while suffix:
        for known in KNOWN_SUFFIXES:
            if suffix.endswith(known):
                suffix = suffix[: -len(known)]
                break
        else:
            return False
    return True


def match_prediction(name: str, stems) -> str | None:
    """The stem among `stems` (sorted prediction file stems) stored for the frame `name`, or None.

    A prediction is named like its image: the frame's stem exactly, or followed by a suffix that starts with
    '_', '-' or '.' ('X_pred', 'X_labels'; Cityscapes '<city>_<seq>_<frame>*' for '*_leftImg8bit' images).
    An exact name wins; among several suffixed names, the one whose suffix is a common one (KNOWN_SUFFIXES).
    RunError if that still leaves more than one.
    """
    key = frame_key(name)
    if not key:
        return None
    position = bisect.bisect_left(stems, key)
    if position < len(stems) and stems[position] == key:
        return key
    candidates = []
    for stem in stems[position:]:
        if not stem.startswith(key):
            break           # sorted: every stem starting with key lies in one run from `position`
        if stem[len(key)] in SEPARATORS:
            candidates.append(stem)
    if len(candidates) > 1:
        known = [stem for stem in candidates if _known_suffix(stem[len(key):])]
        if len(known) != 1:
            shown = ", ".join(f"{stem}{PREDICTION_SUFFIX}" for stem in candidates[:4])
            raise runs.RunError(f"frame {key} matches several predictions ({shown}); keep one per frame and "
                                "import the folder again")
        candidates = known
    return candidates[0] if candidates else None


def read_prediction(path, schema: LabelSchema, *, label_ids: bool = False) -> np.ndarray:
    """A prediction PNG -> (H, W) uint8 train ids of `schema` (an index PNG, or a colour PNG in its palette).

    `label_ids`: the index values are the schema's raw label ids, as its ground-truth files hold them (Cityscapes
    labelIds, the benchmark's result format), not train ids. A pixel may hold no class (the ignore index, a void
    label id or the void colour: a model that predicts void): it reads as the ignore index, and evaluation scores
    it as a miss for its true class, as the Cityscapes benchmark does (segcore.metrics). Size limits and safe
    decoding are segcore.imageio's. ImageError (one line naming the file and what to do).
    """
    try:
        labels = read_mask(path, schema if label_ids else train_id_schema(schema))
    except ImageError as err:
        reason = str(err).removeprefix(f"{Path(path).name}: ")
        if ("not in the" in reason or "do not fit" in reason) and not label_ids:
            reason = (f"{reason.split(' (valid')[0]}; predictions must hold the schema's train ids 0.."
                      f"{schema.num_classes - 1}: check --schema" + (", or add --label-ids if they are its label "
                      "ids" if _has_own_label_ids(schema) else ""))
        raise ImageError(f"{path}: {reason}") from None
    return labels


def _has_own_label_ids(schema: LabelSchema) -> bool:
    """Whether the schema's label files hold other ids than its train ids (Cityscapes' labelIds)."""
    return schema.raw_to_train != train_id_schema(schema).raw_to_train


def prediction_files(folder: Path) -> dict[str, Path]:
    """stem -> path of the prediction PNGs directly in `folder` (hidden files left out)."""
    return {path.stem: path for path in sorted(folder.iterdir())
            if path.suffix.lower() == PREDICTION_SUFFIX and not path.name.startswith(".")}


class StoredBackend:
    """A run's folder of stored label maps. Holds no model; reads one PNG per call, so threads may share it."""

    engine = "stored label maps"
    output_kind = "labels"          # not scores: Predictor returns these maps as they are

    def __init__(self, run: runs.Run):
        self.name, self.schema = run.name, run.schema
        self.input_size = tuple(run.meta["input_size"])     # the predictions' usual size, for display only
        self.folder = run.model_path
        self.files = prediction_files(self.folder)
        if not self.files:
            raise runs.RunError(f"{run.name}: its {self.folder.name}/ folder holds no PNGs; import the prediction "
                                "folder again (segcore import PRED_DIR --predictions)")
        self.stems = sorted(self.files)

    def forward(self, batch: np.ndarray) -> np.ndarray:
        raise cannot_predict_new_images(self.name)

    def label_map_for(self, name: str, image_shape: tuple[int, int]) -> np.ndarray:
        """The stored train-id map of frame `name` at its own size; MissingPrediction if there is none, RunError if
        its shape is not `image_shape` (height, width) scaled (ASPECT_TOLERANCE)."""
        stem = match_prediction(name, self.stems)
        if stem is None:
            raise MissingPrediction(f"{self.name}: no stored prediction for frame {name} (looked for "
                                    f"{frame_key(name)}{PREDICTION_SUFFIX} or {frame_key(name)}_*"
                                    f"{PREDICTION_SUFFIX}); evaluate it on the frames it has")
        path = self.files[stem]
        try:
            labels = read_prediction(path, self.schema)
        except ImageError as err:
            raise runs.RunError(f"{self.name}: {err}") from None
        height, width = (int(v) for v in image_shape[:2])
        own_height, own_width = labels.shape
        if abs(own_height * width - height * own_width) > ASPECT_TOLERANCE * height * own_width:
            raise runs.RunError(f"{self.name}: prediction {path.name} is {own_height}x{own_width} but the image is "
                                f"{height}x{width}, not the same shape scaled (transposed, cropped or padded?); "
                                "save predictions at the image's resolution, or scaled")
        return labels


def open(run: runs.Run) -> StoredBackend:  # noqa: A001 - the name every back-end module exports
    return StoredBackend(run)
