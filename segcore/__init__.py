"""segcore: data, augmentation, models, metrics, histories and figures for street-scene segmentation."""
import os

# albumentations checks PyPI for updates on import; this project works offline.
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

__version__ = "0.1.0"
