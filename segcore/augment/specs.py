"""The records the transform catalogue is written in: a transform (`TransformSpec`) and each argument it exposes
(`ParamSpec`), with the kinds of value a widget can be generated for."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

KINDS = ("float", "int", "float_range", "int_range", "choice", "bool", "rgb", "int_pair")


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One argument of a transform, described so a widget can be generated for it.

    ``kind`` is one of KINDS. ``*_range`` values are ``(lo, hi)`` with lo <= hi, ``rgb`` an ``(r, g, b)`` tuple
    of 0-255 ints, and ``int_pair`` an unordered pair of ints such as ``(height, width)``. ``min``/``max`` bound
    every number in the value; ``step`` is the widget's increment, and for int kinds also a constraint
    (``min=3, step=2`` means odd kernel sizes).
    """
    name: str
    kind: str
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    options: tuple = ()
    help: str = ""


@dataclass(frozen=True, kw_only=True)
class TransformSpec:
    """One catalogue entry: an albumentations class, how the lab shows it, and the arguments it exposes."""
    name: str
    group: str
    description: str
    params: tuple[ParamSpec, ...] = ()
    geometric: bool = False
    default_p: float = 0.5
    needs_mask: bool = False   # picks its crop from the mask, so a draw without one cannot run


class PipelineError(ValueError):
    """A pipeline spec, file or object that this package cannot use; the message says which step and why."""
