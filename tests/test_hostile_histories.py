"""Hostile and careless history files (issue 10 items 2, 8, 10; issue 9 §3): bounded reading, damaged event
files reported, zipped TensorBoard log folders as one run, thinned drawing, formula-safe CSV exports."""
import io
import json
import struct
import zipfile
import zlib

import numpy as np
import pandas as pd
import plotly.io
import pytest

from segcore import histories
from segcore.exports import csv_bytes, csv_safe
from segcore.figures_curves import PALETTE, curves_figure, log_ticks, run_colours
from segcore.histories import (MAX_COLUMNS, MAX_DRAWN_POINTS, MAX_ROWS, HistoryError, best_epoch, discover_histories,
                               drawn_points, read_history)
from segcore.histories.tensorboard import masked_crc32c
from test_histories import keras_logs, write_events


# ------------------------------------------------------------------------------------------ size bounds

def test_a_csv_of_100_000_columns_is_refused_from_its_header(tmp_path):
    header = "epoch," + ",".join(f"m{i}" for i in range(100_000))
    path = tmp_path / "wide.csv"
    path.write_text(header + "\n0," + ",".join(["0.5"] * 100_000) + "\n")
    assert path.stat().st_size > 1_000_000
    with pytest.raises(HistoryError, match=r"wide\.csv: 100,001 columns, over the limit of 256") as info:
        read_history(path)
    assert "\n" not in str(info.value)


def test_a_history_json_of_100_000_keys_is_refused():
    data = json.dumps({f"m{i}": [0.5] for i in range(100_000)}).encode()
    with pytest.raises(HistoryError, match=r"wide\.json: 100,000 columns, over the limit"):
        read_history(("wide.json", data))


def test_the_column_limit_itself_is_accepted():
    header = "epoch," + ",".join(f"m{i}" for i in range(MAX_COLUMNS))
    frame = read_history(("limit.csv", (header + "\n0," + ",".join(["0.5"] * MAX_COLUMNS) + "\n").encode()))
    assert frame.shape == (1, MAX_COLUMNS + 1)


def test_rows_over_the_limit_are_refused_before_parsing():
    text = "epoch,loss\n" + "".join(f"{e},0.5\n" for e in range(MAX_ROWS + 1))
    with pytest.raises(HistoryError, match=r"long\.csv: 100,001 rows, over the limit of 100,000 epochs"):
        read_history(("long.csv", text.encode()))
    data = json.dumps({"loss": [0.5] * (MAX_ROWS + 1)}).encode()
    with pytest.raises(HistoryError, match="rows, over the limit"):
        read_history(("long.json", data))


def test_event_files_with_too_many_tags_are_refused(tmp_path):
    path = tmp_path / "events.out.tfevents.1.wide"
    write_events(path, [(0, f"epoch_m{i}", 0.5) for i in range(MAX_COLUMNS + 1)])
    with pytest.raises(HistoryError, match="over the limit of 256"):
        read_history(path)


def test_deeply_nested_json_is_a_one_line_error():
    with pytest.raises(HistoryError, match="nested too deeply"):
        read_history(("deep.json", b"[" * 100_000 + b"]" * 100_000))


# ------------------------------------------------------------------------------------------ drawing is thinned

def test_drawn_points_keep_spikes_gaps_ends_and_the_best_epoch():
    y = np.sin(np.arange(100_000) / 500.0)
    y[31_337] = 50.0                                      # a spike
    y[70_000:70_010] = np.nan                             # a gap
    shown = drawn_points(y, 2_000, keep=[12_345])
    assert len(shown) <= 2_000 and np.all(np.diff(shown) > 0)
    assert {0, 99_999, 31_337, 12_345} <= set(shown.tolist())
    assert np.isnan(y[shown]).any()                       # the gap stays a gap
    assert drawn_points(np.arange(10.0), 2_000).tolist() == list(range(10))


def test_a_100_000_epoch_history_draws_a_small_figure():
    epochs = np.arange(MAX_ROWS)
    frame = pd.DataFrame({"epoch": epochs, "loss": 1 / (1 + epochs), "val_loss": 1.1 / (1 + epochs),
                          "mean_iou": epochs / MAX_ROWS, "val_mean_iou": np.minimum(epochs, 60_000) / MAX_ROWS})
    text = frame.to_csv(index=False).encode()
    history = read_history(("long.csv", text))             # stored whole
    assert len(history) == MAX_ROWS
    fig = curves_figure({"long": history}, "mean_iou", smoothing=0.6)
    assert all(len(t.x) <= MAX_DRAWN_POINTS for t in fig.data)
    star = next(t for t in fig.data if t.mode == "markers")
    val = next(t for t in fig.data if t.name == "long · val")
    assert star.x[0] == best_epoch(history).epoch == 60_000 and 60_000 in val.x      # the best epoch is drawn
    assert len(plotly.io.to_json(fig)) < 1_000_000


# ------------------------------------------------------------------------------------------ damaged event files

def record_offsets(data: bytes) -> list[int]:
    offsets, position = [], 0
    while position < len(data):
        offsets.append(position)
        position += 12 + struct.unpack("<Q", data[position:position + 8])[0] + 4
    return offsets


def ten_epochs(path):
    write_events(path, [(e, "epoch_loss", 1.0 - 0.05 * e) for e in range(10)])
    return path


def test_our_crc_is_tfrecords(tmp_path):
    data = ten_epochs(tmp_path / "events.out.tfevents.1.ok").read_bytes()
    length = data[:8]
    assert masked_crc32c(length) == struct.unpack("<I", data[8:12])[0]


def test_a_flipped_byte_mid_file_is_reported_with_what_was_kept(tmp_path):
    path = ten_epochs(tmp_path / "events.out.tfevents.1.flipped")
    data = bytearray(path.read_bytes())
    start = record_offsets(bytes(data))[5]                # record 0 is the file version, 1-10 are epochs 0-9
    data[start + 20] ^= 0xFF                              # inside epoch 4's record
    path.write_bytes(bytes(data))
    history = read_history(path)
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert history.attrs["warnings"] == [
        "events file events.out.tfevents.1.flipped is damaged after record 5 (checksum mismatch): "
        "kept epochs 0-3, the rest is lost"]
    uploaded = read_history((path.name, bytes(data)))
    assert uploaded.attrs["warnings"] == history.attrs["warnings"]


def test_a_cut_tail_is_reported_too(tmp_path):
    path = ten_epochs(tmp_path / "events.out.tfevents.1.cut")
    data = path.read_bytes()
    path.write_bytes(data[:record_offsets(data)[8] + 10])
    history = read_history(path)
    assert history["epoch"].tolist() == list(range(7))
    assert history.attrs["warnings"] == ["events file events.out.tfevents.1.cut ends mid-record after record 8 "
                                         "(cut short or still being written): kept epochs 0-6"]


# ------------------------------------------------------------------------------------------ log folders and zips

def zipped(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zipped_logs(tmp_path, prefix="logs/") -> bytes:
    root = keras_logs(tmp_path / "logs")
    return zipped({prefix + p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*tfevents*")})


def test_a_zipped_keras_log_folder_is_one_run_with_both_splits(tmp_path):
    history = read_history(("unet-logs.zip", zipped_logs(tmp_path)))
    assert list(history.columns) == ["epoch", "wall_time", "relative_time", "loss", "mean_iou", "val_loss",
                                     "val_mean_iou"]
    np.testing.assert_allclose(history["val_mean_iou"], [0.25, 0.35, 0.45], rtol=1e-6)
    np.testing.assert_allclose(history["loss"], [1.0, 0.8, 0.55], rtol=1e-6)       # the resumed file's later write
    assert history.attrs["name"] == "unet-logs" and history.attrs["input_size"] is None
    flat = read_history(("flat.zip", zipped_logs(tmp_path, prefix="")))             # zipped from inside logs/
    pd.testing.assert_frame_equal(flat, history, check_like=True)


@pytest.mark.parametrize("entries, message", [
    ({"../../etc/events.out.tfevents.1": b"x"}, "points outside the archive"),
    ({"/abs/events.out.tfevents.1": b"x"}, "points outside the archive"),
    ({"notes.txt": b"hello"}, "no events.out.tfevents"),
    ({f"logs/f{i}.txt": b"" for i in range(histories.MAX_ZIP_ENTRIES + 1)}, "over the limit of 1,000"),
    ({f"logs/train/events.out.tfevents.{i}": b"" for i in range(histories.MAX_EVENT_FILES + 1)},
     "over the limit of 64"),
    ({"a/train/events.out.tfevents.1": b"x", "b/train/events.out.tfevents.1": b"x"}, "logs of 2 runs"),
])
def test_hostile_zips_are_refused_in_one_line(entries, message):
    with pytest.raises(HistoryError, match=message) as info:
        read_history(("bad.zip", zipped(entries)))
    assert str(info.value).startswith("bad.zip: ") and "\n" not in str(info.value)


def test_a_zip_bomb_is_refused_from_its_declared_size():
    bomb = zipped({"logs/train/events.out.tfevents.1": bytes(20_000_000)})
    assert len(bomb) < 100_000
    with pytest.raises(HistoryError, match="unzipped, over the 1,000,000-byte limit"):
        read_history(("bomb.zip", bomb), max_bytes=1_000_000)


def test_not_a_zip_named_zip():
    with pytest.raises(HistoryError, match=r"junk\.zip: not a readable \.zip"):
        read_history(("junk.zip", b"PK\x03\x04 and then nothing useful"))


def test_a_run_folder_with_only_tensorboard_logs_is_found_and_read_as_one_run(tmp_path):
    run = tmp_path / "models" / "keras-run"
    keras_logs(run / "logs")
    (run / "meta.json").write_text(json.dumps({"input_size": [96, 128]}))
    found = discover_histories(tmp_path / "models")
    assert found == {"keras-run": run / "logs"}
    history = read_history(found["keras-run"], "keras-run")
    assert {"loss", "val_loss", "mean_iou", "val_mean_iou"} <= set(history.columns)
    assert history.attrs["input_size"] == "96x128"
    assert read_history(run).attrs["name"] == "keras-run"


# ------------------------------------------------------------------------------------------ colours, ticks

def clashing_name(run: str) -> str:
    """A name sorting before `run` whose hash picks the same palette colour."""
    target = zlib.crc32(run.encode()) % len(PALETTE)
    return next(f"a-run-{i}" for i in range(1000) if zlib.crc32(f"a-run-{i}".encode()) % len(PALETTE) == target)


def test_adding_runs_never_recolours_the_runs_shown():
    first = run_colours(["unet-tiny"], keep={})
    newcomer = clashing_name("unet-tiny")
    assert run_colours([newcomer, "unet-tiny"])["unet-tiny"] != first["unet-tiny"]   # why keep= exists
    second = run_colours(["unet-tiny", newcomer], keep=first)
    assert second["unet-tiny"] == first["unet-tiny"] and second[newcomer] != first["unet-tiny"]
    fig = curves_figure({"unet-tiny": pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5]}),
                         newcomer: pd.DataFrame({"epoch": [0, 1], "loss": [1.0, 0.5]})}, "loss", colours=second)
    assert {t.legendgroup: t.line.color for t in fig.data if t.mode == "lines"} == second


def test_log_ticks_are_plain_numbers():
    assert log_ticks([0.13, 0.3, 1.35]) == [0.2, 0.5, 1.0]
    assert log_ticks([0.18, 0.9]) == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    fig = curves_figure({"r": pd.DataFrame({"epoch": [0, 1, 2], "loss": [1.35, 0.5, 0.13]})}, "loss", log_y=True)
    assert list(fig.layout.yaxis.tickvals) == [0.2, 0.5, 1.0] and list(fig.layout.yaxis.ticktext) == ["0.2", "0.5", "1"]


# ------------------------------------------------------------------------------------------ formula-safe CSV

def test_csv_safe_escapes_text_that_starts_a_formula_and_leaves_numbers_alone():
    frame = pd.DataFrame({"run": ["=1+cmd|' -C calc'!A0", "+x", "-y", "@z", "\tt", "\rr", "plain"],
                          "=cmd|'/c calc'!a0": [-0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    safe = csv_safe(frame)
    assert safe["run"].tolist() == ["'=1+cmd|' -C calc'!A0", "'+x", "'-y", "'@z", "'\tt", "'\rr", "plain"]
    assert list(safe.columns) == ["run", "'=cmd|'/c calc'!a0"]
    assert safe.iloc[:, 1].tolist()[0] == -0.5 and safe.iloc[:, 1].dtype.kind == "f"
    assert frame["run"][0].startswith("=")                                   # the input is not changed
    back = pd.read_csv(io.BytesIO(csv_bytes(frame)))
    assert back["run"][0] == "'=1+cmd|' -C calc'!A0" and back.iloc[0, 1] == -0.5


def test_a_hostile_upload_name_and_metric_reach_the_curves_csv_escaped():
    history = read_history(("=1+cmd|' -C calc'!A0.csv", b"epoch,=cmd|'/c calc'!a0,loss\n0,-0.5,1.0\n"))
    name = history.attrs["name"]
    assert name == "=1+cmd|' -C calc'!A0"
    text = csv_bytes(histories.to_long(history, name)).decode()
    lines = text.splitlines()
    assert not any(cell.startswith(("=", "+", "@")) for line in lines for cell in line.split(","))
    assert "'=1+cmd|' -C calc'!A0" in text and "'=cmd|'/c_calc'!a0" in text and ",-0.5" in text


def test_impossible_clock_values_are_unknown_and_every_x_axis_still_draws():
    from segcore.figures_curves import curves_figure

    history = read_history(("clock.csv", b"epoch,loss,wall_time,relative_time\n0,1,1e300,-5\n1,0.5,-1e12,1e308\n"
                                         b"2,0.4,1795552000,3600\n"))
    assert history["wall_time"].isna().tolist() == [True, True, False]
    assert history["relative_time"].isna().tolist() == [True, False, False]    # 1e308 s is a (silly) duration
    for x_axis in ("epoch", "relative", "wall"):
        assert curves_figure({"clock": history}, "loss", x_axis=x_axis).data, x_axis


# ------------------------------------------------------------------------------------------ other tools' logs

def test_a_camelcase_mean_iou_is_the_mean_iou_and_chooses_the_best_epoch():
    history = read_history(("a.csv", b"epoch,loss,MeanIoU,val_loss,val_MeanIoU\n0,1.0,0.30,1.1,0.40\n"
                                     b"1,0.8,0.50,0.9,0.50\n2,0.7,0.55,0.95,0.60\n"))
    assert list(history.columns) == ["epoch", "loss", "mean_iou", "val_loss", "val_mean_iou"]
    assert histories.best_epoch(history).epoch == 2


def test_scores_logged_in_percent_are_read_as_fractions_and_said():
    history = read_history(("p.csv", b"epoch,loss,accuracy,mean_iou,val_mean_iou\n0,1.0,80.1,40.2,38.5\n"
                                     b"1,0.8,85.3,50.0,47.5\n"))
    assert history["val_mean_iou"].tolist() == pytest.approx([0.385, 0.475])
    assert history["pixel_accuracy"].max() == pytest.approx(0.853) and history["loss"].max() == 1.0
    assert any(w.startswith("val_mean_iou: logged in percent") for w in history.attrs["warnings"])
    with pytest.raises(HistoryError, match="mean_iou reaches 250"):
        read_history(("q.csv", b"epoch,mean_iou\n0,250\n"))


def test_an_epochs_train_and_val_rows_of_their_own_are_joined():
    history = read_history(("lightning.csv", b"epoch,step,train_loss,val_loss\n0,49,0.5,\n0,49,,0.4\n"
                                             b"1,99,0.3,\n1,99,,0.35\n"))
    assert history[["epoch", "loss", "val_loss"]].values.tolist() == [[0, 0.5, 0.4], [1, 0.3, 0.35]]
    assert history.attrs["warnings"] == []


def test_lightning_rows_logged_at_several_steps_are_one_epoch_each():
    steps = read_history(("steps.csv", b"epoch,step,train_loss,val_loss\n0,49,0.9,\n0,99,0.8,\n0,99,,0.85\n"
                                       b"1,149,0.7,\n1,199,0.6,\n1,199,,0.65\n"))
    assert steps[["epoch", "loss", "val_loss"]].to_numpy().ravel().tolist() == pytest.approx([0, .85, .85, 1, .65, .65])
    assert steps.attrs["warnings"] == ["loss logged at several steps of an epoch: each epoch shows the mean of its "
                                       "logged values, as Lightning's epoch aggregate does"]
    # on_step and on_epoch: the per-step column goes, the epoch aggregate is the metric.
    both = read_history(("both.csv", b"epoch,step,train_loss_step,train_loss_epoch,val_loss\n0,49,0.9,,\n"
                                      b"0,99,0.8,,\n0,99,,,0.85\n0,99,,0.82,\n1,149,0.7,,\n1,199,,,0.65\n1,199,,0.7,\n"
                                      b"1,149,0.69,,\n1,199,,0.68,\n1,199,,,0.64\n"))          # epoch 1 again: resumed
    assert list(both.columns) == ["epoch", "loss", "val_loss"]
    assert both[["loss", "val_loss"]].to_numpy().ravel().tolist() == pytest.approx([0.82, 0.85, 0.68, 0.64])
    assert "1 earlier row(s) of epoch 1 left out" in both.attrs["warnings"][0]


def test_a_log_that_restarts_its_epochs_says_which_rows_it_left_out():
    history = read_history(("appended.csv", b"epoch,loss\n0,1\n1,.9\n2,.8\n0,.7\n1,.6\n"))
    assert history["loss"].tolist() == pytest.approx([0.7, 0.6])
    assert history.attrs["warnings"] == ["3 earlier row(s) of epoch 0, 1, 2 left out: the log goes back to an "
                                         "earlier epoch after them (a run resumed or restarted in the same file); "
                                         "the later rows are kept"]


def test_a_whole_history_objects_epoch_list_numbers_its_rows():
    history = read_history(("h.json", json.dumps({"epoch": [5, 6, 7], "params": {"epochs": 8},
                                                  "history": {"loss": [.5, .4, .3], "val_loss": [.6, .5, .55]}}
                                                 ).encode()))
    assert history["epoch"].tolist() == [5, 6, 7]


@pytest.mark.parametrize("name, text, said", [
    ("e.json", b'{"loss": [1, 1' + b"0" * 400 + b"]}", "a number too large"),
    ("f.csv", b"epoch,loss\n0,1\n1e300,0.5\n", "whole numbers from 0 to 2,147,483,647"),
])
def test_numbers_too_large_for_a_history_are_one_line(name, text, said):
    with pytest.raises(HistoryError, match=said):
        read_history((name, text))


def test_a_per_class_metric_column_is_left_out_and_the_curves_read():
    history = read_history(("v.csv", b'epoch,f1_score,loss,val_loss\n0,"[0.1, 0.2]",1.0,1.1\n1,"[0.3, 0.4]",0.9,1.0\n'))
    assert list(history.columns) == ["epoch", "loss", "val_loss"]
    assert history.attrs["warnings"] == ["f1_score: one value per class at each epoch, not drawn (a curve needs one "
                                         "number per epoch)"]
