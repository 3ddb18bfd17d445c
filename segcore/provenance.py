"""What a run records about where it was trained (meta.json "versions", "git_commit", "hardware")."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import numpy as np


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def versions() -> dict:
    import albumentations
    import keras
    versions = {"python": platform.python_version(), "keras": keras.__version__, "backend": keras.backend.backend(),
                "numpy": np.__version__, "albumentations": albumentations.__version__}
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf
        versions["tensorflow"] = tf.__version__
    return versions


def hardware() -> dict:
    """What this process trains on (meta.json "hardware"): a wall time means little without it."""
    import keras
    backend = keras.backend.backend()
    accelerators: list[str] = []
    if backend == "jax":
        import jax
        accelerators = [str(d.device_kind) for d in jax.devices() if d.platform != "cpu"]
    elif backend == "tensorflow":
        import tensorflow as tf
        accelerators = [str(tf.config.experimental.get_device_details(d).get("device_name", d.name))
                        for d in tf.config.list_physical_devices("GPU")]
    elif backend == "torch":
        import torch
        accelerators = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"backend": backend, "accelerators": accelerators, "cpu_cores": os.cpu_count()}


def with_machine(known, machine: dict) -> list:
    """meta.json's "hardware" once `machine` has trained the run too: every machine, in order, each once (a run
    resumed elsewhere lists both)."""
    known = known if isinstance(known, list) else []
    return known if machine in known else [*known, machine]
