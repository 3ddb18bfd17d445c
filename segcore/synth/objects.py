"""Everything standing on the street (trees, lamps, signs, clutter, cars, pedestrians, a bicyclist), placed at
depths and drawn far to near so nearer things cover farther ones."""
from __future__ import annotations

import numpy as np

from segcore.synth.canvas import (BICYCLIST, CAR, CIRCLE, PEDESTRIAN, POLE, SIGN, TREE, VOID, Painter, Street,
                                  shade)

# --- street furniture and vegetation ---------------------------------------------------------------------
def _tree(p: Painter, X, z):
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


def _lamp(p: Painter, s: Street, side, z):
    X, h = s.kerb(side) - side * 0.35, p.rng.uniform(6, 8.5)
    grey = (95, 98, 100)
    p.fill(p.front(X - 0.08, X + 0.08, 0, h, z), grey, POLE, tex=8)
    arm = X + side * p.rng.uniform(1.2, 2.0)
    p.fill(p.front(min(X, arm), max(X, arm), h - 0.12, h, z), grey, POLE)
    p.fill(p.front(arm - 0.3, arm + 0.3, h - 0.3, h - 0.05, z), (70, 72, 75), POLE)


def _sign(p: Painter, X, z):
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
            p.fill(p.disc(X, top + 0.78 - 0.3 * i, z, 0.1), c if i == lit else shade(c, 0.3), SIGN)


def _clutter(p: Painter, X, z):
    """Unlabelled street clutter (bins, boxes): the void label, as in real annotations."""
    rng = p.rng
    w, h = rng.uniform(0.4, 1.0), rng.uniform(0.7, 1.6)
    c = rng.integers(30, 110, 3)
    p.fill(p.front(X - w / 2, X + w / 2, 0, h, z), c, VOID, tex=12)
    p.fill(p.front(X - w / 2 - 0.04, X + w / 2 + 0.04, h, h + 0.08, z), shade(c, 0.7), VOID)


# --- road users ------------------------------------------------------------------------------------------
_CAR_COLORS = ((225, 225, 225), (170, 172, 178), (40, 40, 45), (160, 25, 30), (30, 60, 140), (90, 95, 100),
               (200, 190, 160), (20, 90, 60))


def _car(p: Painter, xc, toward: bool, z):
    rng = p.rng
    body = np.clip(np.array(_CAR_COLORS[rng.integers(len(_CAR_COLORS))]) + rng.integers(-12, 13, 3), 0, 255)
    dark, glass, tyre = shade(body, 0.6), (40, 48, 58), (22, 22, 24)
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
            pts = [(X, 0.33 + 0.33 * sn, zc + 0.33 * cs) for cs, sn in CIRCLE]
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


def _pedestrian(p: Painter, X, z):
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
    p.fill(p.poly(*[(X + 0.105 * k * c, 1.64 * k + 0.1 * k * max(s, 0.0), z) for c, s in CIRCLE]),
           (45, 32, 25), PEDESTRIAN)            # hair: the upper half of the head


def _bicyclist(p: Painter, xc, d: int, z):
    """A cyclist crossing the street (side view, facing d = -1 left or +1 right)."""
    rng = p.rng
    shirt, trousers, skin = _person_colors(rng)
    frame = tuple(int(v) for v in rng.integers(30, 200, 3))
    at = lambda dx, Y: p.xy(xc + d * dx, Y, z)                      # noqa: E731 - bike-local coordinates
    rear, front, crank = at(-0.52, 0.34), at(0.52, 0.34), at(0.0, 0.3)
    seat, head_tube, bar = at(-0.2, 0.85), at(0.38, 0.82), at(0.42, 1.0)
    for hub in (-0.52, 0.52):
        p.ring(p.poly(*[(xc + d * hub + 0.34 * c, 0.34 + 0.34 * s, z) for c, s in CIRCLE]),
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


def street_objects(p: Painter, s: Street) -> list:
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
