"""The Evaluation page's building blocks: evaluating runs from the page (the one place a model runs, on a click),
reading the chosen runs' stored evaluations, the clickable confusion matrices and their picker, links into the
Frames page, and the pictures of an evaluated frame drawn from the stored prediction PNGs (never a model run)."""
from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import streamlit as st

from app import cache_budget as budget
from app import class_colours, frame_links, kept, loaders, pickers
from app.confusion_clicks import cell_from_selection, clickable_cells
from app.settings import Settings
from segcore import compare, eval_records, figures
from segcore import evaluations as stored
from segcore.datasets import DatasetError, list_splits, schema_for
from segcore.files import changed_stamp
from segcore.frame_views import read_label_map, read_thumbnail
from segcore.imageio import ImageError
from segcore.labels import category_schema, labels_schema
from segcore.runs import Run, RunError
from segcore.trimap import trimap_scores

FRAMES_SHOWN = 3            # frames behind a confusion drawn here; the Frames page lists them all


# ------------------------------------------------------------------------------------------------ evaluate here

def evaluate_runs(chosen: list[Run], data: Path, split: str, *, models_dir: Path,
                  overwrite: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Evaluate each run on data/split with a progress bar, writing RUN/eval/<data set key>.json.

    Nothing is written outside `models_dir` (a run linked in from elsewhere is refused), and an existing
    evaluation is replaced only with `overwrite`. Returns the runs evaluated and (kind, message) pairs for the
    page to show (success, or an error per run).
    """
    from app.predictions import predictor          # loads TensorFlow: only when the user asks for an evaluation
    from segcore.evaluate import evaluate_run

    written, messages = [], []
    for run in chosen:
        bar = st.progress(0.0, text=f"{run.name}: loading the model")
        try:
            level = scoring_level(run, data)
            evaluate_run(run, data, split, predictor=predictor(run), overwrite=overwrite, inside=models_dir,
                         level=level,
                         on_image=lambda i, n, run=run, bar=bar: bar.progress(i / n, f"{run.name}: image {i} of {n}"))
            written.append(run.name)
            if level == "category":
                messages.append(("info", f"{run.name} was scored on the 7 categories only: it predicts "
                                          f"{run.schema.name} classes but {data.name} is labelled in another schema."))
        except ValueError as err:   # RunError, DatasetError, ImageError and schema mismatches are all ValueErrors
            messages.append(("error", f"{run.name} was not evaluated: {err}"))
        except OSError as err:      # its evaluation folder: full, read-only
            messages.append(("error", f"{run.name} was not evaluated: its evaluation could not be written "
                                      f"({err.strerror or err}); check the models folder's space and permissions"))
    if written:
        loaders.clear_evaluations()
        messages.insert(0, ("success", f"Evaluated {', '.join(written)} on {data.name}/{split}."))
    return written, messages


def scoring_level(run: Run, data: Path) -> str:
    """"class" where the data is labelled in the run's schema, else "category" (the only level they share)."""
    return "class" if schema_for(data).name == run.schema.name else "category"


def evaluate_form(config: Settings, chosen: list[Run]) -> None:
    """Pick a configured data folder and split (never a typed path) and evaluate the runs on it; the messages
    are left in session state for the rerun to show."""
    if config.read_only:
        st.info("This dashboard is read-only (SEGLAB_READ_ONLY is set), so it stores no new evaluations. Whoever "
                "runs it can evaluate on the server: `segcore evaluate --run <run> --data <folder> --split val`.",
                icon=":material/lock:")
        return
    data = pickers.pick_data_dir(config, key="ev_data", container=st)
    try:
        splits = list_splits(data)
    except DatasetError as err:
        st.error(f"{err}.", icon=":material/folder_off:")
        splits = []
    if st.session_state.get("ev_split") not in splits:
        st.session_state.pop("ev_split", None)        # a split of the previous folder
    if not splits:
        return
    split = st.selectbox("Split", splits, index=splits.index("val") if "val" in splits else 0, key="ev_split")
    try:
        identity = loaders.dataset_identity(data, split)
    except (DatasetError, OSError) as err:
        st.error(f"{err}.", icon=":material/folder_off:")
        return
    target = stored.evaluation_key(identity)
    foreign = [run.name for run in chosen if scoring_level(run, data) == "category"]
    if foreign:
        st.info(f"{', '.join(foreign)} predict{'s' if len(foreign) == 1 else ''} the classes of another schema "
                f"than {data.name} is labelled in ({schema_for(data).name}): only the 7 shared categories can be "
                "scored.", icon=":material/category:")
    existing = [run.name for run in chosen if target in run.evaluations()]
    replace = False
    if existing:
        st.warning(f"{', '.join(existing)} already {'has' if len(existing) == 1 else 'have'} an evaluation on "
                   f"{data.name}/{split} (`{target}`): evaluating again replaces it.", icon=":material/warning:")
        replace = st.checkbox("Replace the existing evaluation", key="ev_replace")
    if st.button(f"Evaluate {len(chosen)} run(s) on {data.name}/{split}", type="primary", key="ev_go",
                 disabled=bool(existing) and not replace):
        written, messages = evaluate_runs(chosen, data, split, models_dir=config.models_dir, overwrite=replace)
        if written:
            st.session_state["ev_key"] = target             # show it at once
        st.session_state.pop("ev_replace", None)
        st.session_state["ev_messages"] = messages
        st.rerun()


# ------------------------------------------------------------------------------------------------ stored results

def pick_evaluation(chosen: list[Run], shared: list[str], default: str, widget_key: str, help: str) -> str:
    """The sidebar's choice among the evaluations every chosen run has, kept across pages; a choice they don't
    share falls back to `default`."""
    kept.restore(widget_key, lambda key: key in shared, default)
    with st.sidebar:
        picked = st.selectbox("Evaluation", shared, key=widget_key, format_func=partial(evaluation_label, chosen[0]),
                              help=help)
    kept.keep(widget_key)
    return picked


def pick_level(evaluations: dict[str, dict], widget_key: str, help: str | None = None) -> str:
    """The sidebar's level ("class" or "category") among those every evaluation has."""
    levels = compare.shared_levels(evaluations)
    kept.restore(widget_key, lambda level: level in levels, levels[0])
    with st.sidebar:
        picked = st.radio("Level", levels, horizontal=True, key=widget_key,
                          format_func={"class": "classes", "category": "7 categories"}.get, help=help)
    kept.keep(widget_key)
    return picked


def evaluation_label(run: Run, key: str) -> str:
    """'camvid val (data set 8a853e67)' from the run's copy, then the test-time augmentation where it is not the
    run's own ('…, multi-scale + flip'); the bare key if it can't be read."""
    try:
        result = loaders.evaluation(run, key)
    except RunError:
        return key
    return stored.label(result, fingerprint=True) + \
        (f", {stored.tta_in_words(result, none='no test-time augmentation')}" if stored.TTA_VARIANT in key else "")


def read_evaluations(chosen: list[Run], key: str) -> dict[str, dict]:
    return loaders.read_evaluations(chosen, key, fix="evaluate the run again (Evaluate on… above)")


def missing_data_message(result: dict, config: Settings) -> str:
    """Why the images of an evaluation can't be shown: its data set is in none of the configured folders."""
    dataset = stored.dataset_of(result)
    why = (f"the data set it was computed on ({dataset['name']}, {dataset['split']} split, fingerprint "
           f"{dataset['fingerprint']}) is not in this dashboard's data folders: "
           + ", ".join(f"`{folder}`" for folder in config.data_dirs)
           if dataset["fingerprint"] else "it was stored before evaluations recorded their data set; evaluate again")
    return f"Frame pictures are not available here: {why}. Scores, tables and matrices are unaffected."


# ------------------------------------------------------------------------------------------------ curves

def calibration_and_edges(evaluations: dict[str, dict], level: str) -> None:
    """The reliability diagrams of the runs that stored calibration, and the trimap curves (scores near the
    ground-truth edges) of those that stored trimap counts."""
    calibrated = {name: eval_records.calibration(result, level) for name, result in evaluations.items()}
    if any(calibrated.values()):
        st.subheader("Calibration")
        for column, (name, bins) in zip(st.columns(2) * len(calibrated), calibrated.items()):
            if bins:
                column.plotly_chart(figures.reliability_diagram(bins, name), key=f"ev_reliability_{name}")
        st.plotly_chart(figures.coverage_curves({name: bins for name, bins in calibrated.items() if bins}),
                        key="ev_coverage")
        st.caption("Confident pixels only: keeping the pixels whose top-class probability is above a threshold "
                   "(each point, from the bins above), the share kept and how many of them are right. Side by "
                   "Side's confidence slider greys out the others.")
    if any(trimap_scores(result[level]) for result in evaluations.values()):
        st.subheader("Near the edges (trimap)")
        st.plotly_chart(figures.trimap_curves(evaluations, level), key="ev_trimap")
        st.caption("mIoU over only the pixels less than w pixels from a ground-truth edge, for growing w (at the "
                   "label's resolution): thin classes and loose outlines lose most at small w, and the curve rises "
                   "towards the mIoU of all pixels (dotted).")


# ------------------------------------------------------------------------------------------------ confusions

def clicked_cell(evaluations: dict[str, dict], level: str) -> tuple[str, int, int] | None:
    """The (run, truth, predicted) cell a click on a matrix selected, read from the charts' state before they are
    drawn again, so the outline follows the click in the same rerun."""
    # Each chart keeps its own selection: the chart whose selection changed since the last rerun is the click (a
    # click on a cell already outlined changes no figure, so another chart may still hold an older selection).
    seen = st.session_state.setdefault("ev_seen_cells", {})
    selected, changed = [], None
    for name, result in evaluations.items():
        key = chart_key(name, level)
        state = st.session_state.get(key) or {}
        points = (state.get("selection") or {}).get("points") if hasattr(state, "get") else None
        cell = cell_from_selection(points, compare.predicted_names(result[level]))
        cell = (name, *cell) if cell else None
        if cell and seen.get(key) != cell:
            changed = cell
        seen[key] = cell
        selected += [cell] if cell else []
    previous = st.session_state.get("ev_clicked")
    return changed or (previous if previous in selected else (selected[-1] if selected else None))


def chart_key(name: str, level: str) -> str:
    return f"ev_cm_{name}_{level}"


def confusion_matrices(evaluations: dict[str, dict], level: str, normalize: str,
                       selected: tuple[str, int, int] | None = None) -> None:
    """One clickable matrix per run (two per row when the category level makes them small enough), the
    `selected` (run, truth, predicted) cell outlined. A click reruns the page (see clicked_cell)."""
    size = len(next(iter(evaluations.values()))[level]["names"])
    per_row = 2 if size <= 8 and len(evaluations) > 1 else 1
    for column, (name, result) in zip(st.columns(per_row) * len(evaluations), evaluations.items()):
        cell = selected[1:] if selected and selected[0] == name else None
        heatmap = clickable_cells(figures.confusion_heatmap(result[level], normalize, title=name, selected=cell))
        column.plotly_chart(heatmap, on_select="rerun", selection_mode="points", key=chart_key(name, level),
                            width="content")


def follow_click(clicked, level: str) -> None:
    """Point the confusion picker at a newly clicked cell; afterwards the picker is free to move on its own."""
    if clicked is None:
        st.session_state.pop("ev_clicked", None)       # a redrawn chart forgets its selection: a new click counts
    elif clicked != st.session_state.get("ev_clicked"):
        st.session_state.update({"ev_clicked": clicked, "ev_model": clicked[0], f"ev_truth_{level}": clicked[1],
                                 f"ev_pred_{level}": clicked[2]})


def suggest_cell(summary: dict, level: str) -> None:
    """Start the picker on the model's largest confusion, where it names no cell of this level yet; ids are
    kept per level, as class and category ids differ."""
    suggested = compare.largest_confusion(summary) or (0, 0)
    sides = (len(summary["names"]), len(compare.predicted_names(summary)))      # the predicted side: NO_CLASS too
    for widget_key, value, count in zip((f"ev_truth_{level}", f"ev_pred_{level}"), suggested, sides):
        kept.restore(widget_key, lambda cell, count=count: isinstance(cell, int) and 0 <= cell < count, value)


def keep_cell(level: str) -> None:
    """Remember the picked cell of `level`, for when the page comes back to that level or from another page."""
    kept.keep(f"ev_truth_{level}")
    kept.keep(f"ev_pred_{level}")


def frames_behind(evaluation: dict, level_name: str, true_id: int, pred_id: int) -> tuple[list[dict], bool]:
    """compare.frames_for_confusion, or none and an error line where a stored frame record can't be read."""
    try:
        return compare.frames_for_confusion(evaluation, level_name, true_id, pred_id)
    except ValueError as err:           # a hand-edited or damaged per-frame record
        st.error(f"{err}; " + stored.RERUN_HINT.format(what="the frames again"), icon=":material/error:")
        return [], False


def frames_button(label: str, key: str, runs: list[str], level_name: str, confusion=None, *, widget_key: str,
                  lowest_first: str | None = None, container=st) -> None:
    """A button that opens the Frames page on these runs' evaluation `key`, filtered to `confusion` if given, or
    sorted by score `lowest_first`."""
    if container.button(label, key=widget_key, icon=":material/grid_view:"):
        frame_links.open_frames(key, runs, level_name, confusion=confusion, lowest_first=lowest_first)


# ------------------------------------------------------------------------------------------------ pictures

@st.cache_data(show_spinner=False, max_entries=128, max_size=budget.STORED_FRAMES_BYTES)
def _stored_picture(path: str, stamp: tuple, labels: bool) -> np.ndarray:
    return read_label_map(path) if labels else read_thumbnail(path)


def stored_picture(run: Run, key: str, record: dict, what: str = "prediction") -> np.ndarray | None:
    """The stored prediction (train ids) or thumbnail of `record` in the run's evaluation `key`; None where the
    evaluation stored none (format 2) or the file is gone (also while this reads). ImageError for an unreadable
    file."""
    path = loaders.stored_file(run, key, record, what)
    stamp = changed_stamp([path])
    return _stored_picture(str(path), stamp, what == "prediction") if stamp else None


def pictures(run: Run, key: str, record: dict, data_root: Path | None, level_name: str, cell=None,
             data_schema: str | None = None) -> dict | None:
    """Image, ground truth and the run's stored prediction of an evaluated frame (with `cell`, the confused pixels
    tinted), by caption; only the thumbnail and prediction where the data set is not here; None where the
    evaluation stored no prediction. ImageError / RunError for unreadable files. No model runs.
    `data_schema`: the schema the evaluation read the labels in, where not the run's (a category-only one)."""
    pred = stored_picture(run, key, record)
    if pred is None:
        return None
    sample = None
    if data_root is not None:
        try:
            sample = stored.record_sample(record, data_root)
            truth_schema = labels_schema(data_schema, run.schema)
        except (DatasetError, ValueError):      # ValueError: a schema name that isn't built in
            sample = None
    if sample is None or not (sample.image.is_file() and sample.label.is_file()):
        thumbnail = stored_picture(run, key, record, "thumbnail")
        shown, shown_schema = compare.at_level(pred, run.schema, "category" if data_schema not in (
            None, run.schema.name) else level_name)
        return {**({"thumbnail": thumbnail} if thumbnail is not None else {}),
                run.name: class_colours.shown(shown_schema).colorize(shown)}
    image, truth = loaders.pair(sample, truth_schema)
    if truth.shape != pred.shape:
        raise ImageError(f"{record.get('name')}: the stored prediction is {pred.shape[0]}x{pred.shape[1]} but the "
                         f"label is {truth.shape[0]}x{truth.shape[1]}; "
                         + stored.RERUN_HINT.format(what="the frames again"))
    if truth_schema.name != run.schema.name:      # a cross-schema evaluation: each map folded by its own schema
        return compare.comparison_pictures(image, truth_schema.to_categories(truth),
                                           {run.name: run.schema.to_categories(pred)}, category_schema(), "class", cell,
                                           class_colours.choices())
    return compare.comparison_pictures(image, truth, {run.name: pred}, run.schema, level_name, cell,
                                       class_colours.choices())


def show_pictures(found: dict) -> None:
    for column, (caption, picture) in zip(st.columns(len(found)), found.items()):
        column.image(picture, caption=caption, width="stretch")


def stores_frames(evaluation: dict) -> bool:
    """Whether an evaluation stored its predicted frames (format 3); a format 2 one can only be re-run."""
    return any("prediction" in record for record in evaluation.get("per_image", []))


def no_frames_message(runs: list[str]) -> str:
    return (f"{', '.join(runs)}: this evaluation stores no predicted frames (format 2), and this page never runs a "
            f"model to draw them: {stored.RERUN_HINT.format(what='the frames')}.")


def show_run_pictures(records: list[tuple[Run, dict]], key: str, data_root: Path | None, level_name: str, name: str,
                      cell=None, data_schema: str | None = None) -> None:
    """The pictures of frame `name` for each (run, its record) in one row, from the stored predictions; runs whose
    evaluation stored none (format 2) and unreadable files are said in one line each."""
    found, unstored = {}, []
    for run, record in records:
        try:
            drawn = pictures(run, key, record, data_root, level_name, cell, data_schema)
        except (ImageError, RunError, OSError) as err:
            st.error(f"{err}", icon=":material/broken_image:")
            continue
        if drawn is None:
            unstored.append(run.name)
        else:
            found.update({caption: picture for caption, picture in drawn.items()
                          if caption not in found})        # image and ground truth once for all runs
    if found:
        show_pictures(found)
        first_run = records[0][0]
        categories = level_name == "category" or data_schema not in (None, first_run.schema.name)
        st.html(figures.legend_html(class_colours.shown(category_schema() if categories else first_run.schema)))
    if unstored:
        st.info(no_frames_message(unstored), icon=":material/history:")
