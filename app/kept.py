"""Widget choices that outlive their widget: Streamlit forgets a widget's value when a run of the app leaves it out
(another page, or a branch such as the other level), so the last choice is also kept under `<key>_kept`."""
from __future__ import annotations

from typing import Callable

import streamlit as st


def restore(key: str, valid: Callable[[object], bool], default) -> None:
    """Before drawing widget `key`: its current or kept value where `valid` (still among the options), else
    `default`. The widget is then drawn with `key` and no default of its own."""
    value = st.session_state.get(key, st.session_state.get(f"{key}_kept"))
    st.session_state[key] = value if value is not None and valid(value) else default


def keep(key: str) -> None:
    """After drawing widget `key`: remember its value for when the widget comes back."""
    st.session_state[f"{key}_kept"] = st.session_state.get(key)
