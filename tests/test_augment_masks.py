"""Masks move exactly with their images: resizing steps use OpenCV's exact nearest neighbour (the plain one shifts a
resized mask against its image), a transform that leaves pixels unlabelled as class 0 is refused with its reason,
and a resume goes on with the pipeline its run began with when only SegLab's own arguments have changed since."""
from __future__ import annotations

import albumentations as A
import cv2
import numpy as np
import pytest

from segcore import augment as aug
from segcore.augment.files import portable
from segcore.train_config import pipeline_to_resume


def coordinates(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """An image and a mask that both say where each pixel came from (mask: its column, 0-159)."""
    columns = np.broadcast_to(np.arange(width, dtype=np.uint8), (height, width))
    return np.dstack([columns] * 3).copy(), columns.copy()


@pytest.mark.parametrize("name, params", [("LongestMaxSize", {"max_size": 40}), ("SmallestMaxSize", {"max_size": 40}),
                                          ("RandomScale", {"scale_limit": (-0.75, -0.75)})])
def test_a_resizing_step_keeps_the_mask_on_its_image(name, params):
    image, mask = coordinates(160, 160)
    pipeline = aug.build_pipeline([{"name": name, "params": params, "p": 1.0}], seed=1, mask_fill=255)
    out_image, out_mask = aug.apply(pipeline, image, mask)
    assert out_mask.shape == (40, 40)
    # Exact nearest neighbour takes the source pixel nearest each target pixel's centre: 4 i + 1.5 -> 4 i + 2
    # (the plain INTER_NEAREST took 4 i, 1.5 pixels left of the image's linear sample at 4 i + 1.5).
    assert np.array_equal(out_mask[0], np.arange(40) * 4 + 2)
    assert np.abs(out_mask.astype(int) - out_image[..., 0].astype(int)).max() <= 1


def test_crop_and_pad_gives_padding_the_ignore_label_and_keeps_real_pixels():
    image, mask = coordinates(64, 64)
    image, mask = image * 2 + 60, mask + 1            # no real pixel is 0 or 255: the fills are
    step = {"name": "CropAndPad", "params": {"percent": (0.1, 0.25), "fill": (0, 0, 0)}, "p": 1.0}
    for seed in range(10):
        out_image, out_mask = aug.apply(aug.build_pipeline([step], seed=seed, mask_fill=255), image, mask)
        padding = (out_image == 0).all(axis=-1)
        assert padding.any()
        # The image is resized linearly, so pixels on the padding's edge blend both: judge the pixels off that edge.
        near_padding, near_real = (cv2.dilate(region.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
                                   for region in (padding, ~padding))
        assert (out_mask[padding & ~near_real] == 255).all(), seed
        assert (out_mask[~padding & ~near_padding] != 255).all(), seed


def test_grid_elastic_deform_is_refused_with_its_reason():
    with pytest.raises(aug.PipelineError, match="leaves seams of uncovered pixels.*use ElasticTransform"):
        aug.steps_from_pipeline(A.Compose([A.GridElasticDeform(num_grid_xy=(4, 4), magnitude=10)]))


def test_a_sun_flare_radius_off_the_slider_step_is_accepted():
    assert aug.validate_steps([{"name": "RandomSunFlare", "params": {"src_radius": 155}}])[0]["params"]["src_radius"] \
        == 155


def test_a_resume_goes_on_with_its_runs_pipeline_when_only_managed_arguments_changed():
    steps = [{"name": "RandomScale", "params": {"scale_limit": (-0.5, 0.5)}, "p": 1.0}]
    now = portable(A.to_dict(aug.build_pipeline(steps, mask_fill=11)))
    began = portable(A.to_dict(aug.build_pipeline(steps, mask_fill=11)))
    began["transform"]["transforms"][0]["mask_interpolation"] = cv2.INTER_NEAREST    # as runs before the change
    assert now["transform"]["transforms"][0]["mask_interpolation"] == cv2.INTER_NEAREST_EXACT
    assert pipeline_to_resume(began, now) is began
    other = portable(A.to_dict(aug.build_pipeline([{**steps[0], "p": 0.5}], mask_fill=11)))
    assert pipeline_to_resume(began, other) is other            # asked for other steps: resume_differences says so
    assert pipeline_to_resume(None, now) is now
