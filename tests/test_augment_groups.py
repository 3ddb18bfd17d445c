"""OneOf/SomeOf groups, the crop and warp transforms street-scene training uses (mask handling on an image AND
a mask), readable sampled parameters, the Lab's opening pipeline and measured cost labels."""
from __future__ import annotations

import json

import numpy as np
import pytest

from segcore import augment as aug
from segcore.augment import costs
from segcore.batches import SampleLoader, draw_seed
from segcore.imageio import encode_png
from segcore.labels import CAMVID11
from segcore.limits import MAX_PIPELINE_STEPS

IGNORE = CAMVID11.ignore_index
H, W = 48, 64


@pytest.fixture(scope="module")
def pair():
    """Class blocks 0..4 and an image whose colour encodes the class (no pixel is black or the ignore label)."""
    rng = np.random.default_rng(1)
    mask = np.kron(rng.integers(0, 5, (H // 16, W // 16)), np.ones((16, 16), int)).astype(np.uint8)
    palette = np.array([[230, 40, 40], [40, 200, 40], [40, 40, 230], [220, 220, 40], [200, 40, 200]], np.uint8)
    return palette[mask], mask


def step(name, p=1.0, **params):
    s = aug.default_step(name)
    s["params"].update(params)
    return {**s, "p": p}


def group(name, members, p=1.0, **params):
    s = aug.default_step(name, members)
    s["params"].update(params)
    return {**s, "p": p}


STREET = [step("RandomScale", scale_limit=(-0.5, 0.5)),
          step("PadIfNeeded", min_height=48, min_width=64, fill=(0, 0, 0)),
          step("RandomCrop", height=48, width=64),
          group("OneOf", [step("ElasticTransform", 0.5), step("GridDistortion", 0.5)], p=0.7),
          group("SomeOf", [step("CoarseDropout"), step("RandomRain"), step("GaussNoise")], n=2),
          step("HorizontalFlip", 0.5)]


# ------------------------------------------------------------------------------------------------ groups

def test_groups_validate_and_round_trip_through_albumentations_files():
    steps = aug.validate_steps(STREET)
    assert steps[3]["name"] == "OneOf" and [s["name"] for s in steps[3]["steps"]] == ["ElasticTransform",
                                                                                       "GridDistortion"]
    text = aug.dumps_pipeline(steps, "json", mask_fill=IGNORE)
    transforms = json.loads(text)["transform"]["transforms"]
    assert transforms[4]["__class_fullname__"] == "SomeOf" and transforms[4]["n"] == 2
    assert aug.steps_from_pipeline(text) == steps
    assert aug.steps_from_pipeline(aug.dumps_pipeline(steps, "yaml", mask_fill=IGNORE)) == steps
    code = aug.pipeline_code(steps, mask_fill=IGNORE)
    assert "    A.OneOf([\n        A.ElasticTransform(" in code and "], n=2, replace=False, p=1.0)," in code


def test_the_exported_file_is_exactly_what_training_runs(tmp_path, pair):
    image, mask = pair
    path = tmp_path / "street.json"
    path.write_text(aug.dumps_pipeline(STREET, "json", mask_fill=IGNORE))
    trained = aug.load_training_pipeline(path, mask_fill=IGNORE)
    assert json.loads(json.dumps(trained)) == json.loads(path.read_text())    # nothing added, dropped or changed
    (tmp_path / "i.png").write_bytes(encode_png(image))
    (tmp_path / "m.png").write_bytes(encode_png(mask))
    loader = SampleLoader(CAMVID11, None, path, seed=5)
    for index in range(6):
        got_image, got_mask = loader(tmp_path / "i.png", tmp_path / "m.png", epoch=1, index=index)
        want_image, want_mask, _ = aug.draw(STREET, image, mask, seed=draw_seed(5, 1, index), mask_fill=IGNORE)
        assert np.array_equal(got_image, want_image) and np.array_equal(got_mask, want_mask)



def test_every_catalogue_transform_exports_and_trains_at_the_models_size(tmp_path, pair):
    """Each transform at p = 1, written to a file as the Lab exports it and read by training's loader: the model
    gets its input size, and the labels hold only the frame's classes and the ignore label."""
    image, mask = pair
    (tmp_path / "i.png").write_bytes(encode_png(image))
    (tmp_path / "m.png").write_bytes(encode_png(mask))
    for name in aug.CATALOGUE:
        one = step(name, height=32, width=48) if name == "CropNonEmptyMaskIfExists" else step(name)
        path = tmp_path / f"{name}.json"
        path.write_text(aug.dumps_pipeline([one], "json", mask_fill=IGNORE))
        got_image, got_mask = SampleLoader(CAMVID11, (32, 48), path, seed=3)(tmp_path / "i.png", tmp_path / "m.png")
        assert got_image.shape[:2] == got_mask.shape == (32, 48), name
        assert set(np.unique(got_mask)) <= set(np.unique(mask)) | {IGNORE}, name

def test_pad_if_needed_files_load_back_without_albumentations_artefact(tmp_path):
    # albumentations 2.0.8 writes PadIfNeeded's inherited `padding`, then warns it is not an argument; the
    # loader turned that warning into an error, so an exported PadIfNeeded could not be trained with.
    path = tmp_path / "pad.yaml"
    path.write_text(aug.dumps_pipeline([step("PadIfNeeded")], "yaml", mask_fill=IGNORE))
    assert "padding" not in path.read_text()
    assert aug.load_training_pipeline(path, mask_fill=IGNORE)["transform"]["transforms"][0]["fill_mask"] == IGNORE
    raw = aug.to_dict([step("PadIfNeeded")])
    raw["transform"]["transforms"][0]["padding"] = 5               # not what albumentations writes: refused
    with pytest.raises(aug.PipelineError, match="'padding' are not valid"):
        aug.load_pipeline(raw)


def test_one_of_picks_one_member_per_draw_and_some_of_n(pair):
    image, mask = pair
    members = [step("HorizontalFlip"), step("RandomGamma"), step("Blur")]
    picked = set()
    for seed in range(30):
        _, _, [one, some] = aug.draw([group("OneOf", members), group("SomeOf", members, n=2)], image, mask,
                                     seed=seed)
        fired = [m["name"] for m in one["steps"] if m["applied"]]
        assert len(fired) == 1
        picked.add(fired[0])
        assert sum(m["applied"] for m in some["steps"]) == 2     # members at p = 1 all fire once picked
    assert picked == {"HorizontalFlip", "RandomGamma", "Blur"}


@pytest.mark.parametrize("steps, words", [
    ([group("OneOf", [group("OneOf", [step("Blur")])])], ["step 1.1", "cannot hold another group"]),
    ([group("OneOf", [])], ["step 1 (OneOf)", "non-empty"]),
    ([group("SomeOf", [step("Blur")], n=2)], ["n=2", "holds 1", "replace"]),
    ([group("OneOf", [step("Blur", 0.0), step("RandomGamma", 0.0)])], ["weight p = 0"]),
    ([step("Blur"), group("OneOf", [step("Blur"), {"name": "Blur", "params": {"blur_limit": (4, 6)}}])],
     ["step 2.2 (Blur)", "blur_limit"]),
    ([group("OneOf", [step("Blur")] * MAX_PIPELINE_STEPS)], [f"{MAX_PIPELINE_STEPS + 1} transforms"]),
])
def test_bad_groups_are_refused_in_one_line(steps, words):
    with pytest.raises(aug.PipelineError) as caught:
        aug.validate_steps(steps)
    assert all(word in str(caught.value) for word in words) and "\n" not in str(caught.value), caught.value


def test_a_file_nesting_groups_deeper_is_refused(tmp_path):
    inner = {"__class_fullname__": "OneOf", "p": 1, "transforms": [{"__class_fullname__": "Blur", "p": 1}]}
    document = {"__version__": "2.0.8", "transform": {"__class_fullname__": "Compose", "p": 1, "transforms": [
        {"__class_fullname__": "SomeOf", "p": 1, "n": 1, "replace": False, "transforms": [inner]}]}}
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(document))
    with pytest.raises(aug.PipelineError, match="step 1.1: a OneOf group inside a group"):
        aug.load_training_pipeline(path, mask_fill=IGNORE)


# ------------------------------------------------------------------------------------- crops, pads and warps

def test_pad_fills_the_image_with_fill_and_the_mask_with_the_ignore_label(pair):
    image, mask = pair
    out, out_mask, _ = aug.draw([step("PadIfNeeded", min_height=64, min_width=80, fill=(9, 8, 7))], image, mask,
                                seed=0, mask_fill=IGNORE)
    assert out.shape == (64, 80, 3) and out_mask.shape == (64, 80)
    assert np.array_equal(out_mask[8:56, 8:72], mask) and np.array_equal(out[8:56, 8:72], image)
    border = np.ones((64, 80), bool)
    border[8:56, 8:72] = False
    assert (out_mask[border] == IGNORE).all() and (out[border] == (9, 8, 7)).all()


def test_random_crop_pads_a_small_frame_with_the_ignore_label(pair):
    image, mask = pair
    out, out_mask, _ = aug.draw([step("RandomCrop", height=64, width=72)], image, mask, seed=3, mask_fill=IGNORE)
    assert out.shape == (64, 72, 3)
    assert (out_mask == IGNORE).sum() == 64 * 72 - H * W            # every padded pixel, and only those
    assert set(np.unique(out_mask)) - {IGNORE} <= set(np.unique(mask))


@pytest.mark.parametrize("name, params", [("ElasticTransform", {"alpha": 200.0, "sigma": 5.0}),
                                          ("GridDistortion", {"distort_limit": (-0.6, 0.6)}),
                                          ("RandomScale", {"scale_limit": (0.3, 0.3)})])
def test_warps_move_the_mask_nearest_neighbour_and_fill_with_ignore(pair, name, params):
    image, mask = pair
    out, out_mask, _ = aug.draw([step(name, **params)], image, mask, seed=2, mask_fill=IGNORE)
    assert out_mask.shape == out.shape[:2] and not np.array_equal(out_mask, mask) or out.shape != image.shape
    assert set(np.unique(out_mask)) <= set(np.unique(mask)) | {IGNORE}     # no class invented by blending
    if name == "RandomScale":
        assert out.shape == (round(H * 1.3), round(W * 1.3), 3)


def test_crop_non_empty_mask_centres_on_labelled_pixels_and_needs_a_mask():
    mask = np.full((96, 128), IGNORE, np.uint8)
    mask[:, :4] = 0                                  # class 0 and the ignore label count as empty
    mask[80, 120] = 3                                # the one labelled pixel
    image = np.zeros((96, 128, 3), np.uint8)
    for seed in range(10):
        _, out_mask, _ = aug.draw([step("CropNonEmptyMaskIfExists", height=16, width=16)], image, mask, seed=seed,
                                  mask_fill=IGNORE)
        assert out_mask.shape == (16, 16) and (out_mask == 3).any()
    with pytest.raises(aug.PipelineError, match="needs|picks its crop from the mask"):
        aug.draw([group("OneOf", [step("CropNonEmptyMaskIfExists")])], image, None, seed=0)


def test_coarse_dropout_erases_the_image_and_keeps_the_labels(pair):
    image, mask = pair
    out, out_mask, _ = aug.draw([step("CoarseDropout", num_holes_range=(3, 3), fill=(0, 0, 0))], image, mask,
                                seed=0, mask_fill=IGNORE)
    assert (out == 0).all(axis=2).any() and np.array_equal(out_mask, mask)


# ------------------------------------------------------------------------------------ readable parameters

def test_sampled_parameters_read_as_text_not_a_dict_dump(pair):
    image, mask = pair
    _, _, [rain, affine, gauss] = aug.draw([step("RandomRain"), step("Affine"), step("GaussNoise")], image, mask,
                                           seed=0, mask_fill=IGNORE)
    assert rain["summary"].startswith("drop length 20 · slant ") and "points" in rain["summary"]
    assert "matrix" not in affine["summary"] and "rotate " in affine["summary"] and "fill" not in affine["summary"]
    for text in (rain["summary"], affine["summary"], gauss["summary"]):
        assert not set(text) & set("{}[]'\""), text
    assert aug.readable_params({"scale": {"x": 1.23456, "y": 1.23456}, "crop": np.array([1, 2, 3, 4]),
                                "noise_map": np.zeros((9, 9))}) == "scale 1.23 · crop (1, 2, 3, 4)"


# ------------------------------------------------------------------------------------ default and costs

def test_the_lab_opens_on_a_light_weather_pipeline_that_shows_an_effect(pair):
    image, mask = pair
    steps = aug.light_weather()
    assert aug.validate_steps(steps) == steps and steps[1]["name"] == "OneOf"
    out, _, record = aug.draw(steps, image, mask, seed=0)
    assert record[1]["applied"] and not np.array_equal(out, image)        # seed 0, the first view


def test_every_catalogue_transform_has_a_measured_cost_and_its_label_follows_the_thresholds():
    measured = costs.measured_costs()
    assert set(measured["ms"]) == set(aug.CATALOGUE), "run benchmarks/bench_augment.py"
    assert measured["command"].startswith("python benchmarks/bench_augment.py") and measured["machine"]
    limits = [limit for _, limit in costs.COST_THRESHOLDS]
    labels = [label for label, _ in costs.COST_THRESHOLDS] + ["expensive"]
    for name in aug.CATALOGUE:
        ms, label = costs.cost_of(name)
        assert ms > 0 and label == labels[sum(ms >= limit for limit in limits)], name
    assert [costs.cost_label(v) for v in (0.0, 0.5, 1.99, 2.0, 7.9, 8.0)] == [
        "nearly free", "cheap", "cheap", "moderate", "moderate", "expensive"]
    descriptions = " ".join(spec.description.lower() for spec in aug.CATALOGUE.values())
    assert not any(word in descriptions for word in ("cheap", "expensive", "nearly free"))   # no guesses left
