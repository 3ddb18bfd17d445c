"""Home's "Bring a model": an ONNX or Keras file, or a zip of predicted label PNGs, uploaded in the browser becomes a
run under the models folder (segcore.importing_upload), then shows on every page like a trained one."""
from __future__ import annotations

import streamlit as st

from app import shell
from app.pickers import BROUGHT
from app.settings import Settings
from app.text import plain
from segcore.backends.preprocessing import PREPROCESS_IN_WORDS, PREPROCESS_MODES
from segcore import runs
from segcore.importing_predictions import no_class_note
from segcore.importing_upload import (export_summary, import_uploaded_model, import_uploaded_predictions,
                                      run_name_problem, suggested_name)
from segcore.labels import SCHEMAS
from segcore.limits import MAX_UPLOAD_BYTES

DONE = "mu_done"        # the last import's one-line outcome, shown after the rerun that lists the new run
ROUND = "mu_round"      # bumped after an import: fresh, empty uploaders for the next one
EXPORT_READ = "mu_export_read"      # (upload's file id, what its metadata said): parsed once per upload


def bring_a_model(config: Settings) -> None:
    done = st.session_state.pop(DONE, None)
    if done:
        said, pages = done
        st.success(said, icon=":material/check_circle:")
        for page in shell.available_pages():
            if page.title in pages:
                st.page_link(shell.st_page(page))
    # Keyed: it stays open on the rerun after the next upload, though the success line above it has gone (an
    # unkeyed expander that moves is drawn anew, closed).
    with st.expander("Bring a model (ONNX, Keras, or its predicted masks)", icon=":material/upload_file:",
                     key="mu_box"):
        if config.read_only:
            st.caption("Read-only dashboard (`SEGLAB_READ_ONLY`): models are added with `segcore import MODEL "
                       f"--schema SCHEMA --out {config.models_dir}/NAME` (a folder of masks: add `--predictions`).")
            return
        model, masks = st.tabs(["Model file", "Predicted masks"])
        with model:
            st.caption("A segmentation model made elsewhere (an ONNX export of a PyTorch model, a Keras `.keras` "
                       "file) joins the runs: Side by Side runs it on your images, Evaluation scores it. Keras files "
                       f"load in safe mode (no code from the file runs); at most {MAX_UPLOAD_BYTES // 2**20} MB.")
            _model_form(config)
        with masks:
            st.caption("Another tool's predictions, one label PNG per image named like it (X.png or X_pred.png for "
                       "image X.png), zipped: Evaluation scores them on the frames they cover, Frames shows them. "
                       "PNGs of class ids, or of the schema's colours.")
            _masks_form(config)


def _name_box(config: Settings, upload, form: str) -> tuple[str, str | None]:
    """The run name (suggested from the upload) and why it can't be used, if so."""
    default = suggested_name(upload.name, config.models_dir) if upload else ""
    name = st.text_input("Run name", value=default, key=f"mu_{form}_name_{default}", max_chars=64,
                         help=f"Its folder under {config.models_dir}")
    problem = run_name_problem(name, config.models_dir) if upload and name else None
    if problem:
        st.caption(problem)
    return name, problem


def _model_form(config: Settings) -> None:
    upload = st.file_uploader("Model file", type=["onnx", "keras"], key=f"mu_file_{st.session_state.get(ROUND, 0)}")
    exported = _export_summary(upload)
    if exported:
        st.caption(f"A SegLab export: {exported}.")
    # Keyed by the upload: on by itself for a SegLab export, off for any other file.
    from_file = st.toggle("Classes and input as the file says", value=exported is not None,
                          key=f"mu_from_file_{upload.file_id if upload else ''}",
                          help="For an ONNX file SegLab exported (`segcore export`): it carries its classes, input "
                               "size and preprocessing")
    schema = preprocess = void = input_size = None   # None: as the file says
    if not from_file:                   # hidden when on: greyed boxes would show values the file may contradict
        left, right = st.columns(2)
        schema = left.selectbox("Classes it predicts", list(SCHEMAS), key="mu_schema",
                                help="The label schema it was trained on; its number of classes must match")
        preprocess = right.selectbox("Input it expects", PREPROCESS_MODES, key="mu_preprocess",
                                     format_func=PREPROCESS_IN_WORDS.get)
        classes = SCHEMAS[schema].num_classes
        channels = {"none": None, f"last ({classes})": classes, "first (0)": 0}
        void = channels[st.radio("Void channel", list(channels), horizontal=True, key=f"mu_void_{schema}",
                                 help="A model with one output more than the classes, meaning void (a 12-class "
                                      "CamVid model's Unlabelled): where that output wins, the pixel gets no class")]
        input_size = st.text_input("Input size (height x width)", key="mu_input_size", placeholder="e.g. 360x480",
                                   help="The size to feed a model whose height and width are free (most PyTorch "
                                        "exports); leave it empty for a model with a fixed input size")
    name, problem = _name_box(config, upload, "model")
    if st.button("Add to the runs", key="mu_add", icon=":material/add:",
                 disabled=not upload or not name or problem is not None):
        def imported() -> tuple[str, str, tuple]:
            run = import_uploaded_model(upload.getvalue(), upload.name, config.models_dir, name, schema=schema,
                                        preprocess=preprocess, void=void, input_size=input_size)
            said = f"Added {plain(upload.name)} as run **{run.name}**, chosen on these pages:"
            return run.name, said, ("Side by Side", "Evaluation")
        _add(upload, imported)


def _export_summary(upload) -> str | None:
    """segcore's summary of a SegLab ONNX export, read once per upload (the file is parsed, never run)."""
    if upload is None or not upload.name.lower().endswith(".onnx"):
        return None
    read = st.session_state.get(EXPORT_READ)
    if not read or read[0] != upload.file_id:
        read = st.session_state[EXPORT_READ] = upload.file_id, export_summary(upload.getvalue())
    return read[1]


def _masks_form(config: Settings) -> None:
    upload = st.file_uploader("Zip of label PNGs", type=["zip"], key=f"mu_masks_{st.session_state.get(ROUND, 0)}")
    left, right = st.columns(2)
    schema = left.selectbox("Classes they hold", list(SCHEMAS), key="mu_masks_schema")
    label_ids = right.toggle("Label ids (Cityscapes labelIds)", key="mu_label_ids",
                             help="The PNGs hold the schema's label ids (Cityscapes' *_labelIds.png), not train ids")
    name, problem = _name_box(config, upload, "masks")
    if st.button("Add to the runs", key="mu_add_masks", icon=":material/add:",
                 disabled=not upload or not name or problem is not None):
        def imported() -> tuple[str, str, tuple]:
            run, count = import_uploaded_predictions(upload.getvalue(), upload.name, config.models_dir, name,
                                                     schema=schema, label_ids=label_ids)
            note = no_class_note(runs.read_json(run / runs.META_FILE))
            return run.name, (f"Added the {count} predicted mask{'' if count == 1 else 's'} of {plain(upload.name)} as "
                              f"run **{run.name}**{f' ({note})' if note else ''}: score it with Evaluate on… "
                              "here:"), ("Evaluation",)
        _add(upload, imported)


def _add(upload, do_import) -> None:
    """Run the import with a spinner; its one-line refusal as an error box, its success line (and links to the pages
    where the new run is chosen) after a rerun."""
    with st.spinner(f"Importing {upload.name} (checked before it is kept)…"):
        try:
            name, said, pages = do_import()
        except ValueError as err:       # RunError is a ValueError: name, file or model unusable
            st.error(plain(str(err)), icon=":material/error:")
            return
        except OSError as err:          # the models folder: full, read-only, a name the file system refuses
            st.error(f"{plain(upload.name)} could not be written into the models folder ({err.strerror or err}); "
                     "check its space and permissions, or set SEGLAB_READ_ONLY=1", icon=":material/error:")
            return
    st.session_state[DONE] = said, pages
    st.session_state[BROUGHT] = [*st.session_state.get(BROUGHT, []), name]
    st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
    st.rerun()
