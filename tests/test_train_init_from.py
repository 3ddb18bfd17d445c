"""`segcore train --init-from RUN`: fine-tune a finished run, at another input size, and refuse a mismatch."""
import json

import numpy as np
import pytest

from test_training import TINY, data, segcore, trained  # noqa: F401 - module fixtures reused

pytestmark = pytest.mark.slow


def test_init_from_starts_with_the_source_weights_at_another_size(trained, data, tmp_path):  # noqa: F811
    from segcore import runs
    run = tmp_path / "finetuned"
    # lr tiny and one step: the weights may move only a little from the source's.
    result = segcore("train", "--arch", "unet", "--data", data, "--size", "40x56", "--epochs", 1, "--batch", 2,
                     "--steps-per-epoch", 1, "--lr", "1e-9", "--init-from", trained, "--out", run, *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    meta = json.loads((run / "meta.json").read_text())
    assert meta["init_from"]["path"] == str(trained.resolve()) and meta["init_from"]["input_size"] == [30, 44]
    assert meta["input_size"] == [40, 56] and meta["config"]["init_from"] == str(trained.resolve())
    source = runs.load_model(trained).get_weights()
    tuned = runs.load_model(run).get_weights()
    kernels = [(a, b) for a, b in zip(source, tuned) if a.ndim == 4]
    assert kernels and all(np.allclose(a, b, atol=1e-4) for a, b in kernels)


def test_init_from_another_architecture_or_options_is_refused(trained, data, tmp_path):  # noqa: F811
    other_arch = segcore("train", "--arch", "segnet-mobilenet", "--data", data, "--size", "32x32", "--epochs", 1,
                         "--init-from", trained, "--out", tmp_path / "a")
    assert other_arch.returncode == 2 and "is a unet run" in other_arch.stderr
    assert len(other_arch.stderr.strip().splitlines()) == 1
    wider = segcore("train", "--arch", "unet", "--data", data, "--size", "32x32", "--epochs", 1,
                    "--init-from", trained, "--out", tmp_path / "b",
                    "--option", "base_filters=8", "--option", "depth=2", "--option", "stem_filters=4")
    assert wider.returncode == 2 and "layers differ" in wider.stderr
