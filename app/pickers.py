"""Pickers several pages share: which configured data folder to read, which trained runs to show, and which of
their classes to leave out of the overlays."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from app import kept, loaders
from app.settings import EVAL_MIOU, EVALUATED_ON, TRAINED_ON, Settings
from app.text import plain
from segcore import runs
from segcore.labels import CATEGORIES

BROUGHT = "runs_brought"        # runs added this session through Home's "Bring a model": chosen once on each page


def pick_data_dir(config: Settings, key: str, container=st.sidebar) -> Path:
    """The data folder to read: the only configured one, or the user's choice among them (never a typed path),
    starting on the first that exists."""
    options = [str(folder) for folder in config.data_dirs]
    if len(options) == 1:
        return config.data_dirs[0]
    if st.session_state.get(key) not in options:
        st.session_state.pop(key, None)            # anything but a configured folder is dropped, never read
    usable = [folder.is_dir() for folder in config.data_dirs]
    chosen = container.selectbox("Data folder", options, key=key, index=usable.index(True) if any(usable) else 0,
                                 help="The data folders this dashboard was configured with (SEGLAB_DATA_DIR, set by "
                                      "whoever runs it)")
    return config.data_folder(chosen)


def default_runs(names: list[str], scores: dict[str, float] | None = None) -> list[str]:
    """The best-scored run named like a U-Net and the best named like a SegNet (unscored runs after scored ones,
    ties in listed order); else the first two runs."""
    scores = scores or {}

    def best(family: str) -> str | None:
        return max((n for n in names if family in n.lower()), key=lambda n: scores.get(n, -1.0), default=None)
    unet, segnet = best("unet"), best("segnet")
    return [unet, segnet] if unet and segnet else list(names[:2])


def evaluated_scores(models_dir: Path) -> dict[str, float]:
    """Each run's stored val mIoU on the data set most runs were evaluated on: scores on different data sets don't
    rank models, so runs evaluated elsewhere count as unscored; so do final models scored on frames they trained
    on, however many there are."""
    table, _ = loaders.runs_overview(models_dir)
    scored = table.dropna(subset=[EVAL_MIOU])
    # astype(str): with no run scored the column holds only NaN floats, which have no .str
    scored = scored[~scored[EVALUATED_ON].astype(str).str.contains(TRAINED_ON, regex=False)]
    if scored.empty:
        return {}
    common = scored[EVALUATED_ON].mode().iloc[0]
    scored = scored[scored[EVALUATED_ON] == common]
    return dict(zip(scored["run"], scored[EVAL_MIOU].astype(float)))


def pick_runs(models_dir: Path, key: str, models_only: bool = False) -> list[runs.Run]:
    """Sidebar multiselect of the usable runs (default: the best evaluated U-Net and SegNet); broken runs listed
    with why.
    `models_only`: runs of stored predictions are left out (they can't label new images), with one line saying so."""
    found = runs.discover_runs(models_dir)
    stored = [run.name for run in found if run.ok and run.kind == runs.PREDICTIONS] if models_only else []
    usable = {run.name: run for run in found if run.ok and run.name not in stored}
    broken = [run for run in found if not run.ok]
    # Keep the user's choice across reruns, minus runs that have since gone or broken; a run just brought in on
    # Home joins it once (the user may then take it out again). Streamlit drops a widget's state when a page without
    # it runs: the choice is also kept under a key of its own, so it survives a visit to another page.
    kept = f"{key}_kept"
    previous = st.session_state.get(key, st.session_state.get(kept))
    chosen_before = (default_runs(list(usable), evaluated_scores(models_dir)) if previous is None
                     else [n for n in previous if n in usable])
    joined = st.session_state.setdefault(f"{key}_{BROUGHT}", set())
    brought = [n for n in st.session_state.get(BROUGHT, []) if n in usable and n not in joined]
    joined.update(brought)
    st.session_state[key] = chosen_before + [n for n in brought if n not in chosen_before]
    with st.sidebar:
        chosen = st.multiselect("Runs", list(usable), key=key, help=f"Trained runs under {models_dir}")
        if broken:
            with st.expander(f"{len(broken)} run(s) can't be used"):
                for run in broken:
                    st.markdown(f"**{plain(run.name)}**: {plain(run.error)}")
    st.session_state[kept] = chosen
    if stored:
        st.info(f"Not offered here: {', '.join(stored)} (stored predictions can't label new images; see them on "
                "Evaluation).", icon=":material/info:")
    if usable and not chosen:
        st.info("Choose at least one run in the sidebar.")
    elif not usable:
        st.info(f"No usable runs under {models_dir}. Train one with `segcore train --arch unet --data <data> "
                f"--out {models_dir}/<name>` or set `SEGLAB_MODELS_DIR`.")
    return [usable[name] for name in chosen]


def hidden_classes(chosen: list[runs.Run], level: str, key: str) -> list[str]:
    """The class names (categories at level "category") the visitor leaves out of every overlay."""
    names = list(CATEGORIES) if level == "category" else \
        list(dict.fromkeys(name for run in chosen for name in run.schema.names))
    widget_key = f"{key}_{level}"          # kept per level: switching levels and back keeps what was hidden
    kept.restore(widget_key, lambda hidden: True, [])
    st.session_state[widget_key] = [name for name in st.session_state[widget_key] if name in names]
    hidden = st.sidebar.multiselect("Hide classes", names, key=widget_key,
                                    help="Their pixels show the photo in every overlay, so the others stand out; "
                                         "scores, shares, label and colour-mask downloads keep every class")
    kept.keep(widget_key)
    return hidden
