"""The camera and canvases a synthetic scene is painted on: pinhole projection, polygon filling into the image and
the label at once, integer value noise for texture, and the street's lateral layout.

No transcendental functions (cosines are literals) and only integer or uniform draws, so the same seed paints
the same pixels on every machine.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from segcore.labels import CAMVID11

SKY, BUILDING, POLE, ROAD, PAVEMENT, TREE, SIGN, FENCE, CAR, PEDESTRIAN, BICYCLIST = range(11)
VOID = CAMVID11.ignore_index

# cos of 0..90 degrees in 15-degree steps, as literals: libm's cos may differ in the last bit across machines.
_COS = (1.0, 0.96593, 0.86603, 0.70711, 0.5, 0.25882, 0.0)


def _unit_circle() -> np.ndarray:
    pts = []
    for k in range(24):
        q, r = divmod(k, 6)
        c, s = _COS[r], _COS[6 - r]
        pts.append([(c, s), (-s, c), (-c, -s), (s, -c)][q])
    return np.array(pts)


CIRCLE = _unit_circle()           # (24, 2) cos, sin


def _value_noise(rng, h: int, w: int, cell: int) -> np.ndarray:
    """Smooth integer noise in about -128..128: a random grid interpolated bilinearly in integer arithmetic."""
    grid = rng.integers(-128, 129, (h // cell + 2, w // cell + 2)).astype(np.int32)
    y, x = np.arange(h), np.arange(w)
    fy = (y % cell)[:, None]
    rows = (grid[y // cell] * (cell - fy) + grid[y // cell + 1] * fy) // cell
    fx = x % cell
    return ((rows[:, x // cell] * (cell - fx) + rows[:, x // cell + 1] * fx) // cell).astype(np.int16)


def shade(color, factor: float) -> tuple[int, int, int]:
    return tuple(min(255, max(0, int(c * factor))) for c in color)


class Painter:
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
        self.haze = (200, 210, 220)                           # horizon colour, set by street.sky

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
        pts = CIRCLE * (rx, rx if ry is None else ry) + (X, Y)
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


class Street:
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
