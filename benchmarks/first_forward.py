"""Reproduce the app's slow first forward pass per script run, without a browser.

`.venv/bin/python benchmarks/first_forward.py [RUN]` runs a one-line Streamlit page in AppTest six times; each run
predicts the same-shaped frame twice and prints both model times. In the app the first call of a run costs
4-7x the second (about 150 vs 35 ms for the shipped U-Net on 2 cores), which is why Side by Side shows more than
the bare per-image cost. See docs/BENCHMARKS.md ("Side by Side speed goals") for what was ruled out.
"""
import sys
import tempfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
import streamlit as st
from app.predictions import predictor
from segcore import runs

model = predictor(runs.open_run({run!r}))
image = np.random.default_rng().integers(0, 255, (360, 480, 3), dtype=np.uint8)
st.markdown(str([round(model.predict(image).model_ms) for _ in range(2)]))
"""


def main(run: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.py"
        page.write_text(PAGE.format(root=str(ROOT), run=str(Path(run).resolve())))
        app = AppTest.from_file(str(page), default_timeout=300)
        for attempt in range(6):
            app.run()
            print(f"script run {attempt + 1}: model ms (first call, second call) = {app.markdown[0].value}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models" / "unet-camvid"))
