"""Shared fixtures: tiny data sets built in temporary folders, and the real CamVid location."""
from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CAMVID = Path(os.environ.get("SEGLAB_CAMVID", ROOT.parent / "shared" / "data" / "camvid"))

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def as_shown(markdown: str) -> str:
    """Markdown text as a reader sees it: the backslash escapes app.text.plain adds to names removed."""
    return re.sub(r"\\(.)", r"\1", markdown)


def save_png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def scene(seed: int, height: int = 32, width: int = 48, num_classes: int = 11, void: int = 11):
    """A random image whose colour encodes its label, plus that label (void sprinkled in)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, num_classes, size=(height // 8, width // 8)).repeat(8, 0).repeat(8, 1).astype(np.uint8)
    label[rng.random(label.shape) < 0.02] = void
    image = np.stack([label * 20, 255 - label * 20, (label * 37) % 255], axis=-1).astype(np.uint8)
    return image, label


def scene_seed(split: str, i: int) -> int:
    """The same seed in every process (hash() of a str changes with PYTHONHASHSEED)."""
    return zlib.crc32(f"{split}-{i}".encode()) % 1000


def make_camvid_like(root: Path, splits=(("train", 4), ("val", 2)), size=(32, 48)) -> Path:
    for split, count in splits:
        for i in range(count):
            image, label = scene(scene_seed(split, i), *size)
            save_png(root / "images" / split / f"f{i:03d}.png", image)
            save_png(root / "labels" / split / f"f{i:03d}.png", label, "L")
    return root


@pytest.fixture
def camvid_like(tmp_path) -> Path:
    return make_camvid_like(tmp_path / "data")


def needs_camvid():
    return pytest.mark.skipif(not (CAMVID / "images" / "train").is_dir(),
                              reason=f"CamVid not found at {CAMVID} (set SEGLAB_CAMVID)")
