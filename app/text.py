"""Names from files and folders, shown as they are in Streamlit's Markdown (alerts, captions, headings)."""
from __future__ import annotations

import re


def plain(text: str) -> str:
    """`text` (a file or run name) for st.markdown, shown as it is: Markdown, LaTeX ($) and colour (:red[...])
    syntax escaped; an underscore inside a word (frame_0001) needs none and gets none."""
    escaped = re.sub(r"([\\`*\[\]$:~<>|#])", r"\\\1", str(text))
    return re.sub(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])", r"\\_", escaped)
