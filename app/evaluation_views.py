"""The Evaluation page's building blocks: evaluating runs from the page, reading the chosen runs' stored
evaluations, the clickable confusion matrices and their picker, and the pictures of an evaluated image."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import loaders, pickers
from app.confusion_clicks import cell_from_selection, clickable_cells
from app.predictions import prediction, predictor
from app.settings import Settings
from segcore import compare, figures
from segcore import evaluations as stored
from segcore.datasets import DatasetError, list_splits, schema_for
from segcore.imageio import ImageError
from segcore.labels import category_schema, get_schema
from segcore.runs import Run, RunError


# ------------------------------------------------------------------------------------------------ evaluate here

def evaluate_runs(chosen: list[Run], data: Path, split: str, *, models_dir: Path,
                  overwrite: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """Evaluate each run on data/split with a progress bar, writing RUN/eval/<data set key>.json.

    Nothing is written outside `models_dir` (a run linked in from elsewhere is refused), and an existing
    evaluation is replaced only with `overwrite`. Returns the runs evaluated and (kind, message) pairs for the
    page to show (success, or an error per run).
    """
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

def evaluation_label(run: Run, key: str) -> str:
    """'camvid val (data set 8a853e67)' from the run's copy; the bare key if it can't be read."""
    try:
        dataset = stored.dataset_of(loaders.evaluation(run, key))
    except RunError:
        return key
    return f"{dataset['name']} {dataset['split']}" + (f" (data set {dataset['fingerprint']})"
                                                      if dataset["fingerprint"] else "")


def read_evaluations(chosen: list[Run], key: str) -> dict[str, dict]:
    """{run name: its stored evaluation `key`}; a run whose copy can't be read is reported and left out."""
    evaluations = {}
    for run in chosen:
        try:
            evaluations[run.name] = loaders.evaluation(run, key)
        except RunError as err:
            st.error(f"{err}. Evaluate the run again (Evaluate on… above).", icon=":material/error:")
    return evaluations


def missing_data_message(result: dict, config: Settings) -> str:
    """Why the images of an evaluation can't be shown: its data set is in none of the configured folders."""
    dataset = stored.dataset_of(result)
    why = (f"the data set it was computed on ({dataset['name']}, {dataset['split']} split, fingerprint "
           f"{dataset['fingerprint']}) is not in this dashboard's data folders: "
           + ", ".join(f"`{folder}`" for folder in config.data_dirs)
           if dataset["fingerprint"] else "it was stored before evaluations recorded their data set; evaluate again")
    return f"Frame pictures are not available here: {why}. Scores, tables and matrices are unaffected."


# ------------------------------------------------------------------------------------------------ confusions

def confusion_matrices(evaluations: dict[str, dict], level: str, normalize: str) -> tuple[str, int, int] | None:
    """One clickable matrix per run, two per row; the (run, truth, predicted) of a clicked cell, if any."""
    clicked = None
    for column, (name, result) in zip(st.columns(min(len(evaluations), 2)) * len(evaluations), evaluations.items()):
        heatmap = clickable_cells(figures.confusion_heatmap(result[level], normalize, title=name))
        event = column.plotly_chart(heatmap, on_select="rerun", selection_mode="points", key=f"ev_cm_{name}_{level}")
        cell = cell_from_selection(event.selection.points, result[level]["names"]) if event else None
        clicked = (name, *cell) if cell else clicked
    return clicked


def follow_click(clicked, level: str) -> None:
    """Point the confusion picker at a newly clicked cell; afterwards the picker is free to move on its own."""
    if clicked and clicked != st.session_state.get("ev_clicked"):
        st.session_state.update({"ev_clicked": clicked, "ev_model": clicked[0], f"ev_truth_{level}": clicked[1],
                                 f"ev_pred_{level}": clicked[2]})


def suggest_cell(summary: dict, level: str) -> None:
    """Start the picker on the model's largest confusion, where it names no cell of this level yet; ids are
    kept per level, as class and category ids differ."""
    suggested = compare.largest_confusion(summary) or (0, 0)
    for widget_key, value in zip((f"ev_truth_{level}", f"ev_pred_{level}"), suggested):
        if st.session_state.get(widget_key, len(summary["names"])) >= len(summary["names"]):
            st.session_state[widget_key] = value


# ------------------------------------------------------------------------------------------------ pictures

def pictures(run: Run, record: dict, data_root: Path | None, level_name: str, cell=None,
             data_schema: str | None = None) -> dict | None:
    """Image, ground truth and the run's prediction of an evaluated image (with `cell`, the confused pixels
    tinted), or None when the data set or its files are not here. ImageError / RunError for unreadable ones.
    `data_schema`: the schema the evaluation read the labels in, where not the run's (a category-only one)."""
    if data_root is None:
        return None
    try:
        sample = stored.record_sample(record, data_root)
        truth_schema = run.schema if data_schema in (None, run.schema.name) else get_schema(data_schema)
    except (DatasetError, ValueError):      # ValueError: a schema name that isn't built in
        return None
    if not (sample.image.is_file() and sample.label.is_file()):
        return None
    image, truth = loaders.pair(sample, truth_schema)
    pred = prediction(run, image).labels
    if truth_schema.name != run.schema.name:      # a cross-schema evaluation: each map folded by its own schema
        return compare.comparison_pictures(image, truth_schema.to_categories(truth),
                                           {run.name: run.schema.to_categories(pred)}, category_schema(), "class", cell)
    return compare.comparison_pictures(image, truth, {run.name: pred}, run.schema, level_name, cell)


def show_pictures(found: dict) -> None:
    for column, (caption, picture) in zip(st.columns(len(found)), found.items()):
        column.image(picture, caption=caption, width="stretch")


def show_run_pictures(records: list[tuple[Run, dict]], data_root: Path | None, level_name: str, name: str,
                      cell=None, data_schema: str | None = None) -> None:
    """The pictures of image `name` for each (run, its record) in one row; errors and missing files said."""
    found, failed = {}, False
    for run, record in records:
        try:
            found.update(pictures(run, record, data_root, level_name, cell, data_schema) or {})
        except (ImageError, RunError) as err:
            st.error(f"{err}", icon=":material/broken_image:")
            failed = True
    if found:
        show_pictures(found)
    elif data_root is not None and not failed:
        st.caption(f"{name}: image files not found in `{data_root}`")
