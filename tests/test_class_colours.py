"""Custom class colours (segcore.class_colours, the pages' "Class colours" sidebar): they change what is drawn and
never what the schema is; files and uploads that can't be used are refused in one line."""
from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest
from evaluation_fixtures import RUNS, make_data, make_models

from segcore import class_colours, compare, figures, review, runs
from segcore.cli import main
from segcore.frame_views import outline
from segcore.labels import CAMVID11, LabelSchema, category_schema
from test_app_pages import LAB, folders, labelled, run_page, texts  # noqa: F401 - folders is a fixture
from test_review import pictures_by_frame

MAGENTA = (255, 0, 255)
ROAD, SKY = CAMVID11.names.index("Road"), CAMVID11.names.index("Sky")


def _labels() -> np.ndarray:
    labels = np.full((6, 8), ROAD, dtype=np.uint8)
    labels[:2] = SKY
    labels[5, 7] = CAMVID11.ignore_index
    return labels


# ------------------------------------------------------------------------------------------------ the schema

def test_recoloured_schema_draws_the_picked_colour_and_stays_the_same_schema():
    recoloured = CAMVID11.recolored({"Road": MAGENTA})
    labels = _labels()
    assert recoloured == CAMVID11 and recoloured.to_dict() == CAMVID11.to_dict()
    assert LabelSchema.from_dict(recoloured.to_dict()).display_colors.tolist() == CAMVID11.colors.tolist()
    drawn = recoloured.colorize(labels)
    assert tuple(drawn[3, 3]) == MAGENTA and tuple(drawn[0, 0]) == CAMVID11.classes[SKY].color
    assert tuple(drawn[5, 7]) == CAMVID11.void_color
    # A colour mask file keeps the schema's own colours, and reads back to the same labels.
    mask = recoloured.color_mask(labels)
    assert tuple(mask[3, 3]) == CAMVID11.classes[ROAD].color
    assert np.array_equal(recoloured.decode_color(mask), labels)
    with pytest.raises(ValueError, match="not in the camvid11 palette"):
        recoloured.decode_color(drawn)          # the picked colour is no class of the schema


def test_overlays_outlines_and_legends_use_the_picked_colour():
    recoloured = CAMVID11.recolored({"Road": MAGENTA})
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    assert tuple(figures.overlay(image, _labels(), recoloured, alpha=1.0)[3, 3]) == MAGENTA
    assert tuple(outline(image, _labels(), recoloured)[2, 3]) == MAGENTA          # the road's edge under the sky
    legend = figures.legend_html(recoloured, [ROAD])
    assert "#ff00ff" in legend and figures.legend_html(CAMVID11, [ROAD]).count("#ff00ff") == 0
    assert figures.class_shares(_labels(), recoloured).loc[ROAD, "color"] == "#ff00ff"


def test_recolouring_twice_keeps_the_first_pick_and_back_to_own_colours_is_the_plain_schema():
    twice = CAMVID11.recolored({"Road": MAGENTA}).recolored({"Sky": (1, 2, 3)})
    assert tuple(twice.display_colors[ROAD]) == MAGENTA and tuple(twice.display_colors[SKY]) == (1, 2, 3)
    back = twice.recolored({"Road": CAMVID11.classes[ROAD].color, "Sky": CAMVID11.classes[SKY].color})
    assert back.shown_colors == ()


@pytest.mark.parametrize("colours, words", [
    ({"Raod": MAGENTA}, "the camvid11 schema has no class 'Raod' (its classes: Sky, Building"),
    ({"Road": (256, 0, 0)}, "the colour for 'Road' must be three integers 0..255"),
    ({"Road": (1, 2)}, "the colour for 'Road' must be three integers"),
])
def test_a_bad_recolouring_is_one_line(colours, words):
    with pytest.raises(ValueError) as err:
        CAMVID11.recolored(colours)
    assert words in str(err.value) and "\n" not in str(err.value)


# ------------------------------------------------------------------------------------------------ the file format

def test_colours_read_as_hex_or_rgb_and_write_back_the_same(tmp_path):
    text = json.dumps({"camvid11": {"Road": "#FF00ff", "Sky": [0, 255, 255]}, "categories": {"flat": "ffff00"},
                       "cityscapes": {}})
    choices = class_colours.from_json(text)
    assert choices == {"camvid11": {"Road": MAGENTA, "Sky": (0, 255, 255)}, "categories": {"flat": (255, 255, 0)}}
    previous = os.umask(0o027)
    try:
        path = class_colours.write(tmp_path / "colours.json", choices)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert class_colours.read(path) == choices
    assert json.loads(path.read_text())["camvid11"]["Road"] == "#ff00ff"


@pytest.mark.parametrize("text, words", [
    ("[1, 2]", "class colours must be an object of schema name -> {class name: colour}, got list"),
    ('{"camvid11": ["#ff00ff"]}', "class colours for 'camvid11' must be an object of class name -> colour"),
    ('{"camvid11": {"Road": "magenta"}}', "the colour of camvid11 'Road' must be \"#rrggbb\" or [R, G, B]"),
    ('{"camvid11": {"Road": [255, 0, true]}}', "must be \"#rrggbb\" or [R, G, B] with integers 0..255"),
    ('{"camvid11": {"Road": "#ff00ff"', "class colours are not JSON"),
    ("[" * 100_000, "class colours are not JSON"),
])
def test_colours_that_cant_be_used_are_one_line(text, words):
    with pytest.raises(ValueError) as err:
        class_colours.from_json(text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_a_huge_or_missing_file_is_refused_in_one_line(tmp_path):
    with pytest.raises(ValueError, match="at most 1024 KiB"):
        class_colours.from_json(b" " * (class_colours.MAX_FILE_BYTES + 1))
    with pytest.raises(ValueError, match="no such file"):
        class_colours.read(tmp_path / "none.json")


def test_apply_passes_over_names_a_schema_lacks_and_check_refuses_them():
    choices = {"camvid11": {"Road": MAGENTA, "Lane": (1, 2, 3)}}
    assert tuple(class_colours.apply(CAMVID11, choices).display_colors[ROAD]) == MAGENTA
    assert class_colours.apply(category_schema(), choices).shown_colors == ()
    with pytest.raises(ValueError, match="has no class 'Lane'"):
        class_colours.check(choices, [CAMVID11])


# ------------------------------------------------------------------------------------------------ where it is drawn

def test_a_model_view_draws_in_the_picked_colours_and_its_colour_mask_stays_the_schemas():
    image = np.zeros((6, 8, 3), dtype=np.uint8)
    view = compare.model_view(image, _labels(), CAMVID11, alpha=1.0, colours={"camvid11": {"Road": MAGENTA}})
    assert tuple(view.overlay[3, 3]) == MAGENTA and "#ff00ff" in view.legend
    assert tuple(view.color[3, 3]) == CAMVID11.classes[ROAD].color
    flat = category_schema().names.index("flat")
    folded = compare.model_view(image, _labels(), CAMVID11, level="category", alpha=1.0,
                                colours={"categories": {"flat": (255, 255, 0)}})
    assert tuple(folded.overlay[3, 3]) == (255, 255, 0) and tuple(folded.color[3, 3]) == category_schema().classes[
        flat].color
    pictures = compare.comparison_pictures(image, _labels(), {"m": _labels()}, CAMVID11,
                                           colours={"camvid11": {"Road": MAGENTA}})
    assert tuple(pictures["ground truth"][3, 3]) == MAGENTA and tuple(pictures["m"][3, 3]) == MAGENTA


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    data = make_data(tmp_path_factory.mktemp("colours") / "data")
    return make_models(data.parent / "models", data, fmt=3)


def test_the_review_page_draws_its_frames_and_legend_in_the_picked_colours(models, tmp_path):
    opened = [runs.open_run(models / name) for name in RUNS]
    plain, _ = review.write_review(opened, tmp_path / "plain.html")
    picked, _ = review.write_review(opened, tmp_path / "picked.html", colours={"camvid11": {"Road": MAGENTA}})
    before, after = pictures_by_frame(plain.read_text()), pictures_by_frame(picked.read_text())
    own = np.array(CAMVID11.classes[ROAD].color)
    for frame, pictures in before.items():
        for (caption, old), (_, new) in zip(pictures[1:], after[frame][1:], strict=True):
            road = (old == own).all(axis=-1)
            assert road.any(), caption
            assert (new[road] == MAGENTA).all() and np.array_equal(new[~road], old[~road])
    assert "#ff00ff" in picked.read_text() and "#ff00ff" not in plain.read_text()


def test_the_review_command_takes_a_colours_file_and_refuses_a_bad_one_in_one_line(models, tmp_path, capsys):
    folders = [str(models / name) for name in RUNS]
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"camvid11": {"Road": "#ff00ff"}}))
    bad.write_text(json.dumps({"camvid11": {"Raod": "#ff00ff"}}))
    out = tmp_path / "review.html"
    assert main(["review", "--runs", *folders, "--out", str(out), "--class-colours", str(good)]) == 0
    assert "#ff00ff" in out.read_text()
    out.unlink()
    assert main(["review", "--runs", *folders, "--out", str(out), "--class-colours", str(bad)]) == 2
    error = capsys.readouterr().err
    assert "no class 'Raod'" in error and len(error.strip().splitlines()) == 1 and not out.exists()


# ------------------------------------------------------------------------------------------------ the sidebar (AppTest)

def _picker(at):
    return next(p for p in at.sidebar.color_picker if p.key.startswith("cc_pick"))


def test_the_lab_draws_a_picked_colour_and_reset_brings_the_schemas_back(folders):
    at = run_page(LAB)
    at.sidebar.selectbox(key="cc_class_camvid11").select("Road").run()
    assert _picker(at).value == "#804080"                           # CamVid's road, as the schema has it
    _picker(at).set_value("#ff00ff").run()
    assert not at.exception
    assert at.session_state["class_colours"] == {"camvid11": {"Road": MAGENTA}}
    legends = [str(block.proto.body) for block in at.get("html")]
    assert any("#ff00ff" in legend for legend in legends)
    labelled(at.sidebar.button, "Reset colours").click().run()
    assert at.session_state["class_colours"] == {} and _picker(at).value == "#804080"
    assert not any("#ff00ff" in str(block.proto.body) for block in at.get("html"))


def test_a_loaded_file_applies_and_a_bad_one_is_one_line_and_changes_nothing(folders):
    at = run_page(LAB)
    uploader = labelled(at.sidebar.file_uploader, "Load colours (JSON)")
    uploader.set_value(("mine.json", b'{"camvid11": {"Road": "#ff00ff"}}', "application/json")).run()
    assert at.session_state["class_colours"] == {"camvid11": {"Road": MAGENTA}} and not at.error
    at.sidebar.selectbox(key="cc_class_camvid11").select("Road").run()
    assert _picker(at).value == "#ff00ff"
    uploader = labelled(at.sidebar.file_uploader, "Load colours (JSON)")
    uploader.set_value(("typo.json", b'{"camvid11": {"Raod": "#00ff00"}}', "application/json")).run()
    error = texts(at, "error")
    assert error.startswith("typo.json was not loaded: the camvid11 schema has no class 'Raod'") and "\n" not in error
    assert at.session_state["class_colours"] == {"camvid11": {"Road": MAGENTA}}


def test_predict_draws_overlays_in_the_picked_colours_and_refuses_them_for_mask_files(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from segcore import outputs
    from segcore.imageio import read_image, write_png

    class Fixed:                    # the model's part is tested with real runs elsewhere; this is about drawing
        def __init__(self, run, tta=None):
            self.schema = CAMVID11

        def predict(self, image):
            return SimpleNamespace(labels=_labels())

    monkeypatch.setattr(outputs, "Predictor", Fixed)
    photo = write_png(tmp_path / "photo.png", np.full((6, 8, 3), 40, np.uint8))
    picked = {"camvid11": {"Road": MAGENTA}}
    for fmt in ("color", "labels"):
        with pytest.raises(ValueError, match=f"class colours draw overlays only; a {fmt} file keeps"):
            outputs.predict_files("run", [photo], tmp_path / fmt, fmt=fmt, colours=picked)
        assert not (tmp_path / fmt).exists()
    with pytest.raises(ValueError, match="has no class 'Raod'"):
        outputs.predict_files("run", [photo], tmp_path / "typo", fmt="overlay", colours={"camvid11": {"Raod": MAGENTA}})
    [drawn] = outputs.predict_files("run", [photo], tmp_path / "picked", fmt="overlay", colours=picked)
    [plain] = outputs.predict_files("run", [photo], tmp_path / "plain", fmt="overlay")
    assert tuple(read_image(drawn)[3, 3]) == (148, 20, 148)                    # (40 + 255) / 2, 40 / 2
    assert tuple(read_image(plain)[3, 3]) == (84, 52, 84)                      # CamVid's road (128, 64, 128)
    assert np.array_equal(read_image(drawn)[:2], read_image(plain)[:2])        # the sky keeps its colour


def test_an_operators_colours_file_starts_every_session_and_reset_returns_to_it(folders, tmp_path, monkeypatch):
    palette = tmp_path / "team-colours.json"
    palette.write_text(json.dumps({"camvid11": {"Road": "#ff00ff"}}))
    monkeypatch.setenv("SEGLAB_CLASS_COLOURS", str(palette))
    at = run_page(LAB)
    assert at.session_state["class_colours"] == {"camvid11": {"Road": MAGENTA}}
    assert any("#ff00ff" in str(block.proto.body) for block in at.main.get("html"))
    at.sidebar.selectbox(key="cc_class_camvid11").select("Sky").run()
    _picker(at).set_value("#00ffff").run()
    assert at.session_state["class_colours"]["camvid11"] == {"Road": MAGENTA, "Sky": (0, 255, 255)}
    labelled(at.sidebar.button, "Reset colours").click().run()
    assert at.session_state["class_colours"] == {"camvid11": {"Road": MAGENTA}}
    assert labelled(at.sidebar.button, "Reset colours").disabled


@pytest.mark.parametrize("content, words", [
    ('{"camvid11": {"Road": "pink"}}', "SEGLAB_CLASS_COLOURS not used: team-colours.json: the colour of camvid11"),
    (None, "SEGLAB_CLASS_COLOURS not used: unreadable JSON"),
])
def test_an_operators_colours_file_that_cant_be_used_is_said_and_the_page_still_works(folders, tmp_path,
                                                                                      monkeypatch, content, words):
    palette = tmp_path / "team-colours.json"
    if content is not None:
        palette.write_text(content)
    monkeypatch.setenv("SEGLAB_CLASS_COLOURS", str(palette))
    at = run_page(LAB)
    assert words in texts(at, "error") and at.session_state["class_colours"] == {}
    assert at.main.get("html")                                          # the preview's legend still drawn
