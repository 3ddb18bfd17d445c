"""First and second visit of the Evaluation and Frames pages in headless Chromium, on a fresh server.

`.venv/bin/python benchmarks/bench_pages.py [--models models] [--data ../shared/data/camvid]` starts
`streamlit run streamlit_app.py` like `make run`, opens Home first (the browser's cold start: any page's first load
in a fresh Chromium costs the same), then each page in a new tab (a new session) twice, and prints the seconds from
navigation to the page drawn: Home's title, Evaluation's confusion matrices and Frames' first
thumbnail (or the line saying there is none), each with the script idle. Both pages read stored evaluations only (no model runs).
"""
import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import chromium, streamlit_server  # noqa: E402

IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
# What "drawn" waits for: the page's main content, or the line saying why there is none. Not any info box: the
# Evaluation page's CamVid-val note comes before its charts (until 2026-11-26 this measured that note).
NOTHING = "[data-testid='stAlertContentInfo']:has-text('{}')"
DRAWN = {"": "h1",
         "evaluation": f".heatmaplayer, {NOTHING.format('share no stored evaluation')}, "
                       f"{NOTHING.format('No usable runs')}",
         "frames": f"[data-testid='stImage'] img, {NOTHING.format('share no')}, {NOTHING.format('No frame passes')}, "
                   f"{NOTHING.format('No usable runs')}"}


def visit(browser, url: str, page_name: str) -> float:
    page = browser.new_page(viewport={"width": 1500, "height": 1200})
    started = time.perf_counter()
    page.goto(f"{url}/{page_name}")
    page.locator(DRAWN[page_name]).first.wait_for(timeout=120_000)
    page.wait_for_selector(IDLE, timeout=120_000)
    elapsed = time.perf_counter() - started
    page.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=str(ROOT / "models"), help="models folder (default: models)")
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "camvid"), help="data folder")
    args = parser.parse_args()
    env = {"SEGLAB_MODELS_DIR": str(Path(args.models).resolve()), "SEGLAB_DATA_DIR": str(Path(args.data).resolve())}
    with tempfile.TemporaryDirectory() as folder:
        with streamlit_server(env, Path(folder) / "server.log") as url, chromium() as browser:
            print(f"{'home':>10}: first page of a fresh browser {visit(browser, url, ''):.2f} s", flush=True)
            # The floor every page shares: a new tab's Streamlit session drawing the lightest page.
            print(f"{'home':>10}: again, in a new tab {visit(browser, url, ''):.2f} s", flush=True)
            for page_name in ("evaluation", "frames"):
                first, second = visit(browser, url, page_name), visit(browser, url, page_name)
                print(f"{page_name:>10}: first visit {first:.2f} s, second {second:.2f} s", flush=True)


if __name__ == "__main__":
    main()
