"""SegLab: the dashboard's entry point (`make run` or `streamlit run streamlit_app.py`); pages live in pages/."""
import streamlit as st

from app_support import navigation_sections

st.set_page_config(page_title="SegLab", layout="wide")
st.navigation(navigation_sections()).run()
