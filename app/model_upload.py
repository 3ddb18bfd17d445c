"""Home's "Bring a model": an ONNX or Keras file uploaded in the browser becomes a run under the models folder
(segcore.importing_upload), then shows on every page like a trained one."""
from __future__ import annotations

import streamlit as st

from app.settings import Settings
from segcore.backends.preprocessing import PREPROCESS_IN_WORDS, PREPROCESS_MODES
from segcore.importing_upload import import_uploaded_model, run_name_problem, suggested_name
from segcore.labels import SCHEMAS
from segcore.limits import MAX_UPLOAD_BYTES

DONE = "mu_done"        # the last import's one-line outcome, shown after the rerun that lists the new run
ROUND = "mu_round"      # bumped after an import: a fresh, empty uploader for the next model


def bring_a_model(config: Settings) -> None:
    done = st.session_state.pop(DONE, None)
    if done:
        st.success(done, icon=":material/check_circle:")
    with st.expander("Bring a model (ONNX or Keras)", icon=":material/upload_file:"):
        if config.read_only:
            st.caption("Read-only dashboard (`SEGLAB_READ_ONLY`): models are added with `segcore import MODEL "
                       f"--schema SCHEMA --out {config.models_dir}/NAME`.")
            return
        st.caption("A segmentation model made elsewhere (an ONNX export of a PyTorch model, a Keras `.keras` file) "
                   "joins the runs: Side by Side runs it on your images, Evaluation scores it. Keras files load "
                   f"in safe mode (no code from the file runs); at most {MAX_UPLOAD_BYTES // 2**20} MB.")
        upload = st.file_uploader("Model file", type=["onnx", "keras"], key=f"mu_file_{st.session_state.get(ROUND, 0)}")
        left, right = st.columns(2)
        schema = left.selectbox("Classes it predicts", list(SCHEMAS), key="mu_schema",
                                help="The label schema it was trained on; its number of classes must match")
        preprocess = right.selectbox("Input it expects", PREPROCESS_MODES, key="mu_preprocess",
                                     format_func=PREPROCESS_IN_WORDS.get)
        default = suggested_name(upload.name, config.models_dir) if upload else ""
        name = st.text_input("Run name", value=default, key=f"mu_name_{default}", max_chars=64,
                             help=f"Its folder under {config.models_dir}")
        problem = run_name_problem(name, config.models_dir) if upload and name else None
        if problem:
            st.caption(problem)
        if st.button("Add to the runs", key="mu_add", icon=":material/add:", disabled=not upload or not name
                     or problem is not None):
            with st.spinner(f"Importing {upload.name} (checked by opening it once)…"):
                try:
                    run = import_uploaded_model(upload.getvalue(), upload.name, config.models_dir, name,
                                                schema=schema, preprocess=preprocess)
                except ValueError as err:       # RunError is a ValueError: name, file or model unusable
                    st.error(f"{err}", icon=":material/error:")
                    return
            st.session_state[DONE] = f"Added {upload.name} as run **{run.name}**: choose it on Side by Side or " \
                                     "Evaluation."
            st.session_state[ROUND] = st.session_state.get(ROUND, 0) + 1
            st.rerun()
