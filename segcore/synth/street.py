"""The street's fixed parts, painted back to front: sky and clouds, the distant skyline, road and pavements with
their markings and shade, building facades with windows, and a fence."""
from __future__ import annotations

import cv2
import numpy as np

from segcore.synth.canvas import BUILDING, FENCE, PAVEMENT, ROAD, SKY, CIRCLE, Painter, Street, shade

# --- background ------------------------------------------------------------------------------------------
def sky(p: Painter):
    rng, yh = p.rng, max(1, int(p.yh))
    if rng.random() < 0.35:     # overcast, as in much of CamVid
        top, low = rng.integers(170, 205, 3), rng.integers(215, 240, 3)
        top[2] += 10
    else:
        top, low = np.array([rng.integers(40, 90), rng.integers(95, 135), rng.integers(170, 215)]), \
            np.array([rng.integers(165, 200), rng.integers(190, 215), rng.integers(215, 240)])
    t = np.minimum(np.arange(p.h), yh)[:, None]
    grad = top + (low - top) * t // yh
    p.img[:] = np.clip(grad, 0, 255).astype(np.uint8)[:, None, :]
    p.lab[:] = SKY
    p.haze = tuple(int(c) for c in low)
    for _ in range(rng.integers(2, 6)):
        cx, cy = rng.uniform(-0.1, 1.1) * p.w, rng.uniform(0.05, 0.7) * p.yh
        r = rng.uniform(0.03, 0.09) * p.w
        grey = int(rng.integers(215, 250))
        puffs = [(CIRCLE * (r * rng.uniform(0.6, 1.2), r * rng.uniform(0.35, 0.6))
                  + (cx + rng.uniform(-1.8, 1.8) * r, cy + rng.uniform(-0.4, 0.3) * r)).round().astype(np.int32)
                 for _ in range(rng.integers(3, 7))]
        p.fill(puffs, (grey, grey, min(255, grey + 5)), SKY, tex=24)


def skyline(p: Painter):
    """Distant buildings at the end of the street, so the vanishing point isn't bare sky."""
    x, yh = -2, int(p.yh)
    while x < p.w:
        w = int(p.rng.integers(max(2, p.w // 40), max(3, p.w // 12)))
        top = yh - int(p.rng.uniform(0.02, 0.11) * p.h)
        c = tuple(int(v) for v in (np.array(p.haze) * 0.55 + p.rng.integers(20, 50)))
        p.fill(np.array([(x, top), (x + w, top), (x + w, yh + 2), (x, yh + 2)], np.int32), c, BUILDING, tex=8)
        x += w


def ground(p: Painter, s: Street):
    rng = p.rng
    p.fill(np.array([(0, int(p.yh)), (p.w - 1, int(p.yh)), (p.w - 1, p.h - 1), (0, p.h - 1)], np.int32),
           (150, 148, 140), PAVEMENT, tex=10)   # under everything: gaps show pavement, never sky
    grey = int(rng.integers(80, 112))
    p.fill(p.ground(s.left, s.right, 0.5, 3000), (grey, grey, grey + int(rng.integers(0, 8))), ROAD, tex=16)
    paint = (222, 222, 212)
    for X in (s.left + 0.3, s.right - 0.3):                        # edge lines
        p.fill(p.ground(X - 0.07, X + 0.07, 1, 400), paint, ROAD, tex=10)
    for z in np.arange(rng.uniform(1, 8), 300, 9.0):              # centre dashes
        p.fill(p.ground(s.rc - 0.07, s.rc + 0.07, z, z + 3), paint, ROAD, tex=10)
    if rng.random() < 0.4:                                          # zebra crossing
        z = rng.uniform(9, 22)
        for X in np.arange(s.left + 0.5, s.right - 0.5, 1.0):
            p.fill(p.ground(X, X + 0.5, z, z + 3), paint, ROAD, tex=10)
    slab = tuple(int(v) for v in rng.integers(135, 175, 3) // 4 * 4 + (4, 2, 0))
    for side in (-1, 1):
        kerb, bld = s.kerb(side), s.building(side)
        p.fill(p.ground(kerb, bld, 0.5, 3000), slab, PAVEMENT, tex=12)
        p.fill(p.ground(kerb, kerb - side * 0.22, 0.5, 3000), shade(slab, 1.2), PAVEMENT, tex=8)
        for z in np.arange(1.0, 60, 1.8):                           # paving joints
            cv2.line(p.img, p.xy(kerb, 0, z), p.xy(bld, 0, z), shade(slab, 0.8), 1, cv2.LINE_8)
    # Shade from the buildings on the sun side: image only, the ground is still ground.
    bld = s.building(s.sun)
    mask = np.zeros((p.h, p.w), np.uint8)
    cv2.fillPoly(mask, [p.ground(bld, bld - s.sun * rng.uniform(3, 9), 0.5, 3000)], 1, cv2.LINE_8)
    m = mask.astype(bool)
    p.img[m] = (p.img[m].astype(np.int32) * 160 // 256).astype(np.uint8)


# --- buildings and fence ---------------------------------------------------------------------------------
_FACADES = ((150, 80, 60), (180, 160, 130), (200, 190, 170), (120, 110, 105), (165, 120, 90), (215, 205, 185),
            (140, 140, 150), (110, 70, 55))


def buildings(p: Painter, s: Street, side: int):
    rng, X = p.rng, s.building(side)
    light = 0.78 if side == s.sun else 1.1      # the sun side's facades face away from the sun
    z, z_end = 2.0, rng.uniform(70, 160)
    blocks = []
    while z < z_end:
        length = rng.uniform(7, 22)
        blocks.append((z, z + length))
        z += length
    for z0, z1 in reversed(blocks):             # far to near: a nearer block covers a farther one
        height = rng.uniform(5, 20)
        color = shade(np.array(_FACADES[rng.integers(len(_FACADES))]) + rng.integers(-15, 16, 3), light)
        # The near end wall shows above a lower block in front of it.
        p.fill(p.poly((X, 0, z0), (X + side * 15, 0, z0), (X + side * 15, height, z0), (X, height, z0)),
               shade(color, 0.72), BUILDING, tex=10)
        p.fill(p.wall(X, 0, height, z0, z1), color, BUILDING, tex=12)
        p.fill(p.wall(X, height - 0.5, height, z0, z1), shade(color, 0.8), BUILDING)   # cornice
        _windows(p, X, z0, z1, height, color)


def _windows(p: Painter, X, z0, z1, height, color):
    rng = p.rng
    glass = np.array([rng.integers(35, 70), rng.integers(45, 80), rng.integers(60, 100)])
    floor, pitch = rng.uniform(3.0, 3.6), rng.uniform(2.4, 3.6)
    ww, wh = pitch * rng.uniform(0.35, 0.6), floor * rng.uniform(0.4, 0.6)
    frame = shade(color, 1.25)
    if rng.random() < 0.6:                                          # shop front on the ground floor
        p.fill(p.wall(X, 0.4, 2.6, z0 + 0.6, z1 - 0.6), glass * 0.8, None)
    for Y in np.arange(floor + 0.8, height - wh - 0.6, floor):
        for zc in np.arange(z0 + pitch / 2, z1 - ww / 2, pitch):
            a, b = p.xy(X, Y, zc - ww / 2), p.xy(X, Y, zc + ww / 2)
            if abs(a[0] - b[0]) < 2:                                # too far to read as a window
                continue
            tint = glass + rng.integers(-10, 40) if rng.random() < 0.85 else (200, 180, 120)   # some lit
            if abs(a[0] - b[0]) > 6:
                p.fill(p.wall(X, Y - 0.12, Y + wh + 0.12, zc - ww / 2 - 0.1, zc + ww / 2 + 0.1), frame, None)
            p.fill(p.wall(X, Y, Y + wh, zc - ww / 2, zc + ww / 2), tint, None)


def fence(p: Painter, s: Street, side: int):
    rng = p.rng
    X = s.building(side) - side * 0.3
    z0 = rng.uniform(5, 20)
    z1, height = z0 + rng.uniform(6, 18), rng.uniform(1.0, 1.5)
    if rng.random() < 0.5:                                          # wooden panels
        wood = tuple(int(v) for v in rng.integers(90, 150) * np.array([1.0, 0.75, 0.5]))
        p.fill(p.wall(X, 0, height, z0, z1), wood, FENCE, tex=18)
        for z in np.arange(z0, z1, 0.25):
            cv2.line(p.img, p.xy(X, 0, z), p.xy(X, height, z), shade(wood, 0.7), 1, cv2.LINE_8)
        return
    metal = tuple(int(v) for v in rng.integers(20, 70, 3))            # railings: rails, posts, bars
    for Y in (0.1, height - 0.08):
        p.fill(p.wall(X, Y, Y + 0.08, z0, z1), metal, FENCE)
    for z in np.arange(z0, z1 + 0.01, 0.2):
        a, b = p.xy(X, 0.1, z), p.xy(X, height, z)
        for canvas, value in ((p.img, metal), (p.lab, FENCE)):
            cv2.line(canvas, a, b, value, 1, cv2.LINE_8)
