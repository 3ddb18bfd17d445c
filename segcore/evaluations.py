"""Stored evaluations: which data set each was computed on, where it lives, and where its frames are here.

An evaluation JSON records its data set once (name, absolute path for information, layout, split, fingerprint) and
every frame's files relative to its root, so it reads the same on any machine. RUN/eval/<name>-<fingerprint>-<split>
.json (+ "-tta-<mode>" for another test-time augmentation than the run's own): the fingerprint hashes the split's
relative file names and byte sizes, so two folders called `camvid` never overwrite each other's evaluation."""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
from pathlib import Path

from segcore.datasets import DatasetError, Sample, detect_layout, list_pairs, list_splits
from segcore.files import atomic_write_bytes

FORMAT = 3                      # 3: per-frame full confusions, stored predictions, boundary IoU, calibration
READABLE_FORMATS = (2, 3)       # format 2 files load everywhere; views that need format 3's data say so
MIGRATED_FORMAT = 2             # `migrate` only rewrites paths: it stores nothing format 3 adds
RERUN_HINT = "re-run `segcore evaluate --run RUN --data DIR --split SPLIT --overwrite` to store {what}"
FINGERPRINT_CHARS = 8
RESOLUTION = "label"            # evaluate scores at each label's own resolution
CAMVID_VAL_NOTE = ("CamVid val shares the driving sequence 0016E5 with train, so val scores are optimistic: on the "
                   "233-frame CamVid test split (not in ../shared; measured independently) unet-camvid scores "
                   "45.7 mIoU and segnet-camvid 43.7, against 60.1 and 54.6 on val (52.9 and 47.4 on the quarter of "
                   "val least like train).")


class OutsideFolderError(ValueError):
    """A path that resolves outside the folder it must stay in."""


# ---------------------------------------------------------------------------------------------- identity

def slug(text: str, fallback: str = "dataset") -> str:
    """A file-name-safe form of a folder or split name (no dots, slashes or spaces)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_") or fallback


def fingerprint(samples: list[Sample], root: Path) -> str:
    """Short hash of the samples' relative file names and byte sizes (the content, not the mount point)."""
    lines = sorted(f"{relative(path, root)}\t{os.stat(path).st_size}\n"
                   for sample in samples for path in (sample.image, sample.label))
    return hashlib.sha256("".join(lines).encode()).hexdigest()[:FINGERPRINT_CHARS]


def dataset_identity(root, split: str, samples: list[Sample] | None = None) -> dict:
    """{name, path, layout, split, fingerprint} of a data set's split (DatasetError if it can't be read)."""
    root = Path(root).expanduser().resolve()
    layout = detect_layout(root)
    samples = list_pairs(root, split, layout) if samples is None else samples
    return {"name": root.name or "dataset", "path": str(root), "layout": layout, "split": split,
            "fingerprint": fingerprint(samples, root)}


TTA_VARIANT = "-tta-"     # an evaluation with another test-time augmentation than the run's own: <key>-tta-<mode>


def evaluation_key(identity: dict, tta_variant: str | None = None) -> str:
    """'<data set>-<fingerprint>-<split>', then '-tta-<mode>' for a test-time augmentation not the run's own."""
    key = f"{slug(identity['name'])}-{identity['fingerprint']}-{slug(identity['split'], 'split')}"
    return f"{key}{TTA_VARIANT}{slug(tta_variant)}" if tta_variant else key


def evaluation_file(run_path, identity: dict, tta_variant: str | None = None) -> Path:
    from segcore.runs import EVAL_DIR
    return Path(run_path) / EVAL_DIR / f"{evaluation_key(identity, tta_variant)}.json"


def relative(path, root: Path) -> str:
    """`path` relative to `root`, with forward slashes (the record must read the same on any system)."""
    try:
        return Path(path).relative_to(root).as_posix()
    except ValueError:
        return Path(os.path.relpath(Path(path).resolve(), root)).as_posix()


def check_inside(path, folder) -> Path:
    """`path` with its folder resolved (links followed); OutsideFolderError if that lies outside `folder`."""
    path = Path(path)
    resolved = path.parent.resolve() / path.name
    folder = Path(folder).resolve()
    if not resolved.is_relative_to(folder):
        raise OutsideFolderError(f"refusing to write {resolved}: it is outside the models folder {folder} "
                                 f"(a link leads out of it); move the run into {folder}")
    return resolved


def evaluation_json(result: dict) -> bytes:
    """The evaluation as JSON text: summaries indented with each list of numbers on one line (a matrix row, a
    band's counts), each per-image record compact on a line of its own (a record's full confusion would otherwise
    take a line per number: 3x the bytes for CamVid val)."""
    numbers: list[str] = []
    token = secrets.token_hex(8)        # a mark no string of the result holds by chance
    head = _numbers_as_marks({key: value for key, value in result.items() if key != "per_image"}, numbers, token)
    text = json.dumps(head, indent=1, allow_nan=False)
    text = re.sub(rf'"{token}(\d+)"', lambda mark: numbers[int(mark.group(1))], text)
    if "per_image" in result:
        records = ",\n  ".join(json.dumps(record, separators=(",", ":"), allow_nan=False)
                               for record in result["per_image"])
        body = f'"per_image": [\n  {records}\n ]' if records else '"per_image": []'
        text = f"{text[:-2]},\n {body}\n}}" if head else f"{{\n {body}\n}}"
    return (text + "\n").encode()


def _numbers_as_marks(value, numbers: list[str], token: str):
    """`value` with every non-empty list of numbers (None included) replaced by the string TOKEN + N, N indexing its
    compact JSON in `numbers`."""
    if isinstance(value, dict):
        return {key: _numbers_as_marks(item, numbers, token) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(item is None or (isinstance(item, (int, float)) and not isinstance(item, bool))
                         for item in value):
            numbers.append(json.dumps(value, separators=(", ", ": "), allow_nan=False))
            return f"{token}{len(numbers) - 1}"
        return [_numbers_as_marks(item, numbers, token) for item in value]
    return value


def write_evaluation(path, result: dict) -> Path:
    """`result` written atomically to `path` (umask honoured) as evaluation_json lays it out."""
    return atomic_write_bytes(path, evaluation_json(result))


# ---------------------------------------------------------------------------------------------- reading

def dataset_of(result: dict) -> dict:
    """The evaluation's data set record; an old-format evaluation (name only) gets fingerprint None."""
    dataset = result.get("dataset")
    if isinstance(dataset, dict):
        return {"name": str(dataset.get("name", "?")), "split": str(dataset.get("split", result.get("split", "?"))),
                "layout": dataset.get("layout"), "path": dataset.get("path"), "fingerprint": dataset.get("fingerprint")}
    return {"name": str(dataset or "?"), "split": str(result.get("split", "?")), "layout": None, "path": None,
            "fingerprint": None}


def label(result: dict, *, fingerprint: bool = False) -> str:
    """Readable name of what was evaluated, e.g. 'camvid val'; with `fingerprint`, 'camvid val (data set 8a853e67)'
    where it has one, which tells apart two data sets of one name."""
    dataset = dataset_of(result)
    named = f"{dataset['name']} {dataset['split']}"
    return f"{named} (data set {dataset['fingerprint']})" if fingerprint and dataset["fingerprint"] else named


def levels(result: dict) -> list[str]:
    """The levels an evaluation holds ("class", "category"), class first."""
    return [level.removesuffix("_level") for level in LEVEL_KEYS if level in result]


def category_only_reason(result: dict) -> str | None:
    """Why an evaluation has no class level (model and data labelled in different schemas), or None."""
    if "class_level" in result:
        return None
    return (f"{result.get('run', 'the model')} predicts {result.get('schema', '?')} classes but the data is labelled "
            f"in {result.get('data_schema', 'another schema')}: only their shared categories can be compared")


# Test-time augmentation (segcore.predict.TTA_MODES) in words: long for captions of scores, short beside a timing.
TTA_WORDS = {"flip": "test-time flip (frame and mirror averaged)",
             "multiscale": "multi-scale test-time augmentation (frame and mirror at 0.75-1.5x, averaged)"}
TTA_SHORT = {"flip": "test-time flip", "multiscale": "multi-scale + flip"}


def tta_in_words(result: dict, none: str = "none") -> str:
    """An evaluation's test-time augmentation in a few words; `none` where it had none (or did not record it)."""
    tta = result.get("tta", "none")
    if not isinstance(tta, str) or tta == "none":
        return none
    return TTA_SHORT.get(tta, tta[:40])


def how_predicted(result: dict) -> str:
    """What made an evaluation's labels, in two or three words: "stored predictions", "test-time flip",
    "multi-scale + flip" or "no test-time augmentation"."""
    if result.get("kind") == "predictions":
        return "stored predictions"
    return tta_in_words(result, none="no test-time augmentation")


def scored_at(result: dict) -> str:
    """Where and how the scores were computed, in words, e.g. for a caption next to them."""
    size = result.get("input_size")
    model = f", model input {size[0]}x{size[1]} (height x width)" if isinstance(size, list) and len(size) == 2 else ""
    if result.get("kind") == "predictions":
        scaled = scaled_note(result)
        model = f", stored predictions (no model run{f'; {scaled}' if scaled else ''})"
    elif result.get("tta") in TTA_WORDS:
        model += f", with {TTA_WORDS[result['tta']]}"
    else:
        model += ", no test-time augmentation"
    images = f", {result['images']} images" if isinstance(result.get("images"), int) else ""
    return f"{label(result)}{images}, scored at each label's own resolution{model}"


def scaled_note(result: dict) -> str | None:
    """'101 of 101 scaled to the image from 240x320, nearest' where stored predictions of another size were scaled;
    None where none was."""
    records = result.get("per_image")
    sizes = [tuple(r["scaled_from"]) for r in records if isinstance(r, dict) and isinstance(r.get("scaled_from"), list)
             and len(r["scaled_from"]) == 2] if isinstance(records, list) else []
    if not sizes:
        return None
    common = max(set(sizes), key=sizes.count)
    return (f"{len(sizes)} of {len(records)} scaled to the image from {common[0]}x{common[1]}"
            + (" and other sizes" if len(set(sizes)) > 1 else "") + ", nearest")


def trained_on(result: dict) -> bool:
    """Whether the evaluation scored frames the run trained on (a final model trained on train+val, scored on val)."""
    return result.get("trained_on_split") is True


def trained_on_note(result: dict) -> str | None:
    """Said of an evaluation on frames the run trained on."""
    if not trained_on(result):
        return None
    return (f"{str(result.get('run', 'The run'))[:100]} trained on these frames ({dataset_of(result)['split']} is one "
            "of its training splits): its scores here measure how well it fits them, not how it does on new frames.")


def optimism_note(result: dict) -> str | None:
    """The CamVid val caveat, for an evaluation on CamVid val (frames of sequence 0016E5, shared with train); the
    stronger one for an evaluation on frames the run trained on."""
    trained_on = trained_on_note(result)
    if trained_on:
        return trained_on
    dataset = dataset_of(result)
    frames = [r.get("name", "") for r in result.get("per_image", []) if isinstance(r, dict)]
    if dataset["split"] == "val" and result.get("schema") == "camvid11" and any(
            str(name).startswith("0016E5") for name in frames):
        return CAMVID_VAL_NOTE
    return None


def locate_dataset(result: dict, roots) -> Path | None:
    """The folder among `roots` that holds the evaluation's data set (same split fingerprint), or None."""
    dataset = dataset_of(result)
    if not dataset["fingerprint"]:
        return None
    for root in roots:
        try:
            root = Path(root).resolve()
            if dataset["split"] not in list_splits(root):
                continue
            if dataset_identity(root, dataset["split"])["fingerprint"] == dataset["fingerprint"]:
                return root
        except (DatasetError, OSError):
            continue
    return None


def record_sample(record: dict, root: Path) -> Sample:
    """The image and label files of a per-image record, inside `root` (DatasetError if a path leaves it).

    Inside by name: links in the data set (a frame linked from a download folder) are followed, as the evaluation
    that stored the record and every other reader of the folder followed them; a stored path can't climb out."""
    root = Path(root).resolve()
    paths = []
    for key in ("image", "label"):
        path = Path(os.path.normpath(root / str(record.get(key, ""))))
        if not path.is_relative_to(root) or path == root:
            raise DatasetError(f"{record.get('name')}: stored {key} path {record.get(key)!r} is not inside {root}")
        paths.append(path)
    return Sample(str(record.get("name")), *paths)


def migrate(result: dict, root) -> dict:
    """An old-format evaluation (paths as given, data set by folder name) in the current format, same numbers.

    `root` is the data set it was computed on; every stored frame must be found there under the same name.
    """
    root = Path(root).expanduser().resolve()
    split = result["split"]
    samples = list_pairs(root, split)
    by_name = {sample.name: sample for sample in samples}
    per_image = []
    for record in result["per_image"]:
        sample = by_name.get(record["name"])
        if sample is None:
            raise DatasetError(f"{record['name']}: not in {root} split {split}; migrate against the data set it "
                               "was computed on")
        per_image.append({**record, "image": relative(sample.image, root), "label": relative(sample.label, root)})
    if len(per_image) != len(samples):
        raise DatasetError(f"{root} split {split} has {len(samples)} pairs but the evaluation scored "
                           f"{len(per_image)}; migrate against the data set it was computed on")
    migrated = {key: value for key, value in result.items() if key not in ("dataset", "per_image")}
    identity = dataset_identity(root, split, samples)
    migrated.update({"format": MIGRATED_FORMAT, "dataset": identity, "split": split,
                     "label": label({"dataset": identity}),
                     "resolution": RESOLUTION, "per_image": per_image})
    return migrated


# ---------------------------------------------------------------------------------------------- shape

LEVEL_KEYS = ("class_level", "category_level")


def read_evaluation(path) -> dict:
    """A stored evaluation JSON that evaluation_problem accepts; RunError naming the file otherwise."""
    from segcore.runs import RunError, read_json
    result = read_json(path)
    problem = evaluation_problem(result)
    if problem:
        raise RunError(f"{Path(path).name} is not a complete evaluation ({problem})")
    return result


def evaluation_problem(result, *, shard_ok: bool = False) -> str | None:
    """Why a stored evaluation can't be shown (a hand-edited, truncated or foreign JSON), or None if it can.

    Views index these fields directly, so they are checked once where the file is read, not in every view.
    A shard's partial result is refused unless `shard_ok` (merging reads them).
    """
    if not isinstance(result, dict):
        return "not a JSON object"
    if "shard" in result and not shard_ok:
        return (f"a partial result (shard {result['shard']}); merge all shards with "
                "`segcore evaluate --merge PARTS... --out JSON`")
    for level in LEVEL_KEYS:
        summary = result.get(level)
        if level == "class_level" and level not in result:
            continue        # a cross-schema evaluation is scored at category level only
        if not isinstance(summary, dict):
            return f"missing '{level}'"
        names, matrix = summary.get("names"), summary.get("confusion_matrix")
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
            return f"'{level}.names' is not a list of class names"
        if not (isinstance(matrix, list) and len(matrix) == len(names) and all(
                isinstance(row, list) and len(row) == len(names)
                and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in row) for row in matrix)):
            return f"'{level}.confusion_matrix' is not a {len(names)}x{len(names)} matrix of pixel counts"
        unpredicted = summary.get("unpredicted", [0] * len(names))
        if not (isinstance(unpredicted, list) and len(unpredicted) == len(names) and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in unpredicted)):
            return f"'{level}.unpredicted' is not {len(names)} pixel counts"
        if not isinstance(summary.get("per_class"), dict):
            return f"missing '{level}.per_class'"
    records = result.get("per_image")
    if not (isinstance(records, list) and all(isinstance(r, dict) and isinstance(r.get("name"), str)
                                              for r in records)):
        return "'per_image' is not a list of frame records"
    return None

