"""A before/after image comparison with a real drag handle, as a Streamlit v2 custom component from inline
HTML, CSS and JavaScript: nothing is fetched from the network (the `streamlit-image-comparison` package loads
its script from a CDN at run time, writes temporary files into the working folder and imports `requests`).

Pointer drag anywhere on the picture, or the arrow keys on the handle, move the split; the position stays in
the browser (no rerun while dragging).
"""
from __future__ import annotations

import base64

import numpy as np
import streamlit as st

from segcore.frame_views import fit
from segcore.imageio import encode_png

CSS = """
.compare { position: relative; width: 100%; max-width: 800px; user-select: none; touch-action: none; cursor: ew-resize;
           line-height: 0; }
.compare img { width: 100%; height: auto; display: block; pointer-events: none; }
.compare .before { position: absolute; inset: 0; }
.compare .handle { position: absolute; top: 0; bottom: 0; width: 3px; margin-left: -1.5px; background: #fff;
                   box-shadow: 0 0 3px rgba(0,0,0,.7); outline: none; }
.compare .handle::after { content: "\\2194"; position: absolute; top: 50%; left: 50%; width: 28px; height: 28px;
                          margin: -14px 0 0 -14px; border-radius: 50%; background: #fff; color: #333;
                          font: 16px/28px sans-serif; text-align: center; box-shadow: 0 0 3px rgba(0,0,0,.7); }
.compare .handle:focus::after { background: #ffd54f; }
.compare .tag { position: absolute; top: 6px; padding: 2px 6px; background: rgba(0,0,0,.6); color: #fff;
                font: 12px/1.4 sans-serif; border-radius: 3px; }
.compare .tag.left { left: 6px; } .compare .tag.right { right: 6px; }
"""

JS = """
export default function (component) {
  const { data, parentElement } = component;
  let root = parentElement.querySelector(".compare");
  if (!root) {
    root = document.createElement("div");
    root.className = "compare";
    root.innerHTML = '<img class="after" alt=""><img class="before" alt="">' +
      '<div class="handle" role="slider" tabindex="0" aria-valuemin="0" aria-valuemax="100"></div>' +
      '<span class="tag left"></span><span class="tag right"></span>';
    parentElement.appendChild(root);
  }
  const before = root.querySelector(".before"), after = root.querySelector(".after");
  const handle = root.querySelector(".handle");
  after.src = data.after; before.src = data.before;
  root.querySelector(".tag.left").textContent = data.before_label;
  root.querySelector(".tag.right").textContent = data.after_label;
  handle.setAttribute("aria-label", data.before_label + " / " + data.after_label + " split");
  const place = (percent) => {
    percent = Math.max(0, Math.min(100, percent));
    before.style.clipPath = "inset(0 " + (100 - percent) + "% 0 0)";
    handle.style.left = percent + "%";
    handle.setAttribute("aria-valuenow", String(Math.round(percent)));
    root.dataset.position = String(percent);
  };
  place(root.dataset.position === undefined ? data.position : Number(root.dataset.position));
  const fromPointer = (event) => {
    const box = root.getBoundingClientRect();
    place(100 * (event.clientX - box.left) / box.width);
  };
  root.onpointerdown = (event) => { root.setPointerCapture(event.pointerId); fromPointer(event); };
  root.onpointermove = (event) => { if (root.hasPointerCapture(event.pointerId)) fromPointer(event); };
  root.onpointerup = (event) => root.releasePointerCapture(event.pointerId);
  handle.onkeydown = (event) => {
    const step = { ArrowLeft: -5, ArrowRight: 5, Home: -100, End: 100 }[event.key];
    if (step !== undefined) { place(Number(root.dataset.position) + step); event.preventDefault(); }
  };
}
"""

_component = st.components.v2.component("seglab_image_compare", css=CSS, js=JS)


def data_url(picture: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(picture)).decode()


def image_compare(before: np.ndarray, after: np.ndarray, before_label: str, after_label: str, *,
                  key: str, position: int = 50) -> None:
    """Show `before` over `after` (same size), split at `position` % from the left, with a draggable handle."""
    if before.shape != after.shape:
        raise ValueError(f"compared pictures differ in size: {before.shape} vs {after.shape}")
    _component(key=key, data={"before": data_url(fit(before)), "after": data_url(fit(after)), "before_label": before_label,
                              "after_label": after_label, "position": position})
