"""app.lab and app.uploads: the Augmentation Lab's step list, widget values and tables, and decoded uploads."""
import io

import numpy as np
import pytest
from PIL import Image

from conftest import make_camvid_like, scene
from app import lab, uploads
from segcore import augment
from segcore.datasets import list_pairs
from segcore.imageio import ImageError, read_pair
from segcore.labels import CAMVID11


def test_catalogue_choices_are_grouped_and_complete():
    names = lab.catalogue_choices()
    assert sorted(names) == sorted(augment.CATALOGUE)
    groups = [augment.CATALOGUE[n].group for n in names]
    assert groups == sorted(groups, key=augment.GROUPS.index)
    ms, label = augment.cost_of("RandomRain")
    assert lab.choice_label("RandomRain").startswith(f"weather · RandomRain · {label}, ")   # measured, see costs


def test_items_keep_uids_through_edits():
    items = [lab.new_item(n) for n in ("HorizontalFlip", "GaussianBlur", "RandomRain")]
    uids = [i["uid"] for i in items]
    assert len(set(uids)) == 3
    assert augment.validate_steps(lab.steps_of(items)) == lab.steps_of(items)
    assert [i["uid"] for i in lab.moved(items, 2, -1)] == [uids[0], uids[2], uids[1]]
    assert [i["uid"] for i in lab.moved(items, 0, -1)] == uids               # clamped at the top
    assert [i["uid"] for i in lab.moved(items, 2, 1)] == uids                # and at the bottom
    assert [i["uid"] for i in lab.removed(items, 1)] == [uids[0], uids[2]]
    assert [i["uid"] for i in items] == uids                                  # edits return new lists
    again = lab.items_from_steps(lab.steps_of(items))
    assert lab.steps_of(again) == lab.steps_of(items) and {i["uid"] for i in again}.isdisjoint(uids)


@pytest.mark.parametrize("name", list(augment.CATALOGUE))
def test_widget_settings_fit_every_parameter(name):
    defaults = augment.validate_steps([augment.default_step(name)])[0]["params"]
    for spec in augment.CATALOGUE[name].params:
        value = lab.widget_value(spec, spec.default)
        assert lab.from_widget(spec, value) == defaults[spec.name]
        if spec.kind in ("float", "int", "float_range", "int_range", "int_pair"):
            bounds = lab.slider_settings(spec)
            number = int if "int" in spec.kind else float
            assert {type(v) for v in bounds.values()} == {number}
            values = value if isinstance(value, tuple) else (value,)
            assert all(type(v) is number and bounds["min_value"] <= v <= bounds["max_value"] for v in values)
        if spec.kind == "rgb":
            assert value.startswith("#") and len(value) == 7


def test_colour_round_trip():
    spec = next(p for p in augment.CATALOGUE["RandomRain"].params if p.kind == "rgb")
    assert lab.widget_value(spec, (200, 16, 0)) == "#c81000"
    assert lab.from_widget(spec, "#c81000") == (200, 16, 0)


def _png(array, mode=None) -> bytes:
    buffer = io.BytesIO()
    (Image.fromarray(array, mode) if mode else Image.fromarray(array)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_data_set_pairs_and_uploads(tmp_path):
    root = make_camvid_like(tmp_path / "d", splits=(("train", 1),))
    sample = list_pairs(root, "train")[0]
    image, mask = read_pair(sample.image, sample.label, CAMVID11)
    assert image.shape == (32, 48, 3) and mask.shape == (32, 48) and mask.max() <= 11
    picture, labels = scene(3)
    image, mask = uploads.decode_pair(_png(picture), _png(labels, "L"), CAMVID11)
    assert np.array_equal(image, picture) and np.array_equal(mask, labels)
    assert uploads.decode_pair(_png(picture), None, CAMVID11)[1] is None
    with pytest.raises(ImageError, match="image's size"):
        uploads.decode_pair(_png(picture), _png(labels[:16], "L"), CAMVID11)
    with pytest.raises(ImageError):
        uploads.decode_pair(b"nope", None, CAMVID11)


def test_legend_lists_present_classes():
    html = lab.legend_for(np.array([[0, 0], [3, 11]], dtype=np.uint8), CAMVID11)
    assert "Sky" in html and "Road" in html and "void" in html and "Car" not in html
    assert "50.0%" in html


def test_tables():
    picture, labels = scene(1)
    steps = [{**augment.default_step("HorizontalFlip"), "p": 1.0}, {**augment.default_step("GaussianBlur"), "p": 0.0}]
    _, _, record = augment.draw(steps, picture, labels, seed=0)
    table = lab.draw_table(record)
    assert list(table["step"]) == ["1", "2"] and list(table["applied"]) == [True, False]
    assert table["sampled parameters"].iloc[1] == ""
    costs = lab.cost_table({"0:HorizontalFlip": 0.1234, "1:GaussianBlur": 2.0, "pipeline": 0.2})
    assert list(costs.index) == ["1. HorizontalFlip", "2. GaussianBlur",
                                 f"whole pipeline (mean of {augment.PIPELINE_DRAWS} draws)"]
    assert costs["ms per image"].iloc[0] == 0.12


# ------------------------------------------------------------------------------------- isolation, import, stats

def test_shown_steps_isolate_one_step_by_uid():
    items = [lab.new_item(n) for n in ("HorizontalFlip", "GaussianBlur", "RandomRain")]
    assert lab.shown_steps(items, None) == lab.steps_of(items)
    assert lab.isolated_index(items, items[1]["uid"]) == 1
    shown = lab.shown_steps(items, items[1]["uid"])
    assert [s["p"] for s in shown] == [0.0, pytest.approx(1.0), 0.0]      # on: just under 1 (augment.isolate)
    assert [s["name"] for s in shown] == [i["name"] for i in items]
    assert lab.shown_steps(lab.removed(items, 1), items[1]["uid"]) == lab.steps_of(lab.removed(items, 1))


def test_steps_from_upload_parses_bytes_and_never_opens_a_path(tmp_path):
    text = augment.dumps_pipeline([augment.default_step("HorizontalFlip")], "yaml")
    assert [s["name"] for s in lab.steps_from_upload("p.yaml", text.encode())] == ["HorizontalFlip"]
    real = tmp_path / "real.json"
    real.write_text(text)
    for content in (str(real).encode(), b"/etc/hostname"):
        with pytest.raises(augment.PipelineError, match="not an albumentations pipeline"):
            lab.steps_from_upload("x.yaml", content)
    with pytest.raises(augment.PipelineError, match="not valid JSON"):
        lab.steps_from_upload("x.json", str(real).encode())


def test_stats_tables_and_fired_label():
    picture, labels = scene(2)
    steps = [{**augment.default_step("HorizontalFlip"), "p": 1.0}, {**augment.default_step("Affine"), "p": 0.5}]
    stats = augment.augmentation_stats(steps, [(picture, labels)], draws=20, seed=0, schema=CAMVID11)
    tables = lab.stats_tables(stats)
    assert list(tables["steps"]["step"]) == ["1. HorizontalFlip", "2. Affine"]
    assert tables["steps"]["fired"].iloc[0] == 1.0
    assert set(tables["combinations"]["pattern"]) <= {"10", "11"}
    both = tables["combinations"].set_index("pattern").loc["11", "steps fired"]
    assert both == "1. HorizontalFlip, 2. Affine"
    assert "void" in set(tables["classes"]["class"]) and tables["classes"]["after"].sum() == pytest.approx(1)
    record = [{"applied": True}, {"applied": False}, {"applied": True}]
    assert lab.fired_label(record) == "fired 1, 3" and lab.fired_label([{"applied": False}]) == "fired none"
    a = lab.stats_signature(steps, picture, labels, 0, 20)
    assert a == lab.stats_signature(steps, picture.copy(), labels, 0, 20)
    assert a != lab.stats_signature(steps, picture[::-1].copy(), labels, 0, 20)
    assert a != lab.stats_signature(steps, picture, labels, 1, 20)
