"""Label schemas: classes (train id, name, colour, category), the ignore label, raw-id mapping, JSON.

One definition per schema. A schema travels inside every saved model's metadata (`to_dict`), so the
app never guesses class names or colours.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

# The Cityscapes categories, void excluded: every schema folds onto these for category-level views.
CATEGORIES: tuple[str, ...] = ("flat", "construction", "object", "nature", "sky", "human", "vehicle")
CATEGORY_COLORS: tuple[tuple[int, int, int], ...] = (
    (128, 64, 128), (70, 70, 70), (153, 153, 153), (107, 142, 35), (70, 130, 180), (220, 20, 60), (0, 0, 142),
)
VOID = "void"


@dataclass(frozen=True)
class ClassInfo:
    train_id: int
    name: str
    color: tuple[int, int, int]
    category: str


@dataclass(frozen=True)
class LabelSchema:
    """Classes with train ids 0..n-1; `ignore_index` marks void pixels (never scored, never trained on).

    `raw_to_train` maps the pixel values found in label files (e.g. Cityscapes labelIds) to train ids;
    a raw value absent from it is invalid for this schema.

    `shown_colors` (from `recolored`) are colours a viewer picked for drawing. They are not part of the schema:
    equality, JSON and the decoding of colour masks use the classes' own colours.
    """

    name: str
    classes: tuple[ClassInfo, ...]
    ignore_index: int
    void_color: tuple[int, int, int] = (0, 0, 0)
    raw_to_train: dict[int, int] = field(default_factory=dict)
    shown_colors: tuple[tuple[int, int, int], ...] = field(default=(), compare=False, repr=False)
    # Colours a colour mask may use for void besides void_color (Cityscapes' parking, ground, ... have no train id).
    void_colors: tuple[tuple[int, int, int], ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self):
        ids = [c.train_id for c in self.classes]
        if ids != list(range(len(ids))):
            raise ValueError(f"schema {self.name!r}: train ids must be 0..n-1 in order, got {ids}")
        if 0 <= self.ignore_index < len(ids):
            raise ValueError(f"schema {self.name!r}: ignore index {self.ignore_index} collides with a class id")
        if not 0 <= self.ignore_index <= 255:
            raise ValueError(f"schema {self.name!r}: ignore index must fit in uint8")
        for c in self.classes:
            if c.category not in CATEGORIES:
                raise ValueError(f"schema {self.name!r}: class {c.name!r} has unknown category {c.category!r}")
        if self.shown_colors and len(self.shown_colors) != len(ids):
            raise ValueError(f"schema {self.name!r}: {len(self.shown_colors)} shown colours for {len(ids)} classes")
        if not self.raw_to_train:  # label files hold train ids directly (CamVid style)
            object.__setattr__(self, "raw_to_train", {**{i: i for i in ids}, self.ignore_index: self.ignore_index})

    # --- views -------------------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.classes]

    @property
    def colors(self) -> np.ndarray:
        """(num_classes, 3) uint8: the schema's own palette (what its colour masks are written in)."""
        return np.array([c.color for c in self.classes], dtype=np.uint8)

    @property
    def display_colors(self) -> np.ndarray:
        """(num_classes, 3) uint8: the colours pictures are drawn in (a viewer's picks, else the schema's own)."""
        return np.array(self.shown_colors, dtype=np.uint8) if self.shown_colors else self.colors

    def recolored(self, colors: Mapping[str, tuple[int, int, int]]) -> "LabelSchema":
        """This schema drawn with `colors` (class name -> RGB) for the classes named; the others keep theirs. An
        unknown name is a one-line ValueError listing the schema's classes."""
        unknown = [name for name in colors if name not in self.names]
        if unknown:
            raise ValueError(f"the {self.name} schema has no class {unknown[0]!r} (its classes: "
                             f"{', '.join(self.names)})"[:300])
        current = [tuple(int(v) for v in row) for row in self.display_colors]
        shown = tuple(_shown_color(colors[c.name], c.name) if c.name in colors else current[c.train_id]
                      for c in self.classes)
        return replace(self, shown_colors=() if shown == tuple(c.color for c in self.classes) else shown)

    def palette(self) -> np.ndarray:
        """(256, 3) uint8 lookup for drawing: train id -> display colour, ignore and unknown ids -> void colour."""
        table = np.tile(np.array(self.void_color, dtype=np.uint8), (256, 1))
        table[: self.num_classes] = self.display_colors
        return table

    def colorize(self, label_map: np.ndarray) -> np.ndarray:
        """Train-id map (H, W) -> RGB (H, W, 3) uint8 in the display colours: a picture to look at."""
        return self.palette()[np.asarray(label_map, dtype=np.uint8)]

    def color_mask(self, label_map: np.ndarray) -> np.ndarray:
        """Train-id map (H, W) -> RGB (H, W, 3) uint8 in the schema's own colours, whatever a viewer picked: a colour
        mask file that `decode_color` (and other tools) read back to the same labels."""
        table = np.tile(np.array(self.void_color, dtype=np.uint8), (256, 1))
        table[: self.num_classes] = self.colors
        return table[np.asarray(label_map, dtype=np.uint8)]

    def raw_lut(self) -> tuple[np.ndarray, np.ndarray]:
        """(256,) uint8 raw value -> train id, and (256,) bool raw value is valid."""
        lut = np.full(256, self.ignore_index, dtype=np.uint8)
        valid = np.zeros(256, dtype=bool)
        for raw, train in self.raw_to_train.items():
            if 0 <= raw <= 255:
                lut[raw] = train
                valid[raw] = True
        return lut, valid

    def encode(self, raw: np.ndarray) -> np.ndarray:
        """Raw label values -> train ids. Raises ValueError naming the values this schema does not know."""
        raw = np.asarray(raw)
        if raw.dtype != np.uint8:
            if raw.size and (raw.min() < 0 or raw.max() > 255):
                raise ValueError(f"label values {int(raw.min())}..{int(raw.max())} do not fit the {self.name} schema")
            raw = raw.astype(np.uint8)
        lut, valid = self.raw_lut()
        bad = np.unique(raw[~valid[raw]])
        if bad.size:
            raise ValueError(
                f"label values {bad.tolist()[:10]} are not in the {self.name} schema "
                f"(valid: {sorted(self.raw_to_train)[:12]}{'...' if len(self.raw_to_train) > 12 else ''})")
        return lut[raw]

    # --- categories --------------------------------------------------------------------------------------
    def category_ids(self) -> np.ndarray:
        """(num_classes,) int: class train id -> index in CATEGORIES."""
        return np.array([CATEGORIES.index(c.category) for c in self.classes], dtype=np.int64)

    def category_fold(self) -> np.ndarray:
        """(num_classes, 7) float32 one-hot: class probabilities @ fold = category probabilities."""
        fold = np.zeros((self.num_classes, len(CATEGORIES)), dtype=np.float32)
        fold[np.arange(self.num_classes), self.category_ids()] = 1
        return fold

    def category_schema(self) -> "LabelSchema":
        """The 7 Cityscapes categories + void (ignored) as a schema of its own."""
        return category_schema()

    def to_categories(self, label_map: np.ndarray) -> np.ndarray:
        """Train-id map -> category-id map (ignore -> the category schema's ignore index).

        Raises ValueError for an id that is neither a class nor the ignore index (a cast would wrap 256 to 0).
        """
        label_map = np.asarray(label_map)
        cat = category_schema()
        table = np.full(256, -1, dtype=np.int16)       # -1: no class of this schema
        table[self.ignore_index] = cat.ignore_index
        table[: self.num_classes] = self.category_ids()
        if label_map.size and label_map.dtype != np.uint8 and (label_map.min() < 0 or label_map.max() > 255):
            raise ValueError(f"label map holds ids outside 0-255, which no {self.name} class has")
        folded = table[label_map.astype(np.uint8, copy=False)]
        if folded.size and folded.min() < 0:
            bad = sorted({int(v) for v in np.unique(label_map[folded < 0])[:5]})
            raise ValueError(f"label map holds ids {bad} that are neither a {self.name} class "
                             f"(0-{self.num_classes - 1}) nor its ignore index {self.ignore_index}")
        return folded.astype(np.uint8)

    # --- colour masks ------------------------------------------------------------------------------------
    def decode_color(self, rgb: np.ndarray) -> np.ndarray:
        """RGB colour mask -> train ids via the palette. Raises ValueError if a colour is not in the palette."""
        rgb = np.asarray(rgb, dtype=np.uint8)[..., :3]
        key = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
        voids = np.array([self.void_color, *self.void_colors], dtype=np.uint8)
        palette = np.vstack([self.colors, voids]).astype(np.int64)
        ids = np.append(np.arange(self.num_classes), [self.ignore_index] * len(voids))
        pkeys = (palette[:, 0] << 16) | (palette[:, 1] << 8) | palette[:, 2]
        # Duplicate colours (e.g. Cityscapes pole/polegroup) keep the first: a class before void.
        pkeys, first = np.unique(pkeys, return_index=True)
        uniq, inverse = np.unique(key, return_inverse=True)
        pos = np.clip(np.searchsorted(pkeys, uniq), 0, len(pkeys) - 1)
        known = pkeys[pos] == uniq
        if not known.all():
            bad = [((int(k) >> 16) & 255, (int(k) >> 8) & 255, int(k) & 255) for k in uniq[~known][:5]]
            raise ValueError(f"colour mask has colours that are not in the {self.name} palette, e.g. {bad}")
        return ids[first[pos]][inverse].reshape(key.shape).astype(np.uint8)

    # --- serialisation -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "ignore_index": self.ignore_index,
            "void_color": list(self.void_color),
            "classes": [{"id": c.train_id, "name": c.name, "color": list(c.color), "category": c.category}
                        for c in self.classes],
            "raw_to_train": {str(k): v for k, v in sorted(self.raw_to_train.items())},
            "categories": list(CATEGORIES),
            **({"void_colors": [list(c) for c in self.void_colors]} if self.void_colors else {}),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "LabelSchema":
        """A schema from its JSON form; anything malformed is a one-line ValueError saying which field."""
        if not isinstance(data, dict):
            raise ValueError(f"not a label schema: expected an object, got {type(data).__name__}")
        for key in ("name", "classes", "ignore_index"):
            if key not in data:
                raise ValueError(f"not a label schema: missing {key!r}")
        name = data["name"]
        if not isinstance(name, str) or not name.strip():
            raise ValueError("not a label schema: 'name' must be a non-empty string")
        _plain_name(name, "its name")
        rows = data["classes"]
        if not isinstance(rows, list) or not 1 <= len(rows) <= MAX_SCHEMA_CLASSES:
            raise ValueError(f"not a label schema: 'classes' must be a list of 1 to {MAX_SCHEMA_CLASSES} classes")
        classes, seen = [], set()
        for index, row in enumerate(rows):
            where = f"class {index}"
            if not isinstance(row, dict):
                raise ValueError(f"not a label schema: {where} must be an object")
            for key in ("id", "name", "color", "category"):
                if key not in row:
                    raise ValueError(f"not a label schema: {where} has no {key!r}")
            class_name = row["name"]
            if not isinstance(class_name, str) or not class_name.strip() or class_name in seen:
                raise ValueError(f"not a label schema: {where} needs a unique non-empty name, "
                                 f"got {class_name!r}"[:200])
            seen.add(class_name)
            _plain_name(class_name, where)
            if not isinstance(row["category"], str):
                raise ValueError(f"not a label schema: {where} ({class_name}) category must be a string")
            _plain_name(row["category"], f"{where}'s category")
            classes.append(ClassInfo(_int(row["id"], f"{where} ({class_name}) id", 0, 255), class_name,
                                     _color(row["color"], f"{where} ({class_name}) color"), row["category"]))
        void_color = _color(data.get("void_color", [0, 0, 0]), "void_color")
        void_colors = data.get("void_colors", [])
        if not isinstance(void_colors, list) or len(void_colors) > 256:
            raise ValueError("not a label schema: 'void_colors' must be a list of at most 256 [r, g, b] colours")
        void_colors = tuple(_color(c, f"void_colors[{i}]") for i, c in enumerate(void_colors))
        raw_to_train = data.get("raw_to_train", {})
        if not isinstance(raw_to_train, dict):
            raise ValueError("not a label schema: 'raw_to_train' must be an object of raw value -> train id")
        ignore_index = _int(data["ignore_index"], "ignore_index", 0, 255)
        if ignore_index < len(classes):
            raise ValueError(f"not a label schema: ignore_index {ignore_index} collides with a class id; use "
                             f"{len(classes)} or 255")
        targets = set(range(len(classes))) | {ignore_index}
        mapping = {}
        for raw, train in raw_to_train.items():
            raw_value = _int(int(raw) if isinstance(raw, str) and raw.lstrip("-").isdigit() else raw,
                             f"raw_to_train key {raw!r}", 0, 255)
            train_value = _int(train, f"raw_to_train[{raw!r}]", 0, 255)
            if train_value not in targets:
                raise ValueError(f"not a label schema: raw_to_train[{raw!r}] = {train_value} is neither a class "
                                 f"id nor the ignore index {ignore_index}")
            mapping[raw_value] = train_value
        try:
            return cls(name=name, classes=tuple(classes), ignore_index=ignore_index, void_color=void_color,
                       raw_to_train=mapping, void_colors=void_colors)
        except ValueError as err:   # ids out of order, ignore colliding, unknown category
            raise ValueError(f"not a label schema: {err}") from None

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @classmethod
    def from_json(cls, text: str) -> "LabelSchema":
        return cls.from_dict(json.loads(text))


MAX_SCHEMA_CLASSES = 255          # label maps are uint8 and need one value left for the ignore index


MAX_NAME_LENGTH = 64
# Names are shown in pages (markdown, widget labels) and review pages: no markup that could link or load anything.
_MARKUP = set("[]<>`*|\\")


def _plain_name(text: str, where: str) -> None:
    """ValueError unless `text` is a plain name: printable, one line, at most MAX_NAME_LENGTH, no markup."""
    if len(text) > MAX_NAME_LENGTH or not text.isprintable() or _MARKUP & set(text):
        raise ValueError(f"not a label schema: {where} must be a plain name of at most {MAX_NAME_LENGTH} "
                         f"characters without any of [ ] < > ` * | \\, got {text[:80]!r}")


def _int(value, what: str, low: int, high: int) -> int:
    """A JSON integer in [low, high] (bools and floats refused), or a one-line ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"not a label schema: {what} must be an integer {low}..{high}, got {value!r}"[:200])
    return value


def _color(value, what: str) -> tuple[int, int, int]:
    """An RGB colour: exactly three integers 0..255."""
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        raise ValueError(f"not a label schema: {what} must be three integers 0..255 (R, G, B), got {value!r}"[:200])
    return tuple(_int(v, what, 0, 255) for v in value)


def _shown_color(value, name: str) -> tuple[int, int, int]:
    if (not isinstance(value, (list, tuple, np.ndarray)) or len(value) != 3
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)):
        raise ValueError(f"the colour for {name!r} must be three integers 0..255 (R, G, B), got {value!r}"[:200])
    return tuple(int(v) for v in value)


def _schema(name, rows, ignore_index, **kwargs) -> LabelSchema:
    return LabelSchema(name, tuple(ClassInfo(i, n, c, cat) for i, (n, c, cat) in enumerate(rows)), ignore_index,
                       **kwargs)


CAMVID11 = _schema("camvid11", [
    ("Sky", (128, 128, 128), "sky"),
    ("Building", (128, 0, 0), "construction"),
    ("Pole", (192, 192, 128), "object"),
    ("Road", (128, 64, 128), "flat"),
    ("Pavement", (60, 40, 222), "flat"),
    ("Tree", (128, 128, 0), "nature"),
    ("SignSymbol", (192, 128, 128), "object"),
    ("Fence", (64, 64, 128), "construction"),
    ("Car", (64, 0, 128), "vehicle"),
    ("Pedestrian", (64, 64, 0), "human"),
    ("Bicyclist", (0, 128, 192), "human"),
], ignore_index=11)

# Official Cityscapes labels (cityscapesScripts labels.py): (name, labelId, trainId, category, colour).
CITYSCAPES_LABELS = [
    ("unlabeled", 0, 255, "void", (0, 0, 0)), ("ego vehicle", 1, 255, "void", (0, 0, 0)),
    ("rectification border", 2, 255, "void", (0, 0, 0)), ("out of roi", 3, 255, "void", (0, 0, 0)),
    ("static", 4, 255, "void", (0, 0, 0)), ("dynamic", 5, 255, "void", (111, 74, 0)),
    ("ground", 6, 255, "void", (81, 0, 81)), ("road", 7, 0, "flat", (128, 64, 128)),
    ("sidewalk", 8, 1, "flat", (244, 35, 232)), ("parking", 9, 255, "flat", (250, 170, 160)),
    ("rail track", 10, 255, "flat", (230, 150, 140)), ("building", 11, 2, "construction", (70, 70, 70)),
    ("wall", 12, 3, "construction", (102, 102, 156)), ("fence", 13, 4, "construction", (190, 153, 153)),
    ("guard rail", 14, 255, "construction", (180, 165, 180)), ("bridge", 15, 255, "construction", (150, 100, 100)),
    ("tunnel", 16, 255, "construction", (150, 120, 90)), ("pole", 17, 5, "object", (153, 153, 153)),
    ("polegroup", 18, 255, "object", (153, 153, 153)), ("traffic light", 19, 6, "object", (250, 170, 30)),
    ("traffic sign", 20, 7, "object", (220, 220, 0)), ("vegetation", 21, 8, "nature", (107, 142, 35)),
    ("terrain", 22, 9, "nature", (152, 251, 152)), ("sky", 23, 10, "sky", (70, 130, 180)),
    ("person", 24, 11, "human", (220, 20, 60)), ("rider", 25, 12, "human", (255, 0, 0)),
    ("car", 26, 13, "vehicle", (0, 0, 142)), ("truck", 27, 14, "vehicle", (0, 0, 70)),
    ("bus", 28, 15, "vehicle", (0, 60, 100)), ("caravan", 29, 255, "vehicle", (0, 0, 90)),
    ("trailer", 30, 255, "vehicle", (0, 0, 110)), ("train", 31, 16, "vehicle", (0, 80, 100)),
    ("motorcycle", 32, 17, "vehicle", (0, 0, 230)), ("bicycle", 33, 18, "vehicle", (119, 11, 32)),
]

CITYSCAPES = _schema(
    "cityscapes",
    [(n, color, cat) for n, _, t, cat, color in sorted(CITYSCAPES_LABELS, key=lambda r: r[2]) if t != 255],
    ignore_index=255,
    raw_to_train={label_id: train_id for _, label_id, train_id, _, _ in CITYSCAPES_LABELS},
    void_colors=tuple(dict.fromkeys(color for _, _, t, _, color in CITYSCAPES_LABELS if t == 255)),
)


def category_schema() -> LabelSchema:
    """The 8 Cityscapes categories: 7 scored, void (id 7) ignored."""
    return _schema("categories", list(zip(CATEGORIES, CATEGORY_COLORS, CATEGORIES)), ignore_index=len(CATEGORIES))


SCHEMAS: dict[str, LabelSchema] = {s.name: s for s in (CAMVID11, CITYSCAPES, category_schema())}


def get_schema(name: str) -> LabelSchema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise ValueError(f"unknown label schema {name!r}; choose one of {sorted(SCHEMAS)}") from None


def labels_schema(name: str | None, model_schema: LabelSchema) -> LabelSchema:
    """The schema an evaluation read its ground truth in (its "data_schema" `name`): the model's own where `name` is
    missing or the model's, else the built-in schema of that name (ValueError for another)."""
    return model_schema if name in (None, model_schema.name) else get_schema(name)


def train_id_schema(schema: LabelSchema) -> LabelSchema:
    """`schema` reading its label files as train ids (0..n-1 and the ignore index), whatever its raw ids are."""
    return replace(schema, raw_to_train={})      # empty -> identity on train ids (LabelSchema)
