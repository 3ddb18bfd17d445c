"""`segcore predict`'s files: one PNG per image, class ids (labels), a colour mask (color) or an overlay."""
from __future__ import annotations

import os
from pathlib import Path

from segcore import class_colours
from segcore.figures import overlay
from segcore.imageio import read_image, write_png
from segcore.predict import Predictor

FORMATS = ("labels", "color", "overlay")


def output_paths(images: list, out, fmt: str, *, overwrite: bool = False) -> list[Path]:
    """One output per input, refused before anything is written if two inputs would share an output
    (e.g. a/frame.png and b/frame.png), an output would replace an input, or (unless `overwrite`) an output
    file exists already: an earlier prediction is someone's work."""
    out = Path(out)
    targets, owners = [], {}
    for image in images:
        target = out / f"{Path(image).stem}_{fmt}.png"
        key = os.path.normcase(os.path.abspath(target))
        if key in owners and os.path.abspath(owners[key]) != os.path.abspath(image):
            raise ValueError(f"{owners[key]} and {image} would both be written to {target}; predict them in "
                             "separate runs with different --out folders, or rename one")
        owners[key] = image
        targets.append(target)
    inputs = {os.path.normcase(os.path.abspath(image)): image for image in images}
    for target in targets:
        if os.path.normcase(os.path.abspath(target)) in inputs:
            raise ValueError(f"the output {target} would replace the input image of that name; choose "
                             "another --out folder")
    existing = [target for target in targets if target.exists()]
    if existing and not overwrite:
        others = f" and {len(existing) - 1} more" if len(existing) > 1 else ""
        raise ValueError(f"{existing[0]}{others} exist already; add --overwrite to replace them, or choose another "
                         "--out folder")
    return targets


def predict_files(run, images: list, out, *, fmt: str = "labels", tta: str | None = None,
                  colours: dict | None = None, overwrite: bool = False) -> list[Path]:
    """Write one PNG per image into `out` in format `fmt` (one of FORMATS); returns the paths written.
    `tta`: test-time augmentation (segcore.predict.TTA_MODES); None = the run's own (meta.json "tta").
    `colours`: class colours (segcore.class_colours) to draw overlays in; label and colour mask files keep the
    schema's own, so they read back as the same classes (ValueError for those formats).
    `overwrite`: replace output files that exist (refused otherwise, before the model loads)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if colours and fmt != "overlay":
        raise ValueError(f"class colours draw overlays only; a {fmt} file keeps the schema's own colours so that it "
                         "reads back as the same classes: use --format overlay, or leave out --class-colours")
    # Before loading the model: refuse collisions cheaply, and any image that can't be read (decoding them twice
    # costs little beside the model; a failure half-way would leave some outputs written and others not).
    targets = output_paths(images, out, fmt, overwrite=overwrite)
    for path in images:
        read_image(path)
    predictor = Predictor(run, tta=tta)
    if colours:
        class_colours.check(colours, [predictor.schema])
    drawn = class_colours.apply(predictor.schema, colours or {})
    written = []
    for path, target in zip(images, targets):
        image = read_image(path)
        labels = predictor.predict(image).labels
        if fmt == "labels":
            array = labels
        elif fmt == "color":
            array = predictor.schema.color_mask(labels)
        else:
            array = overlay(image, labels, drawn, alpha=0.5)
        written.append(write_png(target, array))
    return written
