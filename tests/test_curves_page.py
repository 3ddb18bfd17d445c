"""Training Curves page (AppTest): hostile uploads keep the page serving with one-line messages, zipped log
folders are one run, colours survive uploads, the summary says what its numbers are, the CSV is formula-safe."""
import base64
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from conftest import as_shown
from test_app_pages import CURVES, HISTORY_CSV, texts, write_events
from test_app_pages import folders, served_downloads  # noqa: F401 - fixtures shared with the other pages
from test_hostile_histories import clashing_name, record_offsets

TIMEOUT = 60


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload(at: AppTest, *files) -> AppTest:
    at.file_uploader[0].set_value([(name, data, "application/octet-stream") for name, data in files])
    return run(at)


def runs_shown(at) -> list[str]:
    return list(at.dataframe[0].value["run"])


def traces(at) -> list[dict]:
    return json.loads(at.get("plotly_chart")[0].proto.spec)["data"]


def keras_logdir_zip(tmp_path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for split, base in (("train", 1.0), ("validation", 1.2)):
            path = write_events(tmp_path / split / "events.out.tfevents.1.host.v2",
                                [(e, tag, base - 0.1 * e) for e in range(3) for tag in ("epoch_loss", "epoch_mean_io_u")])
            archive.write(path, f"logs/{split}/{path.name}")
    return buffer.getvalue()


def test_hostile_uploads_keep_the_page_serving_with_one_line_messages(folders, tmp_path):
    wide = ("epoch," + ",".join(f"m{i}" for i in range(100_000)) + "\n0," + ",".join(["1"] * 100_000)).encode()
    events = write_events(tmp_path / "events.out.tfevents.1.host.v2", [(e, "epoch_loss", 1.0 - 0.05 * e) for e in range(10)])
    flipped = bytearray(events.read_bytes())
    flipped[record_offsets(bytes(flipped))[5] + 20] ^= 0xFF
    traversal = io.BytesIO()
    with zipfile.ZipFile(traversal, "w") as archive:
        archive.writestr("../../etc/events.out.tfevents.1", b"x")
    at = upload(run(AppTest.from_file(CURVES, default_timeout=TIMEOUT)),
                ("wide.csv", wide), (events.name, bytes(flipped)), ("evil.zip", traversal.getvalue()))
    errors = [as_shown(str(e.value)) for e in at.error]
    assert any("wide.csv: 100,001 columns, over the limit of 256" in e for e in errors), errors
    assert any("evil.zip: entry '../../etc/events.out.tfevents.1' points outside the archive" in e for e in errors)
    assert all("\n" not in e for e in errors)
    assert "is damaged after record 5 (checksum mismatch): kept epochs 0-3" in as_shown(texts(at, "warning"))
    assert runs_shown(at) == ["unet-tiny", "events.out.tfevents.1.host"] and at.get("plotly_chart")


def test_a_zipped_tensorboard_log_folder_is_one_run_with_train_and_val(folders, tmp_path):
    at = upload(run(AppTest.from_file(CURVES, default_timeout=TIMEOUT)), ("keras-run.zip", keras_logdir_zip(tmp_path)))
    assert not at.error, texts(at, "error")
    assert runs_shown(at) == ["unet-tiny", "keras-run"]
    names = {t.get("name") for t in traces(at)}
    assert {"keras-run · train", "keras-run · val"} <= names


def test_loose_event_files_get_a_hint_to_zip_the_folder(folders, tmp_path):
    one = write_events(tmp_path / "a" / "events.out.tfevents.1.h.v2", [(0, "epoch_loss", 1.0)])
    two = write_events(tmp_path / "b" / "events.out.tfevents.2.h.v2", [(0, "epoch_loss", 1.2)])
    at = upload(run(AppTest.from_file(CURVES, default_timeout=TIMEOUT)),
                (one.name, one.read_bytes()), (two.name, two.read_bytes()))
    assert "Zip the log folder" in texts(at, "info")


def test_the_x_axis_can_be_training_time_and_outliers_can_leave_the_y_scale(folders, tmp_path):
    at = upload(run(AppTest.from_file(CURVES, default_timeout=TIMEOUT)), ("keras-run.zip", keras_logdir_zip(tmp_path)))
    x_axis = next(box for box in at.selectbox if box.label == "X axis")
    assert x_axis.options == ["Epoch", "Training time (hours)", "Wall time (UTC)"]
    x_axis.set_value("relative")
    run(at)
    shown = {t.get("legendgroup") for t in traces(at)}
    assert shown == {"keras-run"}                      # unet-tiny's history.csv has no times
    assert "Not drawn against training time (hours): unet-tiny" in texts(at, "caption")
    assert json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["xaxis"]["title"]["text"] == \
        "training time (hours)"
    next(box for box in at.checkbox if box.label == "Ignore outliers").check()
    assert len(json.loads(run(at).get("plotly_chart")[0].proto.spec)["layout"]["yaxis"]["range"]) == 2


def test_uploads_do_not_recolour_the_runs_already_shown(folders):
    at = run(AppTest.from_file(CURVES, default_timeout=TIMEOUT))
    before = next(t["line"]["color"] for t in traces(at) if t.get("legendgroup") == "unet-tiny")
    newcomer = clashing_name("unet-tiny")              # would have taken unet-tiny's colour
    upload(at, (f"{newcomer}.csv", HISTORY_CSV.encode()))
    colours = {t.get("legendgroup"): t["line"]["color"] for t in traces(at) if t.get("mode") == "lines"}
    assert colours["unet-tiny"] == before and colours[newcomer] != before


def test_summary_names_its_numbers(folders):
    at = run(AppTest.from_file(CURVES, default_timeout=TIMEOUT))
    summary = at.dataframe[0].value
    row = summary.iloc[0]
    assert row["best epoch"] == 2 and row["chosen by"] == "highest val mIoU"
    assert row["val mIoU (%) at best epoch"] == pytest.approx(33.0)
    assert row["input (H x W)"] == "48x64" and row["val data"] == "unknown"    # this meta.json names no data set
    captions = texts(at, "caption")
    assert "model's input size" in captions and "segcore evaluate" in captions and "highest validation mIoU" in captions
    assert at.selectbox[0].format_func("mean_iou") == "mIoU (%)"


def test_the_curves_csv_escapes_formulas(folders, served_downloads):
    served = served_downloads
    at = upload(run(AppTest.from_file(CURVES, default_timeout=TIMEOUT)),
                ("=1+cmd|' -C calc'!A0.csv", b"epoch,=cmd|'/c calc'!a0,loss\n0,-0.5,1.0\n1,-0.25,0.5\n"))
    assert "=1+cmd|' -C calc'!A0" in runs_shown(at)
    button = at.get("download_button")[0]
    text = served[Path(button.proto.url).stem].decode()
    assert "'=1+cmd|' -C calc'!A0" in text and "'=cmd|'/c_calc'!a0" in text
    assert "\n=" not in text and ",=" not in text and ",-0.5" in text


def test_a_logs_folder_run_shows_event_files_added_since_the_last_visit(folders):
    _, models = folders
    logs = models / "tb-only" / "logs"
    for split in ("train", "validation"):
        write_events(logs / split / "events.out.tfevents.1.host.v2",
                     [(e, tag, 1.0 - 0.1 * e) for e in range(3) for tag in ("epoch_loss", "epoch_mean_io_u")])
    at = run(AppTest.from_file(CURVES, default_timeout=TIMEOUT))

    def last_epoch():
        xs = [t["x"] for t in traces(at) if "tb-only" in t.get("name", "")]
        # Plotly sends numpy arrays as base64 typed arrays ({"dtype", "bdata"}).
        return max(max(np.frombuffer(base64.b64decode(x["bdata"]), x["dtype"]) if isinstance(x, dict) else x)
                   for x in xs)
    assert last_epoch() == 2
    # A resumed run writes a new event file inside train/ and validation/; logs/ itself keeps its mtime.
    for split in ("train", "validation"):
        write_events(logs / split / "events.out.tfevents.2.host.v2",
                     [(e, tag, 1.0 - 0.1 * e) for e in range(3, 5) for tag in ("epoch_loss", "epoch_mean_io_u")])
    run(at)
    assert last_epoch() == 4
