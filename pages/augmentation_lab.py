"""Augmentation Lab: chain catalogue transforms, see what they do to a frame *and its mask*, export the pipeline."""
import streamlit as st

from app import class_colours, lab, shell
from app import lab_widgets as widgets
from segcore import augment
from segcore.figures import overlay

config = shell.settings()
st.title("Augmentation lab")
st.caption("Geometric transforms move the mask with the image (nearest-neighbour); uncovered and padded pixels get "
           "the ignore label, so they are never trained on.")
image, mask, schema = widgets.choose_source(config)     # a data folder's image, or an upload
class_colours.editor([schema])
schema = class_colours.shown(schema)                    # the same classes, drawn in the colours picked
fill = schema.ignore_index

# --- pipeline editor: opens on a light weather pipeline, so the first view shows an effect ----------------------
items = st.session_state.setdefault("lab_items", lab.default_items())
isolated = lab.isolated_index(items, st.session_state.get("lab_only"))
editor, preview = st.columns([2, 3], gap="large")
with editor:
    title, undo_col, clear_col = st.columns([2, 1, 1], vertical_alignment="bottom")
    title.subheader("Pipeline")
    replaced = st.session_state.get("lab_undo")
    undo_col.button("Undo", key="lab_undo_button", disabled=not replaced, width="stretch", on_click=widgets.undo,
                    help=f"Put back the pipeline the {replaced[-1][1]} replaced" if replaced else "Nothing to undo")
    clear_col.button("Clear", key="lab_clear", disabled=not items, width="stretch",
                     on_click=widgets.replace_pipeline, args=([], "Clear"),
                     help="Remove every step and start from an empty pipeline (Undo puts it back)")
    widgets.add_row(items)
    widgets.step_list(items, isolated)
    if not items:
        st.info("The pipeline is empty: add a transform above, or import a saved pipeline below.")
steps = lab.steps_of(items)
shown = lab.shown_steps(items, st.session_state.get("lab_only"))

# --- one draw, side by side ---------------------------------------------------------------------------------
with preview:
    st.subheader("Preview")
    seed_col, button_col, alpha_col = st.columns([3, 2, 3], vertical_alignment="bottom")
    st.session_state.setdefault("lab_seed", 0)      # set here, not via value=, because "New draw" writes it
    seed = seed_col.number_input("Seed", min_value=0, step=1, key="lab_seed")
    button_col.button("New draw", icon=":material/casino:",
                      on_click=lambda: st.session_state.update(lab_seed=st.session_state["lab_seed"] + 1))
    alpha = alpha_col.slider("Mask opacity", 0.0, 1.0, 0.5, 0.05)
    if isolated is not None:
        note, clear = st.columns([3, 1], vertical_alignment="center")
        note.warning(f"Showing step {isolated + 1} ({items[isolated]['name']}) alone, applied in every draw. "
                     "The other steps are off in the preview and grid.", icon=":material/center_focus_strong:")
        clear.button("All steps", on_click=widgets.isolate, args=(None,), help="Turn 'this step only' off")
    try:
        aug_image, aug_mask, record = augment.draw(shown, image, mask, seed=seed, mask_fill=fill)
    except ValueError as err:  # PipelineError, or albumentations rejecting a combination of values
        advice = "" if "this frame has none" in str(err) else " Change that step's values or remove it."
        st.error(f"This pipeline can't run on this frame: {err}.{advice}")
        with st.expander("Export / import", expanded=True, icon=":material/download:"):   # still fine for training
            widgets.export_tab(steps, fill)
        st.stop()
    before, after = st.columns(2)
    before.image(image, caption=f"original {image.shape[1]}x{image.shape[0]}")
    after.image(aug_image, caption=f"augmented {aug_image.shape[1]}x{aug_image.shape[0]} (seed {seed})")
    if mask is not None:
        before.image(overlay(image, mask, schema, alpha), caption="original mask")
        after.image(overlay(aug_image, aug_mask, schema, alpha), caption="augmented mask")
        st.html(lab.legend_for(aug_mask, schema))
    if aug_image.shape != image.shape:
        st.caption(f"This draw is {aug_image.shape[1]}x{aug_image.shape[0]}, not the frame's size: training resizes "
                   "every augmented frame to the model's --size, so end a size-changing pipeline with a crop of "
                   "that size (PadIfNeeded + RandomCrop) to keep the scale change.")

# Keyed: the chosen tab stays chosen when a note above it comes or goes (unkeyed tabs that move are drawn anew).
sampled, grid, statistics, cost, export = preview.tabs(["Sampled parameters", "Grid of draws", "Statistics",
                                                       "Cost", "Export / import"], key="lab_tabs")
with sampled:
    st.dataframe(lab.draw_table(record), hide_index=True,
                 column_config={"sampled parameters": st.column_config.TextColumn(width="large")})
with grid:
    count_col, row_col = st.columns(2)
    n = count_col.slider("Draws", 1, 12, 6)
    per_row = row_col.slider("Per row", 1, 4, 2 if mask is not None else 3)
    if isolated is not None:
        st.caption(f"Step {isolated + 1} ({items[isolated]['name']}) alone.")
    try:
        draws = augment.draw_grid(shown, image, mask, n=n, seed=seed, mask_fill=fill)
    except ValueError as err:     # another seed can sample what this one did not (a crop larger than the frame)
        st.error(f"A draw of this pipeline fails: {err}. Change that step's values or remove it.")
        draws, n = [], 0
    for start in range(0, n, per_row):
        for column, k in zip(st.columns(per_row), range(start, min(start + per_row, n))):
            picture, labels, fired = draws[k]
            column.image(lab.draw_tile(picture, labels, schema, alpha),
                         caption=f"seed {seed + k} · {lab.fired_label(fired)}")
with statistics:
    st.caption("Many seeded draws of the whole pipeline on this frame, as training draws them: how often each "
               "step fires, which on/off combinations occur, and class shares before and after (void includes "
               "what geometric steps push out of the frame). `segcore augment stats` gives the same for a data set.")
    widgets.statistics_tab(steps, image, mask, seed, schema)
with cost:
    st.caption("Median ms per image on this frame: each step forced to p = 1, then the pipeline as configured. "
               "The labels in the transform list come from `benchmarks/bench_augment.py` at 360x480.")
    widgets.cost_tab(steps, image, mask)
with export:
    widgets.export_tab(steps, fill)
