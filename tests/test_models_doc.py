"""docs/MODELS.md states what the committed runs hold: its tables are read back and checked against each shipped
run's meta.json and stored CamVid val evaluation (a re-shipped model whose docs were not updated fails here)."""
from pathlib import Path

import pytest

from segcore import runs
from segcore.unlike_train import stored_least_alike

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "MODELS.md"
SHIPPED = ["unet-camvid", "segnet-camvid", "unet-camvid-full", "segnet-camvid-full"]


def table_rows(header_start: str) -> dict[str, list[str]]:
    """The rows of the first table whose header begins with `header_start`, by their first cell."""
    lines = DOC.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = {}
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = cells[1:]
    return rows


def percent(value: float) -> str:
    return f"{100 * value:.1f}"


@pytest.mark.parametrize("name", SHIPPED)
def test_the_main_table_states_each_runs_parameters_best_epoch_and_val_scores(name):
    run = runs.open_run(ROOT / "models" / name)
    stored = run.evaluation("camvid-val")
    _, parameters, size, _, best_epoch, miou, category, accuracy = table_rows("| run | architecture |")[f"`{name}`"]
    assert int(parameters.replace(",", "")) == run.meta["parameters"]
    assert size == "x".join(map(str, run.meta["input_size"]))
    assert best_epoch.split()[0] == str(run.meta["best"]["epoch"])
    assert (miou.strip("*"), category, accuracy) == (
        percent(stored["class_level"]["mean_iou"]), percent(stored["category_level"]["mean_iou"]),
        percent(stored["class_level"]["pixel_accuracy"]))


@pytest.mark.parametrize("name", SHIPPED)
def test_the_least_alike_table_states_what_the_stored_evaluations_give(name):
    stored = runs.open_run(ROOT / "models" / name).evaluation("camvid-val")
    rows = table_rows("| run | val mIoU | least-alike quarter |")
    row = rows.get(f"`{name}`") or rows[f"`{name}` ({stored['tta']})"]
    assert row[:3] == [percent(stored["class_level"]["mean_iou"]), percent(stored_least_alike(stored)["mean_iou"]),
                       percent(stored_least_alike(stored, share=0.5)["mean_iou"])]


@pytest.mark.parametrize("name", SHIPPED)
def test_the_per_class_table_states_each_classs_stored_iou(name):
    stored = runs.open_run(ROOT / "models" / name).evaluation("camvid-val")
    header = next(line for line in DOC.read_text().splitlines() if line.startswith("| class | "))
    column = next(i for i, cell in enumerate(header.strip("|").split("|")) if cell.strip().startswith(f"{name} "))
    rows = table_rows("| class | ")
    for class_name, scores in stored["class_level"]["per_class"].items():
        assert rows[class_name][column - 1] == percent(scores["iou"]), class_name


@pytest.mark.parametrize("name", SHIPPED)
def test_the_trimap_table_states_what_the_stored_counts_give(name):
    from segcore.trimap import trimap_scores
    stored = runs.open_run(ROOT / "models" / name).evaluation("camvid-val")
    rows = table_rows("| run | 1 px | 2 px |")
    row = rows.get(f"`{name}`") or rows[f"`{name}` ({stored['tta']})"]
    near = trimap_scores(stored["class_level"])
    assert row == [*map(percent, near["mean_iou"]), percent(stored["class_level"]["mean_iou"])]


def test_the_final_unets_entry_states_its_stored_scores_as_of_frames_it_trained_on():
    from segcore import eval_records
    run = runs.open_run(ROOT / "models" / "unet-camvid-final")
    stored = run.evaluation("camvid-val")
    assert stored["trained_on_split"] is True
    entry = DOC.read_text().split("- `unet-camvid-final` (since")[1].split("\n- ")[0]
    entry = " ".join(entry.split())                     # the bullet's lines as one
    classes, categories = stored["class_level"], stored["category_level"]
    assert (f"{percent(classes['mean_iou'])} mIoU with flip, category {percent(categories['mean_iou'])}, pixel "
            f"accuracy {percent(classes['pixel_accuracy'])}, boundary mIoU "
            f"{percent(eval_records.mean_boundary_score(classes))}") in entry
    per_class = ", ".join(f"{name} {percent(scores['iou'])}" for name, scores in classes["per_class"].items())
    assert f"per class {per_class} " in entry
    assert f"{run.meta['parameters']:,} parameters" in entry and "frames it trained on" in entry
