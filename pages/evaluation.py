"""Evaluation: the chosen runs' stored evaluations side by side: scores with boundary IoU and calibration, a
per-class report, readable confusion matrices with the frames behind a cell, the worst frames, and a form to
evaluate the runs on one of the configured data folders. A projection of stored data: no model runs to draw it."""
import streamlit as st

from app import evaluation_views as views
from app import class_colours, loaders, pickers, shell
from segcore import compare, figures, reports, review
from segcore import evaluations as stored
from segcore.exports import csv_bytes
from segcore.unlike_train import stored_least_alike_label

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

# Keyed: it stays open when the messages above it go (an unkeyed expander that moves is drawn anew, closed).
with st.expander("Evaluate on…", expanded=not shared, icon=":material/play_arrow:", key="ev_box"):
    views.evaluate_form(config, chosen)

if not shared:
    st.info("The chosen runs share no stored evaluation: evaluate them on one data set above, or run "
            "`segcore evaluate --run <run> --data <folder> --split val`.  \n"
            + "  \n".join(f"**{name}**: {', '.join(keys) or 'none'}" for name, keys in available.items()))
    st.stop()

# --- which evaluation, at which level -----------------------------------------------------------------------------
key = views.pick_evaluation(chosen, shared, default, "ev_key",
                            help="Data set and split; the data set's fingerprint (its file names and sizes) keeps two "
                                 "folders of the same name apart")
evaluations = views.read_evaluations(chosen, key)
if not evaluations:
    st.stop()
level_name = views.pick_level(evaluations, "ev_level",
                              help="Categories: the classes folded onto the 7 Cityscapes categories (void is ignored)")
with st.sidebar:
    for reason in dict.fromkeys(filter(None, map(stored.category_only_reason, evaluations.values()))):
        st.info(f"Category level only: {reason}.", icon=":material/category:")
level = compare.LEVELS[level_name]
class_colours.runs_editor(chosen)

st.subheader(f"Scores (%), {'classes' if level_name == 'class' else '7 categories'}")
scores = reports.scores_table(evaluations, level)
st.dataframe(scores.style.format("{:.1f}"), placeholder="–",       # –: not stored (said below the table)
             column_config={metric: st.column_config.NumberColumn(reports.SCORE_LABELS[metric],
                                                                  help=reports.SCORE_HELPS.get(metric))
                            for metric in scores.columns})
st.caption("  \n".join(f"{name}: {stored.scored_at(result)}; evaluated {result.get('created', '?')}"
                       for name, result in evaluations.items()))
for note in dict.fromkeys(filter(None, map(stored.optimism_note, evaluations.values()))):
    st.info(note, icon=":material/info:")
if "least_alike_miou" in scores:
    scored_on = next(filter(None, map(stored_least_alike_label, evaluations.values())))
    st.caption(f"mIoU least like train: on the {scored_on} (the quarter that looks least like any training frame, "
               "`segcore unlike-train`); closer to held-out data than the whole split, still not held out.")
for line in reports.missing_extras(evaluations, level) + reports.no_class_lines(evaluations, level):
    st.caption(line)
# Images are shown only from a configured data folder holding the very data set that was evaluated.
first = evaluations[next(iter(evaluations))]
data_root = loaders.locate_dataset(first)
reviewed = [by_name[name] for name in evaluations]
st.download_button("Download this comparison as a review page (HTML)", key="ev_review", icon=":material/download:",
                   data=lambda colours=class_colours.choices(): review.review_html(      # made on click (deferred)
                       evaluations, {run.name: run.meta for run in reviewed}, data_root=data_root,
                       eval_paths={run.name: run.evaluations().get(key) for run in reviewed},
                       histories=review.read_histories(reviewed), colours=colours),
                   file_name=f"{key}-review.html", mime="text/html",
                   help="Scores, per-class report, confusion matrices, calibration and the worst frames of both "
                        "levels, and the training curves, in one file that opens offline in any browser (`segcore "
                        "review` writes the same)")

st.subheader("Per-class report")
sort = st.selectbox("Sort bars by", ["class", "mean", *evaluations], key="ev_sort")
st.plotly_chart(figures.iou_bars(evaluations, level, sort))
report = reports.class_report(evaluations, level)
st.dataframe(report.style.format({column: "{:,.0f}" if "support" in column else "{:.1f}" for column in report.columns}),
             placeholder="–")
st.download_button("Download the report (CSV)", csv_bytes(reports.report_csv_frame(report)), key="ev_report_csv",
                   file_name=f"{key}-{level_name}-report.csv", mime="text/csv", icon=":material/download:")
st.caption("Click a column header to sort. IoU, precision (of the predicted pixels), recall (of the true pixels), "
           "Dice and support (true pixels) come from the stored confusion matrix; boundary IoU scores the band "
           "within 2 % of the image diagonal of each class's contour, where thin classes show their errors."
           + (" iIoU weighs every object the same (Cityscapes instanceIds)." if "mean_instance_iou" in scores else ""))

views.calibration_and_edges(evaluations, level)

if data_root is None:
    st.info(views.missing_data_message(first, config), icon=":material/folder_off:")

# --- confusion matrices; a clicked cell (or the picker) selects the frames behind it ------------------------------
st.subheader("Confusion matrices")
normalize = st.radio("Values", ["none", "row", "column"], horizontal=True, key="ev_normalize",
                     format_func=figures.CONFUSION_VALUES.get)
st.caption("Pixel counts are coloured on a log scale (blank: no pixels), so small confusions show beside the "
           "diagonal; click a cell to pick it.")
views.follow_click(views.clicked_cell(evaluations, level), level)
if st.session_state.get("ev_model") not in evaluations:
    st.session_state["ev_model"] = next(iter(evaluations))
views.suggest_cell(evaluations[st.session_state["ev_model"]][level], level)
views.confusion_matrices(evaluations, level, normalize, selected=(
    st.session_state["ev_model"], st.session_state[f"ev_truth_{level}"], st.session_state[f"ev_pred_{level}"]))
st.markdown("**Frames behind a confusion** (click a cell, or pick one)")
left, middle, right = st.columns(3)
model = left.selectbox("Model", list(evaluations), key="ev_model")
names = evaluations[model][level]["names"]
views.suggest_cell(evaluations[model][level], level)
predicted = compare.predicted_names(evaluations[model][level])        # with NO_CLASS where pixels had none
true_id = middle.selectbox("Truth", range(len(names)), format_func=names.__getitem__, key=f"ev_truth_{level}")
pred_id = right.selectbox("Predicted as", range(len(predicted)), format_func=predicted.__getitem__,
                          key=f"ev_pred_{level}")
views.keep_cell(level)
records, partial = views.frames_behind(evaluations[model], level_name, true_id, pred_id)
pixels = sum(record["pixels"] for record in records)
where = " among their 8 largest confusions (format 2 stores no more)" if partial else ""
st.write(f"{len(records)} frames have {names[true_id]} predicted as {predicted[pred_id]}{where}: {pixels:,} px in "
         "all" + (" (the diagonal: correct pixels)." if true_id == pred_id else "."))
if records:
    views.frames_button(f"Open these {len(records)} frames in Frames", key, [model], level_name,
                        (true_id, pred_id), widget_key="ev_open_cell")
if records and not views.stores_frames(evaluations[model]):
    st.info(views.no_frames_message([model]), icon=":material/history:")
for record in records[:views.FRAMES_SHOWN if views.stores_frames(evaluations[model]) else 0]:
    st.markdown(f"`{record['name']}`: {record['pixels']:,} px of {names[true_id]} predicted as {predicted[pred_id]}")
    views.show_run_pictures([(by_name[model], record)], key, data_root, level_name, record["name"],
                            (true_id, pred_id), evaluations[model].get("data_schema"))

# --- worst frames -------------------------------------------------------------------------------------------------
st.subheader("Frames by mIoU, worst first")
browse, doubts = st.columns(2)
views.frames_button("Browse all frames", key, list(evaluations), level_name, widget_key="ev_open_all",
                    container=browse)
if any("label_quality" in record for result in evaluations.values() for record in result.get("per_image", [])):
    views.frames_button("Review likely label errors", key, list(evaluations), level_name, container=doubts,
                        lowest_first="label_quality", widget_key="ev_open_doubts")
table = compare.per_image_table(evaluations, level)
st.dataframe(table, placeholder="–")
name = st.selectbox("Show frame", list(table.index), key="ev_frame")
records = [(by_name[run], compare.find_record(result, name)) for run, result in evaluations.items()]
views.show_run_pictures([(run, record) for run, record in records if record], key, data_root, level_name, name,
                        data_schema=first.get("data_schema"))
