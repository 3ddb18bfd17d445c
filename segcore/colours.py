"""One colour per run, the same on every chart (curves, IoU bars), stable across processes. Plotly's palette only."""
from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping

from plotly.colors import qualitative

PALETTE = qualitative.Plotly


def run_colours(runs: Iterable[str], keep: Mapping[str, str] | None = None) -> dict[str, str]:
    """A colour per run. Runs in `keep` keep their colour (pass the last result back, e.g. from session state,
    so adding runs never recolours the ones already shown); new runs take the free colour nearest a hash of
    their name, in the order given (sorted when there is nothing to keep)."""
    keep = dict(keep or {})
    runs = list(runs) if keep else sorted(runs)
    colours = {run: keep[run] for run in runs if run in keep}
    taken = set(colours.values())
    for run in runs:
        if run in colours:
            continue
        start = zlib.crc32(run.encode())             # crc32, not hash(): stable across processes
        options = [PALETTE[(start + k) % len(PALETTE)] for k in range(len(PALETTE))]
        colours[run] = next((c for c in options if c not in taken), options[0])
        taken.add(colours[run])
    return {run: colours[run] for run in runs}
