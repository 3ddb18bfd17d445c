"""`segcore import PRED_DIR --predictions`: a folder of predicted label PNGs becomes a run of kind "predictions".

Each PNG is checked (decodable, single-channel or palette indices, or a colour PNG in the schema's palette; every
value a train id of the schema, or with --label-ids one of its label ids such as Cityscapes' labelIds;
segcore.limits' size limits) and stored as a single-channel train-id PNG in RUN/predictions/, named as it was.
A pixel holding void (the model predicted no class) is kept as the ignore index and counted in meta.json; it
scores as a miss for its true class. The run then evaluates like any other on the frames it has
(segcore.backends.stored matches frames to files by name).
"""
from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from segcore import runs
from segcore.backends.stored import PREDICTION_SUFFIX, read_prediction
from segcore.importing import first_name, load_schema
from segcore.imageio import write_png

MAX_PREDICTION_FILES = 100_000       # a Cityscapes test split has 1,525 frames; this bounds a mistaken folder
MAX_FOLDER_DEPTH = 4                 # results are often one folder per city: PRED_DIR/<city>/*.png


def prediction_sources(source: Path) -> dict[str, Path]:
    """stem -> PNG under `source` (and its sub-folders, e.g. one per city); ValueError naming what is wrong."""
    found: dict[str, Path] = {}
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if path.suffix.lower() != PREDICTION_SUFFIX or any(part.startswith(".") for part in relative.parts):
            continue
        if len(relative.parts) > MAX_FOLDER_DEPTH:
            raise ValueError(f"{path}: more than {MAX_FOLDER_DEPTH - 1} folders deep in {source}; keep predictions "
                             "in the folder or one level of sub-folders")
        if path.stem in found:
            raise ValueError(f"{path} and {found[path.stem]} have the same name; each frame needs one prediction: "
                             "keep one of them")
        found[path.stem] = path
        if len(found) > MAX_PREDICTION_FILES:
            raise ValueError(f"{source}: more than {MAX_PREDICTION_FILES} PNG files; import one split at a time")
    return found


def import_predictions(source, out, *, schema: str, name: str | None = None,
                       label_ids: bool = False) -> tuple[Path, int]:
    """Check and copy the label PNGs of folder `source` into a new run folder `out`, as train ids; returns (out,
    count). `label_ids`: the PNGs hold the schema's label ids (Cityscapes labelIds), converted here."""
    source, out = Path(source), Path(out)
    if not source.exists():
        raise ValueError(f"{source}: no such folder; give the folder of predicted label PNGs")
    if not source.is_dir():
        raise ValueError(f"{source}: not a folder; --predictions takes a folder of label PNGs named like their "
                         "images (for a model file, leave out --predictions)")
    if out.exists():
        raise ValueError(f"{out} already exists; choose a new --out folder for the imported run")
    if out.resolve().is_relative_to(source.resolve()):
        raise ValueError(f"{out}: inside the prediction folder it imports, whose next import would read it too; "
                         "choose an --out folder outside it")
    if schema is None:
        raise ValueError(f"{source}: say which classes the predictions hold: pass --schema (a built-in name or a "
                         "schema JSON file)")
    label_schema = load_schema(schema)
    files = prediction_sources(source)
    if not files:
        raise ValueError(f"{source}: holds no PNG files; put one label PNG per image in it, named like the image "
                         "(X.png or X_pred.png for image X.png)")
    folder = out / runs.MODEL_FILES[runs.PREDICTIONS]
    folder.mkdir(parents=True)
    try:
        sizes, classless = Counter(), Counter()
        for stem, path in files.items():
            labels = read_prediction(path, label_schema, label_ids=label_ids)
            sizes[labels.shape] += 1
            void = int(np.count_nonzero(labels == label_schema.ignore_index))
            if void:
                classless[stem] = void
            write_png(folder / f"{stem}{PREDICTION_SUFFIX}", labels)
        (height, width), _ = sizes.most_common(1)[0]
        meta = {"kind": runs.PREDICTIONS, "arch": first_name(name, source.resolve().name, "predictions"),
                "schema": label_schema.to_dict(),
                "input_size": [int(height), int(width)], "predictions": len(files),
                "source": str(source.resolve()), "source_ids": "label ids" if label_ids else "train ids",
                "imported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if classless:
            meta["no_class"] = {"pixels": sum(classless.values()), "files": len(classless)}
        runs.write_json(out / runs.META_FILE, meta)
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    return out, len(files)


def no_class_note(meta: dict) -> str | None:
    """One line about the pixels an imported prediction folder left without a class, or None where there are none."""
    no_class = meta.get("no_class") if isinstance(meta, dict) else None
    if not isinstance(no_class, dict):
        return None
    pixels, files = no_class.get("pixels", 0), no_class.get("files", 0)
    return (f"{pixels:,} pixel{'' if pixels == 1 else 's'} in {files} file{'' if files == 1 else 's'} hold no class "
            "(void): evaluation scores them as misses for their true class, as the Cityscapes benchmark does")
