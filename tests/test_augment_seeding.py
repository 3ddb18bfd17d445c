"""Seeded draws: every step's coin flip and parameters independent within a draw, reproducible from the seed,
and the same in the Lab (augment.draw, ReplayCompose) and in training (apply_seeded, SeededAugmenter)."""
from collections import Counter

import albumentations as A
import numpy as np
import pytest

from segcore import augment as aug

FIVE = ["RandomRain", "HorizontalFlip", "GaussNoise", "Affine", "RandomBrightnessContrast"]
STEPS = [{**aug.default_step(name), "p": 0.5} for name in FIVE]
IGNORE = 11


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), rng.integers(0, 11, (24, 32), dtype=np.uint8)


def _pattern(record) -> str:
    return "".join("1" if r["applied"] else "0" for r in record)


def test_lab_draws_fire_steps_independently(pair):
    image, mask = pair
    patterns = [_pattern(aug.draw(STEPS, image, mask, seed=seed, mask_fill=IGNORE)[2]) for seed in range(400)]
    rates = np.mean([[c == "1" for c in p] for p in patterns], axis=0)
    assert all(0.4 <= rate <= 0.6 for rate in rates), rates
    # Before the fix: 3 of 32 (all steps shared one seed, so one coin flip).
    assert len(Counter(patterns)) >= 28, Counter(patterns)


def test_albumentations_own_seeding_is_what_correlated_the_steps(pair):
    """The cause, pinned: Compose.set_random_seed hands one seed to every step, so their first coins agree."""
    image, _ = pair
    patterns = set()
    for seed in range(100):
        pipeline = A.ReplayCompose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.Transpose(p=0.5)])
        pipeline.set_random_seed(seed)
        patterns.add(_pattern([{"applied": r["applied"]} for r in pipeline(image=image)["replay"]["transforms"]]))
    assert patterns <= {"000", "111"}
    seeded = set()
    for seed in range(100):
        pipeline = aug.seed_pipeline(
            A.ReplayCompose([A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5), A.Transpose(p=0.5)]), seed)
        seeded.add(_pattern([{"applied": r["applied"]} for r in pipeline(image=image)["replay"]["transforms"]]))
    assert len(seeded) == 8


def test_sampled_parameters_differ_between_steps_of_one_draw(pair):
    """Two identical steps in one draw must not sample the same values (one shared seed made them equal)."""
    image, mask = pair
    twin = {**aug.default_step("ColorJitter"), "p": 1.0}
    for seed in range(5):
        record = aug.draw([twin, twin], image, mask, seed=seed)[2]
        assert record[0]["params"] != record[1]["params"]


def test_same_seed_same_draw_and_grid(pair):
    image, mask = pair
    first = aug.draw(STEPS, image, mask, seed=42, mask_fill=IGNORE)
    again = aug.draw(STEPS, image, mask, seed=42, mask_fill=IGNORE)
    assert np.array_equal(first[0], again[0]) and np.array_equal(first[1], again[1]) and first[2] == again[2]
    grid = aug.draw_grid(STEPS, image, mask, n=12, seed=0, mask_fill=IGNORE)
    assert len({_pattern(record) for _, _, record in grid}) >= 5   # the grid shows independent steps too


def test_training_path_is_reproducible_independent_and_matches_the_lab(pair):
    image, mask = pair
    augmenter = aug.SeededAugmenter(aug.to_dict(STEPS, mask_fill=IGNORE))
    for seed in (0, 7, 123456):
        trained = augmenter(image, mask, seed)
        shown = aug.draw(STEPS, image, mask, seed=seed, mask_fill=IGNORE)
        assert np.array_equal(trained[0], shown[0]) and np.array_equal(trained[1], shown[1])
    # Order of calls does not matter: a seed gives its draw whatever ran before.
    later = augmenter(image, mask, 7)
    assert np.array_equal(later[0], aug.draw(STEPS, image, mask, seed=7, mask_fill=IGNORE)[0])
    # Independent steps through apply_seeded on a plain Compose (what SampleLoader holds per thread).
    pipeline = A.from_dict(aug.to_dict(STEPS, mask_fill=IGNORE))
    flips = [(not np.array_equal(out, image), not np.array_equal(out_mask, mask))
             for out, out_mask in (aug.apply_seeded(pipeline, image, mask, aug.draw_seed(3, 0, i))
                                   for i in range(200))]
    # Photometric-only draws (image changed, mask kept) and geometric ones both occur: steps are not all-or-none.
    assert (True, False) in flips and (True, True) in flips


def test_draw_seed_separates_epochs_and_samples():
    seeds = {aug.draw_seed(0, epoch, index) for epoch in range(10) for index in range(100)}
    assert len(seeds) == 1000
    assert aug.draw_seed(5, 1, 2) == aug.draw_seed(5, 1, 2) and 0 <= aug.draw_seed(-1, 0, 0) < 2 ** 32


def test_isolate_runs_one_step_with_its_own_seed(pair):
    image, mask = pair
    only = aug.isolate(STEPS, 3)
    assert [s["p"] for s in only][:3] == [0.0, 0.0, 0.0] and only[4]["p"] == 0 and 0.999 < only[3]["p"] <= 1
    fired_in_pipeline = 0
    for seed in range(20):
        record = aug.draw(only, image, mask, seed=seed, mask_fill=IGNORE)[2]
        assert _pattern(record) == "00010"
        whole = aug.draw(STEPS, image, mask, seed=seed, mask_fill=IGNORE)[2][3]
        if whole["applied"]:        # the same draw as in the whole pipeline: "this step only" shows what it does
            fired_in_pipeline += 1
            assert record[3]["params"] == whole["params"]
    assert fired_in_pipeline >= 5
    always = [{**step, "p": 1.0} for step in STEPS]
    assert aug.isolate(always, 3)[3]["p"] == 1.0              # a step always on draws no coin in either
    with pytest.raises(aug.PipelineError, match="no step 6"):
        aug.isolate(STEPS, 5)


def test_build_pipeline_seed_is_independent_too(pair):
    image, mask = pair
    patterns = Counter()
    for seed in range(200):
        pipeline = aug.build_pipeline(STEPS, replay=True, seed=seed, mask_fill=IGNORE)
        patterns[_pattern([{"applied": r["applied"]}
                           for r in pipeline(image=image, mask=mask)["replay"]["transforms"]])] += 1
    assert len(patterns) >= 24


def test_the_whole_pipelines_cost_is_a_mean_over_draws_not_a_median(pair, monkeypatch):
    """A step firing in 1 draw of 10: a median of draws says 0 ms, what training pays on average is a tenth of it."""
    from segcore.augment import build
    image, mask = pair
    clock, costs = [0.0], iter([0.0] + [0.010 if i % 10 == 0 else 0.0 for i in range(1000)])   # warm-up first

    def run(pipeline, data):
        clock[0] += next(costs)
        return data

    monkeypatch.setattr(build, "_run", run)
    monkeypatch.setattr(build.time, "perf_counter", lambda: clock[0])
    steps = [{**aug.default_step("GaussianBlur"), "p": 0.1}]
    timings = aug.time_steps(steps, image, mask, repeats=5, draws=100)
    assert timings["pipeline"] == pytest.approx(1.0)        # ms: 10 ms in a tenth of the draws
