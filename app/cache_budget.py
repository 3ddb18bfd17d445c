"""How much memory the dashboard's caches may hold: one byte cap per cache, each written once.

The README promises the app runs in 4 GB per instance. TensorFlow, the loaded models, a prediction in flight and
the sessions' own copies of what they show take about half of that, so every st.cache_data cache has a byte cap
(Streamlit's `max_size`, counted on pickled values; the least recently used entries go first) and together the
caps stay under CACHES_BYTES (a test adds them up). The caps are sized for the worst case the readers allow (images of
segcore.limits.MAX_IMAGE_PIXELS); ordinary images (CamVid is 0.7 MP) fit hundreds of times in the same room.
Models (st.cache_resource, which has no byte cap) are bounded by count: MODELS of them.
"""
from __future__ import annotations

from segcore.limits import MAX_IMAGE_PIXELS

MB = 1024 * 1024
IMAGE_BYTES = 3 * MAX_IMAGE_PIXELS          # a decoded RGB image at the decode limit: 120 MB
LABELS_BYTES = MAX_IMAGE_PIXELS             # a uint8 label map or mask at that size: 40 MB

CACHES_BYTES = 1536 * MB                    # all caps below together

PREDICTIONS_BYTES = 9 * LABELS_BYTES        # label maps of the models' predictions: 360 MB
UPLOADS_BYTES = 3 * IMAGE_BYTES             # decoded uploaded images: 360 MB
MASKS_BYTES = 3 * LABELS_BYTES              # decoded uploaded ground-truth masks: 120 MB
PAIRS_BYTES = 2 * (IMAGE_BYTES + LABELS_BYTES)  # data-set (image, mask) pairs: 320 MB
STORED_FRAMES_BYTES = 2 * LABELS_BYTES      # stored evaluation frames (label maps, thumbnails): 80 MB
CONFIDENCE_BYTES = LABELS_BYTES             # confidence (float32) and entropy (float16) maps: 40 MB
HISTORIES_BYTES = 64 * MB                   # training histories (a few KB each in practice)
EVALUATIONS_BYTES = 64 * MB                 # stored evaluation JSON (about 100 KB for CamVid val)
LISTING_BYTES = 16 * MB                     # each folder overview or listing (file names, counts): 7 of them

MODELS = 8                                  # loaded models (Keras weights of the shipped runs: 12-15 MB each)
