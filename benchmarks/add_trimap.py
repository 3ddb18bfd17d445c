"""One-off: add trimap counts (segcore.trimap) to evaluations stored before evaluate wrote them, from each frame's
stored predicted label map and its ground truth: no model is run, so the counts are the ones `segcore evaluate
--overwrite` would store. Each frame's confusion is recomputed from the same two maps and checked against the
stored one first; the JSON is then rewritten with the trimap added and nothing else changed.

    .venv/bin/python benchmarks/add_trimap.py --data ../shared/data/camvid models/*/eval/*.json
"""
from __future__ import annotations

import argparse
from pathlib import Path

from segcore import eval_records, evaluations, runs
from segcore.evaluate import _level_maps
from segcore.frame_views import read_label_map
from segcore.imageio import read_mask
from segcore.labels import CATEGORIES, category_schema, labels_schema
from segcore.metrics import ConfusionMatrix
from segcore.trimap import TrimapCounts


def add_trimap(path: Path, data: Path) -> dict:
    result = runs.read_json(path)
    problem = evaluations.evaluation_problem(result)
    if problem:
        raise SystemExit(f"{path}: {problem}")
    schema = runs.open_run(path.parent.parent).schema         # RUN/eval/X.json: the run's own, custom ones too
    truth_schema = labels_schema(result.get("data_schema"), schema)
    same = "class_level" in result
    categories = category_schema()
    levels = {"category_level": TrimapCounts(categories.num_classes, categories.ignore_index)}
    if same:
        levels["class_level"] = TrimapCounts(schema.num_classes, schema.ignore_index)
    for record in result["per_image"]:
        stored = eval_records.prediction_path(path, record)
        if stored is None:
            raise SystemExit(f"{path}: {record['name']} has no stored prediction; evaluate with --overwrite instead")
        pred = read_label_map(stored)
        truth = read_mask(evaluations.record_sample(record, data).label, truth_schema)
        level = "class" if same else "category"
        expected = eval_records.frame_matrix(record, level, schema.num_classes if same else len(CATEGORIES))
        maps = _level_maps(truth, pred, schema, truth_schema, same)      # as evaluate folds them
        scored = schema if same else categories
        check = ConfusionMatrix(scored.num_classes, scored.ignore_index)
        check.update(*maps[f"{level}_level"])
        if (check.counts != expected.counts).any() or (check.unpredicted != expected.unpredicted).any():
            raise SystemExit(f"{path}: {record['name']}'s stored prediction does not give its stored confusion")
        for key, counts in levels.items():
            counts.add(*maps[key])
    for key, counts in levels.items():
        result[key]["trimap"] = counts.to_json()
    evaluations.write_evaluation(path, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path, help="RUN/eval/*.json files (format 3, predictions stored)")
    parser.add_argument("--data", required=True, type=Path, help="the data set folder they were computed on")
    args = parser.parse_args()
    for path in args.files:
        add_trimap(path, args.data)
        print(f"{path}: trimap added")


if __name__ == "__main__":
    main()
