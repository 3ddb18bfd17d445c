"""Home: what SegLab does, which trained runs and which data it sees, and links to every page."""
import streamlit as st

import app_support as app

config = app.settings()

st.title("SegLab")
st.markdown(
    "Semantic segmentation of street scenes (CamVid / Cityscapes style): U-Net and SegNet trained with Keras.  \n"
    "Tune the training augmentations on real frames and masks, then export the pipeline for `segcore train`.  \n"
    "Compare training curves and stored evaluations of the runs under the models folder.")

st.subheader("Trained runs")
st.caption(f"Models folder: `{config.models_dir}` (set `SEGLAB_MODELS_DIR` to use another)")
table, broken = app.runs_overview(config.models_dir)
if table.empty:
    st.info("No runs yet. Train one with `segcore train --arch unet --data <data folder> --out "
            f"{config.models_dir}/<name>`, or point `SEGLAB_MODELS_DIR` at a folder of run folders.")
else:
    st.dataframe(table, hide_index=True, placeholder="–", column_config={
        "parameters": st.column_config.NumberColumn(format="localized"),
        "val mIoU": st.column_config.ProgressColumn(min_value=0.0, max_value=1.0, format="percent"),
    })
for name, reason in broken:
    st.warning(f"**{name}** can't be used: {reason}", icon=":material/error:")

st.subheader("Data")
ok, message, _, _ = app.data_overview(config.data_dir)
if ok:
    st.success(message, icon=":material/folder_open:")
else:
    st.warning(message, icon=":material/folder_off:")

st.subheader("Pages")
for page in app.available_pages()[1:]:
    st.page_link(app.st_page(page))
    st.caption(page.blurb)
