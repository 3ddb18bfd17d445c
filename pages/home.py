"""Home: what SegLab does, which trained runs and which data it sees, and links to every page."""
import os

import streamlit as st

from app import loaders, model_upload, shell
from app.settings import EVAL_MIOU, EVAL_TTA, EVALUATED_ON, LOG_MIOU
from app.text import plain

config = shell.settings()

st.title("SegLab")
st.markdown(
    "Semantic segmentation of street scenes (CamVid / Cityscapes style): U-Net and SegNet trained with Keras.  \n"
    "Tune the training augmentations on real frames and masks, then export the pipeline for `segcore train`.  \n"
    "Compare training curves and stored evaluations of the runs under the models folder.")

st.subheader("Trained runs")
st.caption(f"Models folder: `{config.models_dir}` (set `SEGLAB_MODELS_DIR` to use another)")
table, broken = loaders.runs_overview(config.models_dir)
if config.models_dir.exists() and not config.models_dir.is_dir():
    st.error(f"{config.models_dir} is a file, not a folder; point `SEGLAB_MODELS_DIR` at the folder that holds the "
             "run folders.", icon=":material/folder_off:")
elif table.empty:
    st.info("No runs yet. Train one with `segcore train --arch unet --data <data folder> --out "
            f"{config.models_dir}/<name>`, or point `SEGLAB_MODELS_DIR` at a folder of run folders.")
else:
    # One data set behind every evaluated score: name it in the column header too.
    scored_on = table[EVALUATED_ON].dropna().unique()
    evaluated = f"mIoU %, {scored_on[0]}" if len(scored_on) == 1 else "mIoU % (evaluation, see evaluated on)"
    st.dataframe(table, hide_index=True, placeholder="–", column_config={
        "status": st.column_config.TextColumn(width="medium", help="ok (and whether it is training or was "
                                                                    "interrupted), or why the run can't be used (in "
                                                                    "full below the table)"),
        "parameters": st.column_config.NumberColumn(format="localized"),
        EVAL_MIOU: st.column_config.ProgressColumn(evaluated, min_value=0.0, max_value=100.0, format="%.1f",
                                                   help="Class-level mIoU of the run's stored evaluation on a val "
                                                        "split, scored at each label's own resolution"),
        EVAL_TTA: st.column_config.TextColumn(help="How that evaluation predicted: test-time flip averages each "
                                                  "frame with its mirror (the run's own setting unless evaluated "
                                                  "with --tta)"),
        LOG_MIOU: st.column_config.NumberColumn(format="%.1f",
                                                help="Best epoch's Keras val mIoU logged during training, at the "
                                                     "model's input size: not the same measurement as an "
                                                     "evaluation"),
    })
    st.caption("Evaluation scores come from `segcore evaluate` (or Evaluate on… on the Evaluation page) at the "
               "labels' own resolution; training-log scores were measured during training at the model's input "
               "size, so the two differ.")
    for note in table.attrs.get("notes", []):
        st.info(note, icon=":material/info:")
for name, reason in broken:
    st.warning(f"**{plain(name)}** can't be used: {plain(reason)}", icon=":material/error:")
model_upload.bring_a_model(config)

st.subheader("Data")
for data_dir in config.data_dirs:
    ok, message, _, _ = loaders.data_overview(data_dir)
    if ok:
        st.success(message, icon=":material/folder_open:")
    else:
        st.warning(message, icon=":material/folder_off:")
st.caption("The pages read data only from these folders (`SEGLAB_DATA_DIR`, several separated by `"
           f"{os.pathsep}`)." + (" Read-only: the dashboard stores no new evaluations (`SEGLAB_READ_ONLY`)."
                                 if config.read_only else ""))

st.subheader("Pages")
for page in shell.available_pages()[1:]:
    st.page_link(shell.st_page(page))
    st.caption(page.blurb)
