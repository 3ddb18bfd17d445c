"""The Augmentation Lab's widget blocks: the image source, one editor per pipeline step (widgets generated from
the catalogue), and the statistics, cost and export tabs. State lives in st.session_state under "lab_*" keys;
the step list's logic is in app.lab."""
from __future__ import annotations

import copy

import numpy as np
import streamlit as st

from app import lab, loaders, pickers, uploads
from app.settings import Settings
from segcore import augment
from segcore.datasets import schema_for
from segcore.imageio import ImageError
from segcore.labels import SCHEMAS, LabelSchema


def choose_source(config: Settings) -> tuple[np.ndarray, np.ndarray | None, LabelSchema]:
    """(image, mask or None, schema) from a data folder's image or an upload; stops the page with a message
    when there is nothing readable to show."""
    data_dir = pickers.pick_data_dir(config, key="lab_data")
    data_ok, data_message, _, splits = loaders.data_overview(data_dir)
    with st.sidebar:
        source = st.radio("Source", ["Data folder", "Upload"], index=0 if data_ok else 1, horizontal=True)
        try:
            if source == "Data folder":
                if not data_ok:
                    st.error(data_message)
                    st.stop()
                split = st.selectbox("Split", [s for s, n in splits.items() if n])
                samples = {s.name: s for s in loaders.samples(data_dir, split)}
                schema = schema_for(data_dir)
                image, mask = loaders.pair(samples[st.selectbox("Frame", list(samples))], schema)
            else:
                schema = SCHEMAS[st.selectbox("Label schema", list(SCHEMAS))]
                image_file = st.file_uploader("Image", type=["png", "jpg", "jpeg"])
                mask_file = st.file_uploader("Mask (optional)", type=["png"], help="Class ids or the schema's colours")
                if image_file is None:
                    st.info("Upload a PNG or JPEG image to start.")
                    st.stop()
                image, mask = _decode_upload(image_file, mask_file, schema)
        except ImageError as err:
            st.error(f"{err}", icon=":material/broken_image:")
            st.stop()
    return image, mask, schema


def _decode_upload(image_file, mask_file, schema):
    """The uploaded image and mask; where only the mask can't be used, its error and the image alone (the editor
    and export stay on the page)."""
    try:
        return uploads.decode_pair(image_file, mask_file, schema)
    except ImageError as err:
        if mask_file is None:
            raise
        image, _ = uploads.decode_pair(image_file, None, schema)      # the image's own error, if it has one
        st.error(f"{err}; previewing the image without its mask", icon=":material/broken_image:")
        return image, None


# ------------------------------------------------------------------------------------------------ step editors

def edit(new_items) -> None:
    st.session_state["lab_items"] = new_items


def replace_pipeline(new_items, said: str) -> None:
    """Replace the whole pipeline (Clear, an import), keeping the one it replaces for Undo: nothing is lost."""
    undo = st.session_state.setdefault("lab_undo", [])
    undo.append((copy.deepcopy(st.session_state.get("lab_items", [])), said))
    del undo[:-10]
    edit(new_items)


def undo() -> None:
    """Put back the pipeline the last Clear or import replaced."""
    if st.session_state.get("lab_undo"):
        edit(st.session_state["lab_undo"].pop()[0])


def isolate(uid) -> None:
    """'This step only': at most one step is shown alone, so switching one on switches the others off."""
    for item in st.session_state["lab_items"]:
        if item["uid"] != uid:
            st.session_state[f"lab-{item['uid']}-only"] = False
    st.session_state["lab_only"] = uid if uid is not None and st.session_state[f"lab-{uid}-only"] else None


def param_widget(spec, value, key):
    """One widget per ParamSpec kind, generated from the catalogue (labels and help included)."""
    value = lab.widget_value(spec, value)
    args = {"label": spec.name, "key": key, "help": spec.help or None}
    if spec.kind in ("float", "int", "float_range", "int_range"):
        return st.slider(value=value, **lab.slider_settings(spec), **args)
    if spec.kind == "int_pair":
        low, high = st.columns(2)
        bounds = lab.slider_settings(spec)
        return (low.number_input(value=value[0], **bounds, **{**args, "key": f"{key}-0"}),
                high.number_input(value=value[1], **bounds, **{**args, "key": f"{key}-1", "label": " "}))
    if spec.kind == "choice":
        return st.selectbox(options=spec.options, index=spec.options.index(value), **args)
    if spec.kind == "bool":
        return st.checkbox(value=value, **args)
    return st.color_picker(value=value, **args)


def add_row(items: list[dict]) -> None:
    """Pick a transform and where it goes: the pipeline, a new OneOf/SomeOf group, or an existing group."""
    choice = st.selectbox("Transform", lab.catalogue_choices(), format_func=lab.choice_label,
                          help="Cost: median ms per 360x480 frame on one thread, measured by "
                               "benchmarks/bench_augment.py.")
    targets = lab.add_targets(items)
    where, button = st.columns(2, vertical_alignment="bottom")
    target = where.selectbox("Add to", list(targets), key="lab_target",
                             help="OneOf applies one of its transforms (picked by weight); SomeOf applies n of them.")
    label = "Add to pipeline" if targets[target] is None else "Add to group" if isinstance(targets[target], int) \
        else "Add in a new group"
    button.button(label, key="lab_add", width="stretch",
                  on_click=lambda: edit(lab.added(items, choice, targets[target])))


def step_list(items: list[dict], isolated: int | None) -> None:
    """Every step as one collapsed line (open it to edit); a group's members follow it, indented."""
    for i, item in enumerate(items):
        step_editor(items, (i,), isolated)
        for k in range(len(item.get("items", ()))):
            indent, body = st.columns([1, 14])
            indent.markdown(":material/subdirectory_arrow_right:")
            with body:
                step_editor(items, (i, k), isolated)


def step_editor(items: list[dict], path: tuple[int, ...], isolated: int | None) -> None:
    """The expander of the step at `path`: probability (a weight inside OneOf), parameters (written back into
    the item), 'this step only' for top-level steps, and buttons to move or remove it."""
    siblings = items if len(path) == 1 else items[path[0]]["items"]
    item = siblings[path[-1]]
    group = items[path[0]]["name"] if len(path) > 1 else None
    spec = augment.COMPOSES.get(item["name"]) or augment.CATALOGUE[item["name"]]
    uid = item["uid"]
    item["p"] = st.session_state.get(f"lab-{uid}-p", item["p"])   # so the title shows this run's p (and n)
    if item["name"] == "SomeOf" and f"lab-{uid}-n" in st.session_state:
        replace = st.session_state.get(f"lab-{uid}-replace", item["params"]["replace"])
        item["params"]["n"] = min(st.session_state[f"lab-{uid}-n"], 16 if replace else len(item["items"]))
    alone = len(path) == 1 and path[0] == isolated
    number = ".".join(str(n + 1) for n in path)
    # keyed, so the step stays open while its title changes (p is in it)
    with st.expander(lab.step_title(item, number, in_group=group, alone=alone), expanded=False, key=f"lab-{uid}-open",
                     icon=":material/center_focus_strong:" if alone else None):
        st.caption(spec.description + (f" Measured cost: {lab.cost_text(item['name'])}."
                                       if lab.cost_text(item["name"]) else ""))
        if len(path) == 1:
            st.toggle("this step only", key=f"lab-{uid}-only", on_change=isolate, args=(uid,),
                      help="Preview and grid run only this step, applied every draw (p = 1), to see its effect "
                           "in isolation. Statistics and export still use the whole pipeline.")
        chance = "weight (chance of being picked)" if group == "OneOf" else "probability p"
        item["p"] = st.slider(chance, 0.0, 1.0, float(item["p"]), 0.05, key=f"lab-{uid}-p")
        if item["name"] == "SomeOf":
            group_settings(item)
        for param in spec.params if "items" not in item else ():
            value = param_widget(param, item["params"][param.name], key=f"lab-{uid}-{param.name}")
            item["params"][param.name] = lab.from_widget(param, value)
        up, down, remove = st.columns(3)
        up.button(":material/arrow_upward:", key=f"lab-{uid}-up", help="Move up", disabled=path[-1] == 0,
                  on_click=edit, args=(lab.moved(items, path, -1),))
        down.button(":material/arrow_downward:", key=f"lab-{uid}-down", help="Move down",
                    disabled=path[-1] == len(siblings) - 1, on_click=edit, args=(lab.moved(items, path, 1),))
        remove.button(":material/delete:", key=f"lab-{uid}-rm",
                      help="Remove this group and its transforms" if "items" in item else "Remove this step",
                      on_click=edit, args=(lab.removed(items, path),))


def group_settings(group: dict) -> None:
    """SomeOf's n (at most its size unless replace is on) and replace."""
    uid = group["uid"]
    replace = st.checkbox("replace", value=group["params"]["replace"], key=f"lab-{uid}-replace",
                          help="Allow the same transform to be picked more than once.")
    most = 16 if replace else len(group["items"])
    key = f"lab-{uid}-n"
    st.session_state[key] = min(st.session_state.get(key, group["params"]["n"]), most)  # members may be gone
    n = st.number_input("n, transforms picked per draw", min_value=1, max_value=most, step=1, key=key)
    group["params"] = {"n": int(n), "replace": bool(replace)}


# ------------------------------------------------------------------------------------------------ tabs

def statistics_tab(steps, image, mask, seed: int, schema: LabelSchema) -> None:
    """Many seeded draws of the whole pipeline on demand; the result is kept until the pipeline, image or seed
    changes."""
    n_draws = st.slider("Number of draws", 50, 1000, 200, 50, key="lab_stats_draws")
    signature = lab.stats_signature(steps, image, mask, seed, n_draws)
    if st.button("Compute statistics", icon=":material/query_stats:", disabled=not steps):
        try:
            result = augment.augmentation_stats(steps, [(image, mask)], draws=n_draws, seed=seed, schema=schema)
            st.session_state["lab_stats"] = (signature, lab.stats_tables(result))
        except ValueError as err:
            st.error(f"Statistics failed: {err}")
    computed = st.session_state.get("lab_stats")
    if computed and computed[0] == signature:
        tables = computed[1]
        st.dataframe(tables["steps"], hide_index=True, column_config={
            "p": st.column_config.NumberColumn(format="%.2f"),
            "fired": st.column_config.ProgressColumn(
                "fired", format="percent", min_value=0.0, max_value=1.0,
                help="Share of the draws in which the step changed the frame; a group counts when one of its "
                     "members fired, so members with p < 1 make it fire less often than its own p")})
        st.caption(f"{n_draws} draws of this frame, seeds derived from seed {seed} (other draws than the grid's, "
                   "which uses seed, seed + 1, ...)")
        patterns = len(tables["combinations"])
        st.markdown(f"**{patterns} of {2 ** len(steps)} on/off combinations** occurred (1 = the step fired).")
        st.dataframe(tables["combinations"], hide_index=True,
                     column_config={"share": st.column_config.NumberColumn(format="percent")})
        if tables["classes"] is not None:
            st.dataframe(tables["classes"], hide_index=True, column_config={
                name: st.column_config.NumberColumn(format="percent") for name in ("before", "after", "change")})
    elif computed:
        st.info("The pipeline, frame or seed changed: compute again to see its statistics.")


def cost_tab(steps, image, mask) -> None:
    """Timings on demand, kept until the pipeline, the frame or its mask changes."""
    signature = lab.stats_signature(steps, image, mask, 0, 0)
    if st.button("Measure", icon=":material/timer:", disabled=not steps):
        try:
            st.session_state["lab_cost"] = (signature, lab.cost_table(augment.time_steps(steps, image, mask)))
        except ValueError as err:
            st.error(f"Timing failed: {err}")
    measured = st.session_state.get("lab_cost")
    if measured and measured[0] == signature:
        st.bar_chart(measured[1], horizontal=True, x_label="ms per image", sort=False)
        st.dataframe(measured[1])


def export_tab(steps, fill: int) -> None:
    """Download the pipeline (JSON, YAML, Python) or import a saved one into the editor."""
    buttons = st.container(horizontal=True)
    for fmt in ("json", "yaml"):
        buttons.download_button(f"Download {fmt.upper()}", augment.dumps_pipeline(steps, fmt, mask_fill=fill),
                                file_name=f"pipeline.{fmt}", on_click="ignore", icon=":material/download:")
    st.caption("Train with it: `segcore train --augment pipeline.json ...`, or build it in Python:")
    st.code(augment.pipeline_code(steps, mask_fill=fill), language="python", wrap_lines=True)
    saved = st.file_uploader("Import a saved pipeline", type=["json", "yaml", "yml"])
    if saved is not None and st.session_state.get("lab_imported") != saved.file_id:
        st.session_state["lab_imported"] = saved.file_id      # import once, not on every rerun
        try:
            imported = lab.items_from_steps(lab.steps_from_upload(saved.name, saved.getvalue()))
            replace_pipeline(imported, f"import of {saved.name}")
            st.rerun()
        except augment.PipelineError as err:
            st.error(f"{saved.name}: {err}")
