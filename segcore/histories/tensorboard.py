"""TensorBoard event files -> one history frame: a Keras log folder (train/ and validation/), or a .zip of one.

Records are parsed from bytes here (TFRecord framing, CRC-32C checked), so nothing imports TensorFlow and a
damaged file is reported with what was kept instead of being silently cut short. Zips are read in memory:
never extracted, sizes and entry counts bounded before anything is decompressed.
"""
from __future__ import annotations

import bisect
import io
import math
import struct
import zipfile
from pathlib import Path, PurePosixPath

import google_crc32c
import pandas as pd

from segcore.files import UNZIP_ERRORS
from segcore.histories.frames import (MAX_BYTES, MAX_COLUMNS, MAX_ROWS, HistoryError, canonical_name, finish,
                                      nonfinite_warning, too_many_columns, too_many_rows)
from segcore.limits import MAX_EVENT_FILES, MAX_ZIP_ENTRIES

_VAL_DIRS = {"validation", "val", "valid", "eval"}
_SPLIT_DIRS = _VAL_DIRS | {"train", "training"}
_EXPECTED_FOLDER = ("expected a TensorBoard log folder with train/ and validation/ subfolders, "
                    "as Keras' TensorBoard callback writes")

EventFile = tuple[str, bytes, str]      # (name shown in messages, contents, split "train" | "val")


def split_of(folder_name: str) -> str:
    return "val" if folder_name.lower() in _VAL_DIRS else "train"


def _run_key(parent: PurePosixPath) -> PurePosixPath:
    """The log folder an event file belongs to: <logs>/train/x and <logs>/validation/y both belong to <logs>."""
    return parent.parent if parent.name.lower() in _SPLIT_DIRS else parent


def _event_file_name(path) -> bool:
    """An event file's name, not macOS' AppleDouble shadow of one (`__MACOSX/.../._events.out.tfevents.*`, which
    Finder adds to zips of files with extended attributes)."""
    return "tfevents" in path.name and not path.name.startswith("._") and "__MACOSX" not in path.parts


def _one_run(paths: list[PurePosixPath], label: str) -> None:
    runs = sorted({str(_run_key(p.parent)) for p in paths})
    if len(runs) > 1:
        shown = ", ".join(runs[:4]) + (", ..." if len(runs) > 4 else "")
        raise HistoryError(f"{label}: holds the logs of {len(runs)} runs ({shown}); give one run's log folder")


def files_in_folder(folder: Path, label: str, max_bytes: int = MAX_BYTES) -> list[EventFile]:
    """Every event file under `folder`; each file's folder (train/, validation/) names its split."""
    paths = sorted(p for p in folder.rglob("*tfevents*") if p.is_file() and _event_file_name(p.relative_to(folder)))
    if not paths:
        raise HistoryError(f"{label}: no events.out.tfevents.* files (nor history.csv); {_EXPECTED_FOLDER}")
    if len(paths) > MAX_EVENT_FILES:
        raise HistoryError(f"{label}: {len(paths):,} event files, over the limit of {MAX_EVENT_FILES} for one run")
    _one_run([PurePosixPath(p.relative_to(folder).as_posix()) for p in paths], label)
    total = sum(p.stat().st_size for p in paths)
    if total > max_bytes:
        raise HistoryError(f"{label}: event files total {total:,} bytes, over the {max_bytes:,}-byte limit")
    return [(str(p.relative_to(folder)), p.read_bytes(), split_of(p.parent.name)) for p in paths]


def files_in_zip(data: bytes, label: str, max_bytes: int = MAX_BYTES) -> list[EventFile]:
    """The event files of a zipped log folder, read in memory; entry paths only name the split."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except UNZIP_ERRORS as exc:
        raise HistoryError(f"{label}: not a readable .zip ({exc}); {_EXPECTED_FOLDER}, zipped") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise HistoryError(f"{label}: {len(entries):,} entries, over the limit of {MAX_ZIP_ENTRIES:,} for a zipped "
                           "log folder; zip only the run's logs/ folder")
    events = [e for e in entries
              if not e.is_dir() and _event_file_name(PurePosixPath(e.filename.replace("\\", "/")))]
    if not events:
        raise HistoryError(f"{label}: the zip holds no events.out.tfevents.* files; {_EXPECTED_FOLDER}, zipped")
    if len(events) > MAX_EVENT_FILES:
        raise HistoryError(f"{label}: {len(events):,} event files, over the limit of {MAX_EVENT_FILES} for one run")
    paths = []
    for entry in events:
        path = PurePosixPath(entry.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts:
            raise HistoryError(f"{label}: entry {entry.filename!r} points outside the archive; zip the log folder itself")
        if entry.flag_bits & 0x1:
            raise HistoryError(f"{label}: entry {entry.filename!r} is encrypted; zip the log folder without a password")
        paths.append(path)
    _one_run(paths, label)
    declared = sum(e.file_size for e in events)
    if declared > max_bytes:
        raise HistoryError(f"{label}: event files total {declared:,} bytes unzipped, over the {max_bytes:,}-byte limit")
    files, total = [], 0
    for entry, path in zip(events, paths):
        try:
            with archive.open(entry) as stream:
                content = stream.read(max_bytes - total + 1)     # a lying size header can't make this read more
        except UNZIP_ERRORS as exc:
            raise HistoryError(f"{label}: entry {entry.filename!r} can't be unzipped ({exc})") from None
        total += len(content)
        if total > max_bytes:
            raise HistoryError(f"{label}: event files unzip to over the {max_bytes:,}-byte limit")
        files.append((str(path), content, split_of(path.parent.name)))
    return files


# ---------------------------------------------------------------------------------------------- records

def masked_crc32c(data: bytes) -> int:
    """TFRecord's checksum: CRC-32C (Castagnoli), rotated and offset so CRCs of CRCs don't collide. google-crc32c's
    C code: a per-byte Python loop read 4-16 MB/s, seconds for one uploaded event file."""
    crc = google_crc32c.value(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def records(data: bytes, name: str, label: str, damage: list[tuple[str, int]]):
    """Yield the records of one TFRecord file. Where reading stops early, append (what went wrong, records
    read) to `damage`; a file whose first record is already bad is not an event file at all."""
    view, position, count = memoryview(data), 0, 0
    while position < len(data):
        problem = None
        if len(data) - position < 12:
            problem = "incomplete"
        else:
            header = bytes(view[position:position + 8])
            (length,) = struct.unpack("<Q", header)
            (header_crc,) = struct.unpack("<I", view[position + 8:position + 12])
            end = position + 12 + length + 4
            if masked_crc32c(header) != header_crc:
                problem = "damaged"
            elif end > len(data):
                problem = "incomplete"
            else:
                record = bytes(view[position + 12:end - 4])
                (record_crc,) = struct.unpack("<I", view[end - 4:end])
                if masked_crc32c(record) != record_crc:
                    problem = "damaged"
        if problem:
            if count == 0:
                raise HistoryError(f"{label}: {name} is not a TensorBoard event file (bad record framing)")
            damage.append((problem, count))
            return
        yield record
        count += 1
        position = end


# ---------------------------------------------------------------------------------------------- events -> frame

def read_event_files(files: list[EventFile], label: str) -> pd.DataFrame:
    try:
        from google.protobuf.message import DecodeError
        from tensorboard.compat.proto import event_pb2
        from tensorboard.util import tensor_util
    except ImportError:
        raise HistoryError(f"{label}: reading TensorBoard event files needs the 'tensorboard' package") from None
    latest: dict[tuple[str, int], tuple[float, float]] = {}     # (column, step) -> (wall_time, value)
    tags: dict[str, str] = {}                                   # column -> raw tag, for filtering below
    steps: set[int] = set()
    starts: list[tuple[float, str]] = []        # (first wall time, split) per file: when a session began
    per_file: list[tuple[str, list[tuple[str, int]], set[tuple[str, int]]]] = []
    file_points: list[tuple[float, dict[tuple[str, int], tuple[float, float]]]] = []   # (first wall time, points)
    for name, data, split in files:
        points: dict[tuple[str, int], tuple[float, float]] = {}
        damage: list[tuple[str, int]] = []
        seen: set[tuple[str, int]] = set()
        first_event = math.inf
        for record in records(data, name, label, damage):
            try:
                event = event_pb2.Event.FromString(record)
            except (DecodeError, RecursionError):
                raise HistoryError(f"{label}: {name} holds records that are not TensorBoard events") from None
            if event.wall_time > 0:
                first_event = min(first_event, event.wall_time)
            for value in event.summary.value:
                number = _scalar(value, tensor_util)
                if number is None or _per_batch(value.tag):
                    continue
                column = _tag_column(value.tag, split)
                if column not in tags:
                    if len(tags) >= MAX_COLUMNS:
                        raise too_many_columns(label, len(tags) + 1)
                    tags[column] = value.tag
                key = (column, int(event.step))
                if key[1] not in steps:
                    if len(steps) >= MAX_ROWS:
                        raise too_many_rows(label, len(steps) + 1)
                    steps.add(key[1])
                seen.add(key)
                if key not in points or event.wall_time >= points[key][0]:     # within a file the later write wins
                    points[key] = (event.wall_time, number)
        per_file.append((name, damage, seen))
        starts.append((first_event, split))
        file_points.append((first_event, points))
    # A resumed run writes a new event file from the step it went back to: as TensorBoard purges, the steps an
    # earlier session logged from there on were abandoned (their weights are gone), so the later session's replace
    # them all, not only the steps it has reached.
    for _, points in sorted(file_points, key=lambda item: item[0]):
        restart: dict[str, int] = {}                # per series (a file may also hold batch-step series)
        for column, step in points:
            restart[column] = min(step, restart.get(column, step))
        for key in [key for key in latest if key[0] in restart and key[1] >= restart[key[0]]]:
            del latest[key]
        for key, (wall, number) in points.items():
            if key not in latest or wall >= latest[key][0]:
                latest[key] = (wall, number)
    # Keras logs per-epoch scalars as epoch_*, next to batch_* and *_vs_iterations series whose steps
    # are batches: when epoch_* tags exist, only they are epochs.
    keras = any(tag.lower().startswith(("epoch_", "train/epoch_", "validation/epoch_")) for tag in tags.values())
    keep = {c for c, tag in tags.items() if "epoch_" in tag.lower() or not keras}
    warnings = [_damage_warning(name, damage[0], sorted({s for c, s in seen if c in keep}))
                for name, damage, seen in per_file if damage]
    series = {}
    for column in sorted(keep, key=lambda c: (c.startswith("val_"), c)):
        points = sorted((step, v) for (c, step), (_, v) in latest.items() if c == column)
        s = pd.Series([v for _, v in points], index=[step for step, _ in points], dtype=float)
        if warning := nonfinite_warning(column, s.index, s.to_numpy()):
            warnings.append(warning)
        series[column] = s
    if not series:
        raise HistoryError(f"{label}: no scalar summaries in the event file(s); expected epoch scalars "
                           "(e.g. epoch_loss) as Keras' TensorBoard callback writes them")
    wide = pd.DataFrame(series)                 # outer join on step: a split may skip epochs
    wide.index.name = "epoch"
    # An epoch ended when its last scalar was written (val comes after train).
    last_write: dict[int, float] = {}
    for (column, step), (wall, _) in latest.items():
        if column in keep and wall > 0:         # a writer that left wall_time unset: unknown, not 1970
            last_write[step] = max(wall, last_write.get(step, wall))
    relative = training_time(last_write, starts)
    wide.insert(0, "relative_time", pd.Series(relative, dtype=float).reindex(wide.index))
    wide.insert(0, "wall_time", pd.Series(last_write, dtype=float).reindex(wide.index))
    return finish(wide.reset_index(), label, "expected TensorBoard epoch scalars", warnings)


def training_time(ended: dict[int, float], starts: list[tuple[float, str]]) -> dict[int, float]:
    """Seconds of training up to each step's end (`ended`: step -> wall time), the pauses between sessions left
    out. A session is a train event file (Keras' TensorBoard callback starts one per fit, so per resume; validation
    files begin only at the first epoch's end): its steps count from its first event, after the sessions before it
    (each from its first event to its last step's end). Without train files, every file starts a session."""
    sessions = sorted({start for start, split in starts if split == "train" and math.isfinite(start)}) or \
        sorted({start for start, _ in starts if math.isfinite(start)})
    if not sessions:
        return {}
    session_of = {step: max(0, bisect.bisect_right(sessions, wall) - 1) for step, wall in ended.items()}
    last_end: dict[int, float] = {}
    for step, session in session_of.items():
        last_end[session] = max(ended[step], last_end.get(session, ended[step]))
    before, elapsed = 0.0, []
    for session, start in enumerate(sessions):
        elapsed.append(before)
        if session in last_end:
            before += last_end[session] - start
    return {step: elapsed[session] + ended[step] - sessions[session] for step, session in session_of.items()}


def _per_batch(tag: str) -> bool:
    """Keras' per-batch series (batch_*, *_vs_iterations): steps are batches, never epochs."""
    tag = tag.lower()
    return tag.startswith("batch_") or tag.endswith("_vs_iterations")


def _damage_warning(name: str, damage: tuple[str, int], kept_epochs: list[int]) -> str:
    problem, count = damage
    kept = f"kept epochs {kept_epochs[0]}-{kept_epochs[-1]}" if kept_epochs else "kept no epochs"
    if problem == "damaged":
        return f"events file {name} is damaged after record {count} (checksum mismatch): {kept}, the rest is lost"
    return f"events file {name} ends mid-record after record {count} (cut short or still being written): {kept}"


def _scalar(value, tensor_util) -> float | None:
    """A Summary.Value's number: tensor summaries (TF2/Keras) or legacy simple_value; None for non-scalars."""
    if value.HasField("tensor"):
        try:
            array = tensor_util.make_ndarray(value.tensor)
        except Exception:                       # unsupported dtypes: not a scalar we can plot anyway
            return None
        return float(array.reshape(-1)[0]) if array.size == 1 and array.dtype.kind in "fiub" else None
    if value.HasField("simple_value"):
        return float(value.simple_value)
    return None


def _tag_column(tag: str, split: str) -> str:
    name = tag.strip().lower()
    for prefix, prefix_split in (("train/", "train"), ("training/", "train"),
                                 ("validation/", "val"), ("val/", "val"), ("eval/", "val")):
        if name.startswith(prefix):
            name, split = name[len(prefix):], prefix_split
    column = canonical_name(name.removeprefix("epoch_"))
    return f"val_{column}" if split == "val" and not column.startswith("val_") else column
