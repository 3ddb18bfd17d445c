"""Stored evaluations: which data set each was computed on, where it lives, and where its frames are here.

An evaluation JSON records its data set once ("dataset": name, absolute path (informational), layout, split and a
fingerprint) and stores every frame's files relative to that data set's root, so the record reads the same on any
machine. The file is RUN/eval/<name>-<fingerprint>-<split>.json: two folders that happen to share a name (any
folder called `camvid`) never overwrite each other's evaluation. The fingerprint hashes the evaluated split's
sorted relative file names and byte sizes, so it follows the content, not where the folder is mounted.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from segcore.datasets import DatasetError, Sample, detect_layout, list_pairs, list_splits

FORMAT = 2
FINGERPRINT_CHARS = 8
RESOLUTION = "label"            # evaluate scores at each label's own resolution
CAMVID_VAL_NOTE = ("CamVid val shares the driving sequence 0016E5 with train, so val scores are optimistic: on the "
                   "233-frame CamVid test split (not in ../shared; measured independently) the shipped U-Net scores "
                   "45.7 mIoU and the SegNet 43.7, against 60.1 and 54.6 on val.")


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


def evaluation_key(identity: dict) -> str:
    return f"{slug(identity['name'])}-{identity['fingerprint']}-{slug(identity['split'], 'split')}"


def evaluation_file(run_path, identity: dict) -> Path:
    from segcore.runs import EVAL_DIR
    return Path(run_path) / EVAL_DIR / f"{evaluation_key(identity)}.json"


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


# ---------------------------------------------------------------------------------------------- reading

def dataset_of(result: dict) -> dict:
    """The evaluation's data set record; an old-format evaluation (name only) gets fingerprint None."""
    dataset = result.get("dataset")
    if isinstance(dataset, dict):
        return {"name": str(dataset.get("name", "?")), "split": str(dataset.get("split", result.get("split", "?"))),
                "layout": dataset.get("layout"), "path": dataset.get("path"), "fingerprint": dataset.get("fingerprint")}
    return {"name": str(dataset or "?"), "split": str(result.get("split", "?")), "layout": None, "path": None,
            "fingerprint": None}


def label(result: dict) -> str:
    """Readable name of what was evaluated, e.g. 'camvid val'."""
    dataset = dataset_of(result)
    return f"{dataset['name']} {dataset['split']}"


def levels(result: dict) -> list[str]:
    """The levels an evaluation holds ("class", "category"), class first."""
    return [level.removesuffix("_level") for level in LEVEL_KEYS if level in result]


def category_only_reason(result: dict) -> str | None:
    """Why an evaluation has no class level (model and data labelled in different schemas), or None."""
    if "class_level" in result:
        return None
    return (f"{result.get('run', 'the model')} predicts {result.get('schema', '?')} classes but the data is labelled "
            f"in {result.get('data_schema', 'another schema')}: only their shared categories can be compared")


def scored_at(result: dict) -> str:
    """Where and how the scores were computed, in words, e.g. for a caption next to them."""
    size = result.get("input_size")
    model = f", model input {size[0]}x{size[1]} (height x width)" if isinstance(size, list) and len(size) == 2 else ""
    images = f", {result['images']} images" if isinstance(result.get("images"), int) else ""
    return f"{label(result)}{images}, scored at each label's own resolution{model}"


def optimism_note(result: dict) -> str | None:
    """The CamVid val caveat, for an evaluation on CamVid val (frames of sequence 0016E5, shared with train)."""
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
    """The image and label files of a per-image record, inside `root` (DatasetError if a path leaves it)."""
    root = Path(root).resolve()
    paths = []
    for key in ("image", "label"):
        path = (root / str(record.get(key, ""))).resolve()
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
    migrated.update({"format": FORMAT, "dataset": identity, "split": split, "label": label({"dataset": identity}),
                     "resolution": RESOLUTION, "per_image": per_image})
    return migrated


# ---------------------------------------------------------------------------------------------- shape

LEVEL_KEYS = ("class_level", "category_level")


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
        if not isinstance(summary.get("per_class"), dict):
            return f"missing '{level}.per_class'"
    records = result.get("per_image")
    if not (isinstance(records, list) and all(isinstance(r, dict) and isinstance(r.get("name"), str)
                                              for r in records)):
        return "'per_image' is not a list of frame records"
    return None
