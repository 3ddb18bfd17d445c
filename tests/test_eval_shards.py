"""`segcore evaluate --shard I/N` writes partial results; `--merge` adds them into the JSON one run writes."""
import json

import pytest

from conftest import make_camvid_like
from segcore import runs
from segcore.cli import main
from segcore.evaluate import merge_evaluations
from test_eval_categories import make_cityscapes_like, tiny_camvid_run
from test_hardening import one_error_line

TIMING = ("seconds", "created")     # the only fields a merge may not reproduce


@pytest.fixture(scope="module")
def camvid_run(tmp_path_factory):
    return tiny_camvid_run(tmp_path_factory.mktemp("runs") / "tiny")


def evaluate(*argv) -> None:
    assert main([str(a) for a in ("evaluate", *argv, "--quiet")]) == 0


def without_timing(result: dict) -> dict:
    return {key: value for key, value in result.items() if key not in TIMING}


def shards(run, data, folder, count=3, extra=()) -> list:
    parts = []
    for index in range(count):
        parts.append(folder / f"part{index}.json")
        evaluate("--run", run, "--data", data, "--split", "val", "--shard", f"{index}/{count}", "--out", parts[-1],
                 *extra)
    return parts


@pytest.mark.parametrize("layout, extra", [("camvid", ()), ("cityscapes", ("--level", "category"))])
def test_three_shards_merged_equal_one_full_evaluation(camvid_run, tmp_path, layout, extra):
    data = (make_camvid_like(tmp_path / "data", splits=(("val", 7),)) if layout == "camvid"
            else make_cityscapes_like(tmp_path / "data", cities=("aachen", "bremen", "koeln"), frames=2))
    evaluate("--run", camvid_run, "--data", data, "--split", "val", "--out", tmp_path / "full.json", *extra)
    parts = shards(camvid_run, data, tmp_path, extra=extra)
    first = json.loads(parts[0].read_text())
    assert first["shard"] == [0, 3] and first["images"] == len(first["frames"]) < first["split_images"]
    evaluate("--merge", *parts, "--out", tmp_path / "merged.json")
    full = json.loads((tmp_path / "full.json").read_text())
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert without_timing(merged) == without_timing(full)        # counts, derived scores, per-image records
    assert merged["images"] == full["images"] >= 6


def test_a_shard_goes_under_eval_shards_by_default(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    evaluate("--run", camvid_run, "--data", data, "--split", "val", "--shard", "1/2")
    written = list((camvid_run / runs.EVAL_DIR / "shards").glob("*-shard-1-of-2.json"))
    assert len(written) == 1 and json.loads(written[0].read_text())["frames"] == ["f001"]
    assert not runs.open_run(camvid_run).evaluations()     # a part is not an evaluation the app lists


def test_bad_merges_are_one_line_naming_the_part(camvid_run, tmp_path, capsys):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 4),))
    parts = shards(camvid_run, data, tmp_path)
    err = one_error_line(capsys, ["evaluate", "--merge", parts[0], parts[1], "--out", tmp_path / "m.json"])
    assert "shard 2/3 is missing" in err
    err = one_error_line(capsys, ["evaluate", "--merge", *parts, parts[1], "--out", tmp_path / "m.json"])
    assert "part1.json" in err and "also in" in err
    other = make_camvid_like(tmp_path / "other", splits=(("val", 5),))
    foreign = tmp_path / "foreign.json"
    evaluate("--run", camvid_run, "--data", other, "--split", "val", "--shard", "2/3", "--out", foreign)
    err = one_error_line(capsys, ["evaluate", "--merge", parts[0], parts[1], foreign, "--out", tmp_path / "m.json"])
    assert "foreign.json" in err and "dataset differs" in err
    full = tmp_path / "full.json"
    evaluate("--run", camvid_run, "--data", data, "--split", "val", "--out", full)
    err = one_error_line(capsys, ["evaluate", "--merge", full, "--out", tmp_path / "m.json"])
    assert "full.json" in err and "not a shard" in err
    err = one_error_line(capsys, ["evaluate", "--merge", *parts])
    assert "--out" in err
    err = one_error_line(capsys, ["evaluate", "--run", camvid_run, "--data", data, "--shard", "3/3"])
    assert "0 <= I < N" in err
    assert not (tmp_path / "m.json").exists()


def test_a_shard_with_the_wrong_frame_count_is_refused(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 4),))
    parts = [json.loads(path.read_text()) for path in shards(camvid_run, data, tmp_path, count=2)]
    parts[1]["per_image"] = parts[1]["per_image"][:1]
    with pytest.raises(ValueError, match="b: holds 1 frame records, not the 2 of shard 1/2"):
        merge_evaluations({"a": parts[0], "b": parts[1]})


def test_a_shard_is_not_shown_as_an_evaluation(camvid_run, tmp_path):
    from segcore.evaluations import evaluation_problem
    data = make_camvid_like(tmp_path / "data", splits=(("val", 2),))
    part = json.loads(shards(camvid_run, data, tmp_path, count=2)[0].read_text())
    assert "segcore evaluate --merge" in evaluation_problem(part)
    assert evaluation_problem(part, shard_ok=True) is None


def test_a_merge_over_a_stored_evaluation_keeps_its_distances_to_train_for_the_same_frames_only(camvid_run, tmp_path,
                                                                                                 capsys):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 5),))
    stored = tmp_path / "stored.json"
    evaluate("--run", camvid_run, "--data", data, "--split", "val", "--out", stored)
    result = json.loads(stored.read_text())          # as `segcore unlike-train --store` leaves it
    result["unlike_train"] = {"train_split": "train", "train_frames": 9}
    for number, record in enumerate(result["per_image"]):
        record["train_distance"], record["nearest_train_frame"] = 0.1 * number, "t001"
    stored.write_text(json.dumps(result))
    other = tmp_path / "other.json"                  # the same names, but another data set's fingerprint
    other.write_text(json.dumps({**result, "dataset": {**result["dataset"], "fingerprint": "00000000"}}))
    parts = shards(camvid_run, data, tmp_path)
    before = stored.read_bytes()
    assert "exists; add --overwrite" in one_error_line(capsys, ["evaluate", "--merge", *parts, "--out", stored])
    assert stored.read_bytes() == before
    evaluate("--merge", *parts, "--out", stored, "--overwrite")
    merged = json.loads(stored.read_text())
    assert merged["unlike_train"] == result["unlike_train"]
    assert [r["train_distance"] for r in merged["per_image"]] == [r["train_distance"] for r in result["per_image"]]
    evaluate("--merge", *parts, "--out", other, "--overwrite")
    assert "unlike_train" not in json.loads(other.read_text())


def test_shards_of_one_data_set_read_from_two_mount_points_merge_and_other_frames_do_not(camvid_run, tmp_path):
    data = make_camvid_like(tmp_path / "data", splits=(("val", 4),))
    parts = shards(camvid_run, data, tmp_path, count=2)
    moved = json.loads(parts[1].read_text())
    moved["dataset"]["path"] = "/mnt/worker2/data"             # the second worker mounts the data elsewhere
    parts[1].write_text(json.dumps(moved))
    evaluate("--merge", *parts, "--out", tmp_path / "merged.json")
    assert json.loads((tmp_path / "merged.json").read_text())["images"] == 4
    moved["dataset"]["fingerprint"] = "00000000"               # other frames: refused
    parts[1].write_text(json.dumps(moved))
    assert main([str(a) for a in ("evaluate", "--merge", *parts, "--out", tmp_path / "m2.json")]) != 0
