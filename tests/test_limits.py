"""Each limit is written once, in segcore.limits: the modules that enforce it, the Streamlit config and
docs/DEPLOYING.md all follow that one constant."""
from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

from segcore import augment, files, histories, imageio, limits

ROOT = Path(__file__).resolve().parents[1]
LIMIT_NAMES = sorted(name for name in vars(limits) if name.startswith("MAX_"))

# The short names the enforcing modules keep (tests and callers use them) -> the one constant behind each.
ALIASES = {
    (imageio, "MAX_BYTES"): "MAX_UPLOAD_BYTES",
    (imageio, "MAX_PIXELS"): "MAX_IMAGE_PIXELS",
    (histories, "MAX_BYTES"): "MAX_UPLOAD_BYTES",
    (histories, "MAX_COLUMNS"): "MAX_HISTORY_COLUMNS",
    (histories, "MAX_ROWS"): "MAX_HISTORY_ROWS",
    (histories, "MAX_ZIP_ENTRIES"): "MAX_ZIP_ENTRIES",
    (histories, "MAX_EVENT_FILES"): "MAX_EVENT_FILES",
    (augment, "MAX_PIPELINE_BYTES"): "MAX_PIPELINE_BYTES",
    (augment, "MAX_STEPS"): "MAX_PIPELINE_STEPS",
    (augment, "MAX_NESTING"): "MAX_PIPELINE_NESTING",
    (augment.stats, "MAX_DRAWS"): "MAX_AUGMENT_DRAWS",
    (files, "MAX_JSON_BYTES"): "MAX_JSON_BYTES",
}


def test_streamlit_upload_limit_equals_the_one_constant():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] * 2**20 == limits.MAX_UPLOAD_BYTES   # Streamlit counts MiB


@pytest.mark.parametrize("module, alias", sorted(ALIASES, key=lambda k: (k[0].__name__, k[1])),
                         ids=lambda v: getattr(v, "__name__", v))
def test_enforcing_modules_use_the_limits_constant(module, alias):
    assert getattr(module, alias) == getattr(limits, ALIASES[module, alias])


def number_assignments(path: Path):
    """(name, line) for module-level `NAME = <arithmetic on literals>` in a source file."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            literal = all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop))
                          for n in ast.walk(node.value))
            for target in targets:
                if literal and isinstance(target, ast.Name):
                    yield target.id, node.lineno


def test_no_module_writes_a_limit_of_its_own():
    names = set(LIMIT_NAMES) | {alias for _, alias in ALIASES}
    written = [f"{path.relative_to(ROOT)}:{line} {name}"
               for path in sorted((ROOT / "segcore").rglob("*.py")) if path.name != "limits.py"
               for name, line in number_assignments(path) if name in names]
    assert written == [], "set these in segcore/limits.py and import them"


def test_deploying_guide_names_every_limit_and_only_real_ones():
    table = (ROOT / "docs" / "DEPLOYING.md").read_text().split("## Limits", 1)[1]
    cited = set()
    for cell in re.findall(r"`segcore\.limits\.[^|]*", table):   # `segcore.limits.A`, `B`; ... in one cell
        cited |= set(re.findall(r"`(?:segcore\.limits\.)?(MAX_\w+)`", cell.split(";")[0]))
    assert cited == set(LIMIT_NAMES)
