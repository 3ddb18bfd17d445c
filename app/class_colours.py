"""The class colours a viewer picks (segcore.class_colours), kept for the session and shared by every page that draws
label maps: a sidebar expander picks them, saves them as JSON and loads them back. A session starts from the file
SEGLAB_CLASS_COLOURS names, where the operator set one, else from every schema's own colours."""
from __future__ import annotations

from collections.abc import Iterable

import streamlit as st

from app.settings import Settings
from segcore import class_colours
from segcore.figures import legend_html
from segcore.labels import LabelSchema, category_schema

CHOICES = "class_colours"           # not a widget's key, so the choices outlive the widgets and survive page changes
PROBLEM = "class_colours_problem"
START = "class_colours_start"
PICKER = "cc_pick"
GENERATION = "class_colours_generation"   # bumped on a reset or a load: the pickers start again from the choices


def choices() -> dict:
    """schema name -> class name -> RGB, as picked this session."""
    if CHOICES not in st.session_state:
        st.session_state[CHOICES] = starting_colours()
    return st.session_state[CHOICES]


def starting_colours() -> dict:
    """A fresh copy of the colours a session starts with: the operator's (SEGLAB_CLASS_COLOURS), read once per
    session (a file that can't be used is said once, and not used), else none."""
    if START not in st.session_state:
        st.session_state[START] = {}
        path = Settings.from_env().class_colours
        if path is not None:
            try:
                st.session_state[START] = class_colours.read(path)
            except ValueError as err:
                st.session_state[PROBLEM] = f"SEGLAB_CLASS_COLOURS not used: {err}"
    return {schema: dict(colours) for schema, colours in st.session_state[START].items()}


def shown(schema: LabelSchema) -> LabelSchema:
    """`schema` in the colours picked this session."""
    return class_colours.apply(schema, choices())


def _forget_pickers() -> None:
    """New colour pickers, which show the choices again (after a reset or a load): a picker keeps the colour it
    last showed for as long as its key lives."""
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1


def _picked(schema: LabelSchema, class_name: str, key: str) -> None:
    colour = class_colours.parse_colour(st.session_state[key])
    own = tuple(int(v) for v in schema.colors[schema.names.index(class_name)])
    colours = choices().setdefault(schema.name, {})
    if colour == own:
        colours.pop(class_name, None)
    else:
        colours[class_name] = colour


def _reset() -> None:
    st.session_state[CHOICES] = starting_colours()
    _forget_pickers()


def _load(schemas: list[LabelSchema]) -> None:
    upload = st.session_state.get("cc_upload")
    if upload is None:
        return
    try:
        loaded = class_colours.from_json(upload.getvalue())
        class_colours.check(loaded, schemas)
    except ValueError as err:
        st.session_state[PROBLEM] = f"{upload.name} was not loaded: {err}"
        return
    st.session_state[CHOICES] = loaded
    _forget_pickers()


def runs_editor(runs, levels=("class", "category")) -> None:
    """The editor for the classes of `runs` (segcore.runs.Run) and/or the 7 categories, in the order of `levels`."""
    editor([schema for level in levels
            for schema in ([run.schema for run in runs] if level == "class" else [category_schema()])])


def editor(schemas: Iterable[LabelSchema]) -> None:
    """The sidebar's "Class colours" expander for the schemas this page draws in."""
    schemas = {schema.name: schema for schema in schemas}
    if not schemas:
        return
    choices()                                   # reads the operator's file on a session's first page
    problem = st.session_state.pop(PROBLEM, None)
    with st.sidebar.expander("Class colours", icon=":material/palette:", expanded=problem is not None):
        if problem:
            st.error(problem, icon=":material/error:")
        names = list(schemas)
        name = st.selectbox("Classes of", names, key="cc_schema") if len(names) > 1 else names[0]
        schema = schemas.get(name, schemas[names[0]])
        drawn = shown(schema)
        class_name = st.selectbox("Class", schema.names, key=f"cc_class_{schema.name}")
        key = f"{PICKER}_{st.session_state.get(GENERATION, 0)}_{schema.name}_{class_name}"
        current = class_colours.hex_colour(drawn.display_colors[schema.names.index(class_name)])
        st.color_picker(f"Colour of {class_name}", current, key=key, on_change=_picked,
                        args=(schema, class_name, key))
        st.html(legend_html(drawn))
        left, right = st.columns(2)
        left.button("Reset colours", key="cc_reset", on_click=_reset, disabled=choices() == starting_colours(),
                    help="Back to the colours this dashboard starts with (the schemas' own, or its operator's "
                         "SEGLAB_CLASS_COLOURS file)")
        right.download_button("Save colours", class_colours.to_json(choices()), file_name="class-colours.json",
                              mime="application/json", key="cc_save", on_click="ignore", icon=":material/download:",
                              disabled=not any(choices().values()),
                              help="These colours as JSON: load them here again, or give them to `segcore review "
                                   "--class-colours`")
        st.file_uploader("Load colours (JSON)", type=["json"], key="cc_upload", on_change=_load,
                         args=(list(schemas.values()),))
        st.caption("Pictures and legends only: colour masks you download keep the schema's own colours, so they "
                   "read back as the same classes.")
