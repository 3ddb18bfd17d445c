"""Histories: CSVLogger / History JSON / TensorBoard readers, smoothing, summaries and the curves figure."""
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.record_writer import RecordWriter
from tensorboard.util import tensor_util

from segcore.figures_curves import available_metrics, curves_figure, outlier_range, runs_without_clock
from segcore.histories import (BestEpoch, HistoryError, best_epoch, discover_histories, metric_columns, read_history,
                               smooth, summarize, to_long)
from segcore.histories.tensorboard import training_time

KERAS_COLUMNS = ["epoch", "accuracy", "loss", "mean_io_u", "val_accuracy", "val_loss", "val_mean_io_u", "learning_rate"]


def keras_csv(path: Path, epochs=(0, 1, 2)) -> pd.DataFrame:
    """Write a history.csv the way keras.callbacks.CSVLogger does (header row, 0-based epoch, no index)."""
    rows = [[e, 0.5 + 0.1 * e, 1.0 - 0.2 * e, 0.3 + 0.1 * e, 0.45 + 0.1 * e, 1.1 - 0.2 * e, 0.25 + 0.1 * e, 0.001]
            for e in epochs]
    frame = pd.DataFrame(rows, columns=KERAS_COLUMNS)
    frame.to_csv(path, index=False)
    return frame


def write_events(path: Path, scalars, *, simple=False, wall_time=None):
    """A TFRecord event file (what Keras' TensorBoard callback writes), without TensorFlow.

    scalars: [(step, tag, value)] or [(step, tag, value, wall time)]; tensor summaries as tf.summary.scalar writes
    them, or legacy simple_value.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = RecordWriter(path.open("wb"))
    writer.write(event_pb2.Event(wall_time=time.time(), file_version="brain.Event:2").SerializeToString())
    for step, tag, value, *at in scalars:
        if simple:
            entry = summary_pb2.Summary.Value(tag=tag, simple_value=value)
        else:
            meta = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"))
            entry = summary_pb2.Summary.Value(tag=tag, tensor=tensor_util.make_tensor_proto(np.float32(value)),
                                              metadata=meta)
        event = event_pb2.Event(step=step, wall_time=at[0] if at else wall_time or time.time(),
                                summary=summary_pb2.Summary(value=[entry]))
        writer.write(event.SerializeToString())
    writer.close()


def keras_logs(root: Path) -> Path:
    train = [(e, tag, v) for e in range(3) for tag, v in (("epoch_loss", 1.0 - 0.2 * e), ("epoch_mean_iou", 0.3 + 0.1 * e))]
    val = [(e, tag, v) for e in range(3) for tag, v in (("epoch_loss", 1.1 - 0.2 * e), ("epoch_mean_iou", 0.25 + 0.1 * e))]
    val += [(1000, "evaluation_loss_vs_iterations", 0.5)]          # Keras 3 also logs this, per batch step
    write_events(root / "train" / "events.out.tfevents.1.host.1.v2", train, wall_time=100.0)
    write_events(root / "validation" / "events.out.tfevents.1.host.2.v2", val, wall_time=100.0)
    # A resumed run starts a second file that re-logs epoch 2: the later write wins.
    write_events(root / "train" / "events.out.tfevents.2.host.3.v2", [(2, "epoch_loss", 0.55)], wall_time=200.0)
    return root


# ------------------------------------------------------------------------------------------ reading

def test_csvlogger_round_trip(tmp_path):
    written = keras_csv(tmp_path / "history.csv")
    history = read_history(tmp_path / "history.csv")
    assert list(history.columns) == ["epoch", "pixel_accuracy", "loss", "mean_iou", "val_pixel_accuracy",
                                     "val_loss", "val_mean_iou", "learning_rate"]
    assert history["epoch"].tolist() == [0, 1, 2] and history["epoch"].dtype.kind == "i"
    np.testing.assert_allclose(history["val_mean_iou"], written["val_mean_io_u"])
    assert history.attrs["warnings"] == [] and history.attrs["name"] == tmp_path.name
    upload = read_history(("history.csv", (tmp_path / "history.csv").read_bytes()), name="upload")
    pd.testing.assert_frame_equal(upload, history)
    assert upload.attrs["name"] == "upload"


def test_run_folder_reads_its_csv(tmp_path):
    keras_csv(tmp_path / "history.csv")
    assert read_history(tmp_path)["epoch"].tolist() == [0, 1, 2]


def test_resumed_csv_keeps_last_row_per_epoch(tmp_path):
    path = tmp_path / "history.csv"
    keras_csv(path, epochs=(0, 1, 2, 1, 2, 3))
    frame = pd.read_csv(path)
    frame.loc[3, "loss"] = 0.123                                   # the re-run epoch 1
    frame.to_csv(path, index=False)
    history = read_history(path)
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    assert history.loc[1, "loss"] == pytest.approx(0.123)


def test_history_json(tmp_path):
    data = {"loss": [0.9, 0.7], "val_loss": [1.0, 0.8], "iou_score": [0.2, 0.3], "val_acc": [0.5, None]}
    (tmp_path / "h.json").write_text(json.dumps(data))
    history = read_history(tmp_path / "h.json")
    assert list(history.columns) == ["epoch", "loss", "val_loss", "mean_iou", "val_pixel_accuracy"]
    assert history["epoch"].tolist() == [0, 1] and math.isnan(history.loc[1, "val_pixel_accuracy"])
    wrapped = read_history(("run.json", json.dumps({"history": data, "params": {"epochs": 2}}).encode()))
    pd.testing.assert_frame_equal(wrapped, history)


def test_tensorboard_keras_layout(tmp_path):
    history = read_history(keras_logs(tmp_path / "logs"))
    assert list(history.columns) == ["epoch", "wall_time", "relative_time", "loss", "mean_iou", "val_loss",
                                     "val_mean_iou"]
    assert history["epoch"].tolist() == [0, 1, 2]
    # An epoch ended at its last write (epoch 2 was re-logged at 200, by the resumed session's file).
    assert history["wall_time"].tolist() == [100.0, 100.0, 200.0]
    assert history["relative_time"].tolist() == [0.0, 0.0, 0.0]        # each session's events all at its start
    np.testing.assert_allclose(history["loss"], [1.0, 0.8, 0.55], rtol=1e-6)
    np.testing.assert_allclose(history["val_mean_iou"], [0.25, 0.35, 0.45], rtol=1e-6)
    assert read_history(tmp_path)["val_loss"].notna().all()          # a run folder holding logs/


def test_training_time_leaves_out_the_pauses_between_sessions():
    # Session 1 starts at 1000 and ends epoch 1 at 1300; session 2 (a resume) starts at 5000.
    starts = [(1000.0, "train"), (1100.0, "val"), (5000.0, "train"), (5150.0, "val")]
    ended = {0: 1100.0, 1: 1300.0, 2: 5200.0, 3: 5400.0}
    assert training_time(ended, starts) == {0: 100.0, 1: 300.0, 2: 500.0, 3: 700.0}
    # Loose files (no train split): each starts a session; no file: no time.
    assert training_time({0: 1100.0, 1: 5200.0}, [(1000.0, "val"), (5000.0, "val")]) == {0: 100.0, 1: 300.0}
    assert training_time(ended, []) == {}


def test_tensorboard_single_file_simple_values(tmp_path):
    path = tmp_path / "events.out.tfevents.123.host"
    write_events(path, [(e, "accuracy", 0.5 + 0.1 * e) for e in range(3)] + [(0, "val/loss", 1.0)], simple=True)
    history = read_history(path)
    assert list(history.columns) == ["epoch", "wall_time", "relative_time", "pixel_accuracy", "val_loss"]
    assert history["wall_time"].notna().all() and (history["relative_time"] >= 0).all()
    np.testing.assert_allclose(history["pixel_accuracy"], [0.5, 0.6, 0.7], rtol=1e-6)
    uploaded = read_history((path.name, path.read_bytes()))
    pd.testing.assert_frame_equal(uploaded, history)


def test_clock_columns_are_kept_apart_from_the_metrics(tmp_path):
    """history.csv logs when each epoch ended; an older run resumed by a newer version has them blank before."""
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_mean_iou,relative_time,wall_time\n0,1.0,0.2,,\n1,0.8,0.3,90.5,1795552000.0\n")
    history = read_history(path)
    assert list(history.columns) == ["epoch", "wall_time", "relative_time", "loss", "val_mean_iou"]
    assert metric_columns(history) == ["loss", "val_mean_iou"]
    assert math.isnan(history.loc[0, "relative_time"]) and history.loc[1, "relative_time"] == 90.5
    assert history.attrs["warnings"] == []                     # an epoch logged before the clock is no defect
    assert set(to_long(history, "r")["metric"]) == {"loss", "mean_iou"}
    assert available_metrics({"r": history}) == ["loss", "mean_iou"]


def test_nan_and_inf_are_warnings_not_errors(tmp_path):
    path = tmp_path / "diverged.csv"
    path.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,nan,inf\n2,-inf,1.0\n")
    history = read_history(path)
    assert history[["loss", "val_loss"]].isna().sum().tolist() == [2, 1]
    assert not np.isinf(history[["loss", "val_loss"]]).any().any()
    assert any(w.startswith("loss:") for w in history.attrs["warnings"])
    assert any(w.startswith("val_loss:") for w in history.attrs["warnings"])


def test_a_lost_row_is_one_warning_naming_every_column_it_lacks(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("epoch,loss,mean_iou,val_loss\n0,1.0,0.5,1.1\n1,,,\n2,0.9,0.6,nan\n3,,,\n")
    warnings = read_history(path).attrs["warnings"]
    assert warnings == ["loss, mean_iou: 2 missing or non-finite (NaN/inf) value(s) at epoch 1, 3; kept as NaN",
                        "val_loss: 3 missing or non-finite (NaN/inf) value(s) at epoch 1, 2, 3; kept as NaN"]


def test_epochs_missing_from_every_column_are_one_short_warning(tmp_path):
    path = tmp_path / "lost.csv"
    path.write_text("epoch,learning_rate,loss,mean_iou,val_loss\n0,1e-3,1.0,0.5,1.1\n1,1e-3,,,\n2,1e-3,nan,inf,nan\n"
                    "3,1e-3,0.8,0.7,0.9\n")                   # the schedule is written for every epoch
    assert read_history(path).attrs["warnings"] == [
        "no metric has a value at epoch 1, 2 (rows lost, or NaN/inf throughout); the curves join the epochs on "
        "either side"]
    single = tmp_path / "single.csv"
    single.write_text("epoch,loss\n0,1.0\n1,\n")                # one column: named as before
    assert read_history(single).attrs["warnings"] == [
        "loss: 1 missing or non-finite (NaN/inf) value(s) at epoch 1; kept as NaN"]


BAD_TEXT = {
    "empty.csv": b"",
    "no_epoch.csv": b"loss,val_loss\n1,2\n",
    "words.csv": b"epoch,loss,val_loss\n0,1.0,oops\n",
    "only_epoch.csv": b"epoch\n0\n1\n",
    "list.json": b"[1, 2, 3]",
    "scalars.json": b'{"loss": 1.0, "val_loss": 2.0}',
    "ragged.json": b'{"loss": [1.0, 0.9], "val_loss": [2.0]}',
    "binary.csv": b"\xff\xfe\x00\x81garbage",
}


@pytest.mark.parametrize("filename", sorted(BAD_TEXT))
def test_bad_files_raise_history_error_naming_the_file(tmp_path, filename):
    path = tmp_path / filename
    path.write_bytes(BAD_TEXT[filename])
    with pytest.raises(HistoryError, match=filename.replace(".", r"\.")) as info:
        read_history(path)
    if filename == "words.csv":
        assert "val_loss" in str(info.value)
    with pytest.raises(HistoryError, match=filename.replace(".", r"\.")):
        read_history((filename, BAD_TEXT[filename]))


def test_bad_event_files_and_size_limit(tmp_path):
    empty = tmp_path / "events.out.tfevents.9.empty"
    write_events(empty, [])
    with pytest.raises(HistoryError, match="events.out.tfevents.9.empty.*no scalar"):
        read_history(empty)
    garbage = tmp_path / "events.out.tfevents.9.garbage"
    garbage.write_bytes(b"this is not a record file at all")
    with pytest.raises(HistoryError, match="garbage"):
        read_history(garbage)
    with pytest.raises(HistoryError, match="nothing_here"):
        read_history(tmp_path / "nothing_here")
    big = tmp_path / "big.csv"
    keras_csv(big)
    with pytest.raises(HistoryError, match="big.csv.*limit"):
        read_history(big, max_bytes=10)
    with pytest.raises(HistoryError, match="big.csv.*limit"):
        read_history(("big.csv", big.read_bytes()), max_bytes=10)


def test_reading_events_does_not_import_tensorflow(tmp_path):
    logs = keras_logs(tmp_path / "logs")
    code = ("import sys; from segcore.histories import read_history; import segcore.figures_curves; "
            f"read_history({str(logs)!r}); assert 'tensorflow' not in sys.modules, 'tensorflow imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[1])


def test_discover_histories(tmp_path):
    for run in ("b-run", "a-run"):
        (tmp_path / run).mkdir()
        keras_csv(tmp_path / run / "history.csv")
    (tmp_path / "no-history").mkdir()
    (tmp_path / ".import-tmp").mkdir()                              # an import being built: not a run
    keras_csv(tmp_path / ".import-tmp" / "history.csv")
    outside = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    outside.mkdir()
    keras_csv(outside / "history.csv")
    (tmp_path / "linked-in").symlink_to(outside)                   # listed as broken on Home: never read here either
    found = discover_histories(tmp_path)
    assert list(found) == ["a-run", "b-run"] and found["a-run"] == tmp_path / "a-run" / "history.csv"
    assert discover_histories(tmp_path / "missing") == {}


# ------------------------------------------------------------------------------------------ analysis

def hand_made() -> pd.DataFrame:
    return pd.DataFrame({"epoch": [0, 1, 2, 3],
                         "loss": [1.0, 0.6, 0.4, 0.3], "mean_iou": [0.3, 0.5, 0.6, 0.7],
                         "val_loss": [1.1, 0.7, 0.65, 0.8], "val_mean_iou": [0.25, 0.45, 0.5, 0.48]})


def test_to_long():
    long = to_long(hand_made(), "r1")
    assert list(long.columns) == ["run", "epoch", "metric", "split", "value"]
    assert len(long) == 16 and set(long["metric"]) == {"loss", "mean_iou"}
    row = long[(long["metric"] == "mean_iou") & (long["split"] == "val") & (long["epoch"] == 2)]
    assert row["value"].item() == 0.5 and row["run"].item() == "r1"


def test_smooth():
    assert smooth([2.0, 2.0, 2.0], 0.9).tolist() == [2.0, 2.0, 2.0]
    np.testing.assert_array_equal(smooth([1.0, 5.0, 2.0], 0.0), [1.0, 5.0, 2.0])
    # last = 0.5*last + 0.5*v; debiased by 1 - 0.5**n: 0.5/0.5, 1.25/0.75, 2.125/0.875
    np.testing.assert_allclose(smooth([1, 2, 3], 0.5), [1.0, 5 / 3, 17 / 7])
    with_nan = smooth([1.0, np.nan, 2.0, 3.0], 0.5)
    assert np.isnan(with_nan[1])
    np.testing.assert_allclose(with_nan[[0, 2, 3]], [1.0, 5 / 3, 17 / 7])
    for weight in (1.0, -0.1):
        with pytest.raises(ValueError):
            smooth([1.0], weight)


def test_best_epoch_is_one_epoch_by_val_miou_else_val_loss():
    history = hand_made()
    assert best_epoch(history) == BestEpoch(2, "val_mean_iou", 0.5)
    assert best_epoch(history).chosen_by == "highest val mIoU"
    no_iou = history[["epoch", "loss", "val_loss"]]
    assert best_epoch(no_iou) == BestEpoch(2, "val_loss", 0.65) and best_epoch(no_iou).chosen_by == "lowest val loss"
    assert best_epoch(history[["epoch", "loss", "mean_iou"]]).epoch == 3          # no validation: train mIoU
    assert best_epoch(history[["epoch", "loss"]]) == BestEpoch(3, "loss", 0.3)
    assert best_epoch(pd.DataFrame({"epoch": [0], "dice": [0.1]})) is None


def split_best() -> pd.DataFrame:
    """val loss is lowest at epoch 1, val mIoU highest at epoch 3 (the shipped U-Net's 13 vs 23, small)."""
    return pd.DataFrame({"epoch": [0, 1, 2, 3], "loss": [1.0, 0.6, 0.4, 0.3], "mean_iou": [0.3, 0.5, 0.6, 0.7],
                         "val_loss": [1.1, 0.5, 0.7, 0.8], "val_mean_iou": [0.25, 0.45, 0.5, 0.55],
                         "pixel_accuracy": [0.7, 0.8, 0.85, 0.9]})


def test_summary_reads_every_value_at_the_one_best_epoch():
    summary = summarize({"r1": split_best(), "r2": hand_made()[["epoch", "loss", "val_loss"]]})
    assert summary["run"].tolist() == ["r1", "r2"] and summary["best epoch"].tolist() == [3, 2]
    r1, r2 = summary.iloc[0], summary.iloc[1]
    assert r1["epochs logged"] == 4 and r1["chosen by"] == "highest val mIoU"
    assert r1["val mIoU (%) at best epoch"] == pytest.approx(55.0)                 # percent
    assert r1["val loss at best epoch"] == pytest.approx(0.8)                      # epoch 3's, not the lowest 0.5
    assert r1["train pixel accuracy (%) at best epoch"] == pytest.approx(90.0)
    assert r1["mIoU gap, train − val (points) at best epoch"] == pytest.approx(70 - 55)
    assert r1["loss gap, val − train at best epoch"] == pytest.approx(0.8 - 0.3)
    assert r2["chosen by"] == "lowest val loss" and math.isnan(r2["val mIoU (%) at best epoch"])
    assert r2["loss gap, val − train at best epoch"] == pytest.approx(0.65 - 0.4)
    assert not [c for c in summary.columns if "_" in c]                             # names read as words
    assert summary["val data"].tolist() == ["unknown", "unknown"]
    assert summary["input (H x W)"].tolist() == ["unknown", "unknown"]


def test_summary_says_where_a_run_folders_numbers_come_from(tmp_path):
    run = tmp_path / "unet-a"
    run.mkdir()
    keras_csv(run / "history.csv")
    (run / "meta.json").write_text(json.dumps({"input_size": [240, 320], "dataset": {"name": "camvid"},
                                               "config": {"val_split": "val"}}))
    history = read_history(run)
    assert (history.attrs["input_size"], history.attrs["dataset"], history.attrs["val_split"]) == \
        ("240x320", "camvid", "val split")
    row = summarize({"unet-a": history}).iloc[0]
    assert row["input (H x W)"] == "240x320" and row["val data"] == "camvid, val split"
    # A run validated on a held-out train sequence (segcore train --holdout-sequence) says so, not "val split".
    (run / "meta.json").write_text(json.dumps({"dataset": {"name": "camvid"},
                                               "config": {"val_split": "val", "holdout_sequence": "0006R0"}}))
    row = summarize({"unet-a": read_history(run)}).iloc[0]
    assert row["val data"] == "camvid, train sequence 0006R0 held out"
    # A final model trained on train+val (segcore train --train-split train+val): its val curve is no held-out one.
    (run / "meta.json").write_text(json.dumps({"dataset": {"name": "camvid"},
                                               "config": {"val_split": "val", "train_split": "train+val"}}))
    peaked = pd.read_csv(run / "history.csv")
    peaked.loc[peaked["epoch"] == 2, "val_mean_iou"] = 0.1          # val would choose epoch 1
    peaked.to_csv(run / "history.csv", index=False)
    final = summarize({"unet-a": read_history(run)}).iloc[0]
    assert final["val data"] == "camvid, val split, also trained on"
    # Its val scores can't choose: the best epoch is the last one, the epoch its model file holds.
    assert final["best epoch"] == 2 and final["chosen by"] == "last epoch (val trained on)"
    (run / "meta.json").write_text('{"input_size": "lots"')                        # broken meta: unknown, no error
    assert read_history(run).attrs["input_size"] is None
    upload = read_history(("history.csv", (run / "history.csv").read_bytes()))
    assert upload.attrs["input_size"] is None and upload.attrs["dataset"] is None


# ------------------------------------------------------------------------------------------ figure

def two_runs() -> dict[str, pd.DataFrame]:
    other = hand_made()
    other[["mean_iou", "val_mean_iou"]] += 0.05
    return {"unet": hand_made(), "segnet": other, "no-iou": hand_made()[["epoch", "loss"]]}


def test_a_final_models_val_curve_says_it_is_of_frames_it_trains_on():
    final = hand_made()
    final.attrs["keeps_last_epoch"] = True          # meta.json: trained on train + val
    names = [t.name for t in curves_figure({"final": final, "unet": hand_made()}, "mean_iou").data if t.mode == "lines"]
    assert names == ["final · train", "final · val (val split, also trained on)", "unet · train", "unet · val"]


def test_available_metrics():
    assert available_metrics({"a": hand_made().assign(dice=0.1, learning_rate=0.001)}) == \
        ["loss", "mean_iou", "dice", "learning_rate"]


def test_curves_figure():
    fig = curves_figure(two_runs(), "mean_iou", log_y=True)
    lines = [t for t in fig.data if t.mode == "lines"]
    stars = [t for t in fig.data if t.mode == "markers"]
    assert len(lines) == 4 and len(stars) == 2                    # the run without mean_iou is skipped
    assert {t.line.dash for t in lines if t.name.endswith("train")} == {"solid"}
    assert {t.line.dash for t in lines if t.name.endswith("val")} == {"dash"}
    for run in ("unet", "segnet"):
        assert len({t.line.color for t in lines if t.legendgroup == run}) == 1
    assert lines[0].line.color != lines[2].line.color
    unet_star = next(t for t in stars if t.legendgroup == "unet")
    assert unet_star.marker.symbol == "star" and unet_star.x[0] == 2 and unet_star.y[0] == pytest.approx(50.0)
    assert "best epoch 2 (highest val mIoU)" in unet_star.hovertemplate and "50 %" in unet_star.hovertemplate
    assert fig.layout.yaxis.type == "log" and fig.layout.hovermode == "x unified"
    assert fig.layout.title.text == "mIoU (%)" and fig.layout.xaxis.title.text == "epoch"


def test_star_marks_the_same_epoch_whatever_metric_is_plotted():
    runs = {"r1": split_best()}
    for metric in ("mean_iou", "loss", "pixel_accuracy"):
        star = next(t for t in curves_figure(runs, metric).data if t.mode == "markers")
        assert star.x[0] == 3, metric                             # val loss alone would pick epoch 1
    loss_star = next(t for t in curves_figure(runs, "loss").data if t.mode == "markers")
    assert loss_star.y[0] == pytest.approx(0.8)                   # on the val curve, at epoch 3


def test_with_smoothing_the_star_sits_on_the_smoothed_curve():
    fig = curves_figure({"r1": split_best()}, "mean_iou", smoothing=0.6)
    smoothed_val = next(t for t in fig.data if t.name == "r1 · val")
    star = next(t for t in fig.data if t.mode == "markers")
    assert star.y[0] == pytest.approx(smoothed_val.y[list(smoothed_val.x).index(3)])
    assert star.y[0] != pytest.approx(55.0)                       # the raw value, which the hover gives as well
    assert "smoothed" in star.hovertemplate and "55 % raw" in star.hovertemplate


def test_the_learning_rate_is_drawn_as_logged_whatever_the_smoothing():
    history = split_best().assign(learning_rate=[1e-3, 5e-4, 1e-4, 2e-5])
    fig = curves_figure({"r1": history}, "learning_rate", smoothing=0.9)
    line = next(t for t in fig.data if t.name == "r1 · train")
    assert list(line.y) == pytest.approx(list(history["learning_rate"])) and len(fig.data) == 2     # line + star
    assert fig.layout.yaxis.title.text == "learning rate"


def timed() -> pd.DataFrame:
    """split_best's epochs with a clock from epoch 1 on (a run resumed by a version that logs it)."""
    return split_best().assign(wall_time=[np.nan, 1795550000.0, 1795553600.0, 1795557200.0],
                               relative_time=[np.nan, 1800.0, 5400.0, 9000.0])


def test_the_summary_gives_the_training_time_to_the_best_epoch_where_it_was_logged():
    best_at_2 = timed().assign(val_mean_iou=[0.25, 0.45, 0.6, 0.55])
    summary = summarize({"timed": best_at_2, "untimed": split_best()})
    assert summary["training time to best epoch (h)"].tolist()[0] == pytest.approx(1.5)
    assert summary["training time (h)"].tolist()[0] == pytest.approx(2.5)
    assert summary[["training time to best epoch (h)", "training time (h)"]].iloc[1].isna().all()
    assert "training time (h)" not in summarize({"untimed": split_best()}).columns


def test_curves_against_training_time_and_wall_time_leave_out_untimed_epochs():
    runs = {"timed": timed(), "untimed": split_best()}
    assert runs_without_clock(runs, "relative") == runs_without_clock(runs, "wall") == ["untimed"]
    assert runs_without_clock(runs, "epoch") == []
    relative = curves_figure(runs, "mean_iou", x_axis="relative", smoothing=0.6)
    assert {t.legendgroup for t in relative.data} == {"timed"}
    val = next(t for t in relative.data if t.name == "timed · val")
    assert list(val.x) == [0.5, 1.5, 2.5] and list(val.customdata) == [1, 2, 3]       # hours; hovers name epochs
    smoothed_on_epochs = next(t for t in curves_figure(runs, "mean_iou", smoothing=0.6).data
                              if t.name == "timed · val")
    assert list(val.y) == pytest.approx(list(smoothed_on_epochs.y)[1:])                # smoothed as on epochs
    star = next(t for t in relative.data if t.mode == "markers")
    assert star.x[0] == 2.5 and "best epoch 3" in star.hovertemplate
    assert relative.layout.xaxis.title.text == "training time (hours)"
    wall = curves_figure(runs, "mean_iou", x_axis="wall")
    first = pd.Timestamp(next(t for t in wall.data if t.name == "timed · train").x[0])
    assert first == pd.Timestamp("2026-11-24 19:53:20") and wall.layout.xaxis.title.text == "wall time (UTC)"
    empty = curves_figure({"untimed": split_best()}, "mean_iou", x_axis="wall")
    assert not empty.data and "times" in empty.layout.annotations[0].text
    with pytest.raises(ValueError, match="x_axis must be one of epoch, relative, wall"):
        curves_figure(runs, "mean_iou", x_axis="step")


def test_ignoring_outliers_scales_the_y_axis_to_most_of_the_points():
    loss = np.r_[[40.0], np.linspace(1.0, 0.5, 99)]                    # one diverged epoch at the start
    history = pd.DataFrame({"epoch": np.arange(100), "loss": loss})
    assert curves_figure({"r": history}, "loss").layout.yaxis.range is None
    low, high = curves_figure({"r": history}, "loss", ignore_outliers=True).layout.yaxis.range
    assert 0.4 < low < 0.5 and 0.99 < high < 1.2                         # the 40 is off the chart, every other on
    assert outlier_range([0.5, 0.5]) == pytest.approx([0.35, 0.65])     # flat: a margin around it
    log_low, log_high = outlier_range(loss, log_y=True)                   # plotly's log axis range is in log10
    assert -0.4 < log_low < np.log10(0.5) and np.log10(1.0) < log_high < 0.1
    assert outlier_range([np.nan, np.inf]) is None


def test_curves_figure_smoothing_and_stable_colours():
    fig = curves_figure(two_runs(), "mean_iou", smoothing=0.6, show_best=False)
    raw = [t for t in fig.data if t.opacity == 0.25]
    assert len(fig.data) == 8 and len(raw) == 4 and not any(t.showlegend for t in raw)
    colour = next(t.line.color for t in fig.data if t.legendgroup == "unet")
    alone = curves_figure({"unet": hand_made()}, "mean_iou")
    assert alone.data[0].line.color == colour
    assert curves_figure(two_runs(), "loss").layout.yaxis.type == "linear"


@pytest.mark.parametrize("hardware, said", [
    ([{"backend": "tensorflow", "accelerators": [], "cpu_cores": 2}], "CPU, 2 cores, Keras on tensorflow"),
    ([{"backend": "jax", "accelerators": ["NVIDIA H200"], "cpu_cores": 16}], "NVIDIA H200, Keras on jax"),
    ([{"backend": "jax", "accelerators": ["A100", "A100"], "cpu_cores": 8}], "2 x A100, Keras on jax"),
    ([{"backend": "tensorflow", "accelerators": [], "cpu_cores": 2},
      {"backend": "jax", "accelerators": ["NVIDIA H200"], "cpu_cores": 16}],
     "CPU, 2 cores, Keras on tensorflow then NVIDIA H200, Keras on jax"),
    (None, None), ("CPU", None), ([{"cpu_cores": True}], None), ([{"accelerators": [3]}], None), ([7], None),
])
def test_the_hardware_a_run_trained_on_reads_as_words_or_not_at_all(tmp_path, hardware, said):
    from segcore.histories.readers import run_context
    (tmp_path / "meta.json").write_text(json.dumps({"hardware": hardware}))
    assert run_context(tmp_path)["hardware"] == said


# ------------------------------------------------------------------------------------------ resumed and odd logs
def test_a_resumed_csv_drops_the_abandoned_epochs_not_only_the_repeated_ones(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,1,1\n1,.9,.9\n2,.8,.5\n3,.7,.4\n1,.95,.95\n")   # resumed from epoch 1
    history = read_history(path)
    assert history["epoch"].tolist() == [0, 1] and history.loc[1, "val_loss"] == pytest.approx(0.95)
    assert best_epoch(history).epoch == 1                       # not epoch 3, whose weights are gone


def test_rows_of_bare_separators_and_keras_one_hot_mean_iou_are_read(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_one_hot_mean_io_u\n0,1,0.2\n1,0.5,0.4\n,,\n,,\n")
    history = read_history(path)
    assert history["epoch"].tolist() == [0, 1] and list(history.columns) == ["epoch", "loss", "val_mean_iou"]
    assert best_epoch(history) == BestEpoch(1, "val_mean_iou", pytest.approx(0.4))


def test_a_resumed_tensorboard_log_drops_the_steps_the_earlier_session_logged_past_its_restart(tmp_path):
    logs = tmp_path / "logs"
    write_events(logs / "train" / "events.out.tfevents.1.host.1.v2",
                 [(e, "epoch_loss", 1.0 - 0.1 * e, 1000.0 + 100 * e) for e in range(4)])
    write_events(logs / "train" / "events.out.tfevents.2.host.2.v2", [(1, "epoch_loss", 0.95, 5100.0)])
    history = read_history(logs)
    assert history["epoch"].tolist() == [0, 1]
    np.testing.assert_allclose(history["loss"], [1.0, 0.95], rtol=1e-6)
    assert history["wall_time"].tolist() == [1000.0, 5100.0]


def test_a_zip_from_macos_finder_reads_without_its_appledouble_shadows(tmp_path):
    import zipfile
    logs = keras_logs(tmp_path / "logs")
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in logs.rglob("*tfevents*"):
            zipped.write(path, f"logs/{path.relative_to(logs)}")
            zipped.writestr(f"__MACOSX/logs/{path.parent.name}/._{path.name}", b"\0\5\26\7 AppleDouble")
    pd.testing.assert_frame_equal(read_history(("logs.zip", archive.read_bytes())), read_history(logs))


def test_a_run_validating_every_fifth_epoch_draws_its_val_curve_through_the_epochs_it_logged():
    epochs = np.arange(20)
    val = np.where(epochs % 5 == 4, 0.2 + 0.01 * epochs, np.nan)
    fig = curves_figure({"r": pd.DataFrame({"epoch": epochs, "mean_iou": 0.3 + 0.01 * epochs, "val_mean_iou": val})},
                        "mean_iou")
    val_line = next(t for t in fig.data if t.name == "r · val")
    assert list(val_line.x) == [4, 9, 14, 19] and np.isfinite(np.asarray(val_line.y, dtype=float)).all()


def test_on_a_log_axis_with_outliers_left_out_the_ticks_cover_the_range_shown():
    loss = np.r_[[10.0, 5.0, 2.0], np.linspace(0.3, 0.2, 97)]
    fig = curves_figure({"r": pd.DataFrame({"epoch": np.arange(100), "loss": loss})}, "loss", log_y=True,
                        ignore_outliers=True)
    low, high = (10 ** v for v in fig.layout.yaxis.range)
    shown = [tick for tick in fig.layout.yaxis.tickvals if low <= tick <= high]
    assert len(shown) >= 2 and len(shown) == len(fig.layout.yaxis.tickvals)     # 0.2, 0.3: no tick off the axis
