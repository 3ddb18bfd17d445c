"""How long Training Curves takes to read an uploaded TensorBoard event file: `read_event_files` on a synthetic
Keras-style file of epoch scalars plus image summaries (what makes real event files large).

    .venv/bin/python benchmarks/bench_tensorboard.py [--megabytes 40] [--repeats 3]

Prints the file size and the median / min seconds over the repeats. Results: docs/BENCHMARKS.md ("Training
Curves: TensorBoard uploads").
"""
from __future__ import annotations

import argparse
import os
import statistics
import struct
import time

from tensorboard.compat.proto import event_pb2, summary_pb2

from segcore.histories.tensorboard import masked_crc32c, read_event_files


def _framed(event: event_pb2.Event) -> bytes:
    payload = event.SerializeToString()
    header = struct.pack("<Q", len(payload))
    return (header + struct.pack("<I", masked_crc32c(header)) + payload
            + struct.pack("<I", masked_crc32c(payload)))


def event_file(megabytes: float, epochs: int = 100) -> bytes:
    """epoch_loss / epoch_mean_iou per epoch, and one 'image' summary of random bytes per epoch filling the size."""
    image_bytes = int(megabytes * 1e6 / epochs)
    parts = []
    for epoch in range(epochs):
        values = [summary_pb2.Summary.Value(tag="epoch_loss", simple_value=1.0 / (epoch + 1)),
                  summary_pb2.Summary.Value(tag="epoch_mean_iou", simple_value=epoch / epochs)]
        parts.append(_framed(event_pb2.Event(wall_time=1e9 + epoch, step=epoch,
                                             summary=summary_pb2.Summary(value=values))))
        image = summary_pb2.Summary.Image(height=1, width=1, colorspace=3, encoded_image_string=os.urandom(image_bytes))
        parts.append(_framed(event_pb2.Event(wall_time=1e9 + epoch, step=epoch, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="epoch_prediction", image=image)]))))
    return b"".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=40.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data = event_file(args.megabytes)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        frame = read_event_files([("events.out.tfevents.bench", data, "train")], "bench")
        seconds.append(time.perf_counter() - start)
    assert len(frame) == 100, frame
    print(f"{len(data) / 1e6:.1f} MB event file, {len(frame)} epochs: median {statistics.median(seconds):.3f} s, "
          f"min {min(seconds):.3f} s over {args.repeats}")


if __name__ == "__main__":
    main()
