"""Tests for segcore.augment: catalogue vs albumentations 2.x, validation, mask handling, serialisation, seeding."""
import json
import warnings

import numpy as np
import pytest

from segcore import augment as aug

A = pytest.importorskip("albumentations")
cv2 = pytest.importorskip("cv2")

H, W = 64, 96
IGNORE = 11
PALETTE = np.array([[230, 40, 40], [40, 200, 40], [40, 40, 230], [220, 220, 40], [200, 40, 200]], np.uint8)
PHOTOMETRIC = [n for n, t in aug.CATALOGUE.items() if not t.geometric]


@pytest.fixture(scope="module")
def pair():
    """A mask of 16x16 class blocks and an image whose colour encodes the class, so alignment can be checked."""
    rng = np.random.default_rng(0)
    blocks = rng.integers(0, len(PALETTE), (H // 16, W // 16))
    mask = np.kron(blocks, np.ones((16, 16), int)).astype(np.uint8)
    return PALETTE[mask], mask


def step(name, p=1.0, **params):
    s = aug.default_step(name)
    s["params"].update(params)
    s["p"] = p
    return s


def _edge_values(spec) -> list[dict]:
    """Each parameter of a catalogue entry at its bounds (ranges also from bound to bound), each choice, each switch."""
    variants = [{}]
    for p in spec.params:
        if p.kind in ("float_range", "int_range"):
            variants += [{p.name: (p.min, p.min)}, {p.name: (p.max, p.max)}, {p.name: (p.min, p.max)}]
        elif p.kind in ("float", "int"):
            variants += [{p.name: p.min}, {p.name: p.max}]
        elif p.kind == "int_pair":
            variants += [{p.name: (p.min, p.min)}, {p.name: (p.max, p.max)}]
        elif p.kind == "choice":
            variants += [{p.name: option} for option in p.options]
        elif p.kind == "bool":
            variants += [{p.name: not p.default}]
    return variants


def test_catalogue_shape():
    required = {"RandomRain", "RandomSnow", "RandomFog", "RandomSunFlare", "RandomShadow", "HorizontalFlip",
                "Affine", "RandomResizedCrop", "Blur", "MotionBlur", "GaussianBlur", "Defocus", "GaussNoise",
                "ISONoise", "ImageCompression", "RandomBrightnessContrast", "ColorJitter", "HueSaturationValue",
                "CLAHE"}
    assert required <= set(aug.CATALOGUE)
    for name, spec in aug.CATALOGUE.items():
        assert spec.name == name and spec.group in aug.GROUPS and spec.description
        assert all(p.kind in aug.KINDS for p in spec.params)
        assert all(p.default in p.options for p in spec.params if p.kind == "choice")


def test_catalogue_builds_and_runs_without_albumentations_warnings(pair):
    """Defaults and every bound, choice and switch: an outdated argument name or an out-of-bounds range warns, and
    fails here."""
    image, mask = pair
    for name, spec in aug.CATALOGUE.items():
        # the mask-guided crop cannot pad: on this 64x96 test frame it needs a window that fits
        variants = [step(name, height=32, width=48) if name == "CropNonEmptyMaskIfExists" else aug.default_step(name)]
        variants += [step(name, **values) for values in _edge_values(spec)[1:]]
        for s in variants:
            s["p"] = 1.0
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                pipeline = aug.build_pipeline([s], seed=0, mask_fill=IGNORE)
                if s is variants[0]:
                    out, out_mask = aug.apply(pipeline, image, mask)
                    assert out.dtype == np.uint8 and out.ndim == 3 and out_mask.shape == out.shape[:2], name


def test_validate_normalises():
    steps = aug.validate_steps([{"name": "RandomRain", "params": {"slant_range": [-5, 5]}},
                                {"name": "Affine", "params": {"fill": "#ff8000"}, "p": 1}])
    assert steps[0]["params"]["slant_range"] == (-5.0, 5.0)
    assert isinstance(steps[0]["params"]["slant_range"][0], float)
    assert steps[0]["params"]["rain_type"] == "default" and steps[0]["p"] == 0.5
    assert steps[1]["params"]["fill"] == (255, 128, 0) and steps[1]["p"] == 1.0


@pytest.mark.parametrize("steps, words", [
    ([{"name": "RandomDrizzle"}], ["RandomDrizzle", "RandomRain"]),
    ([step("Blur"), {"name": "RandomRain", "params": {"slant_lower": -10}}], ["step 2 (RandomRain)", "slant_lower"]),
    ([{"name": "RandomRain", "params": {"slant_range": (-90, 10)}}], ["RandomRain", "slant_range", "range"]),
    ([{"name": "Blur", "params": {"blur_limit": (7, 3)}}], ["blur_limit", "low > high"]),
    ([{"name": "Blur", "params": {"blur_limit": (4, 6)}}], ["blur_limit", "multiple of 2"]),
    ([{"name": "RandomSnow", "params": {"method": "melt"}}], ["method", "melt"]),
    ([{"name": "GaussNoise", "params": {"std_range": "big"}}], ["std_range"]),
    ([{"name": "HorizontalFlip", "p": 1.5}], ["HorizontalFlip", "p=1.5"]),
    ([{"name": "Affine", "params": {"fill": (0, 0, 300)}}], ["fill", "0-255"]),
])
def test_validate_rejects(steps, words):
    with pytest.raises(aug.PipelineError) as err:
        aug.validate_steps(steps)
    assert isinstance(err.value, ValueError)
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("name", PHOTOMETRIC)
def test_photometric_keeps_mask(pair, name):
    image, mask = pair
    out, out_mask = aug.apply(aug.build_pipeline([step(name)], seed=1), image, mask)
    assert np.array_equal(out_mask, mask) and out.shape == image.shape


def test_horizontal_flip(pair):
    image, mask = pair
    out, out_mask = aug.apply(aug.build_pipeline([step("HorizontalFlip")]), image, mask)
    assert np.array_equal(out_mask, np.fliplr(mask)) and np.array_equal(out, np.fliplr(image))


@pytest.mark.parametrize("s", [
    step("Affine", scale=(0.7, 0.8), rotate=(20, 30), translate_percent=(0.05, 0.1)),
    step("RandomResizedCrop", size=(H, W), scale=(0.3, 0.5)),
    step("Perspective", scale=(0.1, 0.15)),
    step("VerticalFlip"),
    step("ThinPlateSpline", scale_range=(0.3, 0.4)),
    step("CropAndPad", percent=(-0.2, 0.2)),
    step("RandomGridShuffle", grid=(2, 2)),
])
def test_geometric_moves_mask_with_image(pair, s):
    image, mask = pair
    out, out_mask = aug.apply(aug.build_pipeline([s], seed=3, mask_fill=IGNORE), image, mask)
    assert not np.array_equal(out_mask, mask), "the transform should have moved something"
    # Nearest-neighbour: no invented classes, only input classes and the ignore label for uncovered pixels.
    assert set(np.unique(out_mask)) <= set(np.unique(mask)) | {IGNORE}
    if s["name"] == "Affine":
        assert IGNORE in out_mask  # zooming out with rotation uncovers borders
    # Alignment: inside each mask region (away from region borders, where the image is interpolated), the
    # image still has that class's colour.
    kernel = np.ones((5, 5), np.uint8)
    checked = 0
    for c in np.unique(out_mask):
        # Eroding with a zero border also drops the image's edge rows, where the warp samples the fill colour.
        inside = cv2.erode((out_mask == c).astype(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT,
                           borderValue=0).astype(bool)
        expected = (0, 0, 0) if c == IGNORE else PALETTE[c]
        assert np.abs(out[inside].astype(int) - expected).max(initial=0) <= 12, f"class {c} misaligned"
        checked += inside.sum()
    assert checked > out_mask.size // 4


def test_draw_is_reproducible(pair):
    image, mask = pair
    steps = [step("RandomRain", p=0.5), step("Affine", p=0.7), step("GaussNoise", p=0.8), step("ColorJitter")]
    a = aug.draw(steps, image, mask, seed=7, mask_fill=IGNORE)
    b = aug.draw(steps, image, mask, seed=7, mask_fill=IGNORE)
    c = aug.draw(steps, image, mask, seed=8, mask_fill=IGNORE)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]
    assert not np.array_equal(a[0], c[0])
    record = a[2]
    assert [r["name"] for r in record] == [s["name"] for s in steps]
    assert record[3]["applied"] and set(record[3]["params"]) >= {"brightness", "hue"}
    json.dumps(record)  # JSON-safe
    grid = aug.draw_grid(steps, image, mask, n=3, seed=7, mask_fill=IGNORE)
    assert len(grid) == 3 and np.array_equal(grid[0][0], a[0]) and not np.array_equal(grid[1][0], a[0])
    out, out_mask, _ = aug.draw(steps, image, None, seed=7)
    assert out_mask is None and out.shape == image.shape


def test_time_steps(pair):
    image, mask = pair
    steps = [step("Blur", p=0.0), step("HorizontalFlip")]
    times = aug.time_steps(steps, image, mask, repeats=2)
    assert set(times) == {"0:Blur", "1:HorizontalFlip", "pipeline"}
    assert all(v > 0 for v in times.values())


STEPS = [step("RandomShadow", p=0.6), step("Affine", p=0.8), step("HorizontalFlip"), step("GaussNoise", p=0.9)]


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_save_load_round_trip(tmp_path, pair, suffix):
    image, mask = pair
    path = aug.save_pipeline(STEPS, tmp_path / f"p{suffix}", mask_fill=IGNORE)
    assert [p.name for p in tmp_path.iterdir()] == [f"p{suffix}"]  # no temp file left behind
    loaded = aug.load_pipeline(path)
    built = aug.build_pipeline(STEPS, mask_fill=IGNORE)
    for p in (loaded, built):
        p.set_random_seed(5)
    a, b = aug.apply(loaded, image, mask), aug.apply(built, image, mask)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert aug.steps_from_pipeline(loaded) == aug.validate_steps(STEPS)
    assert aug.to_dict(aug.to_dict(loaded)) == aug.to_dict(built)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_dumps_loads_with_plain_albumentations(tmp_path, fmt):
    text = aug.dumps_pipeline(STEPS, fmt, mask_fill=IGNORE)
    path = tmp_path / f"p.{fmt}"
    path.write_text(text)
    loaded = A.load(str(path), data_format=fmt)
    assert A.to_dict(loaded) == A.to_dict(aug.build_pipeline(STEPS, mask_fill=IGNORE))
    assert A.to_dict(aug.load_pipeline(text)) == A.to_dict(loaded)  # text (fmt sniffed) as well as a path


def test_steps_round_trip_for_whole_catalogue():
    from segcore.augment.steps import MAX_STEPS
    names = list(aug.CATALOGUE)
    for start in range(0, len(names), MAX_STEPS):       # the catalogue outgrew one pipeline's step limit
        steps = [aug.default_step(n) for n in names[start:start + MAX_STEPS]]
        assert aug.steps_from_pipeline(aug.to_dict(steps)) == aug.validate_steps(steps)


@pytest.mark.parametrize("junk, words", [
    ("{not json: [", ["not valid"]),
    ('{"model": "unet", "epochs": 3}', ["not an albumentations pipeline"]),
    ("- a\n- b\n", ["not an albumentations pipeline"]),
    ('{"transform": {"__class_fullname__": "Compose", "transforms": [{"__class_fullname__": "MakeItRain", "p": 1}]}}',
     ["MakeItRain"]),
    ('{"transform": {"__class_fullname__": "Compose", "transforms": [{"__class_fullname__": "Blur", "p": 1,'
     ' "blur_limit": "x"}]}}', ["blur_limit"]),
    ('{"transform": {"__class_fullname__": "Compose", "transforms": [{"__class_fullname__": "Blur", "p": 1,'
     ' "blurr_limit": 3}]}}', ["blurr_limit"]),
])
def test_load_rejects_junk(junk, words):
    with pytest.raises(aug.PipelineError) as err:
        aug.load_pipeline(junk)
    for word in words:
        assert word in str(err.value)


def test_load_rejects_bad_files(tmp_path):
    with pytest.raises(aug.PipelineError, match="cannot read"):
        aug.load_pipeline(tmp_path / "missing.json")
    (tmp_path / "bad.yaml").write_text("a: [1,\n")
    with pytest.raises(aug.PipelineError, match="not valid YAML"):
        aug.load_pipeline(tmp_path / "bad.yaml")


def test_steps_from_pipeline_names_foreign_transforms():
    pipeline = A.Compose([A.InvertImg(), A.Blur(), A.Transpose()])
    with pytest.raises(aug.PipelineError, match="InvertImg, Transpose"):
        aug.steps_from_pipeline(pipeline)
    assert aug.load_pipeline(A.to_dict(pipeline))  # the general loader reads any; training takes only the catalogue


def test_pipeline_code_round_trip():
    steps = STEPS + [step("RandomRain", rain_type="drizzle", drop_color=(10, 20, 30)), step("CLAHE")]
    code = aug.pipeline_code(steps, mask_fill=IGNORE)
    assert code.startswith("import albumentations as A\n\npipeline = A.Compose([")
    namespace = {}
    exec(code, namespace)
    assert A.to_dict(namespace["pipeline"]) == A.to_dict(aug.build_pipeline(steps, mask_fill=IGNORE))
    exec(aug.pipeline_code([]), namespace)
    assert len(namespace["pipeline"].transforms) == 0


def test_the_shipped_training_pipeline_imports_into_the_lab():
    from pathlib import Path
    shipped = Path(__file__).resolve().parents[1] / "data" / "pipelines" / "street-train.json"
    steps = aug.steps_from_pipeline(shipped)
    assert [s["name"] for s in steps] == ["HorizontalFlip", "Affine", "RandomBrightnessContrast",
                                          "HueSaturationValue", "GaussNoise"]
    assert steps[1]["params"]["fill"] == (0, 0, 0)


def test_invalid_argument_message_names_the_step_on_one_line():
    text = json.dumps({"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "p": 1, "transforms": [
        {"__class_fullname__": "HorizontalFlip", "p": 0.5}, {"__class_fullname__": "Blur", "p": 5}]}})
    with pytest.raises(aug.PipelineError) as caught:
        aug.load_pipeline(text)
    assert str(caught.value) == "invalid albumentations pipeline: step 2 (Blur): p: Input should be less than or equal to 1"


@pytest.mark.parametrize("name", ["RandomCrop", "CenterCrop"])
def test_a_step_that_cannot_be_drawn_on_the_frame_is_a_one_line_pipeline_error(pair, name):
    image, mask = pair
    too_big = step(name, height=4096, width=4096, pad_if_needed=False)
    with pytest.raises(aug.PipelineError) as drawn:          # the Lab's preview
        aug.draw([too_big], image, mask, seed=0, mask_fill=IGNORE)
    with pytest.raises(ValueError) as trained:              # training's draw
        aug.apply(aug.build_pipeline([too_big], seed=0, mask_fill=IGNORE), image, mask)
    with pytest.raises(ValueError) as timed:                # the Lab's Cost tab forces p = 1
        aug.time_steps([{**too_big, "p": 0.0}], image, mask)
    for err in (drawn, trained, timed):
        message = str(err.value)
        assert f"on this {image.shape[0]}x{image.shape[1]} frame" in message and "\n" not in message, message


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")     # albumentations' own, on the way to failing
@pytest.mark.parametrize("s", [step("GridDistortion", num_steps=20), step("PlasmaShadow"), step("GridDropout")])
def test_steps_that_fail_on_a_frame_of_a_few_pixels_are_pipeline_errors(s):
    # Their ZeroDivisionError / OverflowError on a 9x7 (or 1x1) frame reached the Lab as a traceback.
    size = (9, 7) if s["name"] == "GridDistortion" else (1, 1)
    image, mask = np.zeros((*size, 3), np.uint8), np.zeros(size, np.uint8)
    with pytest.raises(aug.PipelineError, match=f"on this {size[0]}x{size[1]} frame"):
        aug.draw([s], image, mask, seed=0, mask_fill=IGNORE)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")    # albumentations' own divide-by-zero on tiny frames
@pytest.mark.parametrize("size", [(48, 64), (9, 7)])
def test_every_value_the_lab_offers_draws_or_says_why_in_one_line(size):
    """Whatever the Lab's widgets allow, on a small or tiny frame: a picture, or a one-line PipelineError."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    mask = rng.integers(0, 5, size, dtype=np.uint8)
    refused = 0
    for name, spec in aug.CATALOGUE.items():
        for values in _edge_values(spec):
            s = step(name, **values)
            try:
                out, out_mask, _ = aug.draw([s], image, mask, seed=1, mask_fill=IGNORE)
            except aug.PipelineError as err:
                assert "\n" not in str(err), (name, values, str(err))
                refused += 1
                continue
            assert out.dtype == np.uint8 and out.ndim == 3 and out_mask.shape == out.shape[:2], (name, values)
    assert refused     # crops larger than the frame are among them


EXACT = cv2.INTER_NEAREST_EXACT


@pytest.mark.parametrize("transform", [
    A.RandomCrop(height=40, width=50, p=1.0),                      # sizes that are no multiple of 8
    A.RandomSizedCrop(min_max_height=(20, 30), size=(40, 50), mask_interpolation=EXACT, p=1.0),
    A.SmallestMaxSize(max_size=50, mask_interpolation=EXACT, p=1.0),
    A.XYMasking(num_masks_x=2, num_masks_y=1, mask_x_length=10, mask_y_length=5, p=1.0),   # stored as (0, 10)
    A.CropAndPad(percent=0.1, fill_mask=IGNORE, mask_interpolation=EXACT, p=1.0),   # a range kept as one number
], ids=lambda t: type(t).__name__)
def test_pipelines_written_with_albumentations_own_arguments_import_and_draw_the_same(pair, transform):
    """Refused before: crop sizes not a multiple of 8, XYMasking's stored (0, n) lengths, CropAndPad's one number.
    (The original pads the mask with the ignore label and resizes it with exact nearest neighbour, as SegLab's
    steps do.)"""
    image, mask = pair
    original = A.Compose([transform])
    steps = aug.steps_from_pipeline(original)
    imported = aug.build_pipeline(steps, mask_fill=IGNORE)
    for seed in range(3):
        a = aug.apply_seeded(original, image, mask, seed)
        b = aug.apply_seeded(imported, image, mask, seed)
        assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]), (type(transform).__name__, seed)
