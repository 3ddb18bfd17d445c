"""Pairing uploaded images with uploaded ground-truth masks by file name. Pure: names in, pairs out.

An image and a mask pair when their names agree once the usual suffixes are set aside: the mask's stem may add
`_mask`, `_label(s)`, `_L` (CamVid), `_gt`, `_seg`, `_labelIds`, `_trainIds`, `_color`, Cityscapes'
`_gtFine_labelIds` (or `_gtFine_color`, `_gtFine_trainIds`, `_gtFine_labelTrainIds`), and the image's stem may add
Cityscapes' `_leftImg8bit`. Names compare without folders, extension or letter case. A lone image and a lone mask
pair whatever their names (one of each can only mean each other). A mask named as train ids holds the schema's
train ids, not its raw label ids (holds_train_ids).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

IMAGE_SUFFIXES = ("_leftImg8bit", "_image", "_img", "_rgb")
# Longest first, so "_gtFine_labelIds" is removed whole before "_labelIds" could match its tail.
MASK_SUFFIXES = tuple(sorted(("_gtFine_labelIds", "_gtFine_trainIds", "_gtFine_labelTrainIds", "_gtFine_color",
                              "_gtFine_instanceIds", "_labelIds", "_trainIds", "_labelTrainIds", "_color", "_mask",
                              "_masks", "_label", "_labels", "_L", "_gt", "_seg", "_segmentation", "_annotation"),
                             key=len, reverse=True))
EXTENSIONS = (".png", ".jpg", ".jpeg")


@dataclass
class Pairing:
    pairs: list[tuple[str, str]] = field(default_factory=list)      # (image name, mask name), in image order
    lone_images: list[str] = field(default_factory=list)            # images no mask is named after
    lone_masks: list[str] = field(default_factory=list)             # masks named after no image
    clashes: dict[str, list[str]] = field(default_factory=dict)     # image -> the several masks named after it
    same_names: list[list[str]] = field(default_factory=list)       # images whose names pair alike (A.png, a.jpg)

    def mask_for(self, image: str) -> str | None:
        return next((mask for name, mask in self.pairs if name == image), None)

    def problems(self) -> list[str]:
        """One line per thing left unscored, saying what to do."""
        lines = [f"{image}: several masks are named after it ({', '.join(masks)}); keep one"
                 for image, masks in self.clashes.items()]
        lines += [f"{' and '.join(images)} pair under one name: a mask named after it goes to the first; rename one"
                  for images in self.same_names]
        if self.lone_masks:
            lines.append(f"No image for mask(s) {', '.join(self.lone_masks)}: name a mask like its image "
                         "(X.png with X.png, X_mask.png, X_L.png or X_gtFine_labelIds.png)")
        return lines


def _stem(name: str) -> str:
    stem = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    for extension in EXTENSIONS:
        if stem.lower().endswith(extension):
            return stem[: -len(extension)]
    return stem


def _without(stem: str, suffixes: tuple[str, ...]) -> str:
    """`stem` less a known suffix, kept before a copy's number: 'x_mask (2)' -> 'x (2)' (two uploads of one name)."""
    copy = re.search(r" \(\d+\)$", stem)
    number = copy.group(0) if copy else ""
    stem = stem[: len(stem) - len(number)]
    for suffix in suffixes:
        if len(stem) > len(suffix) and stem.lower().endswith(suffix.lower()):
            return stem[: -len(suffix)] + number
    return stem + number


def image_key(name: str) -> str:
    """'aachen_000000_000019_leftImg8bit.png' -> 'aachen_000000_000019' (lower case)."""
    return _without(_stem(name), IMAGE_SUFFIXES).lower()


def mask_keys(name: str) -> tuple[str, ...]:
    """The keys a mask may pair under: its stem as it is, and without a known mask suffix ('f1_L.png' -> f1_l, f1)."""
    stem = _stem(name)
    return tuple(dict.fromkeys((stem.lower(), _without(stem, MASK_SUFFIXES).lower())))


def holds_train_ids(mask: str) -> bool:
    """A mask named as train ids (`_trainIds`, Cityscapes' `_gtFine_labelTrainIds`): its values are the schema's
    train ids, which a schema with raw label ids (Cityscapes) would otherwise read as label ids."""
    return "trainids" in _stem(mask).lower()


def pair_by_name(images: list[str], masks: list[str]) -> Pairing:
    """Pair each image with the one mask named after it (see the module's rules)."""
    if len(images) == 1 and len(masks) == 1:
        return Pairing(pairs=[(images[0], masks[0])])
    named: dict[str, list[str]] = {}
    for mask in masks:
        for key in mask_keys(mask):
            named.setdefault(key, []).append(mask)
    found: dict[str, list[str]] = {}
    # Exact stems first ('f1.png' with 'f1.png'), then through suffixes; a mask pairs with one image at most.
    for match in (lambda image: _stem(image).lower(), image_key):
        for image in images:
            taken = {mask for masks_found in found.values() for mask in masks_found}
            candidates = [mask for mask in dict.fromkeys(named.get(match(image), [])) if mask not in taken]
            if image not in found and candidates:
                found[image] = candidates
    result = Pairing()
    for image in images:
        candidates = found.get(image, [])
        if len(candidates) == 1:
            result.pairs.append((image, candidates[0]))
        elif candidates:
            result.clashes[image] = candidates
        else:
            result.lone_images.append(image)
    used = {mask for masks_found in found.values() for mask in masks_found}
    result.lone_masks = [mask for mask in masks if mask not in used]
    by_key: dict[str, list[str]] = {}
    for image in images:
        by_key.setdefault(image_key(image), []).append(image)
    result.same_names = [alike for alike in by_key.values() if len(alike) > 1 and masks]
    return result
