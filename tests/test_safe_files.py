"""Written files honour the umask (0644 under 022, 0640 under 027) and stay atomic; Pillow's guard stays on."""
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from segcore import files, runs
from segcore.imageio import read_image, write_png

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(params=[(0o022, 0o644), (0o027, 0o640)], ids=["umask022", "umask027"])
def umask(request):
    """Run the test under a umask; the process's own umask is restored afterwards, whatever happens."""
    mask, expected = request.param
    old = os.umask(mask)
    try:
        yield expected
    finally:
        os.umask(old)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def tiny_keras_model():
    import keras
    inputs = keras.Input((8, 8, 3))
    return keras.Model(inputs, keras.layers.Conv2D(11, 1)(inputs))


def test_png_json_and_bytes_honour_the_umask(tmp_path, umask):
    png = write_png(tmp_path / "out" / "mask.png", np.zeros((4, 4), dtype=np.uint8))
    meta = runs.write_json(tmp_path / "run" / "meta.json", {"a": 1})
    raw = files.atomic_write_bytes(tmp_path / "run" / "history.csv", b"epoch\n0\n")   # train.trim_history's path
    assert [mode(p) for p in (png, meta, raw)] == [umask] * 3
    assert runs.read_json(meta) == {"a": 1}


def test_saved_model_honours_the_umask_and_reloads(tmp_path, umask):
    import keras
    path = runs.save_model(tiny_keras_model(), tmp_path / "run" / "model.keras")
    assert mode(path) == umask
    assert keras.models.load_model(path, safe_mode=True, compile=False).output_shape == (None, 8, 8, 11)
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]   # no temporary file left behind


def test_exported_pipeline_honours_the_umask(tmp_path, umask):
    from segcore import augment
    path = augment.save_pipeline([augment.default_step("HorizontalFlip")], tmp_path / "pipeline.json")
    assert mode(path) == umask
    assert "HorizontalFlip" in path.read_text()


def test_a_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = runs.write_json(tmp_path / "eval.json", {"version": "old"})

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        runs.write_json(target, {"version": "new"})
    with pytest.raises(OSError, match="No space left"):
        write_png(tmp_path / "eval.json", np.zeros((2, 2), dtype=np.uint8))
    monkeypatch.undo()
    assert runs.read_json(target) == {"version": "old"}
    assert [p.name for p in tmp_path.iterdir()] == ["eval.json"]


def test_a_failed_model_save_keeps_the_old_model(tmp_path):
    target = runs.save_model(tiny_keras_model(), tmp_path / "model.keras")
    before = target.read_bytes()

    class Broken:
        def save(self, path):
            Path(path).write_bytes(b"half a model")
            raise RuntimeError("killed mid-save")

    with pytest.raises(RuntimeError, match="killed"):
        runs.save_model(Broken(), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_pillow_bomb_guard_is_on_after_importing_every_segcore_module():
    script = """
import importlib, pkgutil
import PIL.Image
default = PIL.Image.MAX_IMAGE_PIXELS
import segcore
names = [m.name for m in pkgutil.walk_packages(segcore.__path__, "segcore.")
         if not m.name.endswith("__main__")]   # running the CLI is not importing
for name in names:
    importlib.import_module(name)
print(len(names), default, PIL.Image.MAX_IMAGE_PIXELS)
"""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    count, default, after = (int(v) for v in done.stdout.split()[-3:])
    assert count >= 10 and default > 0 and after == default


def test_images_just_under_our_limit_still_read_with_the_guard_on():
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("L", (1000, 1000)).save(buffer, format="PNG")
    assert Image.MAX_IMAGE_PIXELS is not None
    assert read_image(buffer.getvalue(), max_pixels=1_000_000).shape == (1000, 1000, 3)


def test_a_folder_is_not_a_regular_file_and_leaks_no_descriptor(tmp_path):
    import os

    import pytest

    from segcore.files import NotARegularFile, read_regular_bytes
    open_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    for _ in range(3):
        with pytest.raises(NotARegularFile, match="not a regular file"):
            read_regular_bytes(tmp_path, max_bytes=1000)
    if open_before is not None:
        assert len(os.listdir("/proc/self/fd")) == open_before


def test_a_file_removed_while_the_app_stamps_its_folder_is_left_out(tmp_path, monkeypatch):
    kept, removed = tmp_path / "meta.json", tmp_path / "model.keras"
    kept.write_text("{}")
    removed.write_bytes(b"weights")
    real_stat = Path.stat

    def stat_as_if_removed_meanwhile(path, *args, **kwargs):    # listed by the glob, gone by the time of stat()
        if path == removed:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat_as_if_removed_meanwhile)
    stamp = files.changed_stamp([removed, kept, tmp_path / "never-there", None])
    assert [entry[0] for entry in stamp] == [str(kept)] and stamp[0][2] == 2        # path, mtime, size
