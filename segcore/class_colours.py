"""Colours a viewer picks for classes (custom class colours): schema name -> class name -> RGB.

They change what pictures and legends are drawn in, never the schema itself (`LabelSchema.recolored`): colour
masks written by `segcore predict` and the Side by Side downloads stay in the schema's own colours, so they decode
back to the same labels. Stored as JSON, one object per schema, a colour as "#rrggbb" or [R, G, B]:
`{"camvid11": {"Road": "#ff00ff"}, "categories": {"flat": [128, 64, 128]}}`.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from segcore.files import atomic_write_bytes, read_json
from segcore.labels import LabelSchema
from segcore.limits import MAX_CLASS_COLOURS_BYTES

ClassColours = dict[str, dict[str, tuple[int, int, int]]]

MAX_FILE_BYTES = MAX_CLASS_COLOURS_BYTES
_HEX = re.compile(r"#?([0-9a-fA-F]{6})")


def parse_colour(value, what: str = "colour") -> tuple[int, int, int]:
    """"#rrggbb" (the # optional) or [R, G, B] with integers 0..255 -> an RGB tuple; else a one-line ValueError."""
    if isinstance(value, str):
        match = _HEX.fullmatch(value.strip())
        if match:
            return tuple(int(match.group(1)[i:i + 2], 16) for i in (0, 2, 4))
    elif (isinstance(value, (list, tuple)) and len(value) == 3
          and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in value)):
        return tuple(value)
    raise ValueError(f"{what} must be \"#rrggbb\" or [R, G, B] with integers 0..255, got {value!r}"[:200])


def hex_colour(rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))


def from_dict(data) -> ClassColours:
    """Class colours from their JSON form; anything malformed is a one-line ValueError naming the entry."""
    if not isinstance(data, dict):
        raise ValueError(f"class colours must be an object of schema name -> {{class name: colour}}, "
                         f"got {type(data).__name__}")
    choices: ClassColours = {}
    for schema_name, colours in data.items():
        if not isinstance(colours, dict):
            raise ValueError(f"class colours for {schema_name!r} must be an object of class name -> colour"[:200])
        choices[schema_name] = {str(name): parse_colour(value, f"the colour of {schema_name} {name!r}")
                                for name, value in colours.items()}
    return {name: colours for name, colours in choices.items() if colours}


def from_json(text: str | bytes) -> ClassColours:
    """Class colours from JSON text (an upload's bytes); a one-line ValueError where it isn't class colours."""
    if len(text) > MAX_FILE_BYTES:
        raise ValueError(f"a class colours file is at most {MAX_FILE_BYTES // 1024} KiB; this one has {len(text)} "
                         "bytes")
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"class colours are not JSON ({str(err) or 'nested too deeply'})") from None
    return from_dict(data)


def to_json(choices: Mapping[str, Mapping[str, Iterable[int]]]) -> str:
    return json.dumps({schema: {name: hex_colour(rgb) for name, rgb in colours.items()}
                       for schema, colours in choices.items() if colours}, indent=1)


def read(path) -> ClassColours:
    """Class colours from a JSON file; a one-line ValueError naming the file where it can't be used."""
    data = read_json(path, max_bytes=MAX_FILE_BYTES)
    try:
        return from_dict(data)
    except ValueError as err:
        raise ValueError(f"{Path(path).name}: {err}") from None


def write(path, choices: Mapping[str, Mapping[str, Iterable[int]]]) -> Path:
    return atomic_write_bytes(path, (to_json(choices) + "\n").encode())


def check(choices: ClassColours, schemas: Iterable[LabelSchema]) -> None:
    """A one-line ValueError where `choices` name a class one of `schemas` (matched by name) does not have."""
    for schema in schemas:
        schema.recolored(choices.get(schema.name, {}))


def apply(schema: LabelSchema, choices: Mapping[str, Mapping[str, tuple[int, int, int]]]) -> LabelSchema:
    """`schema` drawn in the colours `choices` give its classes (itself where they name none). Names the schema
    lacks are passed over here (a run's own schema may share a built-in one's name); `check` refuses them."""
    colours = {name: rgb for name, rgb in (choices.get(schema.name) or {}).items() if name in schema.names}
    return schema.recolored(colours) if colours else schema
