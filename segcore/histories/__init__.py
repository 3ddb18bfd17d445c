"""Training histories: read Keras CSVLogger CSVs, History JSON and TensorBoard logs into one wide frame.

Every reader returns the same shape: an int "epoch" column (0-based, as Keras counts, sorted, unique), the
clock columns the log has (wall and relative time at each epoch's end), then metric columns under canonical
names ("loss", "mean_iou", "val_mean_iou", ...), so the dashboard can compare runs logged by different means.
Nothing here imports TensorFlow.

readers / tensorboard: files -> frames (bounded: MAX_BYTES, MAX_COLUMNS, MAX_ROWS, zip limits).
analysis: the one best epoch per run, smoothing, the summary table, points worth drawing.
"""
from segcore.histories.analysis import (BEST_EPOCH_RULE, MAX_DRAWN_POINTS, BestEpoch, best_epoch, drawn_points,
                                        smooth, summarize, to_long, value_at)
from segcore.histories.frames import (CANONICAL, CLOCK_COLUMNS, MAX_BYTES, MAX_COLUMNS, MAX_ROWS, PERCENT_METRICS,
                                      HistoryError, canonical_name, column_label, is_percent, lower_is_better,
                                      metric_columns, metric_label)
from segcore.histories.readers import LOGS_DIR, discover_histories, read_history, run_context
from segcore.histories.tensorboard import MAX_EVENT_FILES, MAX_ZIP_ENTRIES

__all__ = ["BEST_EPOCH_RULE", "CANONICAL", "CLOCK_COLUMNS", "LOGS_DIR", "MAX_BYTES", "MAX_COLUMNS",
           "MAX_DRAWN_POINTS", "MAX_EVENT_FILES", "MAX_ROWS", "MAX_ZIP_ENTRIES", "PERCENT_METRICS", "BestEpoch",
           "HistoryError", "best_epoch", "canonical_name", "column_label", "discover_histories", "drawn_points",
           "is_percent", "lower_is_better", "metric_columns", "metric_label", "read_history", "run_context", "smooth",
           "summarize", "to_long", "value_at"]
