"""segcore.trimap: scores over the pixels near ground-truth edges, for growing bands; stored by evaluate, merged
from shards, drawn as curves, said by the CLI and the Evaluation page."""
from __future__ import annotations

import numpy as np
import pytest

from segcore import figures, reports, trimap
from segcore.metrics import ConfusionMatrix


def test_the_distance_to_an_edge_is_zero_on_both_sides_of_it():
    truth = np.array([[0, 0, 0, 1, 1, 1]])
    assert trimap.boundary_distance(truth).tolist() == [[2, 1, 0, 0, 1, 2]]
    assert np.isinf(trimap.boundary_distance(np.zeros((3, 3), np.uint8))).all()      # one label: no edge


def test_band_counts_equal_a_confusion_matrix_of_the_pixels_within_w_of_an_edge():
    rng = np.random.default_rng(3)
    truth = np.zeros((20, 30), np.uint8)
    truth[5:15, 8:20] = 1
    truth[:, 25:] = 2
    truth[0, 0:4] = 9                                   # void: never scored, still an edge for its neighbours
    pred = np.where(rng.random(truth.shape) < 0.8, truth, rng.integers(0, 3, truth.shape)).clip(0, 2)
    pred[0, 5] = 9                                      # one pixel predicted void: a miss
    counts = trimap.TrimapCounts(3, 9, widths=(1, 3, 100))
    counts.add(truth, pred)
    # Brute force: every pixel's Euclidean distance to the nearest pixel with a 4-neighbour of another label.
    rows, cols = np.indices(truth.shape)
    padded = np.pad(truth, 1, mode="edge")
    edge = ((padded[1:-1, 2:] != truth) | (padded[1:-1, :-2] != truth) | (padded[2:, 1:-1] != truth)
            | (padded[:-2, 1:-1] != truth))
    ey, ex = np.nonzero(edge)
    distance = np.sqrt((rows[..., None] - ey) ** 2 + (cols[..., None] - ex) ** 2).min(axis=-1)
    for index, width in enumerate((1, 3, 100)):
        band = distance < width
        matrix = ConfusionMatrix(3, 9)
        matrix.update(truth[band], pred[band])
        assert counts.counts[0, index].tolist() == matrix.true_positives.tolist()
        assert counts.counts[1, index].tolist() == matrix.support.tolist()
        assert counts.counts[2, index].tolist() == matrix.predicted.tolist()
    whole = ConfusionMatrix(3, 9)
    whole.update(truth, pred)
    scores = trimap.trimap_scores({"names": ["a", "b", "c"], "trimap": counts.to_json()})
    assert scores["mean_iou"][-1] == pytest.approx(whole.mean_iou())      # the widest band holds every pixel
    assert scores["pixel_accuracy"][-1] == pytest.approx(whole.pixel_accuracy())


def test_an_outline_off_by_a_pixel_scores_low_near_edges_and_rises_with_the_band():
    truth = np.zeros((64, 64), np.uint8)
    truth[16:48, 16:48] = 1
    pred = np.zeros_like(truth)
    pred[17:49, 17:49] = 1                              # the square shifted one pixel
    counts = trimap.TrimapCounts(2, 255)
    counts.add(truth, pred)
    near = trimap.trimap_scores({"names": ["a", "b"], "trimap": counts.to_json()})["mean_iou"]
    assert near == sorted(near) and near[0] < 0.5 < near[-1]
    perfect = trimap.TrimapCounts(2, 255)
    perfect.add(truth, truth)
    assert trimap.trimap_scores({"names": ["a", "b"], "trimap": perfect.to_json()})["mean_iou"] == [1.0] * 6


def test_stored_trimaps_that_cant_be_read_are_none_and_shards_merge_only_alike():
    one = trimap.TrimapCounts(2, 255, widths=(1, 2))
    one.add(np.array([[0, 1]]), np.array([[0, 0]]))
    stored = one.to_json()
    assert trimap.read_trimap(stored, 2).counts.tolist() == one.counts.tolist()
    for broken in (None, {}, {**stored, "widths": [1]}, {**stored, "support": [[1, -1], [0, 0]]},
                   {**stored, "predicted": [[1, 0]]}, {**stored, "widths": [0, 2]}):
        assert trimap.read_trimap(broken, 2) is None
    assert trimap.merged([stored, stored], 2)["support"] == [[2, 2], [2, 2]]
    assert trimap.merged([stored, {**stored, "widths": [1, 3]}], 2) is None
    assert trimap.merged([stored, None], 2) is None


def test_curves_draw_the_runs_that_stored_a_trimap_and_the_others_are_named():
    counts = trimap.TrimapCounts(2, 255)
    counts.add(np.array([[0, 1, 1]]), np.array([[0, 1, 0]]))
    names, matrix = ["a", "b"], ConfusionMatrix(2, counts=[[1, 0], [1, 1]])
    with_trimap = {"class_level": {**matrix.summary(names), "trimap": counts.to_json()}}
    without = {"class_level": matrix.summary(names)}
    figure = figures.trimap_curves({"new": with_trimap, "old": without})
    assert [trace.name for trace in figure.data] == ["new"] and list(figure.data[0].x) == list(trimap.TRIMAP_WIDTHS)
    lines = reports.missing_extras({"new": with_trimap, "old": without})
    assert any(line.startswith("Scores near edges (trimap) are not stored for old:") for line in lines)
    assert not any("trimap" in line for line in reports.missing_extras({"old": without}))


def test_trimaps_added_to_an_older_evaluation_equal_the_ones_evaluate_stores(tmp_path):
    """benchmarks/add_trimap.py, from the stored predictions and the ground truth alone (no model run)."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    from conftest import make_camvid_like
    from test_eval_categories import tiny_camvid_run

    from segcore.evaluate import evaluate_run
    run = tiny_camvid_run(tmp_path / "models" / "tiny")
    data = make_camvid_like(tmp_path / "data", splits=(("val", 3),))
    result, path = evaluate_run(run, data, "val")
    older = json.loads(path.read_text())
    for level in ("class_level", "category_level"):
        del older[level]["trimap"]
    path.write_text(json.dumps(older))
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "add_trimap.py"
    done = subprocess.run([sys.executable, str(script), "--data", str(data), str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(path.read_text()) == json.loads(json.dumps(result))
