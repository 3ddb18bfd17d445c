"""history.csv as the trainer writes it: one row per epoch (0-based), the logged metrics, the learning rate and
when the epoch ended (segcore.histories.CLOCK_COLUMNS: wall time, and seconds of training so far).

Keras' CSVLogger fixes its columns at the first epoch it sees and appends blindly, so a run resumed by a newer
version that logs one more column would shift every later row. HistoryLogger instead rewrites the (small) file
atomically each epoch by its own header, adding a column where a row brings a new one (blank for earlier epochs).
"""
from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from pathlib import Path

from segcore import files

LEARNING_RATE = "learning_rate"     # the optimizer's rate at the end of the epoch (after its last step)


def read_history_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    """(header, rows) of a history CSV; ([], []) where there is no file or it is empty."""
    if not path.exists():
        return [], []
    with path.open(newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    return (rows[0], rows[1:]) if rows else ([], [])


def write_history_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    files.atomic_write_bytes(path, text.getvalue().encode())


def trim_history(path: Path, first_epoch_to_drop: int) -> None:
    """Drop history rows of epochs that will be re-run on resume, so every epoch appears once."""
    header, body = read_history_rows(path)
    kept = [row for row in body if int(float(row[0])) < first_epoch_to_drop]
    if header and len(kept) != len(body):
        write_history_rows(path, header, kept)


def fill_learning_rate(path: Path, schedule, steps_per_epoch: int) -> bool:
    """Add the learning-rate column to a history written before it was logged: each epoch's rate from the run's
    own schedule (optimizer step -> rate) after that epoch's last step, which is what the optimizer used (a resume
    can't change the schedule). True where it added the column."""
    header, rows = read_history_rows(path)
    if not rows or LEARNING_RATE in header:
        return False
    rates = [_cell(float(schedule((int(float(row[0])) + 1) * steps_per_epoch))) for row in rows]
    write_history_rows(path, [*header, LEARNING_RATE], [row + [rate] for row, rate in zip(rows, rates)])
    return True


def fill_clock(path: Path, logs: Path) -> bool:
    """Add when each epoch ended (wall_time, relative_time) to a history written before the trainer logged it,
    from the run's own TensorBoard logs (segcore.histories reads them: each epoch's last event, training time per
    session with the pauses left out); blank for an epoch the logs lack. True where it added the columns."""
    from segcore.histories import HistoryError, read_history

    header, rows = read_history_rows(path)
    if not rows or "relative_time" in header or not Path(logs).is_dir():
        return False
    try:
        events = read_history(logs)
    except HistoryError:
        return False                # no readable epoch events: the history stays as it is
    if "relative_time" not in events.columns:
        return False
    clock = events.set_index("epoch")[["wall_time", "relative_time"]]
    cells = []
    for row in rows:
        epoch = int(float(row[0]))
        known = epoch in clock.index
        cells.append([_cell(clock.at[epoch, column]) if known and math.isfinite(clock.at[epoch, column]) else ""
                      for column in ("wall_time", "relative_time")])
    write_history_rows(path, [*header, "wall_time", "relative_time"], [row + cell for row, cell in zip(rows, cells)])
    return True


def _cell(value) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return repr(number) if math.isfinite(number) else str(number)      # nan / inf as pandas reads them


def append_epoch(path: Path, epoch: int, values: dict) -> None:
    """Add epoch `epoch` with `values` (column -> number) to the history at `path`, atomically."""
    header, rows = read_history_rows(path)
    if not header:
        header = ["epoch", *sorted(values)]
    added = sorted(set(values) - set(header))
    if added:               # a column earlier epochs did not log: blank for them
        header = [*header, *added]
        rows = [row + [""] * len(added) for row in rows]
    record = {"epoch": str(epoch), **{key: _cell(value) for key, value in values.items()}}
    write_history_rows(path, header, [*rows, [record.get(column, "") for column in header]])


def history_logger(path: Path, training_seconds: Callable[[], float]):
    """A Keras callback writing each epoch's logs, the optimizer's learning rate and the clock to `path`
    (history.csv): "wall_time" (time.time()) and "relative_time" (`training_seconds()`, the run's training time so
    far, the pauses between sessions left out)."""
    import keras

    class HistoryLogger(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            values = {key: value for key, value in (logs or {}).items() if key != LEARNING_RATE}
            rate = getattr(self.model.optimizer, "learning_rate", None)
            if rate is not None:
                values[LEARNING_RATE] = float(keras.ops.convert_to_numpy(rate))
            values.update(wall_time=time.time(), relative_time=training_seconds())
            append_epoch(Path(path), epoch, values)

    return HistoryLogger()
