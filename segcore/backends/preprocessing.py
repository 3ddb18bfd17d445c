"""Input scalings an imported model may expect, applied inside the back-end to the one path's RGB float32 0..255.

The modes follow Keras' `imagenet_utils.preprocess_input` (tf, torch, caffe) plus two plain ones: raw (what
models trained here take) and unit (x / 255).
"""
from __future__ import annotations

import numpy as np

from segcore import runs

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)      # RGB, of x / 255
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)  # BGR, 0..255
PREPROCESS_MODES = ("raw", "unit", "tf", "torch", "caffe")
PREPROCESS_IN_WORDS = {
    "raw": "raw: RGB 0..255 (models trained with SegLab)",
    "unit": "unit: RGB / 255",
    "tf": "tf: RGB scaled to -1..1 (Keras applications, MobileNet)",
    "torch": "torch: RGB / 255, ImageNet mean and std (torchvision, segmentation_models_pytorch, mmsegmentation)",
    "caffe": "caffe: BGR minus the ImageNet means (VGG-era Caffe models)",
}


def check_mode(name: str, mode) -> str:
    if mode not in PREPROCESS_MODES:
        raise runs.RunError(f"{name}: unknown preprocess {str(mode)[:40]!r}; use one of {', '.join(PREPROCESS_MODES)}")
    return mode


def preprocess(batch: np.ndarray, mode: str) -> np.ndarray:
    """(N, H, W, 3) RGB float32 0..255 -> what a model of `mode` takes (same shape, float32, channels last)."""
    batch = np.asarray(batch, dtype=np.float32)
    if mode == "raw":
        return batch
    if mode == "unit":
        return batch / np.float32(255)
    if mode == "tf":
        return batch / np.float32(127.5) - np.float32(1)
    if mode == "torch":
        return (batch / np.float32(255) - IMAGENET_MEAN) / IMAGENET_STD
    if mode == "caffe":
        return batch[..., ::-1] - CAFFE_MEAN_BGR
    raise ValueError(f"unknown preprocess mode {mode!r}; use one of {', '.join(PREPROCESS_MODES)}")
