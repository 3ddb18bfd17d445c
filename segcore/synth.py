"""Procedural street scenes with exact CamVid-11 labels: a small sample data set that works on any machine.

A scene is a simple pinhole-camera world (road, pavements, buildings, trees, poles, signs, a fence, cars,
people, a bicyclist) projected with plain arithmetic and painted with cv2.fillPoly (LINE_8, no
anti-aliasing). Image and label are painted with the same polygons in the same order, so occlusion agrees
exactly. Randomness comes only from numpy.random.default_rng(seed) (integers and uniforms, no normals),
and there are no transcendental functions, so the same seed gives the same pixels on every machine.
"""
from __future__ import annotations

import math
import re
from pathlib import Path

import cv2
import numpy as np

from segcore.files import atomic_write_bytes
from segcore.imageio import encode_png
from segcore.labels import CAMVID11

SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST = range(11)
VOID = CAMVID11.ignore_index
SCENES_PER_SEED = 10_000          # scene k of make_sample(seed=s) is render_scene(s * SCENES_PER_SEED + k)

# cos of 0..90 degrees in 15-degree steps, as literals: libm's cos may differ in the last bit across machines.
_COS = (1.0, 0.96593, 0.86603, 0.70711, 0.5, 0.25882, 0.0)


def _unit_circle() -> np.ndarray:
    pts = []
    for k in range(24):
        q, r = divmod(k, 6)
        c, s = _COS[r], _COS[6 - r]
        pts.append([(c, s), (-s, c), (-c, -s), (s, -c)][q])
    return np.array(pts)


_CIRCLE = _unit_circle()           # (24, 2) cos, sin


def _value_noise(rng, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth integer noise in about -128..128: a random grid interpolated bilinearly in integer arithmetic."""
    grid = rng.integers(-128, 129, (h // cell + 2, w // cell + 2)).astype(np.int32)
    y, x = np.arange(h), np.arange(w)
    fy = (y % cell)[:, None]
    rows = (grid[y // cell] * (cell - fy) + grid[y // cell + 1] * fy) // cell
    fx = x % cell
    return ((rows[:, x // cell] * (cell - fx) + rows[:, x // cell + 1] * fx) // cell).astype(np.int16)


def _shade(color, factor: float) -> tuple[int, int, int]:
    return tuple(min(255, max(0, int(c * factor))) for c in color)


class _Painter:
    """Camera + canvases. World: X right, Y up (metres above the road), z forward (metres from the camera)."""

    def __init__(self, rng, size):
        self.rng = rng
        self.h, self.w = size
        self.f = self.w * rng.uniform(0.62, 0.78)            # focal length in pixels
        self.yh = self.h * rng.uniform(0.41, 0.49)           # horizon row
        self.xv = self.w * rng.uniform(0.44, 0.56)           # vanishing point column
        self.cam = 1.5                                        # camera height
        self.img = np.zeros((self.h, self.w, 3), np.uint8)
        self.lab = np.full((self.h, self.w), VOID, np.uint8)
        n3, n12, n40 = (_value_noise(rng, self.h, self.w, c) for c in (3, 12, 40))
        self.tex = (2 * n3 + 2 * n12 + n40) // 5             # general texture (-128..128)
        self.leaf = n3                                        # fine, high-contrast texture for foliage
        self.haze = (200, 210, 220)                           # horizon colour, set by _sky

    # --- geometry ----------------------------------------------------------------------------------------
    def xy(self, X, Y, z) -> tuple[int, int]:
        z = max(z, 0.2)
        return math.floor(self.xv + self.f * X / z + 0.5), math.floor(self.yh + self.f * (self.cam - Y) / z + 0.5)

    def poly(self, *world) -> np.ndarray:
        return np.array([self.xy(*p) for p in world], np.int32)

    def wall(self, X, Y0, Y1, z0, z1) -> np.ndarray:
        """Rectangle in the plane X = const (a facade along the street)."""
        return self.poly((X, Y0, z0), (X, Y0, z1), (X, Y1, z1), (X, Y1, z0))

    def ground(self, X0, X1, z0, z1) -> np.ndarray:
        return self.poly((X0, 0, z0), (X1, 0, z0), (X1, 0, z1), (X0, 0, z1))

    def front(self, X0, X1, Y0, Y1, z) -> np.ndarray:
        """Rectangle facing the camera (plane z = const), at least one pixel wide so thin things never vanish."""
        (x0, y1), (x1, y0) = self.xy(X0, Y0, z), self.xy(X1, Y1, z)
        x1 = max(x1, x0)
        return np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], np.int32)

    def disc(self, X, Y, z, rx, ry=None) -> np.ndarray:
        """Ellipse facing the camera."""
        pts = _CIRCLE * (rx, rx if ry is None else ry) + (X, Y)
        return self.poly(*((a, b, z) for a, b in pts))

    def scale(self, z) -> float:
        return self.f / max(z, 0.2)

    # --- painting ----------------------------------------------------------------------------------------
    def fill(self, polys, color, label=None, tex=0, leaf=False):
        """Fill polygons in the image and (if label is given) the label. tex > 0 adds luminance texture."""
        polys = [np.asarray(p, np.int32) for p in (polys if isinstance(polys, list) else [polys])]
        color = tuple(int(c) for c in color)
        if not tex:
            for p in polys:
                cv2.fillPoly(self.img, [p], color, cv2.LINE_8)
                if label is not None:
                    cv2.fillPoly(self.lab, [p], int(label), cv2.LINE_8)
            return
        # Work in the polygons' bounding box: a full-frame mask per polygon would dominate the run time.
        allp = np.concatenate(polys)
        x0, y0 = np.maximum(allp.min(0), 0)
        x1, y1 = np.minimum(allp.max(0), (self.w - 1, self.h - 1))
        if x1 < x0 or y1 < y0:
            return
        mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), np.uint8)
        for p in polys:  # one polygon per call: several in one call would cut holes where they overlap
            cv2.fillPoly(mask, [p - (x0, y0)], 1, cv2.LINE_8)
        m = mask.astype(bool)
        box = np.s_[y0:y1 + 1, x0:x1 + 1]
        if label is not None:
            self.lab[box][m] = label
        noise = (self.leaf if leaf else self.tex)[box][m].astype(np.int32) * tex // 128
        self.img[box][m] = np.clip(np.array(color, np.int32) + noise[:, None], 0, 255)

    def line(self, a, b, color, label, width_m, z):
        t = max(1, math.floor(width_m * self.scale(z) + 0.5))
        for canvas, value in ((self.img, tuple(int(c) for c in color)), (self.lab, int(label))):
            cv2.line(canvas, a, b, value, t, cv2.LINE_8)

    def ring(self, pts, color, label, width_m, z):
        t = max(1, math.floor(width_m * self.scale(z) + 0.5))
        for canvas, value in ((self.img, tuple(int(c) for c in color)), (self.lab, int(label))):
            cv2.polylines(canvas, [pts], True, value, t, cv2.LINE_8)


class _Street:
    """Lateral layout: road centre and half width, pavement widths, building lines."""

    def __init__(self, rng):
        self.rc = rng.uniform(-1.2, 1.8)
        self.rw = rng.uniform(3.4, 5.0)
        self.left, self.right = self.rc - self.rw, self.rc + self.rw                 # kerbs
        self.bl = self.left - rng.uniform(2.5, 4.5)                                   # building lines
        self.br = self.right + rng.uniform(2.5, 4.5)
        self.sun = int(rng.choice([-1, 1]))     # the side whose buildings throw shade onto the street

    def kerb(self, side):
        return self.left if side < 0 else self.right

    def building(self, side):
        return self.bl if side < 0 else self.br


# --- background ------------------------------------------------------------------------------------------
def _sky(p: _Painter):
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
        puffs = [(_CIRCLE * (r * rng.uniform(0.6, 1.2), r * rng.uniform(0.35, 0.6))
                  + (cx + rng.uniform(-1.8, 1.8) * r, cy + rng.uniform(-0.4, 0.3) * r)).round().astype(np.int32)
                 for _ in range(rng.integers(3, 7))]
        p.fill(puffs, (grey, grey, min(255, grey + 5)), SKY, tex=24)


def _skyline(p: _Painter):
    """Distant buildings at the end of the street, so the vanishing point isn't bare sky."""
    x, yh = -2, int(p.yh)
    while x < p.w:
        w = int(p.rng.integers(max(2, p.w // 40), max(3, p.w // 12)))
        top = yh - int(p.rng.uniform(0.02, 0.11) * p.h)
        c = tuple(int(v) for v in (np.array(p.haze) * 0.55 + p.rng.integers(20, 50)))
        p.fill(np.array([(x, top), (x + w, top), (x + w, yh + 2), (x, yh + 2)], np.int32), c, BUILDING, tex=8)
        x += w


def _ground(p: _Painter, s: _Street):
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
        p.fill(p.ground(kerb, kerb - side * 0.22, 0.5, 3000), _shade(slab, 1.2), PAVEMENT, tex=8)
        for z in np.arange(1.0, 60, 1.8):                           # paving joints
            cv2.line(p.img, p.xy(kerb, 0, z), p.xy(bld, 0, z), _shade(slab, 0.8), 1, cv2.LINE_8)
    # Shade from the buildings on the sun side: image only, the ground is still ground.
    bld = s.building(s.sun)
    mask = np.zeros((p.h, p.w), np.uint8)
    cv2.fillPoly(mask, [p.ground(bld, bld - s.sun * rng.uniform(3, 9), 0.5, 3000)], 1, cv2.LINE_8)
    m = mask.astype(bool)
    p.img[m] = (p.img[m].astype(np.int32) * 160 // 256).astype(np.uint8)


# --- buildings and fence ---------------------------------------------------------------------------------
_FACADES = ((150, 80, 60), (180, 160, 130), (200, 190, 170), (120, 110, 105), (165, 120, 90), (215, 205, 185),
            (140, 140, 150), (110, 70, 55))


def _buildings(p: _Painter, s: _Street, side: int):
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
        color = _shade(np.array(_FACADES[rng.integers(len(_FACADES))]) + rng.integers(-15, 16, 3), light)
        # The near end wall shows above a lower block in front of it.
        p.fill(p.poly((X, 0, z0), (X + side * 15, 0, z0), (X + side * 15, height, z0), (X, height, z0)),
               _shade(color, 0.72), BUILDING, tex=10)
        p.fill(p.wall(X, 0, height, z0, z1), color, BUILDING, tex=12)
        p.fill(p.wall(X, height - 0.5, height, z0, z1), _shade(color, 0.8), BUILDING)   # cornice
        _windows(p, X, z0, z1, height, color)


def _windows(p: _Painter, X, z0, z1, height, color):
    rng = p.rng
    glass = np.array([rng.integers(35, 70), rng.integers(45, 80), rng.integers(60, 100)])
    floor, pitch = rng.uniform(3.0, 3.6), rng.uniform(2.4, 3.6)
    ww, wh = pitch * rng.uniform(0.35, 0.6), floor * rng.uniform(0.4, 0.6)
    frame = _shade(color, 1.25)
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


def _fence(p: _Painter, s: _Street, side: int):
    rng = p.rng
    X = s.building(side) - side * 0.3
    z0 = rng.uniform(5, 20)
    z1, height = z0 + rng.uniform(6, 18), rng.uniform(1.0, 1.5)
    if rng.random() < 0.5:                                          # wooden panels
        wood = tuple(int(v) for v in rng.integers(90, 150) * np.array([1.0, 0.75, 0.5]))
        p.fill(p.wall(X, 0, height, z0, z1), wood, FENCE, tex=18)
        for z in np.arange(z0, z1, 0.25):
            cv2.line(p.img, p.xy(X, 0, z), p.xy(X, height, z), _shade(wood, 0.7), 1, cv2.LINE_8)
        return
    metal = tuple(int(v) for v in rng.integers(20, 70, 3))            # railings: rails, posts, bars
    for Y in (0.1, height - 0.08):
        p.fill(p.wall(X, Y, Y + 0.08, z0, z1), metal, FENCE)
    for z in np.arange(z0, z1 + 0.01, 0.2):
        a, b = p.xy(X, 0.1, z), p.xy(X, height, z)
        for canvas, value in ((p.img, metal), (p.lab, FENCE)):
            cv2.line(canvas, a, b, value, 1, cv2.LINE_8)


# --- street furniture and vegetation ---------------------------------------------------------------------
def _tree(p: _Painter, X, z):
    rng = p.rng
    trunk_h, r = rng.uniform(2.2, 3.2), rng.uniform(1.3, 2.3)
    p.fill(p.front(X - 0.13, X + 0.13, 0, trunk_h + r * 0.5, z), (85, 65, 45), TREE, tex=20)
    green = np.array([rng.integers(35, 80), rng.integers(80, 125), rng.integers(20, 50)])
    cy = trunk_h + r * 0.8
    for k in range(rng.integers(5, 8)):
        dx, dy = rng.uniform(-0.7, 0.7) * r, rng.uniform(-0.5, 0.6) * r
        pr = r * rng.uniform(0.5, 0.8)
        p.fill(p.disc(X + dx, cy + dy, z, pr, pr * 0.9), green * (0.75 + 0.1 * (dy > 0) + 0.04 * k), TREE,
               tex=45, leaf=True)


def _lamp(p: _Painter, s: _Street, side, z):
    X, h = s.kerb(side) - side * 0.35, p.rng.uniform(6, 8.5)
    grey = (95, 98, 100)
    p.fill(p.front(X - 0.08, X + 0.08, 0, h, z), grey, POLE, tex=8)
    arm = X + side * p.rng.uniform(1.2, 2.0)
    p.fill(p.front(min(X, arm), max(X, arm), h - 0.12, h, z), grey, POLE)
    p.fill(p.front(arm - 0.3, arm + 0.3, h - 0.3, h - 0.05, z), (70, 72, 75), POLE)


def _sign(p: _Painter, X, z):
    rng = p.rng
    kind = rng.integers(4)
    top = 3.0 if kind == 3 else rng.uniform(2.2, 2.8)
    p.fill(p.front(X - 0.05, X + 0.05, 0, top, z), (110, 112, 115), POLE, tex=8)
    red, white, blue = (190, 30, 35), (235, 235, 230), (30, 70, 170)
    if kind == 0:                                                    # round prohibition sign
        p.fill(p.disc(X, top, z, 0.35), red, SIGN)
        p.fill(p.disc(X, top, z, 0.26), white, SIGN)
    elif kind == 1:                                                  # warning triangle
        p.fill(p.poly((X - 0.4, top - 0.25, z), (X + 0.4, top - 0.25, z), (X, top + 0.45, z)), red, SIGN)
        p.fill(p.poly((X - 0.26, top - 0.17, z), (X + 0.26, top - 0.17, z), (X, top + 0.28, z)), white, SIGN)
    elif kind == 2:                                                  # blue information panel
        p.fill(p.front(X - 0.35, X + 0.35, top - 0.3, top + 0.4, z), blue, SIGN)
        p.fill(p.front(X - 0.08, X + 0.08, top - 0.2, top + 0.15, z), white, SIGN)
        p.fill(p.poly((X - 0.2, top + 0.1, z), (X + 0.2, top + 0.1, z), (X, top + 0.32, z)), white, SIGN)
    else:                                                            # traffic light
        p.fill(p.front(X - 0.17, X + 0.17, top, top + 0.95, z), (35, 35, 38), SIGN)
        lit = rng.integers(3)
        for i, c in enumerate(((230, 40, 30), (240, 170, 20), (40, 210, 90))):
            p.fill(p.disc(X, top + 0.78 - 0.3 * i, z, 0.1), c if i == lit else _shade(c, 0.3), SIGN)


def _clutter(p: _Painter, X, z):
    """Unlabelled street clutter (bins, boxes): the void label, as in real annotations."""
    rng = p.rng
    w, h = rng.uniform(0.4, 1.0), rng.uniform(0.7, 1.6)
    c = rng.integers(30, 110, 3)
    p.fill(p.front(X - w / 2, X + w / 2, 0, h, z), c, VOID, tex=12)
    p.fill(p.front(X - w / 2 - 0.04, X + w / 2 + 0.04, h, h + 0.08, z), _shade(c, 0.7), VOID)


# --- road users ------------------------------------------------------------------------------------------
_CAR_COLORS = ((225, 225, 225), (170, 172, 178), (40, 40, 45), (160, 25, 30), (30, 60, 140), (90, 95, 100),
               (200, 190, 160), (20, 90, 60))


def _car(p: _Painter, xc, toward: bool, z):
    rng = p.rng
    body = np.clip(np.array(_CAR_COLORS[rng.integers(len(_CAR_COLORS))]) + rng.integers(-12, 13, 3), 0, 255)
    dark, glass, tyre = _shade(body, 0.6), (40, 48, 58), (22, 22, 24)
    L, hw = rng.uniform(3.9, 4.6), rng.uniform(0.85, 0.95)
    p.fill(p.ground(xc - hw - 0.1, xc + hw + 0.1, z - 0.2, z + L), (28, 28, 30), None)   # shadow (image only)
    if abs(xc) > hw:                            # the side facing the camera
        X = xc - hw if xc > 0 else xc + hw
        p.fill(p.wall(X, 0.3, 0.95, z, z + L), body, CAR, tex=6)
        p.fill(p.poly((X, 0.95, z + 0.9), (X, 1.45, z + 1.5), (X, 1.45, z + L - 1.1), (X, 0.95, z + L - 0.5)),
               body, CAR, tex=6)
        p.fill(p.poly((X, 1.0, z + 1.05), (X, 1.38, z + 1.6), (X, 1.38, z + L - 1.2), (X, 1.0, z + L - 0.7)),
               glass, CAR, tex=8)
        for zc in (z + 0.8, z + L - 0.8):
            pts = [(X, 0.33 + 0.33 * sn, zc + 0.33 * cs) for cs, sn in _CIRCLE]
            p.fill(p.poly(*pts), tyre, CAR)
    # The end facing the camera: body, cabin, rear/front window, lights, plate, tyres.
    p.fill(p.front(xc - hw + 0.1, xc - hw + 0.35, 0, 0.4, z), tyre, CAR)
    p.fill(p.front(xc + hw - 0.35, xc + hw - 0.1, 0, 0.4, z), tyre, CAR)
    p.fill(p.front(xc - hw, xc + hw, 0.3, 0.95, z), body, CAR, tex=6)
    p.fill(p.poly((xc - hw, 0.95, z), (xc + hw, 0.95, z), (xc + hw - 0.2, 1.45, z), (xc - hw + 0.2, 1.45, z)),
           body, CAR, tex=6)
    p.fill(p.poly((xc - hw + 0.08, 1.0, z), (xc + hw - 0.08, 1.0, z), (xc + hw - 0.25, 1.38, z),
                  (xc - hw + 0.25, 1.38, z)), glass, CAR, tex=10)
    p.fill(p.front(xc - hw, xc + hw, 0.3, 0.45, z), dark, CAR)
    lamp = (235, 230, 200) if toward else (200, 30, 30)
    for x0 in (xc - hw + 0.05, xc + hw - 0.3):
        p.fill(p.front(x0, x0 + 0.25, 0.72, 0.86, z), lamp, CAR)
    p.fill(p.front(xc - 0.22, xc + 0.22, 0.5, 0.62, z), (230, 230, 215), CAR)


_SHIRTS = ((180, 40, 40), (40, 70, 150), (230, 230, 225), (40, 40, 40), (200, 160, 50), (60, 120, 70),
           (120, 60, 120), (150, 150, 155))
_SKIN = ((235, 195, 160), (200, 150, 110), (140, 95, 65), (95, 65, 45))


def _person_colors(rng):
    return (_SHIRTS[rng.integers(len(_SHIRTS))], tuple(int(v) for v in rng.integers(20, 80, 3)),
            _SKIN[rng.integers(len(_SKIN))])


def _pedestrian(p: _Painter, X, z):
    rng = p.rng
    k = rng.uniform(0.9, 1.08)                  # body scale (height 1.6..1.9 m)
    shirt, trousers, skin = _person_colors(rng)
    stride = rng.uniform(0.0, 0.18) * k
    for sgn in (-1, 1):                         # legs
        p.fill(p.poly((X + sgn * 0.04 * k, 0.9 * k, z), (X + sgn * 0.16 * k, 0.9 * k, z),
                      (X + sgn * (0.1 * k + stride) + 0.06 * k, 0, z), (X + sgn * (0.1 * k + stride) - 0.07 * k, 0, z)),
               trousers, PEDESTRIAN)
        p.fill(p.poly((X + sgn * 0.2 * k, 1.45 * k, z), (X + sgn * 0.27 * k, 1.42 * k, z),
                      (X + sgn * 0.3 * k, 0.85 * k, z), (X + sgn * 0.22 * k, 0.85 * k, z)), shirt, PEDESTRIAN)
    p.fill(p.poly((X - 0.21 * k, 1.47 * k, z), (X + 0.21 * k, 1.47 * k, z), (X + 0.17 * k, 0.85 * k, z),
                  (X - 0.17 * k, 0.85 * k, z)), shirt, PEDESTRIAN, tex=10)
    p.fill(p.front(X - 0.05 * k, X + 0.05 * k, 1.45 * k, 1.52 * k, z), skin, PEDESTRIAN)
    p.fill(p.disc(X, 1.62 * k, z, 0.1 * k, 0.125 * k), skin, PEDESTRIAN)
    p.fill(p.poly(*[(X + 0.105 * k * c, 1.64 * k + 0.1 * k * max(s, 0.0), z) for c, s in _CIRCLE]),
           (45, 32, 25), PEDESTRIAN)            # hair: the upper half of the head


def _bicyclist(p: _Painter, xc, d: int, z):
    """A cyclist crossing the street (side view, facing d = -1 left or +1 right)."""
    rng = p.rng
    shirt, trousers, skin = _person_colors(rng)
    frame = tuple(int(v) for v in rng.integers(30, 200, 3))
    at = lambda dx, Y: p.xy(xc + d * dx, Y, z)                      # noqa: E731 - bike-local coordinates
    rear, front, crank = at(-0.52, 0.34), at(0.52, 0.34), at(0.0, 0.3)
    seat, head_tube, bar = at(-0.2, 0.85), at(0.38, 0.82), at(0.42, 1.0)
    for hub in (-0.52, 0.52):
        p.ring(p.poly(*[(xc + d * hub + 0.34 * c, 0.34 + 0.34 * s, z) for c, s in _CIRCLE]),
               (25, 25, 25), BICYCLIST, 0.05, z)
    for a, b in ((rear, seat), (rear, crank), (crank, seat), (seat, head_tube), (crank, head_tube),
                 (head_tube, front), (head_tube, bar)):
        p.line(a, b, frame, BICYCLIST, 0.04, z)
    hip, shoulder, knee = at(-0.18, 0.95), at(0.12, 1.5), at(0.08, 0.62)
    p.line(hip, knee, trousers, BICYCLIST, 0.14, z)
    p.line(knee, at(0.05, 0.22), trousers, BICYCLIST, 0.11, z)
    p.line(hip, shoulder, shirt, BICYCLIST, 0.3, z)
    p.line(shoulder, bar, shirt, BICYCLIST, 0.09, z)
    p.fill(p.disc(xc + d * 0.2, 1.7, z, 0.11, 0.125), skin, BICYCLIST)
    p.fill(p.disc(xc + d * 0.19, 1.75, z, 0.13, 0.09), (50, 50, 55), BICYCLIST)   # helmet


def _spread(rng, n, lo, hi, gap):
    """n depths in [lo, hi), at least `gap` apart (fewer if they don't fit)."""
    out = []
    for _ in range(n * 6):
        z = rng.uniform(lo, hi)
        if all(abs(z - o) >= gap for o in out):
            out.append(z)
        if len(out) == n:
            break
    return out


def _objects(p: _Painter, s: _Street) -> list:
    """(depth, order, draw) for everything standing on the street; drawn far to near."""
    rng, items = p.rng, []

    def add(z, fn, *args):
        items.append((z, len(items), lambda: fn(p, *args, z)))

    def onscreen(X, lo, hi):
        """A depth in [lo, hi) at which lateral position X is inside the picture, not off its side."""
        room = p.xv if X < 0 else p.w - p.xv
        return rng.uniform(min(max(lo, abs(X) * p.f / (0.85 * room)), hi - 1), hi)

    for side in (-1, 1):
        for z in _spread(rng, int(rng.integers(1, 4)), 7, 60, 6):
            add(z, _tree, s.kerb(side) - side * rng.uniform(0.7, 1.2))
        for z in _spread(rng, int(rng.integers(1, 3)), 6, 70, 10):
            add(z, _lamp, s, side)
    for _ in range(rng.integers(1, 3)):
        side = int(rng.choice([-1, 1]))
        X = s.kerb(side) - side * 0.5
        add(onscreen(X, 8, 30), _sign, X)
    for _ in range(rng.integers(1, 3)):
        side = int(rng.choice([-1, 1]))
        X = s.building(side) - side * rng.uniform(0.5, 1.2)
        add(onscreen(X, 8, 24), _clutter, X)
    for _ in range(rng.integers(1, 5)):
        side = int(rng.choice([-1, 1]))
        X = s.kerb(side) + (s.building(side) - s.kerb(side)) * rng.uniform(0.25, 0.75)
        add(onscreen(X, 7, 35), _pedestrian, X)
    add(rng.uniform(9, 28), _bicyclist, rng.uniform(s.left + 0.8, s.right - 0.8), int(rng.choice([-1, 1])))
    # Cars: the camera's lane ahead, the other lane (oncoming), and parked along both kerbs.
    ego, other = (s.rc + s.rw / 2, s.rc - s.rw / 2) if s.rc < 0 else (s.rc - s.rw / 2, s.rc + s.rw / 2)
    lanes = [(ego, False, int(rng.integers(1, 3)), 8), (other, True, int(rng.integers(0, 3)), 9)]
    lanes += [(s.kerb(side) - side * 1.1, bool(rng.random() < 0.5), int(rng.integers(1, 4)), 8) for side in (-1, 1)]
    for x, toward, n, near in lanes:
        for z in _spread(rng, n, near, 40, 6):
            add(z, _car, x + rng.uniform(-0.2, 0.2), toward)
    return items


# --- light and sensor ------------------------------------------------------------------------------------
def _finish(p: _Painter):
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
    p, s = _Painter(rng, (h, w)), _Street(rng)
    _sky(p)
    _skyline(p)
    _ground(p, s)
    for side in (-1, 1):
        _buildings(p, s, side)
    _fence(p, s, int(rng.choice([-1, 1])))
    for _, _, draw in sorted(_objects(p, s), key=lambda item: (-item[0], item[1])):
        draw()
    _finish(p)
    return p.img, p.lab


# --- the sample data set ---------------------------------------------------------------------------------
_README = """# Synthetic street scenes (sample data set)

Generated by `segcore.synth`; do not edit by hand. These are procedurally drawn, cartoon-like street
scenes with exact per-pixel labels, so the dashboard and tests work on any machine without downloading a
real data set. Scores measured on them say nothing about real street scenes.

- {n_train} training + {n_val} validation scenes, {h}x{w} pixels, seed {seed}.
- Layout (CamVid style): `images/<split>/scene_XXXX.png` (RGB) and `labels/<split>/scene_XXXX.png`
  (8-bit grey, one CamVid-11 train id per pixel; the same file name pairs an image with its label).
- Classes: {classes}; {void} = void (unlabelled clutter, ignored in training and scoring).
- How: `scene_XXXX` is `render_scene({seed} * {per_seed} + XXXX)`: sky, distant skyline, road with markings,
  pavements, buildings with windows, a fence, trees, poles, signs, cars, pedestrians and a bicyclist,
  projected through a pinhole camera and painted with the same polygons into the image and the label,
  then lit, hazed and noised. Everything comes from `numpy.random.default_rng(seed)` with integer
  geometry and no anti-aliasing, so the same seed gives identical pixels on every machine.

Regenerate (same arguments give identical pixels, and byte-identical files with the same Pillow/zlib):

    segcore sample make

or from Python:

    from segcore.synth import make_sample
    make_sample("<this folder>", n_train={n_train}, n_val={n_val}, seed={seed}, size=({h}, {w}))
"""

_SCENE_FILE = re.compile(r"scene_\d{4,}\.png")


def make_sample(out_dir, *, n_train: int = 16, n_val: int = 8, seed: int = 0, size=(360, 480)) -> dict:
    """Write the sample data set (CamVid layout + README.md) into out_dir; returns counts and relative paths.

    Files are written atomically and are byte-identical on a re-run with the same arguments. Scene files
    left over from an earlier, larger run are removed so the folder matches the arguments.
    """
    n_train, n_val, seed = int(n_train), int(n_val), int(seed)
    if n_train < 0 or n_val < 0 or n_train + n_val > SCENES_PER_SEED:
        raise ValueError(f"n_train and n_val must be >= 0 with at most {SCENES_PER_SEED} scenes in all")
    h, w = (int(v) for v in size)
    out = Path(out_dir)
    files, k = [], 0
    for split, count in (("train", n_train), ("val", n_val)):
        names = set()
        for _ in range(count):
            name = f"scene_{k:04d}.png"
            image, label = render_scene(seed * SCENES_PER_SEED + k, (h, w))
            for kind, array in (("images", image), ("labels", label)):
                atomic_write_bytes(out / kind / split / name, encode_png(array))
                files.append(f"{kind}/{split}/{name}")
            names.add(name)
            k += 1
        for kind in ("images", "labels"):
            folder = out / kind / split
            if folder.is_dir():
                for stale in folder.iterdir():
                    if _SCENE_FILE.fullmatch(stale.name) and stale.name not in names:
                        stale.unlink()
    classes = ", ".join(f"{c.train_id} {c.name}" for c in CAMVID11.classes)
    readme = _README.format(n_train=n_train, n_val=n_val, h=h, w=w, seed=seed, classes=classes, void=VOID,
                            per_seed=SCENES_PER_SEED)
    atomic_write_bytes(out / "README.md", readme.encode("utf-8"))
    files.append("README.md")
    return {"train": n_train, "val": n_val, "files": files}
