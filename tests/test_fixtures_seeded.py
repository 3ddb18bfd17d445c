"""The shared tiny data set is the same in every test process, whatever PYTHONHASHSEED is, so a failure that
depends on the data happens again when the test is rerun."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
DIGEST = """
import hashlib, sys, tempfile
from pathlib import Path
from conftest import make_camvid_like
root = make_camvid_like(Path(tempfile.mkdtemp()) / "data")
digest = hashlib.sha256()
for path in sorted(root.rglob("*.png")):
    digest.update(path.relative_to(root).as_posix().encode() + path.read_bytes())
print(digest.hexdigest())
"""


def fixture_digest(hash_seed: str) -> str:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(TESTS)}
    result = subprocess.run([sys.executable, "-c", DIGEST], capture_output=True, text=True, env=env, cwd=TESTS)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


def test_camvid_like_is_identical_across_hash_seeds():
    digests = {fixture_digest(seed) for seed in ("1", "2", "3")}
    assert len(digests) == 1


def test_camvid_like_frames_differ_from_each_other(tmp_path):
    from conftest import make_camvid_like
    root = make_camvid_like(tmp_path / "data")
    images = [hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "images").rglob("*.png"))]
    assert len(images) == 6 and len(set(images)) == 6
