"""A comparison of stored evaluations as one self-contained HTML file, to send to the people a model review is for.

The Evaluation page's projections of what `segcore evaluate` stored (scores, the per-class report, IoU bars,
confusion matrices, calibration, the worst frames), with what every number was computed on and the runs'
provenance, at each level all the evaluations have. Nothing is recomputed from a model. The file works offline:
plotly.js is written into it once (about 4.5 MB), and it loads nothing from the network.
"""
from __future__ import annotations

import base64
import html
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from segcore import class_colours, compare, figures, reports
from segcore import eval_records
from segcore import evaluations as stored
from segcore.files import atomic_write_bytes
from segcore.datasets import DatasetError
from segcore.imageio import ImageError, encode_png, read_pair
from segcore.labels import LabelSchema, category_schema, labels_schema
from segcore.trimap import trimap_scores
from segcore.unlike_train import stored_least_alike_label

LEVEL_TITLES = {"class": "Classes", "category": "The 7 categories"}
WORST_FRAMES = 15
FRAMES_DRAWN = 4                      # of the worst frames, drawn: the stored photo thumbnail and each prediction
PICTURE_SIDE = 256
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th:first-child, td:first-child, thead th { text-align: left; }
caption, .note { color: #555; font-size: 0.9rem; text-align: left; }
.warning { background: #fff4e5; border-left: 4px solid #f0a030; padding: 0.5rem 0.75rem; }
.grid { display: flex; flex-wrap: wrap; gap: 0 2rem; align-items: flex-start; }
table.text td { text-align: left; }
figure { margin: 0 0 1rem; } figcaption { color: #555; font-size: 0.85rem; }
"""


def run_facts(metas: dict[str, dict], evaluations: dict[str, dict]) -> pd.DataFrame:
    """One row per run: what it is and how its evaluation predicted, from its meta.json (blank where not said)."""
    rows = {}
    for run, result in evaluations.items():
        meta = metas.get(run) or {}
        size = meta.get("input_size")
        trained = meta.get("dataset") if isinstance(meta.get("dataset"), dict) else {}
        config = meta.get("config") if isinstance(meta.get("config"), dict) else {}
        best = meta.get("best") if isinstance(meta.get("best"), dict) else {}
        rows[run] = {
            "kind": meta.get("kind", "keras"),
            "architecture": meta.get("arch"),
            "parameters": meta.get("parameters"),
            "input size": f"{size[0]}x{size[1]}" if isinstance(size, list) and len(size) == 2 else None,
            "trained on": " ".join(str(part) for part in (trained.get("name"), config.get("train_split"))
                                   if part) or None,
            "epochs completed": meta.get("epochs_completed"),
            "weights kept": (f"epoch {best['epoch']} ({best.get('selected_by', 'how: not recorded')})"
                             if "epoch" in best else None),
            "test-time augmentation": stored.tta_in_words(result),
            "evaluated": result.get("created"),
        }
    # Object columns built as such: a count stays an int where another run lacks it (not 1275403.0).
    columns = next(iter(rows.values()), {})
    frame = pd.DataFrame({column: pd.Series([row[column] for row in rows.values()], index=list(rows), dtype=object)
                          for column in columns}, index=list(rows))
    frame.index.name = "run"
    return frame


def _table(frame: pd.DataFrame, number_format: str = "{:.1f}", text: bool = False) -> str:
    """An escaped HTML table; NaN and None read "–", as on the pages; `text`: cells aligned left, as words."""
    def cell(value):
        if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
            return "–"
        if isinstance(value, float):
            return number_format.format(value)
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)
    shown = frame.astype(object).map(cell)
    return shown.to_html(escape=True, border=0, index_names=False, classes="text" if text else None)


def _figure(figure, include_plotlyjs: bool) -> str:
    return figure.to_html(full_html=False, include_plotlyjs=include_plotlyjs, config={"displaylogo": False})


def _grid(items) -> str:
    """Side by side where the page is wide enough, one under another where it is not."""
    return '<div class="grid">' + "".join(f"<div>{item}</div>" for item in items) + "</div>"


def _report_tables(report: pd.DataFrame) -> list[str]:
    """class_report's "<score> · <run>" columns as one table per score (classes x runs), narrow enough to read."""
    tables = {}
    for column in report.columns:
        score, run = column.split(" · ", 1)
        tables.setdefault(score, {})[run] = report[column]
    return [f"<h4>{html.escape(score)}</h4>"
            + _table(pd.DataFrame(columns), "{:,.0f}" if "px" in score else "{:.1f}")
            for score, columns in tables.items()]


def _notes(evaluations: dict[str, dict]) -> list[str]:
    """Each caveat once: trained-on frames, CamVid val's shared drive."""
    return list(dict.fromkeys(filter(None, map(stored.optimism_note, evaluations.values()))))


def _level_section(evaluations: dict[str, dict], level: str, figure_html) -> list[str]:
    key = compare.LEVELS[level]
    scores = reports.scores_table(evaluations, level).rename(columns=reports.SCORE_LABELS)
    report = reports.class_report(evaluations, level)
    parts = [f"<h2>{LEVEL_TITLES[level]}</h2>", "<h3>Scores (%)</h3>", _table(scores)]
    parts += [f'<p class="note">{html.escape(line)}</p>'
              for line in reports.missing_extras(evaluations, level) + reports.no_class_lines(evaluations, level)]
    bars = figures.iou_bars(evaluations, key, "class").update_layout(margin=dict(t=20))
    if any(trimap_scores(result[key]) for result in evaluations.values()):
        parts += ["<h3>Near the edges (trimap)</h3>", figure_html(figures.trimap_curves(evaluations, key)),
                  '<p class="note">mIoU over only the pixels less than w pixels from a ground-truth edge; dotted: the '
                  "mIoU of all pixels.</p>"]
    parts += [f"<h3>IoU per {'class' if level == 'class' else 'category'} (%)</h3>", figure_html(bars),
              "<h3>Per-class report</h3>",
              '<p class="note">IoU, precision (of the predicted pixels), recall (of the true pixels), Dice and '
              "support (true pixels) from the stored confusion matrix; boundary IoU scores the band within 2 % of "
              "the image diagonal of each class's contour.</p>",
              _grid(_report_tables(report)),
              "<h3>Confusion matrices (share of each true class's pixels, %)</h3>",
              _grid(figure_html(figures.confusion_heatmap(result[key], "row", title=run))
                    for run, result in evaluations.items())]
    return parts


def _picture(picture, caption: str) -> str:
    data = base64.b64encode(encode_png(picture)).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _schema_of(meta: dict | None) -> LabelSchema | None:
    try:
        return LabelSchema.from_dict(meta["schema"])
    except (TypeError, KeyError, ValueError, AttributeError):
        return None             # no usable schema: the run's pictures are left out, its tables still shown


def picture_level(evaluations: dict[str, dict]) -> str:
    """The level pictures are drawn at: classes, or the 7 categories where some evaluation is category-only (a
    model of another schema than the data's)."""
    return "category" if any(map(stored.category_only_reason, evaluations.values())) else "class"


def _ground_truth(record: dict, first: dict, schema: LabelSchema | None, data_root, level: str,
                  colours: dict) -> list[str]:
    """The frame's photo and ground truth from the data set it was scored on, at `level`."""
    from segcore.frame_views import fit
    sample = stored.record_sample(record, data_root)
    if schema is None:
        return []
    try:
        truth_schema = labels_schema(first.get("data_schema"), schema)
    except ValueError:
        return []               # labels in a schema that is neither the run's nor built in: not drawn
    image, truth = read_pair(sample.image, sample.label, truth_schema)
    truth, shown = compare.at_level(truth, truth_schema, level)
    return [_picture(fit(image, PICTURE_SIDE), f"{record['name']} (photo)"),
            _picture(fit(class_colours.apply(shown, colours).colorize(truth), PICTURE_SIDE), "ground truth")]


def _frame_pictures(name: str, evaluations: dict[str, dict], metas: dict[str, dict], eval_paths: dict,
                    data_root=None, colours: dict | None = None) -> str:
    """One worst frame: its photo and ground truth where the data set is at hand (`data_root`), else the photo
    thumbnail the first run stored, then each run's stored prediction with that run's mIoU, at picture_level;
    what is not stored is left out, a damaged file is named."""
    from segcore.frame_views import fit, read_label_map, read_thumbnail
    level = picture_level(evaluations)
    first_run, first = next(iter(evaluations.items()))
    photo, pictures = [], []
    first_record = compare.find_record(first, name)
    if data_root is not None and first_record is not None:
        try:
            photo = _ground_truth(first_record, first, _schema_of(metas.get(first_run)), data_root, level,
                                  colours or {})
        except (ImageError, DatasetError, OSError) as err:
            pictures.append(f'<p class="note">{html.escape(name)}: {html.escape(str(err)[:200])}</p>')
    for run, result in evaluations.items():
        record, path, schema = compare.find_record(result, name), eval_paths.get(run), _schema_of(metas.get(run))
        if record is None or path is None or schema is None:
            continue
        try:
            thumbnail = eval_records.thumbnail_path(path, record)
            if not photo and thumbnail is not None:
                photo = [_picture(read_thumbnail(thumbnail, PICTURE_SIDE), f"{name} (photo)")]
            prediction = eval_records.prediction_path(path, record)
            if prediction is not None:
                labels, shown = compare.at_level(read_label_map(prediction), schema, level)
                names = (result.get(eval_records.level_key(level)) or {}).get("names") or []
                miou = eval_records.frame_scores(record, level, len(names))[0]    # at the level drawn
                score = f", mIoU {100 * miou:.1f} %" if np.isfinite(miou) else ""
                drawn = class_colours.apply(shown, colours or {}).colorize(labels)
                pictures.append(_picture(fit(drawn, PICTURE_SIDE), f"{run}{score}"))
        except (ImageError, ValueError, OSError) as err:         # a damaged stored file: said, and drawn without
            pictures.append(f'<p class="note">{html.escape(run)}: {html.escape(str(err)[:200])}</p>')
    return f"<h4>{html.escape(name)}</h4>" + _grid(photo + pictures) if pictures else ""


def _leaves_void(evaluations: dict[str, dict]) -> bool:
    """Whether some stored prediction leaves pixels without a class (drawn in the void colour)."""
    return any(any((result.get(key) or {}).get("unpredicted") or []) for result in evaluations.values()
               for key in ("class_level", "category_level"))


def _legends(metas: dict[str, dict], evaluations: dict[str, dict], void: bool = False,
             colours: dict | None = None) -> list[str]:
    """A colour legend per schema the pictures are drawn in (one where the runs share it); `void`: with the colour
    of the ground truth's unlabelled pixels."""
    def legend(schema: LabelSchema) -> str:
        schema = class_colours.apply(schema, colours or {})
        return figures.legend_html(schema, [*range(schema.num_classes), *([schema.ignore_index] if void else [])])

    if picture_level(evaluations) == "category":
        return [legend(category_schema())]
    schemas = {}
    for run in evaluations:
        schema = _schema_of(metas.get(run))
        if schema is not None:
            schemas.setdefault(schema.name, schema)
    return [(f"<p>{html.escape(name)}:</p>" if len(schemas) > 1 else "") + legend(schema)
            for name, schema in schemas.items()]


def read_histories(runs_to_review) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each run's training history (history.csv, else its TensorBoard logs/), and one line per run whose history
    can't be read; runs without one (imported models, prediction folders) are left out."""
    from segcore.histories import HistoryError, discover_histories, read_history
    found, problems, folders = {}, [], {}
    for run in runs_to_review:
        if run.path.parent not in folders:                      # one listing per models folder
            folders[run.path.parent] = discover_histories(run.path.parent)
        source = folders[run.path.parent].get(run.name)
        if source is None:
            continue
        try:
            found[run.name] = read_history(source, run.name)
        except HistoryError as err:
            problems.append(str(err))
    return found, problems


def _training_section(histories: dict[str, pd.DataFrame], problems: list[str], figure_html) -> list[str]:
    """The runs' training logs: each read at its best epoch, and the mIoU and loss curves (train solid, val dashed)."""
    from segcore.figures_curves import available_metrics, curves_figure
    from segcore.histories import summarize
    parts = ["<h2>Training</h2>"]
    parts += [f'<p class="note">{html.escape(problem)}</p>' for problem in problems]
    if not histories:
        return parts + ['<p class="note">None of these runs has a training log (imported models and prediction '
                        "folders have none).</p>"]
    summary = summarize(histories).set_index("run")
    shown = ["epochs logged", "best epoch", "chosen by", "trained on"]
    shown += [c for c in summary.columns if c.endswith("mIoU (%) at best epoch") or c == "training time (h)"]
    summary = summary[[column for column in shown if column in summary.columns]]
    parts += ['<p class="note">Logged by Keras during training, at the model\'s input size: not the same measurement '
              "as the evaluation above. Epochs count from 0.</p>", _table(summary, "{:.1f}", text=True)]
    metrics = [metric for metric in ("mean_iou", "loss") if metric in available_metrics(histories)]
    legend_below = dict(orientation="h", yanchor="top", y=-0.25, xanchor="left", x=0)
    return parts + [_grid(figure_html(curves_figure(histories, metric).update_layout(width=560, legend=legend_below))
                          for metric in metrics)]


def review_html(evaluations: dict[str, dict], metas: dict[str, dict] | None = None, *, title: str | None = None,
                worst: int = WORST_FRAMES, generated: datetime | None = None, eval_paths: dict | None = None,
                data_root=None, histories: tuple[dict, list[str]] | None = None, colours: dict | None = None) -> str:
    """The review page of `evaluations` ({run: one stored evaluation of the same data set and split}) with the
    runs' meta.json contents `metas` ({run: meta}); with `eval_paths` ({run: its evaluation JSON's path}) the worst
    frames are drawn from the predictions stored beside it, with `data_root` (the folder holding the evaluated data
    set, segcore.evaluations.locate_dataset) beside their photo and ground truth; with `histories` (read_histories)
    a section on training; `colours` (segcore.class_colours) draw the pictures and legends in a viewer's class
    colours. ValueError for no evaluations."""
    if not evaluations:
        raise ValueError("nothing to review: give at least one run with a stored evaluation")
    first = next(iter(evaluations.values()))
    dataset = stored.dataset_of(first)
    title = title or f"Model review: {stored.label(first)}"
    generated = (generated or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    plotly_written = []

    def figure_html(figure) -> str:
        text = _figure(figure, include_plotlyjs=not plotly_written)
        plotly_written.append(True)
        return text

    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="note">Made by SegLab on {generated} from the runs\' stored evaluations (no model ran to make '
             "it). Data set "
             + html.escape(f"{dataset['name']}, {dataset['split']} split"
                           + (f", fingerprint {dataset['fingerprint']}" if dataset["fingerprint"] else ""))
             + ".</p>",
             "<h2>What was scored</h2><ul>"]
    parts += [f"<li><b>{html.escape(run)}</b>: {html.escape(stored.scored_at(result))}</li>"
              for run, result in evaluations.items()]
    parts.append("</ul>")
    parts += [f'<p class="warning">{html.escape(note)}</p>' for note in _notes(evaluations)]
    least_alike = next(filter(None, map(stored_least_alike_label, evaluations.values())), None)
    if least_alike:
        parts.append(f'<p class="note">mIoU least like train: on the {html.escape(least_alike)}; closer to held-out '
                     "data than the whole split, still not held out.</p>")
    parts += ["<h2>Runs</h2>", _table(run_facts(metas or {}, evaluations), text=True)]
    for level in compare.shared_levels(evaluations):
        parts += _level_section(evaluations, level, figure_html)
    # Each run's calibration at the level it was measured at (its finest), named so where the runs differ.
    measured = {run: eval_records.calibration_level(result) for run, result in evaluations.items()}
    calibrated = {run if len(set(measured.values())) == 1 else f"{run} ({measured[run]} level)":
                  eval_records.calibration(result) for run, result in evaluations.items()}
    if any(calibrated.values()):
        parts.append("<h2>Calibration</h2>")
        parts.append(_grid(figure_html(figures.reliability_diagram(bins, run).update_layout(width=560))
                           for run, bins in calibrated.items() if bins))
        parts += ["<h3>Confident pixels only</h3>",
                  figure_html(figures.coverage_curves({run: bins for run, bins in calibrated.items() if bins})),
                  '<p class="note">Keeping the pixels whose top-class probability is above a threshold (each point): '
                  "the share kept and how many of them are right.</p>"]
    frames = compare.per_image_table(evaluations, picture_level(evaluations))
    if len(frames):
        at = {"class": "", "category": " at category level"}[picture_level(evaluations)]
        parts += [f"<h2>The {min(worst, len(frames))} worst of {len(frames)} frames (by mean mIoU{at})</h2>",
                  _table(frames.head(worst))]
        drawn = [_frame_pictures(name, evaluations, metas or {}, eval_paths or {}, data_root, colours)
                 for name in frames.index[:FRAMES_DRAWN]]
        if any(drawn):
            level = {"class": "class level", "category": "the level of the 7 categories"}[picture_level(evaluations)]
            truth = ("the photo and ground truth from the data set they were scored on, then " if data_root else "")
            missing = ("" if data_root else " The ground truth is not stored with an evaluation: give the data set's "
                       "folder (`segcore review --data DIR`, or a data folder of the dashboard) to draw it.")
            parts += [f"<h3>The {min(FRAMES_DRAWN, len(frames))} worst, as the evaluations stored them</h3>",
                      f'<p class="note">At {level}: {truth}each run\'s stored prediction.{missing}</p>',
                      *_legends(metas or {}, evaluations, void=data_root is not None or _leaves_void(evaluations),
                                colours=colours),
                      *filter(None, drawn)]
    if histories is not None:
        parts += _training_section(*histories, figure_html)
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n{body}\n</body></html>\n")


def write_review(runs_to_review, out, key: str | None = None, data=None,
                 colours: dict | None = None) -> tuple[Path, str]:
    """Write the review of `runs_to_review` (segcore.runs.Run objects) at evaluation `key` (default: CamVid val
    where all have it, else the first they share) to `out` (.html); returns (path, key). `data`: the folder of the
    evaluated data set, to draw the worst frames' photo and ground truth; `colours`: class colours to draw them in
    (segcore.class_colours). ValueError naming what is wrong: no shared
    evaluation, a run without it, a broken run, another suffix, a data folder without the evaluated data set."""
    from segcore.runs import RunError
    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"{out}: a review is an HTML file; name it REVIEW.html")
    if out.is_dir():
        raise ValueError(f"{out}: is a folder; give --out a file name, e.g. {out / 'review.html'}")
    names = [run.name for run in runs_to_review]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"more than one run is called {twice[0]}; give each run once (the review names runs by "
                         "their folder's name)")
    broken = [run for run in runs_to_review if not run.ok]
    if broken:
        run = broken[0]
        raise RunError(f"{run.name}: {run.error.removeprefix(f'{run.path}: ').removeprefix(f'{run.name}: ')}")
    available = {run.name: list(run.evaluations()) for run in runs_to_review}
    shared, default = compare.evaluation_keys(available)
    if key is None:
        if default is None:
            raise ValueError("the runs share no stored evaluation: evaluate them on the same data set and split ("
                             "`segcore evaluate --run RUN --data DIR --split val`); they have "
                             + "; ".join(f"{name}: {', '.join(keys) or 'none'}" for name, keys in available.items()))
        key = default
    keys = {run.name: run.evaluation_key(key) for run in runs_to_review}       # 'camvid-val' -> its full key
    evaluations = {run.name: stored.read_evaluation(run.evaluations()[keys[run.name]]) for run in runs_to_review}
    datasets = {stored.dataset_of(result)["fingerprint"] for result in evaluations.values()}
    if len(datasets) > 1:
        raise ValueError(f"{key} names evaluations of different data sets in these runs; pass the full key "
                         f"(one of: {', '.join(shared) or 'none shared'})")
    first = next(iter(evaluations.values()))
    data_root = None if data is None else stored.locate_dataset(first, [data])
    if data is not None and data_root is None:
        dataset = stored.dataset_of(first)
        raise ValueError(f"{data} does not hold the evaluated data set ({dataset['name']}, {dataset['split']} split, "
                         f"fingerprint {dataset['fingerprint'] or 'not stored'}); give the folder it was scored on, "
                         "or leave out --data")
    text = review_html(evaluations, {run.name: run.meta for run in runs_to_review}, data_root=data_root,
                       histories=read_histories(runs_to_review), colours=colours,
                       eval_paths={run.name: run.evaluations()[keys[run.name]] for run in runs_to_review})
    return atomic_write_bytes(out, text.encode("utf-8")), keys[runs_to_review[0].name]
