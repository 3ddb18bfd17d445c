"""segcore.augment.stats and `segcore augment stats`: firing rates, on/off combinations, class shares."""
import json

import numpy as np
import pytest

from conftest import make_camvid_like
from segcore import augment as aug
from segcore.cli import main
from segcore.datasets import list_pairs
from segcore.labels import CAMVID11

FIVE = [{**aug.default_step(name), "p": 0.5}
        for name in ("RandomRain", "HorizontalFlip", "GaussNoise", "Affine", "RandomBrightnessContrast")]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_camvid_like(tmp_path_factory.mktemp("stats") / "data", splits=(("train", 3), ("val", 1)),
                            size=(24, 32))


@pytest.fixture(scope="module")
def five_file(tmp_path_factory):
    return aug.save_pipeline(FIVE, tmp_path_factory.mktemp("pipelines") / "five.json", mask_fill=11)


def test_stats_of_five_half_probability_steps(data):
    frames = aug.DatasetFrames(list_pairs(data, "train"), CAMVID11)
    stats = aug.augmentation_stats(FIVE, frames, draws=400, seed=0, schema=CAMVID11)
    assert stats["steps"] == ["0:RandomRain", "1:HorizontalFlip", "2:GaussNoise", "3:Affine",
                              "4:RandomBrightnessContrast"]
    assert all(0.4 <= rate <= 0.6 for rate in stats["applied_rate"].values()), stats["applied_rate"]
    assert len(stats["combinations"]) >= 28 and sum(stats["combinations"].values()) == 400
    assert all(len(key) == 5 and set(key) <= {"0", "1"} for key in stats["combinations"])
    counts = list(stats["combinations"].values())
    assert counts == sorted(counts, reverse=True)
    # Each combination's on-steps agree with the per-step rates.
    fired_rain = sum(n for key, n in stats["combinations"].items() if key[0] == "1")
    assert fired_rain / 400 == stats["applied_rate"]["0:RandomRain"]
    before, after = stats["class_shares"]["before"], stats["class_shares"]["after"]
    assert set(before) == set(CAMVID11.names) | {"void"}
    assert sum(before.values()) == pytest.approx(1) and sum(after.values()) == pytest.approx(1)
    assert after["void"] > before["void"]        # Affine pushes pixels out of frame: they become void
    assert stats == aug.augmentation_stats(FIVE, frames, draws=400, seed=0, schema=CAMVID11)   # reproducible
    assert stats["combinations"] != aug.augmentation_stats(FIVE, frames, draws=400, seed=1,
                                                           schema=CAMVID11)["combinations"]
    json.dumps(stats)


def test_stats_follow_the_configured_probabilities():
    image = np.zeros((8, 8, 3), np.uint8)
    steps = [{**aug.default_step("HorizontalFlip"), "p": 1.0}, {**aug.default_step("Blur"), "p": 0.0},
             {**aug.default_step("ToGray"), "p": 0.2}]
    stats = aug.augmentation_stats(steps, [(image, None)], draws=300, seed=4)
    assert stats["applied_rate"]["0:HorizontalFlip"] == 1.0 and stats["applied_rate"]["1:Blur"] == 0.0
    assert 0.12 <= stats["applied_rate"]["2:ToGray"] <= 0.28
    assert set(stats["combinations"]) == {"100", "101"} and stats["class_shares"] is None


@pytest.mark.parametrize("draws", [0, -3, 2.5, True, aug.stats.MAX_DRAWS + 1])
def test_stats_refuse_bad_draw_counts(draws):
    with pytest.raises(aug.PipelineError, match="draws must be"):
        aug.augmentation_stats(FIVE, [(np.zeros((8, 8, 3), np.uint8), None)], draws=draws)


def test_cli_json(data, five_file, capsys):
    assert main(["augment", "stats", str(five_file), "--data", str(data), "--draws", "400", "--seed", "3",
                 "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert set(stats["applied_rate"]) == {f"{i}:{s['name']}" for i, s in enumerate(FIVE)}
    assert all(0.4 <= rate <= 0.6 for rate in stats["applied_rate"].values())
    assert len(stats["combinations"]) >= 28 and stats["draws"] == 400 and stats["frames"] == 3
    assert main(["augment", "stats", str(five_file), "--data", str(data), "--split", "val", "--draws", "5",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 1


def test_cli_table(data, five_file, capsys):
    assert main(["augment", "stats", str(five_file), "--data", str(data), "--draws", "64"]) == 0
    out = capsys.readouterr().out
    assert "64 draws over 3 frame(s), seed 0" in out and "3:Affine" in out
    assert "of 32 seen" in out and "void" in out and "before" in out


@pytest.mark.parametrize("content, words", [
    ('{"transform": {"__class_fullname__": "Compose", "p": 1, "transforms": ['
     '{"__class_fullname__": "Resize", "p": 1, "height": 100000, "width": 100000}]}}', ["Resize"]),
    ("a: &x [1]\nb: *x\n", ["aliases"]),
    ('{"hello": 1}', ["bad.yaml: not an albumentations pipeline"]),        # the file is named
])
def test_cli_refuses_what_training_refuses(data, tmp_path, capsys, content, words):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert main(["augment", "stats", str(path), "--data", str(data), "--draws", "3"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("segcore augment: error:") and "\n" not in err and all(w in err for w in words), err


def test_cli_help_texts():
    from segcore.cli import parser
    stats = parser()._subparsers._group_actions[0].choices["augment"]._subparsers._group_actions[0].choices["stats"]
    for action in stats._actions:
        assert action.help, action.dest
