"""Frames: every frame the chosen runs' stored evaluations scored, as a paged grid of thumbnails to filter (a class
in the truth, a class missed, a confusion, an mIoU range) and sort; one click opens a frame's layers. It projects
stored files only: no model runs here."""
import streamlit as st

from app import frame_browser as browser
from app import class_colours, frame_links, loaders, pickers, shell
from app.evaluation_views import pick_evaluation, pick_level
from app.frame_viewer import show_viewer
from segcore import compare
from segcore import evaluations as stored
from segcore import frame_queries as queries

config = shell.settings()
st.title("Frames")
request = frame_links.take_request()
if request is not None:
    browser.apply_request(request)
chosen = pickers.pick_runs(config.models_dir, key="fr_runs")
if not chosen:
    st.stop()
runs = {run.name: run for run in chosen}

available = {run.name: list(run.evaluations()) for run in chosen}
shared, default = compare.evaluation_keys(available)
if not shared:
    st.info("The chosen runs share no stored evaluation of one data set: evaluate them on the same data "
            "(Evaluation page, or `segcore evaluate --run <run> --data <folder> --split val`).  \n"
            + "  \n".join(f"**{name}**: {', '.join(keys) or 'none'}" for name, keys in available.items()))
    st.stop()
key = pick_evaluation(chosen, shared, default, "fr_key", help="Data set and split the runs were evaluated on")
evaluations = browser.read_evaluations(chosen, key)
if not evaluations:
    st.stop()
level = pick_level(evaluations, "fr_level")
try:
    index = browser.frame_index([runs[name] for name in evaluations], key, evaluations, level)
except ValueError as err:
    st.error(f"{err}.", icon=":material/error:")
    st.stop()
if not index.names:
    st.info("These evaluations share no frame: evaluate the runs again on the same data set.")
    st.stop()
browser.apply_pending(index)
class_colours.runs_editor(chosen, [level, *{"class", "category"} - {level}])

first = evaluations[index.runs[0]]
scored_by = ", ".join(f"{run} ({stored.how_predicted(evaluations[run])})" for run in index.runs)
st.caption(f"{stored.label(first)}: {len(index.names)} frames scored by {scored_by}, "
           f"at {'class' if level == 'class' else 'category'} level. Scores are stored ones; no model runs here.")
note = browser.partial_message(index)
if note:
    st.warning(note, icon=":material/history:")
for trained_on in filter(None, map(stored.trained_on_note, evaluations.values())):
    st.info(trained_on, icon=":material/info:")       # a final model's scores on frames it trained on
data_root = loaders.locate_dataset(first)
if data_root is None:
    st.info("Ground truth is not shown: the data set these frames come from is in none of this dashboard's data "
            f"folders ({', '.join(f'`{folder}`' for folder in config.data_dirs)}). Stored scores, predictions and "
            "thumbnails still are; a frame whose evaluation stored no thumbnail shows a run's prediction instead of "
            "the photo.", icon=":material/folder_off:")

records = {run: {r["name"]: r for r in result["per_image"]} for run, result in evaluations.items()}
query = browser.query_form(index)
try:
    listed = queries.select_frames(index, query)
except ValueError as err:
    st.error(f"{err}.", icon=":material/error:")
    st.stop()

opened = st.session_state.get("fr_open")
if opened in index.names:
    show_viewer(opened, listed, index, evaluations, runs, key, records, data_root)
    st.stop()

if not listed:
    st.info("No frame passes these filters: loosen them in the sidebar.", icon=":material/filter_alt_off:")
    st.stop()
browser.show_grid(index, browser.page_of(listed), runs, key, records, data_root)
# Keyed: it stays open as the filters change the grid above it (an unkeyed expander that moves is drawn anew).
with st.expander("Scores of the listed frames (%)", icon=":material/table:", key="fr_scores"):
    st.dataframe(queries.score_table(index, listed, query), placeholder="–")
