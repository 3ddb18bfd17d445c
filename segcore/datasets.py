"""Data set layouts (CamVid style, SegNet tutorial, Cityscapes) -> (image, label) pairs, and `check`.

- CamVid style: images/<split>/NAME.png + labels/<split>/NAME.png (same names).
- SegNet tutorial: <split>/NAME.png + <split>annot/NAME.png.
- Cityscapes: leftImg8bit/<split>/<city>/X_leftImg8bit.png + gtFine/<split>/<city>/X_gtFine_labelIds.png.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from segcore import files
from segcore.files import is_regular_file
from segcore.imageio import ImageError, read_image, read_mask
from segcore.instance_iou import instance_map_path
from segcore.labels import LabelSchema, get_schema

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
CITYSCAPES_IMAGE = "_leftImg8bit"
CITYSCAPES_LABEL = "_gtFine_labelIds"
LAYOUT_SCHEMA = {"camvid": "camvid11", "segnet": "camvid11", "cityscapes": "cityscapes"}


class DatasetError(ValueError):
    """A folder that isn't a data set this project can read; the message says what was expected."""


@dataclass(frozen=True)
class Sample:
    name: str
    image: Path
    label: Path | None


@dataclass
class SplitReport:
    pairs: int = 0
    sizes: Counter = field(default_factory=Counter)        # (H, W) -> count
    pixel_counts: np.ndarray | None = None                 # per train id incl. ignore at the end
    label_values: set = field(default_factory=set)         # raw values seen
    instance_maps: int = 0                                  # Cityscapes: pairs with an instanceIds file (iIoU)


@dataclass
class CheckReport:
    root: Path
    layout: str
    schema: LabelSchema
    splits: dict[str, SplitReport]
    problems: list[tuple[str, str]]                        # (file, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.problems


NOT_REGULAR = "not a regular file (a FIFO, device, socket or folder); remove it or replace it with an image"


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _regular_only(paths: dict) -> tuple[dict, list[tuple[str, str]]]:
    """Keep regular files (never opened here, so a FIFO can't block); the others become problems."""
    kept = {key: path for key, path in paths.items() if is_regular_file(path)}
    return kept, [(str(path), NOT_REGULAR) for key, path in sorted(paths.items()) if key not in kept]


def detect_layout(root) -> str:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: {'not a' if root.exists() else 'no such'} folder; point to a data set folder "
                           "(CamVid style: images/ + labels/)")
    if (root / "leftImg8bit").is_dir() and (root / "gtFine").is_dir():
        return "cityscapes"
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return "camvid"
    if any((root / f"{d.name}annot").is_dir() for d in root.iterdir() if d.is_dir()):
        return "segnet"
    raise DatasetError(f"{root}: not a data set layout this project reads; expected images/<split>/ + "
                       "labels/<split>/ (CamVid style), <split>/ + <split>annot/ (SegNet tutorial), or "
                       "leftImg8bit/ + gtFine/ (Cityscapes)")


def list_splits(root, layout: str | None = None) -> list[str]:
    root = Path(root)
    layout = layout or detect_layout(root)
    if layout == "camvid":
        names = {d.name for d in (root / "images").iterdir() if d.is_dir()}
    elif layout == "cityscapes":
        names = {d.name for d in (root / "leftImg8bit").iterdir() if d.is_dir()}
    else:
        names = {d.name for d in root.iterdir() if d.is_dir() and (root / f"{d.name}annot").is_dir()}
    names = {name for name in names if not name.startswith(".")}      # .ipynb_checkpoints and the like
    order = {"train": 0, "val": 1, "test": 2}
    return sorted(names, key=lambda s: (order.get(s, 9), s))


def _split_folder(root: Path, layout: str, split: str) -> Path:
    """Where a split's images are (what a problem with the whole split names)."""
    return {"camvid": root / "images" / split, "segnet": root / split,
            "cityscapes": root / "leftImg8bit" / split}[layout]


def _half_splits(root: Path, layout: str) -> list[tuple[str, str]]:
    """Problems for split folders without their other half (labels/test/ but no images/test/; test/ with images
    but no testannot/): `list_splits` can't see them, so they would be left out without a word."""
    def folders(parent: Path) -> set[str]:
        return {d.name for d in parent.iterdir() if d.is_dir() and not d.name.startswith(".")}
    if layout == "segnet":
        names = folders(root)
        annots = {n for n in names if n.endswith("annot")}
        problems = [(str(root / n), f"annotations without images; expected their images in {root / n[:-5]}")
                    for n in sorted(annots) if n[:-5] not in names]
        problems += [(str(root / n), f"images without annotations; expected them in {root / (n + 'annot')}")
                     for n in sorted(names - annots) if n + "annot" not in names and _images(root / n)]
        return problems
    image_root, label_root = (("images", "labels") if layout == "camvid" else ("leftImg8bit", "gtFine"))
    images, labels = folders(root / image_root), folders(root / label_root)
    return [(str(root / label_root / n), f"labels without images; expected their images in {root / image_root / n}")
            for n in sorted(labels - images)]


def _by_stem(paths) -> tuple[dict, list[tuple[str, str]]]:
    """{stem: path}, and a problem for each file whose stem another file also has (f.jpg beside f.png: which one
    is the frame can't be told; the last in name order is used, as before, and the others are named)."""
    found, problems = {}, []
    for path in sorted(paths):
        if path.stem in found:
            problems.append((str(found[path.stem]), f"has the same name as {path.name}, which is used instead; "
                                                    "keep one file per frame"))
        found[path.stem] = path
    return found, problems


def _nested(folder: Path, where: str) -> list[tuple[str, str]]:
    """A problem for each visible sub-folder of a split folder: frames in them are not read."""
    if not folder.is_dir():
        return []
    return [(str(sub), f"a sub-folder: frames are read only from {where}, not from folders in it; move them up "
                       "or out") for sub in sorted(folder.iterdir()) if sub.is_dir() and not sub.name.startswith(".")]


def _folder_pairs(image_dir: Path, label_dir: Path) -> tuple[list[Sample], list[tuple[str, str]]]:
    images, twin_images = _by_stem(_images(image_dir)) if image_dir.is_dir() else ({}, [])
    labels, twin_labels = _by_stem(_images(label_dir)) if label_dir.is_dir() else ({}, [])
    samples, problems = _match(images, labels, label_dir)
    nested = _nested(image_dir, str(image_dir)) + _nested(label_dir, str(label_dir))
    return samples, twin_images + twin_labels + problems + nested


def _match(images: dict, labels: dict, label_dir: Path) -> tuple[list[Sample], list[tuple[str, str]]]:
    images, irregular_images = _regular_only(images)
    labels, irregular_labels = _regular_only(labels)
    problems = irregular_images + irregular_labels
    problems += [(str(images[k]), f"image has no label (expected one in {label_dir})")
                for k in sorted(images.keys() - labels.keys())]
    problems += [(str(labels[k]), "label has no image") for k in sorted(labels.keys() - images.keys())]
    samples = [Sample(k, images[k], labels[k]) for k in sorted(images.keys() & labels.keys())]
    return samples, problems


def _cityscapes_pairs(root: Path, split: str):
    images, labels, problems = {}, {}, []
    for path in sorted((root / "leftImg8bit" / split).glob(f"*/*{CITYSCAPES_IMAGE}.png")):
        if not path.name.startswith("."):       # macOS' ._ companions match the pattern too
            images[f"{path.parent.name}/{path.name[: -len(CITYSCAPES_IMAGE + '.png')]}"] = path
    for path in sorted((root / "gtFine" / split).glob(f"*/*{CITYSCAPES_LABEL}.png")):
        if not path.name.startswith("."):
            labels[f"{path.parent.name}/{path.name[: -len(CITYSCAPES_LABEL + '.png')]}"] = path
    for top in ("leftImg8bit", "gtFine"):       # frames outside a city folder are not read
        folder = root / top / split
        loose = sorted(folder.iterdir()) if folder.is_dir() else []
        problems += [(str(path), f"not in a city folder: Cityscapes frames are read from {folder}/<city>/; move it "
                                 "into one") for path in loose
                     if path.is_file() and not path.name.startswith(".") and path.suffix.lower() in IMAGE_SUFFIXES]
    samples, unpaired = _match(images, labels, root / "gtFine" / split)
    return samples, unpaired + problems


def pairs_with_problems(root, split: str, layout: str | None = None):
    """(samples, problems) for one split: problems are unpaired files."""
    root = Path(root)
    layout = layout or detect_layout(root)
    if split not in list_splits(root, layout):
        raise DatasetError(f"{root}: no split {split!r}; found {list_splits(root, layout)}")
    if layout == "camvid":
        return _folder_pairs(root / "images" / split, root / "labels" / split)
    if layout == "segnet":
        return _folder_pairs(root / split, root / f"{split}annot")
    return _cityscapes_pairs(root, split)


def left_out_count(problems: list[tuple[str, str]]) -> int:
    """How many files a split's problems (pairs_with_problems) leave out: a file may have several problems."""
    return len({file for file, _ in problems})


def left_out_note(root, split: str, layout: str | None = None) -> str | None:
    """One line saying how many files of a split pair with nothing (or can't be read as frames) and so are left
    out, for the commands that read the split; None where none are."""
    count = left_out_count(pairs_with_problems(root, split, layout)[1])
    if not count:
        return None
    return (f"{count} file{'s' if count > 1 else ''} of the {split} split of {root} {'are' if count > 1 else 'is'} "
            f"left out (no image or label to pair with, or not where frames are read); `segcore data check {root}` "
            "lists them")


def list_pairs(root, split: str, layout: str | None = None) -> list[Sample]:
    """Paired samples of a split, sorted by name. Unpaired files are left out (see `check`)."""
    samples, _ = pairs_with_problems(root, split, layout)
    if not samples:
        raise DatasetError(f"{root}: split {split!r} has no image/label pairs")
    return samples


def frame_names_digest(samples) -> str:
    """A short hash of a split's frame names, not their bytes: the same frames in a copy, a JPEG pack or another
    machine's folder hash alike (how an evaluation knows the run trained on them)."""
    import hashlib
    return hashlib.sha256("\n".join(sorted(s.name for s in samples)).encode()).hexdigest()[:16]


def dataset_name(root) -> str:
    """A data folder's name for people; a `segcore data pack` copy is named after its source."""
    import json
    root = Path(root).resolve()
    try:
        # A regular file of a few bytes: a FIFO named PACKED.json must not hang the app.
        info = json.loads(files.read_regular_bytes(root / "PACKED.json", max_bytes=65536).decode("utf-8"))
        source, quality = Path(str(info["source"])).name, int(info["jpeg_quality"])
    except (OSError, UnicodeDecodeError, ValueError, RecursionError, KeyError, TypeError):
        return root.name
    return f"{source[:80]} (JPEG pack, quality {quality})"


def sequence_of(name: str) -> str | None:
    """The video sequence a frame comes from: its file name up to the first "_" (CamVid `0006R0_f00930`;
    for Cityscapes `<city>/<city>_<seq>_<frame>`, the city). None for a name without one."""
    head, sep, _ = name.rsplit("/", 1)[-1].partition("_")
    return head if sep and head else None


def hold_out_sequence(samples: list[Sample], sequence: str) -> tuple[list[Sample], list[Sample]]:
    """(samples of other sequences, samples of `sequence`): a validation set that shares no sequence with
    training. Refuses a sequence with no frames, or one holding every frame."""
    held = [s for s in samples if sequence_of(s.name) == sequence]
    kept = [s for s in samples if sequence_of(s.name) != sequence]
    if not held:
        found = sorted({q for s in samples if (q := sequence_of(s.name))})
        choices = ", ".join(found) or "none (no file name has a _)"
        raise DatasetError(f"--holdout-sequence {sequence}: no training frame is named {sequence}_<frame>; "
                           f"choose one of the train split's sequences: {choices}")
    if not kept:
        raise DatasetError(f"--holdout-sequence {sequence}: every training frame is in that sequence, which would "
                           "leave none to train on; hold out another sequence or leave the option out")
    return kept, held


def schema_for(root, schema: str | LabelSchema | None = None) -> LabelSchema:
    if isinstance(schema, LabelSchema):
        return schema
    return get_schema(schema or LAYOUT_SCHEMA[detect_layout(root)])


def check(root, schema: str | LabelSchema | None = None) -> CheckReport:
    """Pair every split, decode every file, and collect every problem with the file it concerns."""
    root = Path(root)
    layout = detect_layout(root)
    schema = schema_for(root, schema)
    splits, problems = {}, []
    problems += _half_splits(root, layout)
    if not list_splits(root, layout):
        problems.append((str(root), "no splits found (e.g. images/train/ and labels/train/)"))
    for split in list_splits(root, layout):
        samples, unpaired = pairs_with_problems(root, split, layout)
        problems += unpaired
        report = SplitReport(pixel_counts=np.zeros(schema.num_classes + 1, dtype=np.int64))
        if not samples:
            problems.append((str(_split_folder(root, layout, split)), "split has no image/label pairs"))
        for sample in samples:
            try:
                # The size as the readers see it (EXIF orientation applied), so check agrees with training.
                size = read_image(sample.image).shape[:2]
            except (ImageError, OSError) as err:
                problems.append((str(sample.image), f"unreadable image: {err}"))
                continue
            try:
                labels = read_mask(sample.label, schema, size=size)
            except (ImageError, OSError) as err:
                problems.append((str(sample.label), str(err).removeprefix(f"{sample.label.name}: ")))
                continue
            report.pairs += 1
            report.sizes[size] += 1
            report.instance_maps += layout == "cityscapes" and instance_map_path(sample.label) is not None
            ids, counts = np.unique(labels, return_counts=True)
            for train_id, count in zip(ids, counts):
                report.label_values.add(int(train_id))
                report.pixel_counts[min(int(train_id), schema.num_classes)] += int(count)
        splits[split] = report
    return CheckReport(root, layout, schema, splits, problems)


def format_report(report: CheckReport) -> str:
    schema = report.schema
    lines = [f"{report.root}  layout={report.layout}  schema={schema.name}"]
    for split, rep in report.splits.items():
        sizes = ", ".join(f"{h}x{w} ({n})" for (h, w), n in rep.sizes.most_common(4))   # height x width, as --size
        lines.append(f"  {split}: {rep.pairs} pairs; sizes {sizes or '-'}; {len(rep.label_values)} label values")
        if report.layout == "cityscapes":
            lines[-1] += (f"; instanceIds for {rep.instance_maps} of {rep.pairs} ("
                          + ("iIoU scored)" if rep.pairs and rep.instance_maps == rep.pairs else
                             "iIoU needs one beside every labelIds file)"))
        total = rep.pixel_counts.sum() if rep.pixel_counts is not None else 0
        if total:
            names = schema.names + ["void"]
            shares = "  ".join(f"{n} {100 * c / total:.1f}%" for n, c in zip(names, rep.pixel_counts))
            lines.append(f"    pixel shares: {shares}")
    if report.problems:
        lines.append(f"{len(report.problems)} problem(s):")
        lines += [f"  {path}: {what}" for path, what in report.problems]
    else:
        lines.append("OK")
    return "\n".join(lines)
