"""history.csv as the trainer writes it (segcore.train_history): one row per epoch, columns by its own header."""
import csv

import pytest

from segcore.histories import read_history
from segcore.train_history import append_epoch, fill_clock, fill_learning_rate, trim_history


def rows(path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_new_history_gets_epoch_then_sorted_columns_and_one_row_per_epoch(tmp_path):
    path = tmp_path / "history.csv"
    append_epoch(path, 0, {"val_loss": 1.5, "loss": 2.0, "learning_rate": 1e-3})
    append_epoch(path, 1, {"loss": 1.0, "val_loss": 1.25, "learning_rate": 5e-4})
    assert path.read_text().splitlines()[0] == "epoch,learning_rate,loss,val_loss"     # as CSVLogger sorts them
    assert rows(path) == [{"epoch": "0", "learning_rate": "0.001", "loss": "2.0", "val_loss": "1.5"},
                          {"epoch": "1", "learning_rate": "0.0005", "loss": "1.0", "val_loss": "1.25"}]


def test_a_run_resumed_by_a_version_that_logs_the_learning_rate_keeps_every_row_aligned(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss,val_loss\n0,2.0,1.5\n1,1.0,1.25\n2,0.9,1.2\n")    # Keras' CSVLogger, 3 epochs
    trim_history(path, 2)                                   # the resume re-runs epoch 2
    append_epoch(path, 2, {"loss": 0.8, "val_loss": 1.1, "learning_rate": 2e-4})
    assert path.read_text().splitlines()[0] == "epoch,loss,val_loss,learning_rate"
    assert [(row["epoch"], row["loss"], row["learning_rate"]) for row in rows(path)] == [
        ("0", "2.0", ""), ("1", "1.0", ""), ("2", "0.8", "0.0002")]
    history = read_history(path)                            # what Training Curves reads
    assert history["loss"].tolist() == [2.0, 1.0, 0.8]
    assert history["learning_rate"].iloc[-1] == pytest.approx(2e-4) and history["learning_rate"].isna().sum() == 2


def test_resuming_an_older_history_fills_its_learning_rates_from_the_runs_schedule(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,2.0\n1,1.0\n")
    assert fill_learning_rate(path, lambda step: 1e-3 / step, steps_per_epoch=10)      # after steps 10 and 20
    append_epoch(path, 2, {"loss": 0.8, "learning_rate": 1e-3 / 30})
    assert [row["epoch"] for row in rows(path)] == ["0", "1", "2"]
    assert [float(row["learning_rate"]) for row in rows(path)] == pytest.approx([1e-4, 5e-5, 1e-3 / 30])
    assert not fill_learning_rate(path, lambda step: 1.0, steps_per_epoch=10)         # has it: left alone
    assert float(rows(path)[0]["learning_rate"]) == pytest.approx(1e-4)


def test_a_column_a_later_epoch_lacks_is_left_blank_not_shifted(tmp_path):
    path = tmp_path / "history.csv"
    append_epoch(path, 0, {"loss": 2.0, "val_loss": 1.5})
    append_epoch(path, 1, {"loss": 1.0})                    # no validation this epoch
    assert rows(path)[1] == {"epoch": "1", "loss": "1.0", "val_loss": ""}


def test_trimming_keeps_the_epochs_before_the_resume_point_and_leaves_an_untouched_file_alone(tmp_path):
    path = tmp_path / "history.csv"
    path.write_text("epoch,loss\n0,2.0\n1,1.0\n")
    before = path.stat().st_mtime_ns
    trim_history(path, 5)
    assert path.stat().st_mtime_ns == before
    trim_history(path, 1)
    assert path.read_text() == "epoch,loss\n0,2.0\n"
    trim_history(tmp_path / "missing.csv", 0)               # a run that never finished an epoch


def test_resuming_a_history_from_before_the_clock_fills_it_from_the_runs_tensorboard_logs(tmp_path):
    from test_histories import write_events

    path = tmp_path / "history.csv"
    for epoch in range(3):
        append_epoch(path, epoch, {"loss": 1.0 - 0.1 * epoch})
    logs = tmp_path / "logs"
    assert not fill_clock(path, logs)                            # no logs: nothing to fill from
    # Two sessions, each a train event file from its first event: 1000-1300, then a resume at 5000; epoch 3 is
    # not in the CSV.
    write_events(logs / "train" / "events.out.tfevents.1.h.v2",
                 [(0, "batch_loss", 1.2, 1000.0), (0, "epoch_loss", 1.0, 1100.0), (1, "epoch_loss", 0.9, 1300.0)])
    write_events(logs / "train" / "events.out.tfevents.2.h.v2",
                 [(2, "batch_loss", 0.9, 5000.0), (2, "epoch_loss", 0.8, 5200.0), (3, "epoch_loss", 0.7, 5400.0)])
    assert fill_clock(path, logs)
    logged = rows(path)
    assert [float(row["wall_time"]) for row in logged] == [1100.0, 1300.0, 5200.0]
    assert [float(row["relative_time"]) for row in logged] == [100.0, 300.0, 500.0]     # the pause left out
    assert [float(row["loss"]) for row in logged] == pytest.approx([1.0, 0.9, 0.8])
    assert not fill_clock(path, logs)                            # already there: left alone
