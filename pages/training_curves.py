"""Training Curves: overlay the runs' per-epoch metrics, TensorBoard style, from run folders or uploaded logs."""
import pandas as pd
import streamlit as st

import app_support as app
from segcore.figures_curves import available_metrics, curves_figure
from segcore.histories import HistoryError, discover_histories, read_history, summarize, to_long

config = app.settings()
st.title("Training curves")
st.caption("Solid lines are training, dashed lines validation; a star marks each run's best epoch. "
           "Epochs are counted from 0, as Keras logs them.")

# --- sources: every run folder's history.csv, plus uploads ---------------------------------------------------
found = discover_histories(config.models_dir)
with st.sidebar:
    chosen = st.multiselect("Runs in the models folder", list(found), default=list(found),
                            help=f"Every `<run>/history.csv` under {config.models_dir}")
    uploads = st.file_uploader(
        "Add logs", accept_multiple_files=True, type=None,     # no type filter: event files have no extension
        help="Keras CSVLogger `.csv`, `History.history` `.json`, or TensorBoard `events.out.tfevents.*` files")
if not found:
    st.info(f"No `history.csv` under {config.models_dir}; upload logs in the sidebar to plot them.")

runs: dict[str, pd.DataFrame] = {}
problems: list[str] = []
for name in chosen:
    try:
        runs[name] = app.history(found[name], name)
    except HistoryError as err:
        problems.append(str(err))
for upload in uploads or []:
    try:
        frame = read_history((upload.name, upload.getvalue()))
    except HistoryError as err:
        problems.append(str(err))
        continue
    runs[app.unique_name(frame.attrs["name"], runs)] = frame

for problem in problems:
    st.error(f"Skipped: {problem}", icon=":material/error:")
for name, frame in runs.items():
    for warning in frame.attrs.get("warnings", []):
        st.warning(f"{name}: {warning}")
if not runs:
    st.stop()

# --- the chart ------------------------------------------------------------------------------------------------
metrics = available_metrics(runs)
left, middle, right = st.columns([2, 2, 1], vertical_alignment="bottom")
metric = left.selectbox("Metric", metrics, index=metrics.index("mean_iou") if "mean_iou" in metrics else 0)
smoothing = middle.slider("Smoothing", 0.0, 0.99, 0.6, 0.01,
                          help="Debiased exponential moving average, as TensorBoard's (0 = raw values)")
log_y = right.checkbox("Log scale (y)")
st.plotly_chart(curves_figure(runs, metric, smoothing=smoothing, log_y=log_y))

# --- summary and export ---------------------------------------------------------------------------------------
st.subheader("Summary")
st.caption("Best epoch by validation mIoU (by validation loss when a run logs no IoU); "
           "train-val gap at that epoch, positive when the model does better on training data.")
st.dataframe(summarize(runs), hide_index=True, column_config={"run": st.column_config.TextColumn(pinned=True)})
merged = pd.concat([to_long(frame, name) for name, frame in runs.items()], ignore_index=True)
st.download_button("Download all curves (CSV, long format)", merged.to_csv(index=False).encode(),
                   file_name="training_curves.csv", mime="text/csv", icon=":material/download:")
