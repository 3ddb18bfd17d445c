"""Keras runs served through their checked ONNX export (segcore.backends.keras_onnx), as the dashboard does:
same masks as Keras, the export cached beside the model and made again when the model changes, no TensorFlow
on a cached start, and Keras itself wherever the export can't be made."""
from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from segcore import runs
from segcore.backends import keras_onnx
from segcore.backends.onnx import forward_thread as onnx_forward_thread
from test_onnx_import import sample_image, tiny_model, trained_like_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def run_folder(tmp_path) -> Path:
    return trained_like_run(tmp_path / "models" / "unet-tiny")


def cached_files(folder: Path) -> list[Path]:
    return sorted((folder / keras_onnx.CACHE_FOLDER).glob("*.onnx"))


@pytest.mark.slow
def test_served_by_onnx_runtime_with_keras_masks_and_cached(run_folder):
    from segcore.predict import Predictor
    served = Predictor(run_folder, keras_via_onnx=True)
    keras = Predictor(run_folder)
    assert served.engine.startswith("ONNX Runtime") and keras.engine == keras_onnx.KERAS_ENGINE
    assert (served.input_size, served.output_kind, served.schema) == (keras.input_size, "logits", keras.schema)
    for seed in range(3):
        image = sample_image(seed, (70, 90))
        agree = np.mean(served.predict(image).labels == keras.predict(image).labels)
        assert agree >= 0.999, agree       # same float32 graph: only near-ties may flip
    assert [path.name for path in cached_files(run_folder)] == [keras_onnx.cache_path(runs.open_run(run_folder)).name]


@pytest.mark.slow
def test_a_cached_export_is_used_without_exporting_and_a_new_model_replaces_it(run_folder, monkeypatch):
    keras_onnx.open(runs.open_run(run_folder))
    first = cached_files(run_folder)

    def refuse(*args, **kwargs):
        raise AssertionError("exported again although the cache holds this model's export")
    monkeypatch.setattr(keras_onnx, "export", refuse)
    assert keras_onnx.open(runs.open_run(run_folder)).engine.startswith("ONNX Runtime")
    monkeypatch.undo()

    tiny_model().save(run_folder / "model.keras")       # retrained: other weights, other bytes
    keras_onnx.open(runs.open_run(run_folder))
    second = cached_files(run_folder)
    assert len(second) == 1 and second != first         # the old model's export is gone with it


@pytest.mark.slow
def test_a_damaged_cached_export_is_made_again(run_folder):
    run = runs.open_run(run_folder)
    cached = keras_onnx.cache_path(run)
    cached.parent.mkdir()
    cached.write_bytes(b"not an onnx file")
    assert keras_onnx.open(run).engine.startswith("ONNX Runtime")
    assert cached.stat().st_size > 1000


@pytest.mark.slow
def test_no_cache_is_written_when_asked_or_where_the_run_folder_is_read_only(run_folder, monkeypatch):
    run = runs.open_run(run_folder)
    assert keras_onnx.open(run, write_cache=False).engine.startswith("ONNX Runtime")
    assert not (run_folder / keras_onnx.CACHE_FOLDER).exists()

    def read_only_mount(path, mode):             # as a read-only mount answers (root ignores chmod)
        return not Path(path).is_relative_to(run_folder)
    monkeypatch.setattr(keras_onnx.os, "access", read_only_mount)
    assert keras_onnx.open(run).engine.startswith("ONNX Runtime")
    assert cached_files(run_folder) == []


@pytest.mark.slow
def test_keras_serves_the_run_where_the_export_fails_or_onnxruntime_is_missing(run_folder, monkeypatch):
    monkeypatch.setattr(keras_onnx, "EXPORT_TIMEOUT_S", 0.01)      # the child process can't finish in time
    backend = keras_onnx.open(runs.open_run(run_folder))
    assert backend.engine == f"{keras_onnx.KERAS_ENGINE}; its ONNX export failed"
    assert backend.forward(np.zeros((1, 32, 48, 3), np.float32)).shape == (1, 32, 48, 11)
    monkeypatch.setattr(keras_onnx, "onnx_available", lambda: False)
    assert keras_onnx.open(runs.open_run(run_folder)).engine.endswith("onnxruntime is not installed")


@pytest.mark.slow
def test_the_export_runs_in_a_child_process_whose_error_is_one_line(run_folder, tmp_path):
    code = ("import sys; from segcore import runs; from segcore.backends import keras_onnx; "
            f"b = keras_onnx.open(runs.open_run({str(run_folder)!r})); "
            "print(b.engine.split(' (')[0], 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["ONNX", "Runtime", "False", "False"]     # exported, and no TensorFlow in this process
    assert len(cached_files(run_folder)) == 1

    run = runs.open_run(run_folder)
    (run_folder / "model.keras").write_bytes(b"not a keras file")
    with pytest.raises(runs.RunError) as raised:
        keras_onnx.export(run, tmp_path / "out.onnx")
    message = str(raised.value)
    assert message.startswith("unet-tiny") and "\n" not in message and "Traceback" not in message, message
    assert not (tmp_path / "out.onnx").exists()


@pytest.mark.slow
def test_a_cached_start_never_imports_tensorflow(run_folder):
    keras_onnx.open(runs.open_run(run_folder))
    code = ("import sys; from segcore.predict import Predictor; "
            f"p = Predictor({str(run_folder)!r}, keras_via_onnx=True); "
            "print(p.engine.split(' (')[0], 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["ONNX", "Runtime", "False", "False"]


def test_every_onnx_forward_pass_runs_on_one_thread_whose_workers_sleep(tmp_path):
    """onnxruntime's first run from a new thread is slower, and spinning workers slow the next model down:
    a server's callers (a new thread per Streamlit rerun) all hand their batches to one thread."""
    from segcore.importing import import_model
    from segcore.predict import Predictor
    from test_onnx_import import SIZE, foreign_onnx
    backend = Predictor(import_model(foreign_onnx(tmp_path / "m.onnx"), tmp_path / "run", schema="camvid11")).backend
    options = backend.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    ran_on, session_run = set(), backend._session_run

    def recording(x):
        ran_on.add(threading.get_ident())
        return session_run(x)
    backend._session_run = recording
    callers = [threading.Thread(target=backend.forward, args=(np.zeros((1, *SIZE, 3), np.float32),))
               for _ in range(3)]
    for caller in callers:
        caller.start()
        caller.join()
    assert len(ran_on) == 1 and threading.get_ident() not in ran_on
    assert ran_on == {onnx_forward_thread().submit(threading.get_ident).result()}
