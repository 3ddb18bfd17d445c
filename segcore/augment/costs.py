"""Measured cost of each catalogue transform: milliseconds per 360x480 frame on one thread, read from costs.json
(written by benchmarks/bench_augment.py), and the label the Lab shows for it. Nothing here is a guess: a transform
without a measurement has no cost label.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

COSTS_FILE = Path(__file__).with_name("costs.json")
# Upper bounds in ms per 360x480 frame, single thread, for each label; above the last one: "expensive".
COST_THRESHOLDS = (("nearly free", 0.5), ("cheap", 2.0), ("moderate", 8.0))


def cost_label(ms: float) -> str:
    """The cost label for a measured time per 360x480 frame."""
    return next((label for label, limit in COST_THRESHOLDS if ms < limit), "expensive")


@lru_cache(maxsize=1)
def measured_costs() -> dict:
    """costs.json as written by benchmarks/bench_augment.py: {"ms": {name: ms}, "machine", "command", ...};
    an empty "ms" when the file is missing or unreadable (the Lab then shows no cost)."""
    try:
        data = json.loads(COSTS_FILE.read_text())
    except (OSError, ValueError):
        return {"ms": {}}
    return data if isinstance(data, dict) and isinstance(data.get("ms"), dict) else {"ms": {}}


def cost_of(name: str) -> tuple[float, str] | None:
    """(measured ms per 360x480 frame, its label) for a catalogue transform, or None when not measured."""
    ms = measured_costs()["ms"].get(name)
    return None if not isinstance(ms, (int, float)) else (float(ms), cost_label(float(ms)))
