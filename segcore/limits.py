"""Every bound on what a file or a user can make SegLab read, each written once (docs/DEPLOYING.md lists them).

The modules that enforce a limit import it from here (and keep their old short names as aliases).
`.streamlit/config.toml` can't import Python, so a test checks that its `server.maxUploadSize` equals
MAX_UPLOAD_BYTES. Imports nothing, so any module may use it.
"""
from __future__ import annotations

# Files a user hands over (uploads, images and histories read from folders); Streamlit counts MiB.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Images and masks: e.g. 8000 x 5000; a 20000 x 20000 bomb is refused from its header.
MAX_IMAGE_PIXELS = 40_000_000
# The largest model input (height x width) run or trained: a model declaring more is refused before warm-up
# allocates its batch (the forward pass needs many times more). 2048 x 2048 covers a full Cityscapes frame.
MAX_INPUT_PIXELS = 2048 * 2048

# Training histories: Keras logs a handful of metric columns and one row per epoch.
MAX_HISTORY_COLUMNS = 256
MAX_HISTORY_ROWS = 100_000
# Zipped TensorBoard log folders: Keras writes a handful of entries, one event file per split per resume.
MAX_ZIP_ENTRIES = 1_000
MAX_EVENT_FILES = 64

# Zipped prediction folders (Home's "Bring a model"): label PNGs compress well, but never to under a byte per 40 pixels.
MAX_UNZIPPED_BYTES = 2 * 1024**3
MAX_UNZIPPED_BYTES_PER_FILE = MAX_IMAGE_PIXELS * 4
# Class colours a viewer saves: a few dozen classes.
MAX_CLASS_COLOURS_BYTES = 1024 * 1024

# Augmentation pipelines are short lists a person edits; the caps stop a crafted file building thousands.
MAX_PIPELINE_BYTES = 1_000_000
MAX_PIPELINE_STEPS = 64
MAX_PIPELINE_NESTING = 8
MAX_AUGMENT_DRAWS = 100_000

# JSON the app reads back (run metadata, evaluations).
MAX_JSON_BYTES = 64 * 1024 * 1024
