"""Evaluation: the chosen runs' stored evaluations side by side: scores, per-class IoU, confusion matrices with
the frames behind a cell, the worst frames, and a form to evaluate the runs on one of the configured data folders."""
import streamlit as st

import app_models as models
import app_support as app
from segcore import compare, figures
from segcore import evaluations as stored
from segcore.datasets import DatasetError, list_splits
from segcore.figures import PER_CLASS_SCORES
from segcore.imageio import ImageError
from segcore.runs import RunError

config = app.settings()
st.title("Evaluation")
chosen = models.pick_runs(config.models_dir, key="ev_runs")
if not chosen:
    st.stop()
by_name = {run.name: run for run in chosen}
for kind, message in st.session_state.pop("ev_messages", []):      # left by the last "Evaluate" click
    getattr(st, kind)(message)

available = {run.name: list(run.evaluations()) for run in chosen}
shared, default = compare.evaluation_keys(available)

# --- evaluate on a configured data folder (never a typed path) ----------------------------------------------------
with st.expander("Evaluate on…", expanded=not shared, icon=":material/play_arrow:"):
    if config.read_only:
        st.info("This dashboard is read-only (SEGLAB_READ_ONLY is set), so it stores no new evaluations. Whoever "
                "runs it can evaluate on the server: `segcore evaluate --run <run> --data <folder> --split val`.",
                icon=":material/lock:")
    else:
        data = app.pick_data_dir(config, key="ev_data", container=st)
        try:
            splits = list_splits(data)
        except DatasetError as err:
            st.error(f"{err}.", icon=":material/folder_off:")
            splits = []
        if st.session_state.get("ev_split") not in splits:
            st.session_state.pop("ev_split", None)        # a split of the previous folder
        if splits:
            split = st.selectbox("Split", splits, index=splits.index("val") if "val" in splits else 0,
                                 key="ev_split")
            try:
                identity = app.dataset_identity(data, split)
            except (DatasetError, OSError) as err:
                st.error(f"{err}.", icon=":material/folder_off:")
                identity = None
            if identity is not None:
                target = stored.evaluation_key(identity)
                existing = [run.name for run in chosen if target in run.evaluations()]
                replace = False
                if existing:
                    st.warning(f"{', '.join(existing)} already {'has' if len(existing) == 1 else 'have'} an "
                               f"evaluation on {data.name}/{split} (`{target}`): evaluating again replaces it.",
                               icon=":material/warning:")
                    replace = st.checkbox("Replace the existing evaluation", key="ev_replace")
                if st.button(f"Evaluate {len(chosen)} run(s) on {data.name}/{split}", type="primary", key="ev_go",
                             disabled=bool(existing) and not replace):
                    written, messages = models.evaluate_runs(chosen, data, split, models_dir=config.models_dir,
                                                             overwrite=replace)
                    if written:
                        st.session_state["ev_key"] = target             # show it at once
                    st.session_state.pop("ev_replace", None)
                    st.session_state["ev_messages"] = messages
                    st.rerun()

if not shared:
    st.info("The chosen runs share no stored evaluation: evaluate them on one data set above, or run "
            "`segcore evaluate --run <run> --data <folder> --split val`.  \n"
            + "  \n".join(f"**{name}**: {', '.join(keys) or 'none'}" for name, keys in available.items()))
    st.stop()


def evaluation_label(key: str) -> str:
    """'camvid val (data set 8a853e67)' from the first chosen run's copy; the bare key if it can't be read."""
    try:
        dataset = stored.dataset_of(models.evaluation(chosen[0], key))
    except RunError:
        return key
    return f"{dataset['name']} {dataset['split']}" + (f" (data set {dataset['fingerprint']})"
                                                      if dataset["fingerprint"] else "")


# --- which evaluation, at which level -----------------------------------------------------------------------------
if st.session_state.get("ev_key") not in shared:
    st.session_state["ev_key"] = default      # a choice the current runs don't share falls back to the default
with st.sidebar:
    key = st.selectbox("Evaluation", shared, key="ev_key", format_func=evaluation_label,
                       help="Data set and split; the data set's fingerprint (its file names and sizes) keeps two "
                            "folders of the same name apart")
    level_name = st.radio("Level", list(compare.LEVELS), horizontal=True, key="ev_level",
                          format_func={"class": "classes", "category": "7 categories"}.get,
                          help="Categories: the classes folded onto the 7 Cityscapes categories (void is ignored)")
level = compare.LEVELS[level_name]
evaluations = {}
for run in chosen:
    try:
        evaluations[run.name] = models.evaluation(run, key)
    except RunError as err:
        st.error(f"{err}. Evaluate the run again (Evaluate on… above).", icon=":material/error:")
if not evaluations:
    st.stop()

st.subheader("Scores (%)")
st.dataframe(figures.metrics_table(evaluations, level), column_config={
    metric: st.column_config.NumberColumn(figures.SUMMARY_LABELS[metric], format="%.1f")
    for metric in figures.SUMMARY_METRICS})
st.caption("  \n".join(f"{name}: {stored.scored_at(result)}; evaluated {result.get('created', '?')}"
                       for name, result in evaluations.items()))
for note in dict.fromkeys(filter(None, map(stored.optimism_note, evaluations.values()))):
    st.info(note, icon=":material/info:")

st.subheader("Per-class IoU")
sort = st.selectbox("Sort bars by", ["class", "mean", *evaluations], key="ev_sort")
st.plotly_chart(figures.iou_bars(evaluations, level, sort))
score = st.selectbox("Table score", PER_CLASS_SCORES, key="ev_score")
st.dataframe(figures.per_class_table(evaluations, level, score))


# Frames are shown only from a configured data folder holding the very data set that was evaluated.
data_root = app.locate_dataset(evaluations[next(iter(evaluations))])
if data_root is None:
    dataset = stored.dataset_of(evaluations[next(iter(evaluations))])
    why = (f"the data set it was computed on ({dataset['name']}, {dataset['split']} split, fingerprint "
           f"{dataset['fingerprint']}) is not in this dashboard's data folders: "
           + ", ".join(f"`{folder}`" for folder in config.data_dirs)
           if dataset["fingerprint"] else "it was stored before evaluations recorded their data set; evaluate again")
    st.info(f"Frame pictures are not available here: {why}. Scores, tables and matrices are unaffected.",
            icon=":material/folder_off:")


def frame_pictures(run, record, cell=None):
    """image, ground truth and the run's prediction of an evaluated frame, or None if the data set isn't here."""
    if data_root is None:
        return None
    try:
        sample = stored.record_sample(record, data_root)
    except DatasetError:
        return None
    if not (sample.image.is_file() and sample.label.is_file()):
        return None
    image, truth = app.frame(sample, run.schema)
    return compare.frame_views(image, truth, {run.name: models.predict(run, image).labels}, run.schema,
                               level_name, cell)


def show_pictures(pictures: dict):
    for column, (caption, picture) in zip(st.columns(len(pictures)), pictures.items()):
        column.image(picture, caption=caption, width="stretch")


# --- confusion matrices; a clicked cell (or the picker) lists the frames behind it ---------------------------------
st.subheader("Confusion matrices")
normalize = st.radio("Values", ["none", "row", "column"], horizontal=True, key="ev_normalize",
                     format_func={"none": "pixel counts", "row": "row % (recall)",
                                  "column": "column % (precision)"}.get)
clicked = None
for column, (name, result) in zip(st.columns(min(len(evaluations), 2)) * len(evaluations), evaluations.items()):
    heatmap = compare.clickable_cells(figures.confusion_heatmap(result[level], normalize, title=name))
    event = column.plotly_chart(heatmap, on_select="rerun",
                                selection_mode="points", key=f"ev_cm_{name}_{level}")
    cell = compare.cell_from_selection(event.selection.points, result[level]["names"]) if event else None
    clicked = (name, *cell) if cell else clicked

# A new click moves the picker to its cell; afterwards the picker is free to move on its own.
if clicked and clicked != st.session_state.get("ev_clicked"):
    st.session_state.update({"ev_clicked": clicked, "ev_model": clicked[0], f"ev_truth_{level}": clicked[1],
                             f"ev_pred_{level}": clicked[2]})
st.markdown("**Frames behind a confusion** (click a cell, or pick one)")
left, middle, right = st.columns(3)
model = left.selectbox("Model", list(evaluations), key="ev_model")
names = evaluations[model][level]["names"]
# Start on the model's largest confusion; ids are kept per level, as class and category ids differ.
suggested = compare.largest_confusion(evaluations[model][level]) or (0, 0)
for widget_key, value in zip((f"ev_truth_{level}", f"ev_pred_{level}"), suggested):
    if st.session_state.get(widget_key, len(names)) >= len(names):
        st.session_state[widget_key] = value
true_id = middle.selectbox("Truth", range(len(names)), format_func=names.__getitem__, key=f"ev_truth_{level}")
pred_id = right.selectbox("Predicted as", range(len(names)), format_func=names.__getitem__, key=f"ev_pred_{level}")
records = figures.images_for_confusion(evaluations[model]["per_image"], true_id, pred_id, level)
if true_id == pred_id:
    st.info(f"{names[true_id]} → {names[pred_id]} is the diagonal (correct pixels); pick a cell off the diagonal.")
elif not records:
    st.info(f"No frame has {names[true_id]} → {names[pred_id]} among its 8 largest confusions; pick another cell.")
for record in records:
    st.markdown(f"`{record['name']}`: {record['pixels']:,} px of {names[true_id]} predicted as {names[pred_id]}")
    try:
        pictures = frame_pictures(by_name[model], record, (true_id, pred_id))
    except (ImageError, RunError) as err:
        st.error(f"{err}", icon=":material/broken_image:")
        continue
    if pictures is not None:
        show_pictures(pictures)
    elif data_root is not None:
        st.caption(f"{record['name']}: image files not found in `{data_root}`")

# --- worst frames --------------------------------------------------------------------------------------------------
st.subheader("Frames by mIoU, worst first")
table = compare.per_image_table(evaluations)
st.dataframe(table)
frame = st.selectbox("Show frame", list(table.index), key="ev_frame")
pictures = {}
for name, result in evaluations.items():
    record = compare.find_record(result, frame)
    try:
        found = frame_pictures(by_name[name], record) if record else None
    except (ImageError, RunError) as err:
        st.error(f"{err}", icon=":material/broken_image:")
        continue
    pictures.update(found or {})
if pictures:
    show_pictures(pictures)
elif data_root is not None:
    st.caption(f"{frame}: image files not found in `{data_root}`")
