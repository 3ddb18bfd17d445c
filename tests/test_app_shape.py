"""The dashboard's shape: segcore knows nothing of Streamlit or the app, the app's glue is one package, pages stay
short storyboards, and the caches together fit the memory budget the README promises."""
from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAX_PAGE_LINES = 150
INSTANCE_BYTES = 4 * 1024 ** 3          # README: 4 GB per instance


def imported_modules(path: Path) -> set[str]:
    """Top-level names of every module `path` imports, wherever in the file (functions included)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_segcore_imports_neither_streamlit_nor_the_app():
    sources = sorted((ROOT / "segcore").rglob("*.py"))
    assert len(sources) > 10
    offenders = {str(path.relative_to(ROOT)): sorted(imported_modules(path) & {"streamlit", "app"})
                 for path in sources}
    assert {path: names for path, names in offenders.items() if names} == {}


def test_app_modules_that_say_so_import_no_streamlit():
    """settings, lab and confusion_clicks are plain Python, tested without a running app."""
    code = ("import sys; import app.settings, app.lab, app.confusion_clicks; "
            "sys.exit(1 if any(m.split('.')[0] == 'streamlit' for m in sys.modules) else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr or "streamlit was imported"


def test_the_old_glue_modules_are_gone():
    for old in ("app_support.py", "app_models.py", "segcore/lab.py", "segcore/settings.py"):
        assert not (ROOT / old).exists(), f"{old} came back: dashboard glue lives in app/"


@pytest.mark.parametrize("page", sorted((ROOT / "pages").glob("*.py")), ids=lambda path: path.name)
def test_pages_are_short_storyboards(page):
    lines = len(page.read_text().splitlines())
    assert lines <= MAX_PAGE_LINES, f"{page.name} has {lines} lines: move helpers into app/"
    # Widgets and layout only: array work and models live in segcore, behind app/.
    assert not imported_modules(page) & {"numpy", "tensorflow", "keras", "app_support", "app_models"}


def _cached_functions():
    """Every st.cache_data / st.cache_resource function of the app package, by dotted name."""
    from streamlit.runtime.caching.cache_utils import CachedFunc

    import app
    found = {}
    for info in pkgutil.iter_modules(app.__path__):
        module = importlib.import_module(f"app.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, CachedFunc) and value._info.func.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value._info
    return found


def test_every_cache_has_a_cap_and_together_they_fit_the_budget():
    from app import cache_budget as budget

    caches = _cached_functions()
    data = {name: info for name, info in caches.items() if hasattr(info, "max_size_bytes")}
    resources = {name: info for name, info in caches.items() if not hasattr(info, "max_size_bytes")}
    assert {"app.predictions._prediction", "app.uploads.decode_image", "app.loaders._pair"} <= set(data)
    uncapped = [name for name, info in data.items() if not info.max_size_bytes or not info.max_entries]
    assert uncapped == [], "every st.cache_data needs max_entries and max_size (app/cache_budget.py)"
    assert sum(info.max_size_bytes for info in data.values()) <= budget.CACHES_BYTES <= INSTANCE_BYTES // 2
    # A cap smaller than one worst-case value would hold one oversized entry and nothing else.
    assert data["app.predictions._prediction"].max_size_bytes >= 8 * budget.LABELS_BYTES
    assert data["app.uploads.decode_image"].max_size_bytes >= 2 * budget.IMAGE_BYTES
    assert data["app.uploads.decode_mask"].max_size_bytes >= 2 * budget.LABELS_BYTES
    assert data["app.loaders._pair"].max_size_bytes >= budget.IMAGE_BYTES + budget.LABELS_BYTES
    assert resources and all(info.max_entries and info.max_entries <= budget.MODELS for info in resources.values())
