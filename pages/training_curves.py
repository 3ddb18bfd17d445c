"""Training Curves: overlay the runs' per-epoch metrics, TensorBoard style, from run folders or uploaded logs."""
import pandas as pd
import streamlit as st

from app import kept, loaders, shell
from app.text import plain
from app.uploads import unique_name
from segcore.exports import csv_bytes
from segcore.figures_curves import (X_AXES, available_metrics, axis_title, curves_figure, run_colours,
                                    runs_without_clock)
from segcore.histories import BEST_EPOCH_RULE, HistoryError, discover_histories, read_history, summarize, to_long

config = shell.settings()
st.title("Training curves")
st.caption("Solid lines are training, dashed lines validation; a star marks each run's one best epoch, the same "
           "epoch whatever metric is shown. Epochs are counted from 0, as Keras logs them.")

# --- sources: every run folder's history (history.csv, else its TensorBoard logs/), plus uploads ----------------
found = discover_histories(config.models_dir)
with st.sidebar:
    # The choice survives reruns, other pages and new run folders (a training's own): first, every run.
    kept.restore("curves_runs", lambda names: True, list(found))
    st.session_state["curves_runs"] = [name for name in st.session_state["curves_runs"] if name in found]
    chosen = st.multiselect("Runs in the models folder", list(found), key="curves_runs",
                            help=f"Every `<run>/history.csv` (or `<run>/logs/`) under {config.models_dir}")
    kept.keep("curves_runs")
    uploads = st.file_uploader(
        "Add logs", accept_multiple_files=True, type=None,     # no type filter: event files have no extension
        help="Keras CSVLogger `.csv`, `History.history` `.json`, TensorBoard `events.out.tfevents.*` files, or a "
             "`.zip` of a TensorBoard log folder (its `train/` and `validation/` subfolders become one run)")
if not found:
    st.info(f"No `history.csv` or `logs/` under {config.models_dir}; upload logs in the sidebar to plot them.")

runs: dict[str, pd.DataFrame] = {}
problems: list[str] = []
for name in chosen:
    try:
        runs[name] = loaders.history(found[name], name)
    except HistoryError as err:
        problems.append(str(err))
loose_events = 0
for upload in uploads or []:
    try:
        history = read_history((upload.name, upload.getvalue()))
    except HistoryError as err:
        problems.append(str(err))
        continue
    loose_events += "tfevents" in upload.name
    runs[unique_name(history.attrs["name"], runs)] = history

for problem in problems:
    st.error(f"Skipped: {plain(problem)}", icon=":material/error:")
if loose_events > 1:
    st.info("Event files uploaded one by one lose their `train/` and `validation/` folders, so each is read as a "
            "run of its own, labelled train. Zip the log folder and upload the `.zip` to read it as one run.")
for name, history in runs.items():
    for warning in history.attrs.get("warnings", []):
        st.warning(plain(f"{name}: {warning}"))
if not runs:
    st.stop()

# Colours by order of first appearance, kept for the session: adding uploads never recolours a shown run.
st.session_state["curve_colours"] = colours = run_colours(runs, keep=st.session_state.get("curve_colours"))

# --- the chart ------------------------------------------------------------------------------------------------
metrics = available_metrics(runs)
left, middle, x_column, right = st.columns([2, 2, 2, 1.5], vertical_alignment="bottom")
kept.restore("curves_metric", lambda name: name in metrics, "mean_iou" if "mean_iou" in metrics else metrics[0])
metric = left.selectbox("Metric", metrics, key="curves_metric", format_func=axis_title)
kept.keep("curves_metric")
smoothing = middle.slider("Smoothing", 0.0, 0.99, 0.6, 0.01,
                          help="Debiased exponential moving average, as TensorBoard's (0 = raw values). The star "
                               "sits on the smoothed curve; its tooltip gives the raw value too.")
x_axis = x_column.selectbox("X axis", list(X_AXES),
                            format_func=lambda axis: X_AXES[axis][1][:1].upper() + X_AXES[axis][1][1:],
                            help="Training time leaves out the pauses between a run's sessions: segcore's "
                                 "history.csv counts it as it trains; in TensorBoard logs each session's event "
                                 "file counts from its first event.")
log_y = right.checkbox("Log scale (y)")
ignore_outliers = right.checkbox("Ignore outliers", help="Scale the y axis to the 5th-95th percentile of the "
                                 "drawn values (plus a margin), so an early spike doesn't flatten the rest")
st.plotly_chart(curves_figure(runs, metric, smoothing=smoothing, log_y=log_y, colours=colours, x_axis=x_axis,
                              ignore_outliers=ignore_outliers))
untimed = runs_without_clock(runs, x_axis) if x_axis != "epoch" else []
if untimed:
    st.caption(f"Not drawn against {X_AXES[x_axis][1]}: {', '.join(untimed)}. Their logs don't say when each epoch "
               "ended (segcore's history.csv logs it, as do TensorBoard event files); choose the epoch axis to see "
               "them.")

# --- summary and export ---------------------------------------------------------------------------------------
st.subheader("Summary")
st.caption(f"Best epoch: {BEST_EPOCH_RULE}. Every value in a row is read at that run's best epoch; gaps are "
           "positive when the model does better on training data.")
st.caption("These are the metrics Keras logged during training: computed at the model's input size (column "
           "\"input (H x W)\"), on the frames of the training data set's validation split, mIoU and accuracy "
           "accumulated over the epoch's batches, loss averaged over them (train values on augmented frames). "
           "Home and Evaluation show `segcore evaluate` instead: predictions resized to each label's full "
           "resolution, so the same model's numbers differ a little.")
summary = summarize(runs)
number_columns = {c: st.column_config.NumberColumn(format="%.2f" if "(%)" in c or "points" in c else "%.4g")
                  for c in summary.columns if summary[c].dtype.kind == "f"}
st.dataframe(summary, hide_index=True, placeholder="–",
             column_config={"run": st.column_config.TextColumn(pinned=True), **number_columns})
merged = pd.concat([to_long(history, name) for name, history in runs.items()], ignore_index=True)
st.download_button("Download all curves (CSV, long format, values as logged)", csv_bytes(merged),
                   file_name="training_curves.csv", mime="text/csv", icon=":material/download:")
