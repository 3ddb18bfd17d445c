"""The Augmentation Lab under AppTest: it opens on a light weather pipeline whose first draw shows an effect, every
step is one collapsed line, sampled parameters read as text, the grid shows image and mask per draw, and OneOf /
SomeOf groups are built in the page and exported exactly as training runs them."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from app import lab
from segcore import augment
from segcore.labels import CAMVID11
from test_app_pages import LAB, _empty_lab, folders, labelled, run_page, served_downloads, texts  # noqa: F401


def _items(at):
    return at.session_state["lab_items"]


def _add(at, name: str, where: str):
    labelled(at.selectbox, "Transform").set_value(name)
    labelled(at.selectbox, "Add to").set_value(where).run()
    next(b for b in at.button if b.key == "lab_add").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_opens_on_light_weather_with_an_effect_in_the_first_draw(folders):
    at = run_page(LAB)
    assert not at.exception and not at.error
    assert lab.steps_of(_items(at)) == augment.light_weather()
    table = at.dataframe[0].value
    assert list(table["step"]) == ["1", "2", "2.1", "2.2", "2.3", "3"]
    fired = table[table["applied"]]
    assert any(step.startswith("2.") for step in fired["step"])              # the weather step ran at seed 0
    text = " ".join(fired["sampled parameters"])
    assert text and not set(text) & set("{}[]\"'"), text                     # words, not a dict dump
    original, augmented = (next(i.value[0] for i in at.get("image") if i.captions[0].startswith(prefix))
                            for prefix in ("original", "augmented"))
    assert original != augmented                                             # media ids hash the pixels


def test_every_step_is_one_collapsed_line(folders):
    at = run_page(LAB)
    at.session_state["lab_items"] = [lab.new_item(n) for n in ("RandomRain", "HorizontalFlip", "GaussNoise",
                                                                "Affine", "RandomBrightnessContrast")]
    at.run()
    labels = [e.label for e in at.main.expander]
    assert len(labels) == 5 and not any(e.proto.expanded for e in at.main.expander)
    assert all("\n" not in label for label in labels)
    assert labels == [f"{i + 1}. {name}  (p = 0.50)" for i, name in enumerate(
        ("RandomRain", "HorizontalFlip", "GaussNoise", "Affine", "RandomBrightnessContrast"))]
    ms, label = augment.cost_of("RandomRain")                                   # measured, shown inside the step
    assert f"Measured cost: {label}, " in texts(at, "caption")


def test_grid_shows_image_and_mask_per_draw_several_per_row(folders):
    at = run_page(LAB)
    labelled(at.slider, "Draws").set_value(6)
    labelled(at.slider, "Per row").set_value(3).run()
    tiles = [image for image in at.get("image") if image.captions and image.captions[0].startswith("seed ")]
    assert len(tiles) == 6
    image = np.zeros((48, 64, 3), np.uint8)                                 # each tile: image | gap | overlay
    tile = lab.draw_tile(image, np.full((48, 64), 3, np.uint8), CAMVID11, 0.5)
    assert tile.shape[0] == 48 and tile.shape[1] > 2 * 64 and (tile[:, 64:66] == 255).all()
    assert lab.draw_tile(image, None, CAMVID11, 0.5) is image


def test_builds_one_of_and_some_of_groups_and_exports_what_training_runs(folders, served_downloads, tmp_path):
    at = _empty_lab()
    _add(at, "RandomSnow", "a new OneOf group")
    _add(at, "RandomFog", "group 1 (OneOf)")
    _add(at, "HorizontalFlip", "the pipeline")
    _add(at, "CoarseDropout", "a new SomeOf group")
    _add(at, "GaussNoise", "group 3 (SomeOf)")
    steps = lab.steps_of(_items(at))
    assert [(s["name"], [m["name"] for m in s.get("steps", [])]) for s in steps] == [
        ("OneOf", ["RandomSnow", "RandomFog"]), ("HorizontalFlip", []), ("SomeOf", ["CoarseDropout", "GaussNoise"])]
    labels = [e.label for e in at.main.expander]
    assert labels[0].startswith("1. OneOf of 2") and labels[1].startswith("1.1. RandomSnow  (weight = 0.50)")
    some_of = _items(at)[2]
    at.number_input(key=f"lab-{some_of['uid']}-n").set_value(2).run()
    assert not at.exception and _items(at)[2]["params"]["n"] == 2
    download = next(b for b in at.get("download_button") if b.label == "Download JSON")
    exported = served_downloads[Path(download.proto.url).stem]
    path = tmp_path / "pipeline.json"
    path.write_bytes(exported)
    trained = augment.load_training_pipeline(path, mask_fill=CAMVID11.ignore_index)
    assert json.loads(json.dumps(trained)) == json.loads(exported)
    assert [t["__class_fullname__"] for t in trained["transform"]["transforms"]] == ["OneOf", "HorizontalFlip",
                                                                                   "SomeOf"]
    assert trained["transform"]["transforms"][2]["n"] == 2
    # removing a member lowers SomeOf's n to what is left; removing the last member removes the group
    member = _items(at)[2]["items"][1]
    next(b for b in at.button if b.key == f"lab-{member['uid']}-rm").click().run()
    assert not at.exception and _items(at)[2]["params"]["n"] == 1 and not at.error
    member = _items(at)[2]["items"][0]
    next(b for b in at.button if b.key == f"lab-{member['uid']}-rm").click().run()
    assert [s["name"] for s in lab.steps_of(_items(at))] == ["OneOf", "HorizontalFlip"]
    # an exported group pipeline imports back into the editor
    labelled(at.file_uploader, "Import a saved pipeline").set_value(("street.json", exported, "application/json"))
    at.run()
    assert not at.exception and not at.error and lab.steps_of(_items(at)) == augment.steps_from_pipeline(exported)


def test_a_crop_larger_than_the_frame_is_a_one_line_error_and_the_page_keeps_serving(folders):
    at = _empty_lab()
    _add(at, "CropNonEmptyMaskIfExists", "the pipeline")                   # 288x384 on a 64x48 frame
    error = texts(at, "error")
    assert "larger than image" in error and "\n" not in error
    next(b for b in at.button if b.key == f"lab-{_items(at)[0]['uid']}-rm").click().run()
    assert not at.exception and not at.error
