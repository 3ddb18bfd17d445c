"""The command line says what the user asked for: no TensorFlow start-up noise on stderr, help for every option."""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from segcore.cli import _leaf_parsers, parser

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_IMAGE = sorted((ROOT / "data" / "sample" / "images" / "val").glob("*.png"))[0]


def _segcore(*args, env_extra=None):
    # No TF_CPP_MIN_LOG_LEVEL from the test process: the CLI itself must keep TensorFlow quiet.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run([sys.executable, "-m", "segcore", *map(str, args)], capture_output=True, text=True,
                          cwd=ROOT, env={**env, **(env_extra or {})}, timeout=300)


def test_predict_prints_only_the_written_paths(tmp_path):
    result = _segcore("predict", "--run", ROOT / "models" / "segnet-camvid", SAMPLE_IMAGE, "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""                  # no oneDNN, cudart or "failed call to cuInit" lines
    assert result.stdout.strip() == str(tmp_path / f"{SAMPLE_IMAGE.stem}_labels.png")


def test_verbose_is_accepted_by_every_command():
    for leaf in _leaf_parsers(parser()):
        assert "--verbose" in leaf._option_string_actions, leaf.prog


def test_every_option_and_argument_has_a_help_text():
    missing = [f"{leaf.prog} {action.dest}" for leaf in _leaf_parsers(parser()) for action in leaf._actions
               if not isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) and not action.help]
    assert not missing, f"options without help: {missing}"


def test_a_reader_that_stops_early_is_not_an_error():
    # `true` exits at once, so the report is always written into a closed pipe (as `| head` often does).
    command = (f"{sys.executable} -m segcore augment stats data/pipelines/street-train.json --data data/sample "
               "--draws 40 | true")
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, cwd=ROOT,
                            timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
