"""The committed jobs files for scripts/gpu_lease.sh: a lent GPU's 30 minutes must not be lost to a typo, and a
final model (train + val) must train the recipe val chose for the shipped run it finalises."""
import shlex
from pathlib import Path

import pytest

from segcore import cli, runs

ROOT = Path(__file__).resolve().parents[1]
JOBS_FILES = sorted((ROOT / "scripts").glob("gpu_jobs_*.txt"))
# Which shipped run's recipe each final job repeats on train + val.
FINALISES = {"unet-trainval-150": "unet-camvid-full", "segnet-trainval-150": "segnet-camvid-full"}
# What may differ from that recipe: where data and output are, and the splits trained on.
NOT_RECIPE = {"data", "out", "train_split"}


def jobs(path: Path) -> dict[str, str]:
    """NAME -> options, read as gpu_lease.sh reads them (first word, the rest; blank and # lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        name, _, options = line.strip().partition(" ")
        if name and not name.startswith("#"):
            found[name] = options
    return found


def test_there_are_jobs_files():
    assert {path.name for path in JOBS_FILES} >= {"gpu_jobs_unet_final.txt", "gpu_jobs_segnet_final.txt"}


@pytest.mark.parametrize("path", JOBS_FILES, ids=lambda path: path.name)
def test_each_job_is_a_valid_train_command_on_the_carried_pack(path):
    found = jobs(path)
    assert found, f"{path.name} holds no job"
    for name, options in found.items():
        args = cli.parser().parse_args(["train", *shlex.split(options), "--out", f"/root/gpu-runs/{name}"])
        config = cli.train_config(args)            # raises on an impossible setting
        assert config.data == ".camvid-pack", f"{name}: a lease carries the pack, not {config.data}"
        assert (ROOT / config.augment).is_file(), f"{name}: {config.augment} is not in the repository"


@pytest.mark.parametrize("name", sorted(FINALISES))
def test_a_final_job_trains_its_shipped_runs_recipe_on_train_and_val(name):
    options = next(found[name] for found in map(jobs, JOBS_FILES) if name in found)
    config = cli.train_config(cli.parser().parse_args(["train", *shlex.split(options), "--out", "x"])).record()
    shipped = runs.read_json(ROOT / "models" / FINALISES[name] / runs.META_FILE)["config"]
    assert config["train_split"] == "train+val"
    for key in sorted(set(shipped) - NOT_RECIPE):
        ours, theirs = config[key], shipped[key]
        if key == "augment":                       # recorded as the absolute path of the machine that trained it
            ours, theirs = Path(ours).name, Path(theirs).name
        assert ours == theirs, f"{name}: {key} is {ours!r}, {FINALISES[name]} trained with {theirs!r}"
