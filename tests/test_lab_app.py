"""The Augmentation Lab page under AppTest: uploads are never paths, hostile pipelines give one-line errors,
"this step only", statistics, and a grid of independent draws."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app import lab
from segcore import augment
from test_app_pages import LAB, folders, labelled, run_page, texts  # noqa: F401 - folders is a fixture
from test_augment_limits import alias_bomb, document

FIVE = ("RandomRain", "HorizontalFlip", "GaussNoise", "Affine", "RandomBrightnessContrast")


def _import(at, name: str, content: bytes):
    labelled(at.file_uploader, "Import a saved pipeline").set_value((name, content, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _with_items(at, items):
    at.session_state["lab_items"] = items
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _grid_captions(at) -> list[str]:
    return [c for image in at.get("image") for c in image.captions if c.startswith("seed ")]


def _page_text(at) -> str:
    kinds = ("error", "warning", "info", "markdown", "caption", "text", "code")
    return "\n".join(texts(at, kind) for kind in kinds)


@pytest.mark.parametrize("as_path", ["temp file", "/etc/hostname"])
def test_import_treats_the_upload_as_the_pipeline_never_as_a_path(folders, tmp_path, as_path):
    server_file = tmp_path / "server-side.yaml"
    server_file.write_text(augment.dumps_pipeline([{**augment.default_step("RandomSunFlare"), "p": 0.7}], "yaml"))
    path = str(server_file) if as_path == "temp file" else "/etc/hostname"
    at = _import(run_page(LAB), "x.yaml", path.encode())
    assert lab.steps_of(at.session_state["lab_items"]) == augment.light_weather()   # nothing loaded from the server
    error = texts(at, "error")
    assert error.startswith("x.yaml: ") and "not an albumentations pipeline" in error and "\n" not in error, error
    server_text = Path(path).read_text() if Path(path).is_file() else ""
    shown = _page_text(at)
    assert "RandomSunFlare" not in shown
    if server_text.strip():
        assert server_text.strip() not in error                         # no server file content on the page


@pytest.mark.parametrize("name, content, words", [
    ("bomb.yaml", alias_bomb().encode(), ["aliases are not allowed"]),
    ("hm.json", json.dumps(document({"__class_fullname__": "HistogramMatching", "p": 1})).encode(),
     ["HistogramMatching"]),
    ("nested.json", b"[" * 2_500_000 + b"]" * 2_500_000, ["at most 1,000,000"]),
    ("deep.json", b"[" * 400_000 + b"]" * 400_000, ["nested too deeply"]),
    ("resize.json", json.dumps(document({"__class_fullname__": "Resize", "p": 1, "height": 100000,
                                         "width": 100000})).encode(), ["not in the catalogue: Resize"]),
    ("nan.json", json.dumps(document({"__class_fullname__": "RandomBrightnessContrast", "p": 1,
                                      "brightness_limit": [float("nan"), float("nan")]})).encode(), ["finite"]),
])
def test_import_refuses_hostile_pipelines_in_one_line(folders, name, content, words):
    at = _import(run_page(LAB), name, content)
    error = texts(at, "error")
    assert error.startswith(f"{name}: ") and "\n" not in error and all(w in error for w in words), error
    assert lab.steps_of(at.session_state["lab_items"]) == augment.light_weather()      # unchanged
    good = augment.dumps_pipeline([augment.default_step("HorizontalFlip")], "json").encode()
    _import(at, "good.json", good)                                      # the app keeps serving
    assert [i["name"] for i in at.session_state["lab_items"]] == ["HorizontalFlip"] and not at.error


def test_this_step_only_isolates_one_step_and_says_so(folders):
    at = run_page(LAB)
    items = [{**lab.new_item(name), "p": 0.5} for name in ("HorizontalFlip", "GaussNoise", "Affine")]
    _with_items(at, items)
    first, second, third = (item["uid"] for item in items)
    at.toggle(key=f"lab-{second}-only").set_value(True).run()
    assert at.session_state["lab_only"] == second
    assert "Showing step 2 (GaussNoise) alone" in texts(at, "warning")
    assert [e.label for e in at.main.expander][1].endswith("SHOWN ALONE")
    assert not any(e.label.endswith("SHOWN ALONE") for i, e in enumerate(at.main.expander) if i != 1)
    record = at.dataframe[0].value
    assert list(record["applied"]) == [False, True, False]              # the preview runs only that step
    captions = _grid_captions(at)
    assert captions and all(c.endswith("fired 2") for c in captions), captions
    at.toggle(key=f"lab-{third}-only").set_value(True).run()            # one step at a time
    assert at.session_state["lab_only"] == third and at.toggle(key=f"lab-{second}-only").value is False
    assert list(at.dataframe[0].value["applied"]) == [False, False, True]
    labelled(at.button, "All steps").click().run()
    assert at.session_state["lab_only"] is None and not at.warning
    assert at.toggle(key=f"lab-{third}-only").value is False


def test_grid_shows_independent_steps(folders):
    at = run_page(LAB)
    _with_items(at, [{**lab.new_item(name), "p": 0.5} for name in FIVE])
    labelled(at.slider, "Draws").set_value(12).run()
    captions = _grid_captions(at)
    assert len(captions) == 12
    patterns = {c.split(" · ")[1] for c in captions}
    assert len(patterns) >= 5, captions                                 # before the fix: all or nothing


def test_statistics_tab_computes_once_and_shows_independent_steps(folders, monkeypatch):
    calls = []
    compute = augment.augmentation_stats

    def counting(*args, **kwargs):
        calls.append(kwargs["draws"])
        return compute(*args, **kwargs)

    monkeypatch.setattr(augment, "augmentation_stats", counting)
    at = run_page(LAB)
    _with_items(at, [{**lab.new_item(name), "p": 0.5} for name in FIVE])
    labelled(at.slider, "Number of draws").set_value(400).run()
    labelled(at.button, "Compute statistics").click().run()
    assert not at.exception and calls == [400]
    summary = next(m.value for m in at.markdown if "on/off combinations" in m.value)
    seen = int(summary.split("**")[1].split(" of ")[0])
    assert seen >= 28 and "of 32" in summary
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    steps = tables[("step", "p", "fired")]
    assert list(steps["step"]) == [f"{i + 1}. {n}" for i, n in enumerate(FIVE)]
    assert all(0.4 <= f <= 0.6 for f in steps["fired"])
    assert "void" in set(tables[("class", "before", "after", "change")]["class"])
    labelled(at.slider, "Mask opacity").set_value(0.3).run()            # an unrelated rerun: no recompute
    assert calls == [400] and any("on/off combinations" in m.value for m in at.markdown)
    labelled(at.slider, "Number of draws").set_value(100).run()         # changed inputs: asks to compute again
    assert calls == [400] and "compute again" in texts(at, "info")


@pytest.mark.parametrize("name", ["RandomCrop", "CenterCrop"])
def test_a_crop_larger_than_the_frame_without_padding_is_a_one_line_error(folders, name):
    # albumentations' CropSizeError is no ValueError: it reached the page as a traceback.
    at = run_page(LAB)
    item = lab.new_item(name)
    item["params"].update(height=4096, width=4096, pad_if_needed=False)
    _with_items(at, [{**item, "p": 1.0}])
    [error] = at.error
    assert "can't be drawn on this" in error.value and "\n" not in error.value, error.value


def test_a_pipeline_that_cant_run_on_this_frame_names_its_step_and_still_exports(folders):
    at = run_page(LAB)
    item = lab.new_item("RandomCrop")
    item["params"].update(height=4096, width=4096, pad_if_needed=False)
    _with_items(at, [lab.new_item("HorizontalFlip"), {**item, "p": 1.0}])
    [error] = at.error
    assert "step 2 (RandomCrop)" in error.value and "seed " in error.value
    exported = [button for button in at.get("download_button") if "JSON" in button.proto.label]
    assert exported, "the Export / import section is gone"


def test_a_some_of_groups_title_shows_the_n_just_chosen(folders):
    at = run_page(LAB)
    group = lab.new_group("SomeOf", [lab.new_item(name) for name in ("GaussNoise", "Blur", "HorizontalFlip")])
    _with_items(at, [group])
    uid = at.session_state["lab_items"][0]["uid"]
    next(widget for widget in at.number_input if widget.key == f"lab-{uid}-n").set_value(3)
    at.run()
    assert "n = 3" in at.main.expander[0].label


def test_clear_and_import_can_be_undone_with_the_edits_they_replaced(folders):
    at = run_page(LAB)
    first = at.session_state["lab_items"][0]["uid"]
    at.slider(key=f"lab-{first}-p").set_value(0.35).run()
    edited = lab.steps_of(at.session_state["lab_items"])
    assert edited[0]["p"] == 0.35 and labelled(at.button, "Undo").disabled
    labelled(at.button, "Clear").click().run()
    assert at.session_state["lab_items"] == [] and not labelled(at.button, "Undo").disabled
    labelled(at.button, "Undo").click().run()
    assert lab.steps_of(at.session_state["lab_items"]) == edited
    assert at.slider(key=f"lab-{first}-p").value == 0.35              # the widget shows the value put back
    _import(at, "flip.json", augment.dumps_pipeline([augment.default_step("HorizontalFlip")], "json").encode())
    assert [i["name"] for i in at.session_state["lab_items"]] == ["HorizontalFlip"]
    labelled(at.button, "Undo").click().run()
    assert lab.steps_of(at.session_state["lab_items"]) == edited and labelled(at.button, "Undo").disabled
