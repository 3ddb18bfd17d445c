"""The catalogue reads as data: every entry and argument is written with keywords, never by position."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

import segcore.augment.catalogue as catalogue
import segcore.augment.catalogue_pixel as catalogue_pixel
from segcore.augment import CATALOGUE, ParamSpec, TransformSpec, default_step, validate_steps


def catalogue_calls() -> list[ast.Call]:
    """The calls that write the entries: CATALOGUE in catalogue.py and the pixel transforms it takes in."""
    calls = []
    for module, table in ((catalogue, "CATALOGUE"), (catalogue_pixel, "PIXEL_TRANSFORMS")):
        tree = ast.parse(Path(module.__file__).read_text())
        [entries] = [node.value for node in tree.body
                     if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == table]
        calls += [node for node in ast.walk(entries) if isinstance(node, ast.Call)]
    return calls


def test_every_catalogue_entry_is_written_with_keywords():
    calls = catalogue_calls()
    assert {call.func.id for call in calls} == {"TransformSpec", "ParamSpec"}
    positional = [f"line {call.lineno}" for call in calls if call.args]
    assert positional == [], "catalogue entries name every field"
    assert sum(call.func.id == "TransformSpec" for call in calls) == len(CATALOGUE)


def test_specs_refuse_positional_fields():
    with pytest.raises(TypeError):
        ParamSpec("drop_length", "int", 20)
    with pytest.raises(TypeError):
        TransformSpec("Blur", "blur", "Box blur.")
    spec = TransformSpec(name="Blur", group="blur", description="Box blur.",
                         params=(ParamSpec(name="blur_limit", kind="int_range", default=(3, 7), min=3, max=31),))
    assert spec.geometric is False and spec.default_p == 0.5 and spec.params[0].step is None


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_entry_has_a_tuple_of_params_whose_defaults_validate(name):
    spec = CATALOGUE[name]
    assert isinstance(spec.params, tuple) and all(isinstance(p, ParamSpec) for p in spec.params)
    [step] = validate_steps([default_step(name)])
    assert step["params"].keys() == {p.name for p in spec.params} and step["p"] == spec.default_p
