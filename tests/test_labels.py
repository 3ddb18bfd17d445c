import numpy as np
import pytest

from segcore.labels import CAMVID11, CATEGORIES, CITYSCAPES, LabelSchema, category_schema, get_schema


def test_camvid11_matches_the_dataset_readme():
    assert CAMVID11.names == ["Sky", "Building", "Pole", "Road", "Pavement", "Tree", "SignSymbol", "Fence", "Car",
                              "Pedestrian", "Bicyclist"]
    assert CAMVID11.ignore_index == 11
    assert tuple(CAMVID11.colors[4]) == (60, 40, 222)
    assert tuple(CAMVID11.colors[10]) == (0, 128, 192)


def test_camvid_categories_follow_the_design():
    cats = [CATEGORIES[i] for i in CAMVID11.category_ids()]
    assert cats == ["sky", "construction", "object", "flat", "flat", "nature", "object", "construction", "vehicle",
                    "human", "human"]


def test_cityscapes_label_ids_map_to_19_train_ids():
    assert CITYSCAPES.num_classes == 19
    assert CITYSCAPES.names[:3] == ["road", "sidewalk", "building"]
    assert CITYSCAPES.names[-1] == "bicycle"
    raw = np.array([[7, 8, 26, 0, 9, 33]], dtype=np.uint8)
    assert CITYSCAPES.encode(raw).tolist() == [[0, 1, 13, 255, 255, 18]]
    assert CITYSCAPES.ignore_index == 255
    assert {CATEGORIES[i] for i in CITYSCAPES.category_ids()} == set(CATEGORIES)


def test_encode_rejects_values_outside_the_schema():
    with pytest.raises(ValueError, match=r"\[200\]"):
        CAMVID11.encode(np.array([[0, 200]], dtype=np.uint8))
    with pytest.raises(ValueError, match="34"):
        CITYSCAPES.encode(np.array([[34]], dtype=np.uint8))


def test_json_round_trip_keeps_everything():
    for schema in (CAMVID11, CITYSCAPES, category_schema()):
        again = LabelSchema.from_json(schema.to_json())
        assert again == schema


def test_from_dict_explains_bad_input():
    with pytest.raises(ValueError, match="not a label schema"):
        LabelSchema.from_dict({"name": "x"})


def test_colorize_and_decode_color_are_inverse():
    labels = np.array([[0, 1, 11], [10, 3, 4]], dtype=np.uint8)
    rgb = CAMVID11.colorize(labels)
    assert tuple(rgb[0, 2]) == (0, 0, 0)
    assert CAMVID11.decode_color(rgb).tolist() == labels.tolist()


def test_decode_color_names_unknown_colours():
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    rgb[0, 0] = (1, 2, 3)
    with pytest.raises(ValueError, match=r"\(1, 2, 3\)"):
        CAMVID11.decode_color(rgb)


def test_to_categories_folds_and_keeps_void():
    labels = np.array([[0, 3, 4, 11]], dtype=np.uint8)
    cats = CAMVID11.to_categories(labels)
    assert [CATEGORIES[i] if i < 7 else "void" for i in cats[0]] == ["sky", "flat", "flat", "void"]


@pytest.mark.parametrize("ids, said", [([256, 1], "outside 0-255"), ([-1], "outside 0-255"),
                                        ([20, 3], "ids [20]"), ([12], "ids [12]")])
def test_to_categories_refuses_ids_no_class_has(ids, said):
    # A uint8 cast would fold 256 into Sky and 20 into void: an impossible id must not score as a category.
    with pytest.raises(ValueError, match=said.replace("[", r"\[").replace("]", r"\]")):
        CAMVID11.to_categories(np.array(ids, dtype=np.int64))


def test_schema_validation():
    with pytest.raises(ValueError, match="unknown label schema"):
        get_schema("nope")
    with pytest.raises(ValueError, match="collides"):
        LabelSchema("bad", CAMVID11.classes, ignore_index=3)


@pytest.mark.parametrize("field, value", [
    ("class", "![x](https://attacker.example/beacon.png)"), ("class", "<img src=x>"), ("class", "two\nlines"),
    ("class", "x" * 65), ("schema", "[log in](https://attacker.example)"), ("category", "`code`")])
def test_a_schema_whose_names_carry_markup_is_refused(field, value):
    """Names reach markdown and widget labels on every visitor's page: a model's file must not plant links there."""
    data = CAMVID11.to_dict()
    if field == "schema":
        data["name"] = value
    else:
        data["classes"][8] = {**data["classes"][8], "name" if field == "class" else "category": value}
    with pytest.raises(ValueError, match="must be a plain name of at most 64 characters"):
        LabelSchema.from_dict(data)
    kept = CAMVID11.to_dict()
    kept["classes"][8] = {**kept["classes"][8], "name": "Car (parked), van/bus & truck: 3-axle"}
    assert LabelSchema.from_dict(kept).names[8].startswith("Car (parked)")
