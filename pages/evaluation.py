"""Evaluation: the chosen runs' stored evaluations side by side: scores, per-class IoU, confusion matrices with
the frames behind a cell, the worst frames, and a form to evaluate the runs on one of the configured data folders."""
from functools import partial

import streamlit as st

from app import evaluation_views as views
from app import loaders, pickers, shell
from segcore import compare, figures
from segcore import evaluations as stored
from segcore.figures import PER_CLASS_SCORES

config = shell.settings()
st.title("Evaluation")
chosen = pickers.pick_runs(config.models_dir, key="ev_runs")
if not chosen:
    st.stop()
by_name = {run.name: run for run in chosen}
for kind, message in st.session_state.pop("ev_messages", []):      # left by the last "Evaluate" click
    getattr(st, kind)(message)

available = {run.name: list(run.evaluations()) for run in chosen}
shared, default = compare.evaluation_keys(available)

with st.expander("Evaluate on…", expanded=not shared, icon=":material/play_arrow:"):
    views.evaluate_form(config, chosen)

if not shared:
    st.info("The chosen runs share no stored evaluation: evaluate them on one data set above, or run "
            "`segcore evaluate --run <run> --data <folder> --split val`.  \n"
            + "  \n".join(f"**{name}**: {', '.join(keys) or 'none'}" for name, keys in available.items()))
    st.stop()

# --- which evaluation, at which level -----------------------------------------------------------------------------
if st.session_state.get("ev_key") not in shared:
    st.session_state["ev_key"] = default      # a choice the current runs don't share falls back to the default
with st.sidebar:
    key = st.selectbox("Evaluation", shared, key="ev_key", format_func=partial(views.evaluation_label, chosen[0]),
                       help="Data set and split; the data set's fingerprint (its file names and sizes) keeps two "
                            "folders of the same name apart")
evaluations = views.read_evaluations(chosen, key)
if not evaluations:
    st.stop()
# A model scored on data of another schema has the category level only; every chosen run must have the level shown.
levels = [name for name in compare.LEVELS if all(name in stored.levels(r) for r in evaluations.values())]
if st.session_state.get("ev_level") not in levels:
    st.session_state.pop("ev_level", None)
with st.sidebar:
    level_name = st.radio("Level", levels, horizontal=True, key="ev_level",
                          format_func={"class": "classes", "category": "7 categories"}.get,
                          help="Categories: the classes folded onto the 7 Cityscapes categories (void is ignored)")
    for reason in dict.fromkeys(filter(None, map(stored.category_only_reason, evaluations.values()))):
        st.info(f"Category level only: {reason}.", icon=":material/category:")
level = compare.LEVELS[level_name]

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

# Images are shown only from a configured data folder holding the very data set that was evaluated.
first = evaluations[next(iter(evaluations))]
data_root = loaders.locate_dataset(first)
if data_root is None:
    st.info(views.missing_data_message(first, config), icon=":material/folder_off:")

# --- confusion matrices; a clicked cell (or the picker) lists the images behind it --------------------------------
st.subheader("Confusion matrices")
normalize = st.radio("Values", ["none", "row", "column"], horizontal=True, key="ev_normalize",
                     format_func={"none": "pixel counts", "row": "row % (recall)",
                                  "column": "column % (precision)"}.get)
views.follow_click(views.confusion_matrices(evaluations, level, normalize), level)
st.markdown("**Frames behind a confusion** (click a cell, or pick one)")
left, middle, right = st.columns(3)
model = left.selectbox("Model", list(evaluations), key="ev_model")
names = evaluations[model][level]["names"]
views.suggest_cell(evaluations[model][level], level)
true_id = middle.selectbox("Truth", range(len(names)), format_func=names.__getitem__, key=f"ev_truth_{level}")
pred_id = right.selectbox("Predicted as", range(len(names)), format_func=names.__getitem__, key=f"ev_pred_{level}")
records = figures.images_for_confusion(evaluations[model]["per_image"], true_id, pred_id, level)
if true_id == pred_id:
    st.info(f"{names[true_id]} → {names[pred_id]} is the diagonal (correct pixels); pick a cell off the diagonal.")
elif not records:
    st.info(f"No frame has {names[true_id]} → {names[pred_id]} among its 8 largest confusions; pick another cell.")
for record in records:
    st.markdown(f"`{record['name']}`: {record['pixels']:,} px of {names[true_id]} predicted as {names[pred_id]}")
    views.show_run_pictures([(by_name[model], record)], data_root, level_name, record["name"], (true_id, pred_id),
                            evaluations[model].get("data_schema"))

# --- worst images -------------------------------------------------------------------------------------------------
st.subheader("Frames by mIoU, worst first")
table = compare.per_image_table(evaluations)
st.dataframe(table)
name = st.selectbox("Show frame", list(table.index), key="ev_frame")
records = [(by_name[run], compare.find_record(result, name)) for run, result in evaluations.items()]
views.show_run_pictures([(run, record) for run, record in records if record], data_root, level_name, name,
                        data_schema=first.get("data_schema"))
