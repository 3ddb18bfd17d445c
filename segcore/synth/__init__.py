"""Procedural street scenes with exact CamVid-11 labels: a small sample data set that works on any machine.

A scene is a simple pinhole-camera world (road, pavements, buildings, trees, poles, signs, a fence, cars,
people, a bicyclist) projected with plain arithmetic and painted with cv2.fillPoly (LINE_8, no
anti-aliasing). Image and label are painted with the same polygons in the same order, so occlusion agrees
exactly. Randomness comes only from numpy.random.default_rng(seed) (integers and uniforms, no normals),
and there are no transcendental functions, so the same seed gives the same pixels on every machine.

- canvas: camera, canvases, texture noise, the street's layout, class ids.
- street / objects: the fixed street and the things standing on it.
- scene: `render_scene(seed, size)`.
- sample: `make_sample(out_dir, ...)`, the data/sample folder.
"""
from segcore.synth.canvas import (BICYCLIST, BUILDING, CAR, FENCE, PAVEMENT, PEDESTRIAN, POLE, ROAD, SIGN, SKY, TREE,
                                  VOID)
from segcore.synth.sample import SCENES_PER_SEED, make_sample
from segcore.synth.scene import render_scene

__all__ = ["BICYCLIST", "BUILDING", "CAR", "FENCE", "PAVEMENT", "PEDESTRIAN", "POLE", "ROAD", "SCENES_PER_SEED", "SIGN",
           "SKY", "TREE", "VOID", "make_sample", "render_scene"]
