"""Hostile and careless pipeline input (issue 10 items 1, 3, 4, 11): text is never a path, limits apply before
anything is built, training validates exactly as the Lab does, and every failure is a one-line PipelineError."""
import json
import os
from pathlib import Path

import albumentations as A
import pytest

from segcore import augment as aug
from segcore.augment import files as pipeline_files

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "data" / "pipelines" / "street-train.json"
VALID = aug.dumps_pipeline([{"name": "HorizontalFlip", "params": {}, "p": 0.5}], "json")


def document(*transforms) -> dict:
    return {"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "p": 1.0,
                                                  "transforms": list(transforms)}}


def one_line(error) -> str:
    message = str(error.value)
    assert "\n" not in message and "Traceback" not in message, message
    return message


@pytest.fixture
def nothing_is_built(monkeypatch):
    """Fails the test if albumentations is asked to build anything."""
    def refuse(*args, **kwargs):
        raise AssertionError("a pipeline was built")
    monkeypatch.setattr(pipeline_files.A, "from_dict", refuse)


# ---------------------------------------------------------------------------------------- text is not a path

@pytest.mark.parametrize("loader", [aug.load_pipeline, aug.steps_from_pipeline])
def test_text_naming_a_server_file_is_never_opened(tmp_path, loader):
    server_file = tmp_path / "server-side.json"
    server_file.write_text(VALID)
    for text in (str(server_file), "/etc/hostname", str(server_file).encode()):
        with pytest.raises(aug.PipelineError) as err:
            loader(text)
        assert "not an albumentations pipeline" in one_line(err)
    assert aug.parse_pipeline_text(str(server_file)) == str(server_file)   # just a YAML string
    assert len(aug.load_pipeline_file(server_file).transforms) == 1        # reading a file is explicit


def test_reading_a_file_checks_it_is_a_regular_file_of_bounded_size(tmp_path):
    with pytest.raises(aug.PipelineError, match="cannot read pipeline file"):
        aug.read_pipeline_file(tmp_path / "missing.json")
    with pytest.raises(aug.PipelineError, match="not a regular file"):
        aug.read_pipeline_file(tmp_path)
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "fifo.json")
        with pytest.raises(aug.PipelineError, match="not a regular file"):   # opening it would block forever
            aug.read_pipeline_file(tmp_path / "fifo.json")
    big = tmp_path / "big.json"
    big.write_text(" " * (aug.MAX_PIPELINE_BYTES + 1))
    with pytest.raises(aug.PipelineError, match="at most 1,000,000"):
        aug.read_pipeline_file(big)
    with pytest.raises(aug.PipelineError, match="at most 1,000,000"):
        aug.parse_pipeline_text(b"x" * (aug.MAX_PIPELINE_BYTES + 1))
    with pytest.raises(aug.PipelineError, match="not UTF-8"):
        aug.parse_pipeline_text(b"\xff\xfe\x00junk")


# ------------------------------------------------------------------------------------ size before building

def alias_bomb(levels: int = 5, fan_out: int = 10) -> str:
    """A few hundred bytes of YAML whose nested aliases expand to fan_out ** levels transforms."""
    lines = ["l0: &l0 {__class_fullname__: HorizontalFlip, p: 0.5}"]
    for level in range(1, levels):
        children = ", ".join([f"*l{level - 1}"] * fan_out)
        lines.append(f"l{level}: &l{level} {{__class_fullname__: Sequential, p: 1, transforms: [{children}]}}")
    children = ", ".join([f"*l{levels - 1}"] * fan_out)
    lines.append(f"transform: {{__class_fullname__: Compose, p: 1, transforms: [{children}]}}")
    return "\n".join(lines) + "\n"


def test_yaml_aliases_are_refused_before_anything_is_built(nothing_is_built, tmp_path):
    bomb = alias_bomb()
    assert len(bomb) < 1000
    with pytest.raises(aug.PipelineError) as err:
        aug.load_pipeline(bomb)
    assert "YAML aliases are not allowed" in one_line(err) and "*l0" in str(err.value)
    path = tmp_path / "bomb.yaml"
    path.write_text(bomb)
    with pytest.raises(aug.PipelineError, match="aliases"):
        aug.load_training_pipeline(path, mask_fill=11)
    with pytest.raises(aug.PipelineError, match="aliases"):   # a merge key is an alias too
        aug.parse_pipeline_text("base: &b {p: 1}\nstep:\n  <<: *b\n")


def test_long_and_deeply_nested_pipelines_are_refused_before_building(nothing_is_built):
    flips = [{"__class_fullname__": "HorizontalFlip", "p": 0.5}] * (aug.MAX_STEPS + 1)
    with pytest.raises(aug.PipelineError) as err:
        aug.load_pipeline(json.dumps(document(*flips)))
    assert f"at most {aug.MAX_STEPS}" in one_line(err)
    node = {"__class_fullname__": "HorizontalFlip", "p": 0.5}
    for _ in range(aug.MAX_NESTING + 1):
        node = {"__class_fullname__": "Sequential", "p": 1, "transforms": [node]}
    with pytest.raises(aug.PipelineError, match="nests composes"):
        aug.load_pipeline(json.dumps(document(node)))
    with pytest.raises(aug.PipelineError, match=f"at most {aug.MAX_STEPS}"):
        aug.validate_steps([aug.default_step("HorizontalFlip")] * (aug.MAX_STEPS + 1))


@pytest.mark.parametrize("fmt", ["json", "yaml", None])
def test_deeply_nested_text_is_a_one_line_error(fmt):
    nested = "[" * 400_000 + "]" * 400_000            # under the size cap, far over the recursion limit
    with pytest.raises(aug.PipelineError) as err:
        aug.load_pipeline(nested, fmt=fmt)
    assert "nested too deeply" in one_line(err)


def test_five_megabytes_of_nested_json_through_the_lab_and_training(tmp_path):
    nested = "[" * 2_500_000 + "]" * 2_500_000
    with pytest.raises(aug.PipelineError) as err:
        aug.steps_from_pipeline(nested.encode())
    assert "at most 1,000,000" in one_line(err)
    path = tmp_path / "nested.json"
    path.write_text(nested[:450_000] + nested[-450_000:])
    with pytest.raises(aug.PipelineError) as err:
        aug.load_training_pipeline(path, mask_fill=11)
    assert str(path) in one_line(err) and "nested too deeply" in str(err.value)


# ------------------------------------------------------------------------------- transforms that cannot run

@pytest.mark.filterwarnings("ignore:'reference_images' and 'read_fn' arguments are deprecated")
def test_histogram_matching_is_a_one_line_error(tmp_path):
    text = json.dumps(document({"__class_fullname__": "HistogramMatching", "p": 1}))
    with pytest.raises(aug.PipelineError) as err:
        aug.load_pipeline(text)
    assert "HistogramMatching" in one_line(err)
    with pytest.raises(aug.PipelineError) as err:
        aug.steps_from_pipeline(text)
    assert "not in the catalogue: HistogramMatching" in one_line(err)
    path = tmp_path / "hm.json"
    path.write_text(text)
    with pytest.raises(aug.PipelineError) as err:
        aug.load_training_pipeline(path, mask_fill=11)
    assert "HistogramMatching" in one_line(err)
    with pytest.raises(aug.PipelineError, match="cannot be saved"):
        aug.to_dict(A.Compose([A.HistogramMatching(reference_images=[], read_fn=lambda x: x)]))


# ------------------------------------------------------------------------- training validates like the Lab

def training_file(tmp_path, transform: dict) -> Path:
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(document(transform)))   # json writes NaN as NaN, as a hand-edited file might
    return path


@pytest.mark.parametrize("transform, words", [
    ({"__class_fullname__": "RandomBrightnessContrast", "p": 1, "brightness_limit": [float("nan"), float("nan")]},
     ["RandomBrightnessContrast", "brightness_limit", "finite"]),
    ({"__class_fullname__": "Blur", "p": 1, "blur_limit": [10001, 10001]}, ["Blur", "blur_limit", "[3, 31]"]),
    ({"__class_fullname__": "Resize", "p": 1, "height": 100000, "width": 100000},
     ["not in the catalogue: Resize", "RandomResizedCrop", "HorizontalFlip"]),
    ({**aug.to_dict([aug.default_step("Affine")])["transform"]["transforms"][0], "border_mode": 4},
     ["Affine", "border_mode=4", "cannot be set", "default"]),
])
def test_training_refuses_what_the_lab_refuses(tmp_path, transform, words):
    path = training_file(tmp_path, transform)
    A.from_dict(json.loads(path.read_text()))          # albumentations alone accepts every one of these
    with pytest.raises(aug.PipelineError) as err:
        aug.load_training_pipeline(path, mask_fill=11)
    message = one_line(err)
    assert message.startswith(str(path)) and all(word in message for word in words), message
    with pytest.raises(aug.PipelineError):             # and the Lab's import says no to the same bytes
        aug.steps_from_pipeline(path.read_bytes())


def test_nan_is_refused_by_the_catalogue_check():
    for value in (float("nan"), float("inf")):
        with pytest.raises(aug.PipelineError, match="finite"):
            aug.validate_steps([{"name": "RandomBrightnessContrast", "params": {"brightness_limit": (value, value)}}])
        with pytest.raises(aug.PipelineError, match="finite"):
            aug.validate_steps([{"name": "RandomRain", "params": {"drop_length": value}}])
    with pytest.raises(aug.PipelineError, match="p=nan"):
        aug.validate_steps([{"name": "HorizontalFlip", "p": float("nan")}])


def test_shipped_pipeline_loads_for_training_with_the_schema_fill(tmp_path):
    loaded = aug.load_training_pipeline(SHIPPED, mask_fill=11)
    built = A.from_dict(loaded)
    assert [type(t).__name__ for t in built.transforms] == ["HorizontalFlip", "Affine", "RandomBrightnessContrast",
                                                            "HueSaturationValue", "GaussNoise"]
    affine = built.transforms[1]
    assert affine.fill_mask == 11 and affine.mask_interpolation == 0
    assert aug.steps_from_pipeline(loaded) == aug.steps_from_pipeline(SHIPPED)
    json.dumps(loaded)   # runs write it as augment.json


@pytest.mark.parametrize("name, suggestion", [("RandomRian", "RandomRain"), ("horizontalflip", "HorizontalFlip"),
                                              ("oneof", "OneOf"), ("Zzz", None)])
def test_a_misspelt_transform_is_refused_with_the_closest_name(name, suggestion):
    with pytest.raises(aug.PipelineError) as err:
        aug.validate_steps([{"name": name, "params": {}, "p": 0.5}])
    said = one_line(err)
    assert f"unknown transform {name!r}" in said
    assert (f"(did you mean {suggestion}?)" in said) if suggestion else "did you mean" not in said


def test_a_misspelt_transform_in_a_pipeline_file_is_refused_with_the_closest_name():
    document_text = json.dumps(document({"__class_fullname__": "GaussianBlurr", "p": 1}))
    with pytest.raises(aug.PipelineError) as err:
        aug.steps_from_pipeline(document_text)
    assert "unknown albumentations transform 'GaussianBlurr' in transform.transforms[0] (did you mean GaussianBlur?)" \
        in one_line(err)


def test_an_outer_compose_that_does_not_always_run_is_refused_not_run_always(tmp_path):
    path = tmp_path / "sometimes.json"
    A.save(A.Compose([A.HorizontalFlip(p=0.5)], p=0.3), str(path))
    assert A.load(str(path)).p == 0.3                  # albumentations keeps it: training would have run it always
    for load in (lambda: aug.load_training_pipeline(path, mask_fill=11), lambda: aug.steps_from_pipeline(path)):
        with pytest.raises(aug.PipelineError, match="outer Compose has p=0.3.*set its p to 1"):
            load()


def test_coarse_dropout_holes_stay_shares_of_the_image_never_pixels():
    """Albumentations reads hole sizes as pixels once a range reaches 1: a share of 1.0 would erase 1-pixel holes."""
    import numpy as np
    ranges = {spec.name: spec.max for spec in aug.CATALOGUE["CoarseDropout"].params if spec.name.startswith("hole")}
    assert ranges and all(top < 1 for top in ranges.values())
    step = {"name": "CoarseDropout", "p": 1.0,
            "params": {"hole_height_range": (0.5, 0.99), "hole_width_range": (0.5, 0.99), "num_holes_range": (1, 1)}}
    image = np.full((60, 80, 3), 200, np.uint8)
    erased = [np.mean(aug.draw([step], image, seed=seed)[0] == 0) for seed in range(5)]
    assert min(erased) > 0.2, erased
    with pytest.raises(aug.PipelineError, match="hole_height_range"):
        aug.validate_steps([{**step, "params": {**step["params"], "hole_height_range": (0.5, 1.0)}}])


@pytest.mark.parametrize("name, text", [("empty.yaml", ""), ("null.json", "null"), ("list.json", "[]")])
def test_an_empty_or_odd_pipeline_file_is_said_to_be_no_pipeline(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    for load in (lambda: aug.load_training_pipeline(path, mask_fill=11), lambda: aug.steps_from_pipeline(path)):
        with pytest.raises(aug.PipelineError, match="not an albumentations pipeline: expected a mapping"):
            load()


def test_a_pipeline_file_saved_with_a_byte_order_mark_loads(tmp_path):
    for suffix in (".json", ".yaml"):
        path = tmp_path / f"bom{suffix}"
        path.write_bytes(b"\xef\xbb\xbf" + SHIPPED.read_bytes())
        assert aug.steps_from_pipeline(path) == aug.steps_from_pipeline(SHIPPED)
        assert aug.load_training_pipeline(path, mask_fill=11) == aug.load_training_pipeline(SHIPPED, mask_fill=11)
    assert aug.steps_from_pipeline("\ufeff" + SHIPPED.read_text()) == aug.steps_from_pipeline(SHIPPED)


def test_a_some_of_group_asking_for_more_than_it_holds_is_refused_not_lowered(tmp_path):
    group = {"__class_fullname__": "SomeOf", "p": 1.0, "n": 3, "replace": False,
             "transforms": [{"__class_fullname__": "HorizontalFlip", "p": 1.0}]}
    path = tmp_path / "someof.json"
    path.write_text(json.dumps(document(group)))
    for load in (lambda: aug.load_training_pipeline(path, mask_fill=11), lambda: aug.steps_from_pipeline(path)):
        with pytest.raises(aug.PipelineError, match="SomeOf group's n is larger than the number of its transforms"):
            load()


def test_an_outer_compose_whose_p_is_text_is_named_as_text():
    text = document({"__class_fullname__": "HorizontalFlip", "p": 1.0})
    text["transform"]["p"] = "1"                     # text, not the number 1 the message asks for
    with pytest.raises(aug.PipelineError, match="outer Compose has p='1';"):
        aug.steps_from_pipeline(json.dumps(text))


def test_a_grid_distortion_folding_every_cell_is_refused():
    step = {"name": "GridDistortion", "params": {"num_steps": 5, "distort_limit": (-1.0, -1.0), "normalized": True},
            "p": 1.0}
    with pytest.raises(aug.PipelineError, match="distort_limit"):
        aug.validate_steps([step])
