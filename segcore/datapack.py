"""A compact copy of a CamVid-style data set, for a machine that takes a limited transfer (a lent GPU machine takes
64 MiB with the repository): images re-encoded as JPEG, labels losslessly as PNG at the highest compression, the
same names and layout, so `segcore train --data PACK` reads it as it reads the original. The labels read the same
(each read as training reads it, so a colour mask is packed as the class ids it stands for); the images differ by
the JPEG error this reports (mean absolute difference per channel, 0-255).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import cv2
import numpy as np

from segcore import files
from segcore.datasets import DatasetError, detect_layout, list_pairs, schema_for
from segcore.imageio import ImageError, read_image, read_mask

PACK_INFO = "PACKED.json"


def pack(root, out, *, splits=("train", "val"), jpeg_quality: int = 88) -> dict:
    """Write the pack to `out` (an empty or new folder); returns what PACKED.json in it records."""
    root, out = Path(root), Path(out)
    if isinstance(jpeg_quality, bool) or not isinstance(jpeg_quality, int) or not 50 <= jpeg_quality <= 100:
        raise ValueError(f"--jpeg-quality must be a whole number from 50 to 100, got {jpeg_quality!r}")
    if detect_layout(root) != "camvid":
        raise DatasetError(f"{root}: only CamVid-style folders (images/ + labels/) can be packed")
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out}: not empty; pack into a new folder")
    if out.resolve().is_relative_to(root.resolve()):
        raise DatasetError(f"{out}: inside the data set it packs, which would then hold the pack; pack into a folder "
                           "outside it")
    splits = list(dict.fromkeys(splits))
    listed = {split: list_pairs(root, split) for split in splits}      # every split found before a file is written
    # Written beside `out`, then renamed: a pack that fails half-way leaves nothing that reads as a data set.
    work = out.parent / f".{out.name}.packing"
    shutil.rmtree(work, ignore_errors=True)
    try:
        info = _write(root, work, listed, jpeg_quality)
        if out.exists():
            out.rmdir()
        work.rename(out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return info


def _write(root: Path, out: Path, listed: dict, jpeg_quality: int) -> dict:
    frames, total_bytes, errors = 0, 0, []
    schema = schema_for(root)       # CamVid style: label files hold the class ids (void 11) as they are read
    for split, samples in listed.items():
        for sample in samples:
            try:
                rgb = read_image(sample.image)
                label = read_mask(sample.label, schema, size=rgb.shape[:2])
            except (ImageError, OSError) as err:
                raise DatasetError(f"{err}; a pack holds {schema.name} labels only (check every file with "
                                   f"`segcore data check {root}`)") from None
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                    [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality])
            ok_label, png = cv2.imencode(".png", label, [cv2.IMWRITE_PNG_COMPRESSION, 9])
            if not (ok and ok_label):
                raise DatasetError(f"{sample.label if ok else sample.image}: can't be re-encoded; check it with "
                                   f"`segcore data check {root}`")
            decoded = cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            errors.append(float(np.abs(decoded.astype(np.int16) - rgb).mean()))
            files.atomic_write_bytes(out / "images" / split / f"{sample.name}.jpg", jpeg.tobytes())
            files.atomic_write_bytes(out / "labels" / split / f"{sample.name}.png", png.tobytes())
            frames, total_bytes = frames + 1, total_bytes + len(jpeg) + len(png)
    info = {"source": str(root.resolve()), "splits": list(listed), "frames": frames, "jpeg_quality": jpeg_quality,
            "bytes": total_bytes, "mean_abs_error": round(float(np.mean(errors)), 3) if errors else 0.0}
    files.write_json(out / PACK_INFO, info)
    return info
