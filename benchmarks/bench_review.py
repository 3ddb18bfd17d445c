"""What "Download this comparison as a review page" costs (segcore.review.review_html, run when the button is
clicked): the shipped runs' stored CamVid val evaluations, median of 5 calls, and the page's size.

    .venv/bin/python benchmarks/bench_review.py

Results and the machine: docs/BENCHMARKS.md ("A review page").
"""
from pathlib import Path

from bench_inference import median_ms
from segcore import review, runs
from segcore import evaluations as stored

MODELS = Path(__file__).resolve().parents[1] / "models"
chosen = [run for run in map(runs.open_run, sorted(MODELS.iterdir())) if run.ok and run.evaluations()]
key = "camvid-val"
evaluations = {run.name: stored.read_evaluation(run.evaluations()[run.evaluation_key(key)]) for run in chosen}
metas = {run.name: run.meta for run in chosen}
paths = {run.name: run.evaluations()[run.evaluation_key(key)] for run in chosen}
histories = review.read_histories(chosen)
took = median_ms(lambda: review.review_html(evaluations, metas, eval_paths=paths, histories=histories), 5)
size = len(review.review_html(evaluations, metas, eval_paths=paths, histories=histories).encode("utf-8"))
print(f"review_html of {len(chosen)} runs ({', '.join(evaluations)}): {took} ms, {size / 1e6:.1f} MB")
