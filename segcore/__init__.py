"""segcore: data, augmentation, models, metrics, histories and figures for street-scene segmentation."""
import os

# albumentations checks PyPI for updates on import; this project works offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
# On Linux TensorFlow turns its oneDNN kernels on by itself only on CPUs with AVX-512 VNNI/BF16, AVX-VNNI or AMX;
# on an AVX2-only CPU they halve a training step (docs/BENCHMARKS.md). Read at TensorFlow's import; "0" turns off.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"
