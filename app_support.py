"""Streamlit glue shared by the dashboard's pages: the page registry, the settings, and cached loaders.

Cached loaders take a fingerprint (paths + modification times) as part of their key, so a run that finishes
an epoch or a data folder that gains files shows up on the next rerun without clearing caches by hand.
TensorFlow is never imported here: pages that only read files must start fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from segcore import datasets, evaluations, histories, runs
from segcore.lab import load_frame
from segcore.labels import LabelSchema
from segcore.settings import Settings, describe_data_dir, describe_models_dir

ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class PageInfo:
    section: str
    file: str
    title: str
    icon: str
    blurb: str


PAGES = (
    PageInfo("", "pages/home.py", "Home", ":material/home:", "runs and data at a glance"),
    PageInfo("Data", "pages/augmentation_lab.py", "Augmentation Lab", ":material/tune:",
             "build an augmentation pipeline on a real frame and its mask, then export it for training"),
    PageInfo("Models", "pages/training_curves.py", "Training Curves", ":material/show_chart:",
             "compare runs' loss and mIoU curves, or upload CSV / JSON / TensorBoard logs"),
    PageInfo("Models", "pages/side_by_side.py", "Side by Side", ":material/compare:",
             "two models' predictions on the same frames"),
    PageInfo("Models", "pages/evaluation.py", "Evaluation", ":material/analytics:",
             "stored evaluations: per-class IoU, confusion matrices, worst frames"),
)


def available_pages() -> list[PageInfo]:
    """Pages whose file exists (some are added by later work)."""
    return [page for page in PAGES if (ROOT / page.file).exists()]


def st_page(page: PageInfo) -> st.Page:
    # Absolute paths, so links work whichever script Streamlit runs as the main one (tests run pages directly).
    return st.Page(ROOT / page.file, title=page.title, icon=page.icon, default=page.file == "pages/home.py")


def navigation_sections() -> dict[str, list[st.Page]]:
    sections: dict[str, list[st.Page]] = {}
    for page in available_pages():
        sections.setdefault(page.section, []).append(st_page(page))
    return sections


def settings() -> Settings:
    """The folders from the environment, read once per session.

    Every page calls this first, so it also makes sure the app's own navigation is in charge (see below).
    """
    _run_through_entry_script()
    if "settings" not in st.session_state:
        st.session_state["settings"] = Settings.from_env()
    return st.session_state["settings"]


def _run_through_entry_script() -> None:
    """Streamlit treats an app with a pages/ folder as an old-style multipage app (its own sidebar, no page
    config) until the entry script has called st.navigation once in this server process. A first visit straight
    to a page URL would get that old look; flipping the flag and rerunning sends it through streamlit_app.py,
    whose st.navigation then opens the same page (page ids come from the URL path in both schemes)."""
    from streamlit.runtime.pages_manager import PagesManager

    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()


# ---------------------------------------------------------------------------------------------- fingerprints

def _stamp(paths) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(paths) if p.exists())


def _models_fingerprint(models_dir: Path) -> tuple:
    patterns = (f"*/{runs.META_FILE}", f"*/{runs.MODEL_FILE}", f"*/{runs.HISTORY_FILE}", f"*/{runs.EVAL_DIR}/*.json")
    return _stamp([models_dir, *(p for pattern in patterns for p in models_dir.glob(pattern))]) \
        if models_dir.is_dir() else ()


def _folders_fingerprint(root: Path, depth: int = 3) -> tuple:
    """Folder mtimes change when files are added or removed, so folders (not every file) are stamped."""
    if not root.is_dir():
        return ()
    folders = [root] + [p for level in range(1, depth + 1) for p in root.glob("/".join(["*"] * level)) if p.is_dir()]
    return _stamp(folders)


# ---------------------------------------------------------------------------------------------- cached loaders

@st.cache_data(show_spinner=False, max_entries=16)
def _runs_overview(models_dir: str, fingerprint: tuple):
    return describe_models_dir(models_dir)


def runs_overview(models_dir: Path) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    return _runs_overview(str(models_dir), _models_fingerprint(models_dir))


@st.cache_data(show_spinner=False, max_entries=16)
def _data_overview(data_dir: str, fingerprint: tuple):
    return describe_data_dir(data_dir)


def data_overview(data_dir: Path):
    """(ok, message, layout, {split: pairs}) as describe_data_dir gives it, for a configured data folder only."""
    try:
        data_dir = settings().data_folder(data_dir)
    except datasets.DatasetError as err:
        return False, str(err), None, {}
    return _data_overview(str(data_dir), _folders_fingerprint(data_dir))


@st.cache_data(show_spinner=False, max_entries=64)
def _samples(data_dir: str, split: str, fingerprint: tuple) -> list[datasets.Sample]:
    return datasets.list_pairs(data_dir, split)


def samples(data_dir: Path, split: str) -> list[datasets.Sample]:
    """The split's pairs of a configured data folder (DatasetError for any other folder)."""
    data_dir = settings().data_folder(data_dir)
    return _samples(str(data_dir), split, _folders_fingerprint(data_dir))


def pick_data_dir(config: Settings, key: str, container=st.sidebar) -> Path:
    """The data folder to read: the only configured one, or the user's choice among them (never a typed path)."""
    options = [str(folder) for folder in config.data_dirs]
    if len(options) == 1:
        return config.data_dirs[0]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)            # anything but a configured folder is dropped, never read
    chosen = container.selectbox("Data folder", options, key=key,
                                 help="The data folders this dashboard was configured with (SEGLAB_DATA_DIR, set by "
                                      "whoever runs it)")
    return config.data_folder(chosen)


@st.cache_data(show_spinner=False, max_entries=64)
def _dataset_identity(data_dir: str, split: str, fingerprint: tuple) -> dict:
    return evaluations.dataset_identity(data_dir, split)


def dataset_identity(data_dir: Path, split: str) -> dict:
    """{name, path, layout, split, fingerprint} of a configured data folder's split (DatasetError if unreadable)."""
    data_dir = settings().data_folder(data_dir)
    return _dataset_identity(str(data_dir), split, _folders_fingerprint(data_dir))


@st.cache_data(show_spinner=False, max_entries=64)
def _locate_dataset(split: str, fingerprint: str, roots: tuple, stamp: tuple) -> str | None:
    found = evaluations.locate_dataset({"dataset": {"split": split, "fingerprint": fingerprint}}, roots)
    return str(found) if found else None


def locate_dataset(result: dict) -> Path | None:
    """The configured data folder holding the data set `result` was computed on (same fingerprint), or None."""
    config = settings()
    dataset = evaluations.dataset_of(result)
    if not dataset["fingerprint"]:
        return None
    stamp = tuple(_folders_fingerprint(root) for root in config.data_dirs)
    found = _locate_dataset(dataset["split"], str(dataset["fingerprint"]),
                            tuple(str(root) for root in config.data_dirs), stamp)
    return Path(found) if found else None


@st.cache_data(show_spinner=False, max_entries=32)
def _frame(sample: datasets.Sample, schema_json: str, stamp: tuple):
    return load_frame(sample, LabelSchema.from_json(schema_json))


def frame(sample: datasets.Sample, schema: LabelSchema):
    """(image, train-id mask) of a data-set sample; ImageError for unreadable files."""
    return _frame(sample, schema.to_json(), _stamp([sample.image, sample.label]))


@st.cache_data(show_spinner=False, max_entries=64)
def _history(path: str, name: str, stamp: tuple) -> pd.DataFrame:
    return histories.read_history(path, name)


def history(path: Path, name: str) -> pd.DataFrame:
    """A run's history frame (attrs: name, source, warnings); HistoryError for malformed files."""
    # A TensorBoard logs/ folder changes through the event files inside it, not its own mtime.
    watched = [path, *(p for p in path.rglob("*") if p.is_file())] if path.is_dir() else [path]
    return _history(str(path), name, _stamp(watched))      # cache_data pickles the frame; attrs survive that


def unique_name(name: str, taken) -> str:
    """`name`, or `name (2)`, `name (3)`, ... if it is already taken (two uploads may share a file stem)."""
    label, n = name, 2
    while label in taken:
        label, n = f"{name} ({n})", n + 1
    return label
