"""SegLab: the dashboard's entry point (`make run` or `streamlit run streamlit_app.py`); pages live in pages/, their
glue in app/."""
from pathlib import Path

import streamlit as st

from app.shell import navigation_sections

# A file, not an emoji or a Material icon: those make the browser fetch the favicon from fonts.gstatic.com,
# which fails offline and would be the app's only call to the network.
ICON = Path(__file__).resolve().parent / "assets" / "seglab-icon.png"

st.set_page_config(page_title="SegLab", page_icon=str(ICON), layout="wide")
st.navigation(navigation_sections()).run()
