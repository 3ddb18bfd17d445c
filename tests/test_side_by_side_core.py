"""segcore.pairing (uploaded images and masks paired by name) and segcore.confidence (per-pixel confidence views)."""
from __future__ import annotations

import numpy as np
import pytest

from segcore import frames
from segcore.confidence import confidence_maps, entropy, grey_out, heat_map, unsure
from segcore.pairing import image_key, mask_keys, pair_by_name


# ------------------------------------------------------------------------------------------------ pairing

@pytest.mark.parametrize("image, mask", [
    ("f000.png", "f000.png"),
    ("0001TP_006690.png", "0001TP_006690_L.png"),                                 # CamVid
    ("aachen_000000_000019_leftImg8bit.png", "aachen_000000_000019_gtFine_labelIds.png"),   # Cityscapes
    ("street.jpg", "street_mask.png"),
    ("Street.JPG", "street_label.png"),
    ("a/b/frame7.png", "frame7_labels.png"),
])
def test_masks_pair_with_the_image_they_are_named_after(image, mask):
    other_image, other_mask = "zzz_unrelated.png", "qqq_mask.png"
    pairing = pair_by_name([other_image, image], [mask, other_mask])
    assert pairing.pairs == [(image, mask)]
    assert pairing.lone_images == [other_image] and pairing.lone_masks == [other_mask]


def test_every_pair_is_kept_when_several_images_and_masks_are_uploaded():
    images = ["f000.png", "f001.png", "f002.png"]
    masks = ["f002_mask.png", "f000_L.png"]
    pairing = pair_by_name(images, masks)
    assert pairing.pairs == [("f000.png", "f000_L.png"), ("f002.png", "f002_mask.png")]
    assert pairing.lone_images == ["f001.png"] and pairing.lone_masks == []
    assert pairing.mask_for("f002.png") == "f002_mask.png" and pairing.mask_for("f001.png") is None


def test_a_lone_image_and_a_lone_mask_pair_whatever_their_names():
    assert pair_by_name(["photo.png"], ["gt.png"]).pairs == [("photo.png", "gt.png")]


def test_an_exact_name_wins_and_a_mask_pairs_once():
    pairing = pair_by_name(["a.png", "a_leftImg8bit.png"], ["a.png"])
    assert pairing.pairs == [("a.png", "a.png")] and pairing.lone_images == ["a_leftImg8bit.png"]


def test_two_masks_for_one_image_are_a_clash_that_is_said():
    pairing = pair_by_name(["f1.png", "f2.png"], ["f1_mask.png", "f1_label.png"])
    assert pairing.pairs == [] and pairing.clashes == {"f1.png": ["f1_mask.png", "f1_label.png"]}
    assert any("several masks" in line and "f1.png" in line for line in pairing.problems())


def test_unpaired_masks_are_said_with_what_to_do():
    problems = pair_by_name(["f1.png", "f2.png"], ["other.png"]).problems()
    assert len(problems) == 1 and "other.png" in problems[0] and "name a mask like its image" in problems[0]


def test_images_pairing_under_one_name_are_said():
    pairing = pair_by_name(["A.png", "a.jpg", "b.png"], ["a_mask.png"])
    assert pairing.pairs == [("A.png", "a_mask.png")]
    assert any("A.png and a.jpg pair under one name" in line and "rename one" in line for line in pairing.problems())
    assert not pair_by_name(["A.png", "a.jpg"], []).problems()           # no mask: nothing goes astray


def test_masks_named_as_train_ids_pair_and_are_read_as_train_ids():
    from segcore.labels import train_id_schema
    from segcore.imageio import read_mask
    from segcore.labels import CITYSCAPES
    from segcore.pairing import holds_train_ids
    from test_imageio import png_bytes
    image, mask = "aachen_000000_000019_leftImg8bit.png", "aachen_000000_000019_gtFine_labelTrainIds.png"
    assert pair_by_name([image, "other.png"], [mask, "x_mask.png"]).pairs == [(image, mask)]
    assert holds_train_ids(mask) and holds_train_ids("f1_trainIds.png") and not holds_train_ids("f1_labelIds.png")
    train_ids = np.array([[0, 13, 8, 255]], dtype=np.uint8)                # road, car, vegetation, void
    as_train_ids = read_mask(png_bytes(train_ids, "L"), train_id_schema(CITYSCAPES))
    assert as_train_ids.tolist() == train_ids.tolist()
    assert read_mask(png_bytes(train_ids[:, :3], "L"), CITYSCAPES).tolist() != [[0, 13, 8]]   # as label ids: wrong


def test_keys():
    assert image_key("x/aachen_1_2_leftImg8bit.png") == "aachen_1_2"
    assert mask_keys("aachen_1_2_gtFine_labelIds.png") == ("aachen_1_2_gtfine_labelids", "aachen_1_2")
    assert mask_keys("_L.png") == ("_l",)            # a suffix alone is a name, not an empty key


# ------------------------------------------------------------------------------------------------ confidence

def test_entropy_is_zero_for_one_hot_and_one_for_uniform():
    one_hot = np.zeros((2, 3, 4), np.float32)
    one_hot[..., 1] = 1
    assert np.allclose(entropy(one_hot), 0, atol=1e-6)
    assert np.allclose(entropy(np.full((2, 3, 4), 0.25, np.float32)), 1, atol=1e-6)


def test_confidence_maps_are_at_the_image_size_and_line_up_with_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 8, 5)).astype(np.float32)
    probabilities = frames.probabilities(logits, "logits")
    maps = confidence_maps(probabilities, (12, 16))
    assert maps.confidence.shape == maps.entropy.shape == (12, 16)
    labels, top = frames.top_class(probabilities, (12, 16))
    assert np.allclose(maps.confidence, top)                                   # the label map's own top score
    assert np.all((maps.confidence >= 1 / 5 - 1e-6) & (maps.confidence <= 1))
    assert np.all((maps.entropy >= 0) & (maps.entropy <= 1))
    # At the model's own size nothing is resized: exactly the arg-max probability and its entropy.
    same = confidence_maps(probabilities, (6, 8))
    assert np.allclose(same.confidence, probabilities.max(axis=-1)) and np.allclose(same.entropy, entropy(probabilities))


def test_confidence_and_entropy_disagree_where_they_should():
    sure = np.array([0.97, 0.01, 0.01, 0.01], np.float32)
    torn = np.array([0.5, 0.5, 0.0, 0.0], np.float32)
    probabilities = np.stack([sure, torn])[None]                              # (1, 2, 4)
    maps = confidence_maps(probabilities, (1, 2))
    assert maps.confidence[0, 0] > maps.confidence[0, 1] and maps.entropy[0, 0] < maps.entropy[0, 1]


def test_threshold_greys_out_only_unsure_pixels():
    confidence = np.array([[0.9, 0.4], [0.6, 0.2]], np.float32)
    low = unsure(confidence, 0.5)
    assert low.tolist() == [[False, True], [False, True]]
    assert not unsure(confidence, 0.0).any() and unsure(confidence, 1.0).all()
    image = np.full((2, 2, 3), 200, np.uint8)
    overlay = np.zeros((2, 2, 3), np.uint8)
    overlay[...] = (255, 0, 0)
    out = grey_out(overlay, image, low)
    assert (out[~low] == (255, 0, 0)).all()                                   # sure pixels keep their colour
    assert (out[low][:, 0] == out[low][:, 1]).all() and (out[low][:, 1] == out[low][:, 2]).all()   # grey
    with pytest.raises(ValueError, match="threshold"):
        unsure(confidence, 1.5)


def test_heat_map_is_rgb_and_ordered():
    picture = heat_map(np.array([[0.0, 1.0]], np.float32))
    assert picture.shape == (1, 2, 3) and picture.dtype == np.uint8
    assert picture[0, 1].sum() > picture[0, 0].sum()                          # viridis: dark low, bright high


def test_two_uploads_of_one_name_keep_their_extension_and_pair_copy_with_copy():
    from app.uploads import unique_name
    images = ["x.png", unique_name("x.png", {"x.png"})]
    masks = ["x_mask.png", unique_name("x_mask.png", {"x_mask.png"})]
    assert images[1] == "x (2).png" and masks[1] == "x_mask (2).png"
    assert pair_by_name(images, masks).pairs == [("x.png", "x_mask.png"), ("x (2).png", "x_mask (2).png")]
    assert unique_name("unet", {"unet"}) == "unet (2)"                      # a run name has no extension


def test_void_is_one_row_of_the_shares_whatever_each_schemas_ignore_index():
    import pandas as pd
    from types import SimpleNamespace

    from segcore import compare

    def view(ignore_index, void_share):
        rows = pd.MultiIndex.from_tuples([(0, "road"), (ignore_index, "void")], names=["id", "class"])
        return SimpleNamespace(shares=pd.DataFrame({"share": [1 - void_share, void_share]}, index=rows))
    table = compare.shares_table({"camvid": view(11, 0.455), "cityscapes": view(255, 0.551)})
    assert list(table.index) == ["road", "void"] and table.loc["void"].tolist() == [45.5, 55.1]
