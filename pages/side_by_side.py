"""Side by Side: the chosen models' masks on the same images, where they disagree, a swipe between two of them,
per-image scores when a ground truth is at hand (in any known schema: foreign ones at category level), and how
sure each model is (confidence and entropy maps, unsure pixels greyed out; with a ground truth its label doubts)."""
from functools import partial
from pathlib import Path

import streamlit as st

from app import class_colours, image_sources, pickers, predictions, shell
from segcore import compare, confidence
from segcore.evaluations import TTA_SHORT
from segcore.frame_views import doubt_layer
from segcore.ground_truth import score_view, truth_at_level
from segcore.imageio import encode_png
from segcore.label_quality import doubted_by_all
from segcore.predict import TTA_MODES, TTAUnavailable
from segcore.runs import RunError

TTA_CHOICES = {"none": "none (one pass)", "flip": "flip (2 passes)", "multiscale": "multi-scale + flip (8 passes)"}
config = shell.settings()
st.title("Side by side")
chosen = pickers.pick_runs(config.models_dir, key="sbs_runs", models_only=True)
with st.sidebar:
    level = st.radio("Labels", list(compare.LEVELS), horizontal=True, key="sbs_level",
                     format_func={"class": "classes", "category": "7 categories"}.get,
                     help="Categories: the classes folded onto the 7 Cityscapes categories (void is ignored)")
    alpha = st.slider("Mask opacity", 0.0, 1.0, 0.5, 0.05, key="sbs_alpha")
    hidden = pickers.hidden_classes(chosen, level, key="sbs_hidden")
    sure = st.toggle("Confidence", key="sbs_confidence", help="Each model's top class probability and entropy, "
                     "and with a ground truth the labelled pixels each model confidently rejects (label doubts)")
    threshold = st.slider("Grey out below confidence", 0.0, 1.0, 0.0, 0.05, key="sbs_threshold", disabled=not sure,
                          help="Pixels whose top probability is below this show the photo in grey, not a class")
    tta = st.selectbox("Test-time augmentation", [None, *TTA_MODES], key="sbs_tta",
                       format_func=lambda mode: "each run's own" if mode is None else TTA_CHOICES[mode],
                       help="Average each model's class probabilities over mirrored (and rescaled) copies of the "
                            "image: usually better masks, at 2 (flip) or 8 (multi-scale) forward passes")
    source = st.radio("Images from", ["Upload", "Data folder"], horizontal=True, key="sbs_source")
    names = [run.name for run in chosen]
    # With more than two runs, the user picks which two the disagreement map and the swipe compare.
    compared = names[:2] if len(names) < 3 else [st.selectbox(f"Compare ({side})", names, index=i, key=f"sbs_pair{i}")
                                                 for i, side in enumerate(("left", "right"))]
if not chosen:
    st.stop()
schemas = {run.schema.name: run.schema for run in chosen}


def downloads(view, stem: str, key: str):
    for label, array, suffix in (("Labels PNG", view.labels, f"{level}-ids"), ("Colour mask", view.color, "color"),
                                 ("Overlay", view.overlay, "overlay")):
        st.download_button(label, partial(encode_png, array), file_name=f"{stem}_{suffix}.png", mime="image/png",
                           key=f"{key}_{suffix}", on_click="ignore", icon=":material/download:")


def show_model(run, image, truth, index: int, stem: str, prediction):
    """One model's column: overlay, legend, timings, downloads -> (view, scores row, label doubts), Nones on failure."""
    if isinstance(prediction, RunError):
        st.error(f"{prediction}. " + ("Choose another test-time augmentation." if isinstance(prediction, TTAUnavailable)
                                      else "Retrain the run or choose another one."), icon=":material/error:")
        return None, None, None
    view = compare.model_view(image, prediction.labels, run.schema, level=level, alpha=alpha, hidden=hidden,
                              colours=class_colours.choices())
    if truth is not None:
        shown_truth, why = truth_at_level(truth[1], truth[0], run.schema, level)
        if why:
            st.caption(f"Not scored: {why}.")
        else:
            score_view(view, image, shown_truth)
    overlay, doubts = view.overlay, None
    if sure:
        maps, doubts = predictions.confidence(run, image, truth, tta, level)
        low = confidence.unsure(maps.confidence, threshold)
        overlay = confidence.grey_out(overlay, image, low) if threshold > 0 else overlay
    st.image(overlay, caption=run.name, width="stretch")
    st.html(view.legend)
    served = predictions.predictor(run, tta)
    passes = f" · {TTA_SHORT[served.tta]}" if served.tta in TTA_SHORT else ""
    st.caption(f"{prediction.model_ms:.0f} ms model · {prediction.total_ms:.0f} ms total · "
               f"{served.engine.split(' (')[0].split(';')[0]}{passes}", help=f"Computed by {served.engine}{passes}")
    if sure:
        st.caption(f"{low.mean():.1%} of pixels below {threshold:.0%} confidence" if threshold > 0 else
                   f"mean confidence {float(maps.confidence.mean()):.1%}")
        with st.expander("Confidence and entropy" + (" and label doubts" if doubts else "")):
            st.image(confidence.heat_map(maps.confidence), caption=f"{run.name} confidence (dark low, yellow high)")
            st.image(confidence.heat_map(maps.entropy), caption=f"{run.name} entropy (dark sure, yellow unsure)")
            if doubts:
                st.image(doubt_layer(image, doubts.contradicted), caption=f"{run.name} label doubts: the mask's "
                         f"pixels it confidently rejects, by {doubts.level} (magenta)")
    downloads(view, f"{stem}_{run.name}", key=f"sbs_dl_{index}_{run.name}")
    row = {"model": run.name, "model_ms": prediction.model_ms, "total_ms": prediction.total_ms, **(view.scores or {}),
           **({"label_quality": doubts.quality} if doubts and doubts.level == level else {})}   # one level a column
    return view, row, doubts


def show_image(index: int, name: str, image, truth, outcomes: dict):
    st.subheader(name, divider="gray")
    columns = st.columns(len(chosen) + 1)
    columns[0].image(image, caption=f"original · {image.shape[1]}×{image.shape[0]}", width="stretch")
    views, rows, doubts = {}, [], {}
    for column, run in zip(columns[1:], chosen):
        with column:
            view, row, doubts[run.name] = show_model(run, image, truth, index, Path(name).stem, outcomes[run.name])
        if view is not None:
            views[run.name], rows = view, rows + [row]
    if not views:
        return
    left, right = st.columns([3, 2])
    left.dataframe(compare.scores_table(rows), placeholder="–")
    if any("mean_iou" in row for row in rows):
        left.caption(predictions.scores_caption(chosen, truth[0], level, tta))
    with right.expander(f"Pixel share per {level} (%)"):
        st.dataframe(compare.shares_table(views), placeholder="–")

    if len(compared) == 2 and all(run_name in views for run_name in compared):
        a, b = (views[run_name] for run_name in compared)
        if a.schema.name != b.schema.name:
            st.info(f"{compared[0]} and {compared[1]} use different label schemas: switch to 7 categories to "
                    "compare them.")
        else:
            left, right = st.columns(2)
            differ, share = compare.disagreement_view(image, a.labels, b.labels)
            left.image(differ, width="stretch",
                       caption=f"{compared[0]} vs {compared[1]}: {share:.1%} of pixels differ (magenta)")
            position = right.slider("Swipe", 0.0, 1.0, 0.5, 0.01, key=f"sbs_swipe_{index}",
                                    help=f"{compared[0]} left of the line, {compared[1]} right of it")
            right.image(compare.swipe(a.overlay, b.overlay, position), width="stretch",
                        caption=f"◀ {compared[0]} | {compared[1]} ▶")

    scored = {run_name: view for run_name, view in views.items() if view.errors is not None}
    if scored:
        st.markdown("**Against the ground truth** (green right, red wrong, grey void)")
        columns = st.columns(len(scored) + 1)
        truth_view = next(iter(scored.values()))
        columns[0].image(truth_view.schema.colorize(truth_view.truth), caption="ground truth", width="stretch")
        for column, (run_name, view) in zip(columns[1:], scored.items()):
            column.image(view.errors, width="stretch", caption=f"{run_name}: {level} mIoU "
                         f"{view.scores['mean_iou']:.1%}, pixel acc {view.scores['pixel_accuracy']:.1%}")
    shared = doubted_by_all([found.contradicted for found in doubts.values() if found and found.level == level])
    if shared is not None and shared.any():
        st.image(doubt_layer(image, shared), width=480, caption="label doubts of every model: the mask's pixels all "
                 f"of them reject (magenta, {shared.mean():.2%} of the image), likelier label errors than one's")
    elif shared is not None:
        st.caption("Label doubts: no labelled pixel is rejected by every model.")

shown = image_sources.uploaded_images(schemas) if source == "Upload" else image_sources.folder_images(config)
class_colours.runs_editor(chosen, [level])
outcomes = predictions.predict_all(chosen, [(image, truth) for _, image, truth in shown], with_confidence=sure,
                                   tta=tta, level=level)
for index, ((name, image, truth), outcome) in enumerate(zip(shown, outcomes)):
    show_image(index, name, image, truth, outcome)
