"""`segcore review` / segcore.review: stored evaluations as one self-contained HTML page (the numbers are the stored
ones, both levels, plotly.js written once, names escaped, the worst frames drawn from the stored pictures), and its
refusals as one line each."""
from __future__ import annotations

import base64
import html
import io
import json
import os
import re
import shutil
import stat
from html.parser import HTMLParser

import numpy as np
import pytest
from evaluation_fixtures import FRAMES, RUNS, eval_json, make_data, make_models
from PIL import Image

from segcore import compare, eval_records, figures, reports, review, runs
from segcore import evaluations as stored
from segcore.cli import main
from segcore.frame_views import read_thumbnail
from segcore.imageio import read_pair
from segcore.labels import CAMVID11, category_schema

PLOTLY_BUNDLE = "plotly.js v"          # the licence header of the inlined bundle


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_data(tmp_path_factory.mktemp("review") / "data")


@pytest.fixture(scope="module")
def models(data):
    return make_models(data.parent / "models", data, fmt=3)


def opened(models, names=RUNS) -> list[runs.Run]:
    return [runs.open_run(models / name) for name in names]


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts."""

    def __init__(self):
        super().__init__()
        self.tables, self._cell = [], None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.tables[-1][-1].append(self._cell.strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables_of(text: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(text)
    return parser.tables


def test_the_page_shows_the_stored_scores_of_both_levels_with_plotly_inlined_once(models, tmp_path):
    path, key = review.write_review(opened(models), tmp_path / "review.html")
    text = path.read_text(encoding="utf-8")
    results = {name: json.loads(eval_json(models, name).read_text()) for name in RUNS}
    assert key == eval_json(models, RUNS[0]).stem
    assert text.count(PLOTLY_BUNDLE) == 1 and "<script src" not in text and "<link" not in text    # nothing fetched
    assert "<h2>Classes</h2>" in text and "<h2>The 7 categories</h2>" in text and "<h2>Calibration</h2>" in text
    for name, result in results.items():
        assert html.escape(stored.scored_at(result)) in text

    scores = [table for table in tables_of(text) if table[0][:4] == ["", "pixel accuracy %", "mean class accuracy %",
                                                                     "mIoU %"]]
    assert len(scores) == 2                                                           # class and category level
    for table, level in zip(scores, ("class_level", "category_level")):
        header, rows = table[0], {row[0]: row for row in table[1:]}
        assert sorted(rows) == sorted(RUNS)
        for name, result in results.items():
            assert rows[name][header.index("mIoU %")] == f"{100 * result[level]['mean_iou']:.1f}"
            assert rows[name][header.index("pixel accuracy %")] == f"{100 * result[level]['pixel_accuracy']:.1f}"

    iou = next(table for table in tables_of(text) if table[0] == ["", *RUNS] and table[1][0] == "Sky")
    expected = reports.class_report(results, "class")
    for row in iou[1:]:
        for name, cell in zip(RUNS, row[1:]):
            value = expected.loc[row[0], f"IoU % · {name}"]
            assert cell == ("–" if value != value else f"{value:.1f}")                 # NaN: neither true nor predicted
    # Per level the bars and a matrix per run; a reliability diagram per run and one coverage curve of all runs.
    assert text.count('class="plotly-graph-div"') == 2 * (1 + len(RUNS)) + len(RUNS) + 1
    assert "<h3>Confident pixels only</h3>" in text


def test_names_from_files_are_escaped(models, tmp_path):
    results = {'<script>alert("run")</script>': json.loads(eval_json(models, RUNS[0]).read_text())}
    text = review.review_html(results, {}, title="<b>review</b>")
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text
    assert "<b>review</b>" not in text and "&lt;b&gt;review&lt;/b&gt;" in text


def test_the_file_is_written_atomically_with_the_umask(models, tmp_path):
    old = os.umask(0o027)
    try:
        path, _ = review.write_review(opened(models), tmp_path / "out" / "review.html")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert [p.name for p in path.parent.iterdir()] == ["review.html"]                   # no temporary file left


def test_the_command_writes_the_page_and_says_which_evaluation(models, tmp_path, capsys):
    out = tmp_path / "review.html"
    assert main(["review", "--runs", *(str(models / name) for name in RUNS), "--evaluation", "data-val",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert re.search(r"wrote .*review\.html \(evaluation data-[0-9a-f]+-val of 2 runs", said)
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("arguments, expected", [
    (["--evaluation", "camvid-test"], "no evaluation 'camvid-test'"),
    (["--out-suffix", ".txt"], "a review is an HTML file"),
    (["--twice"], "more than one run is called unet-a"),
    (["--missing"], "no-such-run"),
])
def test_bad_requests_end_in_one_line(models, tmp_path, capsys, arguments, expected):
    folders = [str(models / name) for name in RUNS]
    out = tmp_path / "review.html"
    if "--out-suffix" in arguments:
        out, arguments = tmp_path / "review.txt", []
    elif "--twice" in arguments:
        folders, arguments = folders + folders[:1], []
    elif "--missing" in arguments:
        folders, arguments = folders + [str(tmp_path / "no-such-run")], []
    assert main(["review", "--runs", *folders, *arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err
    assert expected in error and len(error.strip().splitlines()) == 1
    assert not out.exists()


def test_runs_without_a_shared_evaluation_are_named_with_what_they_have(models, tmp_path):
    lonely = tmp_path / "lonely"
    (lonely / runs.EVAL_DIR).mkdir(parents=True)
    for name in (runs.META_FILE, "model.keras"):
        (lonely / name).write_bytes((models / RUNS[0] / name).read_bytes())
    with pytest.raises(ValueError, match=r"share no stored evaluation.*lonely: none"):
        review.write_review(opened(models, RUNS[:1]) + [runs.open_run(lonely)], tmp_path / "review.html")


def pictures_by_frame(text: str) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{frame heading: [(caption, decoded picture), ...]} of the drawn worst frames."""
    drawn = {}
    for section in text.partition("as the evaluations stored them")[2].split("<h4>")[1:]:
        name, _, body = section.partition("</h4>")
        found = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="[^"]*"><figcaption>([^<]*)</figcaption>',
                           body.split("<h4>")[0])
        drawn[name] = [(html.unescape(caption), np.asarray(Image.open(io.BytesIO(base64.b64decode(data)))))
                       for data, caption in found]
    return drawn


def test_the_worst_frames_are_drawn_from_the_stored_pictures(models, tmp_path):
    path, _ = review.write_review(opened(models), tmp_path / "review.html")
    drawn = pictures_by_frame(path.read_text(encoding="utf-8"))
    results = {name: json.loads(eval_json(models, name).read_text()) for name in RUNS}
    assert len(drawn) == len(FRAMES)                                       # 3 frames, fewer than FRAMES_DRAWN
    assert "<h3>The 3 worst, as the evaluations stored them</h3>" in path.read_text(encoding="utf-8")
    for frame, pictures in drawn.items():
        captions = [caption for caption, _ in pictures]
        assert captions[0] == f"{frame} (photo)"
        for run, (caption, picture) in zip(RUNS, pictures[1:], strict=True):
            record = compare.find_record(results[run], frame)
            assert caption == f"{run}, mIoU {100 * record['mean_iou']:.1f} %"
            stored_labels = np.asarray(Image.open(eval_json(models, run).parent / record["prediction"]))
            assert np.array_equal(picture, CAMVID11.colorize(stored_labels))
        thumbnail = eval_json(models, RUNS[0]).parent / compare.find_record(results[RUNS[0]], frame)["thumbnail"]
        assert np.array_equal(pictures[0][1], read_thumbnail(thumbnail, review.PICTURE_SIDE))


def test_a_damaged_stored_prediction_is_named_and_the_rest_still_drawn(models, tmp_path):
    copy = shutil.copytree(models, tmp_path / "models")
    result = json.loads(eval_json(copy, RUNS[1]).read_text())
    damaged = result["per_image"][0]
    (eval_json(copy, RUNS[1]).parent / damaged["prediction"]).write_bytes(b"not a png")
    path, _ = review.write_review(opened(copy), tmp_path / "review.html")
    text = path.read_text(encoding="utf-8")
    pictures = pictures_by_frame(text)[damaged["name"]]
    assert [caption.split(",")[0] for caption, _ in pictures] == [f"{damaged['name']} (photo)", RUNS[0]]
    assert re.search(rf'<p class="note">{RUNS[1]}: {damaged["name"]}\.png: stored prediction can&#x27;t be read', text)


@pytest.mark.parametrize("damage", ["chunk", "bomb"])
def test_a_stored_prediction_broken_in_its_header_is_named_and_the_rest_still_drawn(models, tmp_path, damage):
    copy = shutil.copytree(models, tmp_path / "models")
    result = json.loads(eval_json(copy, RUNS[1]).read_text())
    damaged = result["per_image"][0]
    path = eval_json(copy, RUNS[1]).parent / damaged["prediction"]
    png = bytearray(path.read_bytes())
    if damage == "chunk":
        png[11] = 12                                             # IHDR's length one short: PIL's ValueError
    else:
        png[16:24] = (60000).to_bytes(4, "big") * 2             # IHDR says 60000 x 60000
    path.write_bytes(bytes(png))
    page, _ = review.write_review(opened(copy), tmp_path / "review.html")
    assert re.search(rf'<p class="note">{RUNS[1]}: {damaged["name"]}\.png: ', page.read_text(encoding="utf-8"))


def test_a_run_called_mean_and_a_run_name_with_markup_are_shown_as_named(models, tmp_path):
    copy = shutil.copytree(models, tmp_path / "models")
    (copy / RUNS[0]).rename(copy / "mean")
    table = compare.per_image_table({"mean": json.loads(eval_json(copy, "mean").read_text())})
    assert list(table.columns[:2]) == ["mean mIoU %", "mean mIoU %"]      # the mean's column, then the run's
    figure = figures.iou_bars({"x<br>y": json.loads(eval_json(copy, "mean").read_text())}, "class_level")
    assert figure.data[0].name == "x&lt;br&gt;y"                           # Plotly shows it as typed
    with pytest.raises(ValueError, match="is a folder; give --out a file name"):
        (tmp_path / "folder.html").mkdir()
        review.write_review(opened(copy, ["mean", RUNS[1]]), tmp_path / "folder.html")
    page, _ = review.write_review(opened(copy, ["mean", RUNS[1]]), tmp_path / "review.html")
    assert "mean" in page.read_text(encoding="utf-8")


def test_the_runs_table_says_what_each_run_trained_on_and_which_weights_it_kept():
    meta = {"arch": "unet", "parameters": 958843, "input_size": [360, 480], "epochs_completed": 150,
            "dataset": {"name": "camvid"}, "config": {"train_split": "train+val"},
            "best": {"epoch": 105, "selected_by": "highest val_mean_iou on the val split"}}
    facts = review.run_facts({"a": meta, "b": {}}, {"a": {"tta": "flip", "created": "2026-11-25T06:16:34"},
                                                    "b": {}})
    assert facts.loc["a"].to_dict() == {
        "kind": "keras", "architecture": "unet", "parameters": 958843, "input size": "360x480",
        "trained on": "camvid train+val", "epochs completed": 150,
        "weights kept": "epoch 105 (highest val_mean_iou on the val split)", "test-time augmentation": "test-time flip",
        "evaluated": "2026-11-25T06:16:34"}
    assert facts.loc["b"].drop(["kind", "test-time augmentation"]).isna().all()
    assert facts.loc["b", "test-time augmentation"] == "none"
    text = review._table(facts, text=True)          # counts read as counts though run b lacks them
    assert "<td>958,843</td>" in text and "<td>150</td>" in text and "958843.0" not in text


def test_with_the_data_folder_the_worst_frames_show_their_photo_and_ground_truth(models, data, tmp_path):
    path, _ = review.write_review(opened(models), tmp_path / "review.html", data=data)
    text = path.read_text(encoding="utf-8")
    assert "the photo and ground truth from the data set they were scored on" in text
    assert figures.legend_html(CAMVID11, [*range(CAMVID11.num_classes), CAMVID11.ignore_index]) in text   # void too
    for frame, pictures in pictures_by_frame(text).items():
        assert [caption.split(",")[0] for caption, _ in pictures] == [f"{frame} (photo)", "ground truth", *RUNS]
        image, truth = read_pair(data / "images" / "val" / f"{frame}.png", data / "labels" / "val" / f"{frame}.png",
                                 CAMVID11)
        assert np.array_equal(pictures[0][1], image) and np.array_equal(pictures[1][1], CAMVID11.colorize(truth))


def test_a_data_folder_without_the_evaluated_data_set_is_refused(models, tmp_path):
    other = make_data(tmp_path / "other-data")
    (other / "labels" / "val" / "f000.png").unlink()            # another set of frames: another fingerprint
    with pytest.raises(ValueError, match=r"other-data does not hold the evaluated data set \(data, val split"):
        review.write_review(opened(models), tmp_path / "review.html", data=other)
    assert not (tmp_path / "review.html").exists()


def test_the_training_section_reads_each_runs_log_at_its_best_epoch(models, tmp_path):
    copy = shutil.copytree(models, tmp_path / "models")
    (copy / RUNS[0] / "history.csv").write_text("epoch,loss,mean_iou,val_loss,val_mean_iou\n"
                                                "0,1.2,0.30,1.4,0.25\n1,0.8,0.50,1.0,0.46\n2,0.6,0.60,1.1,0.41\n")
    (copy / RUNS[1] / "history.csv").write_text("epoch,loss\n0,not a number\n")
    path, _ = review.write_review(opened(copy), tmp_path / "review.html")
    text = path.read_text(encoding="utf-8")
    training = text.partition("<h2>Training</h2>")[2]
    assert training and "<h2>" not in training                                   # the last section
    assert re.search(rf'<p class="note">[^<]*{RUNS[1]}[^<]*</p>', training)       # the unreadable log, named
    table = next(t for t in tables_of(training) if t[0][:3] == ["", "epochs logged", "best epoch"])
    header, row = table[0], table[1]
    assert row[0] == RUNS[0] and len(table) == 2
    assert row[header.index("best epoch")] == "1" and row[header.index("chosen by")] == "highest val mIoU"
    assert row[header.index("val mIoU (%) at best epoch")] == "46.0"
    assert training.count('class="plotly-graph-div"') == 2                       # mIoU and loss curves


def test_without_training_logs_the_section_says_so(models, tmp_path):
    path, _ = review.write_review(opened(models), tmp_path / "review.html")
    assert "None of these runs has a training log" in path.read_text(encoding="utf-8")


def test_a_category_only_evaluation_is_drawn_at_category_level(models, tmp_path):
    copy = shutil.copytree(models, tmp_path / "models")
    path = eval_json(copy, RUNS[0])
    result = json.loads(path.read_text())
    del result["class_level"]                                  # as a model of another schema than the data's
    result["data_schema"] = "cityscapes"
    path.write_text(json.dumps(result))
    text = review.write_review(opened(copy), tmp_path / "review.html")[0].read_text(encoding="utf-8")
    assert "<h2>Classes</h2>" not in text and "<h2>The 7 categories</h2>" in text
    assert "At the level of the 7 categories" in text and figures.legend_html(category_schema()) in text
    for frame, pictures in pictures_by_frame(text).items():
        record = compare.find_record(result, frame)
        stored_labels = np.asarray(Image.open(path.parent / record["prediction"]))
        caption, picture = next(p for p in pictures if p[0].startswith(RUNS[0]))
        assert np.array_equal(picture, category_schema().colorize(CAMVID11.to_categories(stored_labels)))
        other = json.loads(eval_json(copy, RUNS[1]).read_text())      # same schema as the data: class scores stored
        other_record = compare.find_record(other, frame)
        at_categories = eval_records.frame_scores(other_record, "category", 7)[0]
        other_caption = next(p[0] for p in pictures if p[0].startswith(RUNS[1]))
        assert other_caption.endswith(f"mIoU {100 * at_categories:.1f} %"), other_caption    # the level drawn
    assert "(by mean mIoU at category level)" in text


def test_without_the_data_folder_the_legend_names_void_where_a_prediction_leaves_pixels_without_a_class(
        models, tmp_path):
    copy = shutil.copytree(models, tmp_path / "models")
    with_void = figures.legend_html(CAMVID11, [*range(CAMVID11.num_classes), CAMVID11.ignore_index])
    text = review.write_review(opened(copy), tmp_path / "plain.html")[0].read_text(encoding="utf-8")
    assert with_void not in text
    path = eval_json(copy, RUNS[0])
    result = json.loads(path.read_text())
    result["class_level"]["unpredicted"] = [7] + [0] * (CAMVID11.num_classes - 1)   # a model with a void output
    path.write_text(json.dumps(result))
    text = review.write_review(opened(copy), tmp_path / "void.html")[0].read_text(encoding="utf-8")
    assert with_void in text
