"""Reproduce TensorFlow's slow first forward pass per Streamlit script run, without a browser.

`.venv/bin/python benchmarks/first_forward.py [RUN] [--engine keras|onnx]` runs a one-line Streamlit page in
AppTest six times; each run predicts the same-shaped frame twice and prints both model times. With Keras
(TensorFlow) the first call of a run costs 4-7x the second (about 150 vs 35 ms for the shipped U-Net on 2 cores);
through the run's ONNX export, as the app now serves Keras runs, it doesn't. See docs/BENCHMARKS.md ("Side by Side
speed goals") for what was ruled out.
"""
import argparse
import tempfile
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
PAGE = """
import sys
sys.path.insert(0, {root!r})
import numpy as np
import streamlit as st
from segcore.predict import Predictor

model = st.cache_resource(Predictor)({run!r}, keras_via_onnx={onnx})
image = np.random.default_rng().integers(0, 255, (360, 480, 3), dtype=np.uint8)
st.markdown(str([round(model.predict(image).model_ms) for _ in range(2)]))
"""


def main(run: str, engine: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "page.py"
        page.write_text(PAGE.format(root=str(ROOT), run=str(Path(run).resolve()), onnx=engine == "onnx"))
        app = AppTest.from_file(str(page), default_timeout=300)
        for attempt in range(6):
            app.run()
            print(f"script run {attempt + 1}: model ms (first call, second call) = {app.markdown[0].value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("run", nargs="?", default=str(ROOT / "models" / "unet-camvid"))
    parser.add_argument("--engine", choices=("keras", "onnx"), default="keras",
                        help="keras: TensorFlow itself; onnx: the run's checked ONNX export, as the app serves it")
    arguments = parser.parse_args()
    main(arguments.run, arguments.engine)
