"""The models, loss, metrics and PyDataset path are backend-agnostic: train, save and reload on Keras' JAX backend.

The lent GPU machines have JAX and no TensorFlow: `segcore train` and `segcore evaluate` run there with TensorFlow
blocked, and the run they write loads here. JAX comes with requirements-dev.txt; where it is missing these skip.
"""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
CODE = """
import sys, tempfile
from pathlib import Path
import keras, numpy as np
assert keras.backend.backend() == "jax"
from conftest import make_camvid_like
from segcore.datasets import list_pairs
from segcore.labels import CAMVID11
from segcore.models import build
from segcore.models.objectives import MaskedSparseCrossEntropy, PixelAccuracy, mean_iou_metric
from segcore.batches import SampleLoader, SegmentationSequence
tmp = Path(tempfile.mkdtemp())
sequence = SegmentationSequence(list_pairs(make_camvid_like(tmp / "d"), "train"), SampleLoader(CAMVID11, (30, 46)), 2)
for arch, options in [("unet", dict(base_filters=4, depth=2, stem_filters=4)), ("segnet", dict(base_filters=4)),
                      ("segnet-mobilenet", dict(alpha=0.125))]:
    keras.utils.set_random_seed(0)          # unseeded weights made "loss falls" a coin toss on some machines
    model = build(arch, 11, (30, 46), **options)
    model.compile(optimizer="adam", loss=MaskedSparseCrossEntropy(11, 11),
                  metrics=[PixelAccuracy(11, 11), mean_iou_metric(11, 11)])
    losses = model.fit(sequence, epochs=3, verbose=0).history["loss"]
    assert losses[-1] < losses[0], (arch, losses)
    model.save(tmp / "m.keras")
    again = keras.models.load_model(tmp / "m.keras", safe_mode=True)
    x = sequence[0][0]
    assert np.allclose(again.predict_on_batch(x), model.predict_on_batch(x), atol=1e-5), arch
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX not installed here (pip install jax)")
def test_all_architectures_train_and_reload_on_jax():
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    result = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]


NO_TENSORFLOW = """
import importlib.abc, sys
class NoTensorFlow(importlib.abc.MetaPathFinder):      # the lent GPU machines have JAX and no TensorFlow
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "tf2onnx"):
            raise ImportError(f"No module named {name!r}")
sys.meta_path.insert(0, NoTensorFlow())
from pathlib import Path
from conftest import make_camvid_like
from segcore.cli import main
data = make_camvid_like(Path(sys.argv[1]) / "data")
run = str(Path(sys.argv[1]) / "run")
common = ["--data", str(data), "--split", "val"]
assert main(["train", "--arch", "segnet-mobilenet", "--option", "alpha=0.125", "--size", "32x48", "--batch", "2",
             "--epochs", "2", "--loss", "ce+dice", "--warmup-epochs", "1", "--class-weights", "median-frequency",
             "--augment", "data/pipelines/street-train-fullres.json", "--data", str(data), "--out", run]) == 0
assert main(["evaluate", "--run", run, *common]) == 0
assert "tensorflow" not in sys.modules
"""


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="JAX not installed here (pip install jax)")
def test_segcore_train_and_evaluate_run_on_jax_without_tensorflow_and_the_run_loads_here(tmp_path):
    import json

    from segcore.predict import Predictor
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}",
           "PYTHONWARNINGS": "default"}
    result = subprocess.run([sys.executable, "-c", NO_TENSORFLOW, str(tmp_path)], capture_output=True, text=True,
                            env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Explicitly requested dtype int64" not in result.stderr        # Keras' IoU metric on JAX, silenced
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["epochs_completed"] == 2 and meta["optimizer_steps"] == 4      # 4 train frames, batches of 2
    assert list((tmp_path / "run" / "eval").glob("*-val.json"))
    labels = Predictor(tmp_path / "run").predict(np.zeros((32, 48, 3), np.uint8)).labels    # TensorFlow here
    assert labels.shape == (32, 48)
