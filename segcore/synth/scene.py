"""One synthetic street scene: the street, the objects on it far to near, then light and sensor effects."""
from __future__ import annotations

import numpy as np

from segcore.synth.canvas import Painter, Street
from segcore.synth.objects import street_objects
from segcore.synth.street import buildings, fence, ground, sky, skyline

# --- light and sensor ------------------------------------------------------------------------------------
def _finish(p: Painter):
    """Exposure, white balance, a side-to-side light gradient, haze near the horizon and sensor noise."""
    rng, img = p.rng, p.img.astype(np.int32)
    gain = int(rng.integers(215, 290)) + rng.integers(-10, 11, 3)                     # /256 per channel
    slope = int(rng.integers(-90, 91))
    ramp = 1024 + slope * (2 * np.arange(p.w) - p.w) // p.w                            # /1024 per column
    img = img * gain // 256 * ramp[None, :, None] // 1024
    band = max(1, int(0.22 * p.h))
    weight = np.maximum(0, 256 - np.abs(np.arange(p.h) - int(p.yh)) * 256 // band) * int(rng.integers(40, 130)) // 256
    img += (np.array(p.haze) - img) * weight[:, None, None] // 256
    img += rng.integers(-6, 7, (p.h, p.w, 1)) + rng.integers(-3, 4, (p.h, p.w, 3))
    p.img = np.clip(img, 0, 255).astype(np.uint8)


def render_scene(seed: int, size: tuple[int, int] = (360, 480)) -> tuple[np.ndarray, np.ndarray]:
    """One street scene: (image (H, W, 3) uint8 RGB, label (H, W) uint8 CamVid-11 train ids, 11 = void)."""
    h, w = (int(v) for v in size)
    if h < 16 or w < 16:
        raise ValueError(f"scene size must be at least 16x16, got {h}x{w}")
    if int(seed) < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    rng = np.random.default_rng(int(seed))
    p, s = Painter(rng, (h, w)), Street(rng)
    sky(p)
    skyline(p)
    ground(p, s)
    for side in (-1, 1):
        buildings(p, s, side)
    fence(p, s, int(rng.choice([-1, 1])))
    for _, _, draw in sorted(street_objects(p, s), key=lambda item: (-item[0], item[1])):
        draw()
    _finish(p)
    return p.img, p.lab
