"""What an evaluation stores per frame beside its JSON: the predicted label map (PNG) and a thumbnail (JPEG).

They live in `<eval folder>/<key>/predictions/<frame>.png` and `<key>/thumbnails/<frame>.jpg`, where the eval
folder is the one holding the evaluation JSON (RUN/eval/) and the key is the data set's evaluation key, so the
shards of one evaluation all write into the same folder and the JSON records paths relative to the eval folder.
Every file is written atomically and honours the umask (segcore.files); views only read them.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import secrets
import shutil
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from segcore.files import atomic_write_bytes
from segcore.imageio import write_png

PREDICTIONS_DIR, THUMBNAILS_DIR, CONTRADICTED_DIR = "predictions", "thumbnails", "contradicted"
PREDICTION_SUFFIX, THUMBNAIL_SUFFIX = ".png", ".jpg"
THUMBNAIL_SIDE = 256            # the longer side; smaller images keep their size
THUMBNAIL_QUALITY = 75
_SAFE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,150}")


def frame_file_stem(name: str) -> str:
    """A file-name-safe, unique stem for frame `name` ('aachen/aachen_000000_000019' -> 'aachen__aachen_...').

    A name that isn't plainly safe gets a short hash of itself, so two names never share a file.
    """
    readable = str(name).replace("/", "__")
    if _SAFE.fullmatch(readable) and "__" not in str(name):
        return readable
    digest = hashlib.sha256(str(name).encode()).hexdigest()[:8]
    return f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', readable).lstrip('.')[:120]}-{digest}"


def thumbnail(image: np.ndarray, side: int = THUMBNAIL_SIDE) -> np.ndarray:
    """`image` (H, W, 3) uint8 scaled so its longer side is `side` pixels (area averaging); never enlarged."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def encode_jpeg(image: np.ndarray, quality: int = THUMBNAIL_QUALITY) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class FrameStore:
    """Writes the per-frame files of one evaluation under `eval_dir / key`, through a staging folder.

    Files go first to a hidden `.<key>.staging-<random>/` beside the final folder; `commit` moves them in once the
    evaluation succeeded and `discard` drops them, so a failed or interrupted evaluation leaves the stored frames
    as they were. A full evaluation's commit replaces the whole `<key>/` folder (frames no longer evaluated go
    too); a shard's moves its files in one by one, as the other shards of the series do.
    """

    def __init__(self, eval_dir, key: str):
        self.eval_dir, self.key = Path(eval_dir), key
        self.folder = self.eval_dir / key
        self.staging: Path | None = None

    def relative(self, subfolder: str, name: str, suffix: str) -> str:
        return f"{self.key}/{subfolder}/{frame_file_stem(name)}{suffix}"

    def _staged(self, relative_path: str) -> Path:
        if self.staging is None:
            self.eval_dir.mkdir(parents=True, exist_ok=True)
            self.staging = _new_folder(self.eval_dir, f".{self.key}.staging")
        return self.staging / relative_path.split("/", 1)[1]

    def write(self, name: str, labels: np.ndarray, image: np.ndarray, doubted: np.ndarray | None = None) -> dict:
        """Stage frame `name`'s label map, thumbnail and, where given, the mask of the labelled pixels the model
        contradicts (segcore.label_quality; 255 there, 0 elsewhere); their final paths relative to the eval folder."""
        prediction = self.relative(PREDICTIONS_DIR, name, PREDICTION_SUFFIX)
        thumb = self.relative(THUMBNAILS_DIR, name, THUMBNAIL_SUFFIX)
        write_png(self._staged(prediction), labels)
        atomic_write_bytes(self._staged(thumb), encode_jpeg(thumbnail(image)))
        stored = {"prediction": prediction, "thumbnail": thumb}
        if doubted is not None:
            stored["contradicted"] = self.relative(CONTRADICTED_DIR, name, PREDICTION_SUFFIX)
            write_png(self._staged(stored["contradicted"]), np.where(doubted, 255, 0).astype(np.uint8))
        return stored

    def commit(self, *, replace_all: bool) -> None:
        """Move the staged files into `<key>/`: the whole folder (replace_all), or file by file (a shard)."""
        if self.staging is None:
            if replace_all and self.folder.is_dir():
                _remove_tree(self.folder)      # a full evaluation with no stored frame leaves none behind
            return
        if replace_all:
            old = None
            if self.folder.exists() or self.folder.is_symlink():
                old = self.eval_dir / f".{self.key}.old-{secrets.token_hex(6)}"
                os.replace(self.folder, old)
            os.replace(self.staging, self.folder)
            if old is not None:
                _remove_tree(old)
        else:
            for path in sorted(self.staging.rglob("*")):
                if path.is_file():
                    target = self.folder / path.relative_to(self.staging)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(path, target)
            _remove_tree(self.staging)
        self.staging = None

    def discard(self) -> None:
        if self.staging is not None:
            _remove_tree(self.staging)
            self.staging = None

    def size_bytes(self) -> int:
        """Bytes of the stored frames (for reports)."""
        return sum(p.stat().st_size for p in self.folder.rglob("*") if p.is_file()) if self.folder.is_dir() else 0


def _new_folder(parent: Path, prefix: str) -> Path:
    """A new, exclusive folder `<prefix>-<random>` in `parent`, mode 0777 minus the umask (as any new folder)."""
    while True:
        folder = parent / f"{prefix}-{secrets.token_hex(6)}"
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            continue


def _remove_tree(folder: Path) -> None:
    """Remove a folder (a link is unlinked, never followed)."""
    if folder.is_symlink():
        folder.unlink()
    else:
        shutil.rmtree(folder)
