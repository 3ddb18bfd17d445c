"""Side by Side in a real headless Chromium against `streamlit run` as `make run` starts it (.streamlit/config.toml).

Concurrent users (default): N browser sessions (one Playwright context each) open the page at once and each uploads
an image; every session must get both models' results and no error text. Records p50/p95 upload-to-result and the
server's peak memory (VmHWM). Loopback only; bounded in count and time.

    .venv/bin/python benchmarks/load_test.py --sessions 1 4 8 [--out benchmarks/results/load.json]

Speed goals of issue 13 (`--speed`): the idle server's CPU over 10 s with a page open; upload of a 480x360 frame to
both masks on screen, on an empty page and with 1..3 images already there (the 4th image); a 2048x1024 upload;
the model time the page shows against a bare `Predictor.predict` loop over the same models and images; the CPU the
server and Chromium (on the same cores) use per upload.

    .venv/bin/python benchmarks/load_test.py --speed [--out benchmarks/results/speed.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from segcore.imageio import write_png
from segcore.synth import render_scene

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def start_server(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],     # the file watcher as config.toml sets it
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"})
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise TimeoutError("server did not become healthy")


async def one_session(browser, url: str, image: Path, ready: asyncio.Barrier, results: list, errors: list):
    context = await browser.new_context(viewport={"width": 1400, "height": 2000})
    try:
        page = await context.new_page()
        await page.goto(f"{url}/side_by_side", timeout=TIMEOUT_S * 1000)
        uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
        await uploader.wait_for(state="attached", timeout=TIMEOUT_S * 1000)
        await ready.wait()                      # every session uploads at the same moment
        start = time.perf_counter()
        await uploader.set_input_files(str(image))
        await page.get_by_text("ms model").nth(1).wait_for(timeout=TIMEOUT_S * 1000)
        elapsed = time.perf_counter() - start
        text = await page.inner_text("body")
        if "Traceback" in text or await page.locator('[data-testid="stException"]').count():
            errors.append("exception on page")
        results.append(elapsed)
    except Exception as err:  # a failed session is a result of the load test: recorded, not raised
        errors.append(f"{type(err).__name__}: {str(err).splitlines()[0][:200]}")
    finally:
        await context.close()


async def run_level(url: str, image: Path, sessions: int) -> dict:
    from playwright.async_api import async_playwright

    results, errors = [], []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                   args=CHROMIUM_ARGS)
        ready = asyncio.Barrier(sessions)
        await asyncio.wait_for(asyncio.gather(*(one_session(browser, url, image, ready, results, errors)
                                                for _ in range(sessions))), TIMEOUT_S * 2)
        await browser.close()
    times = sorted(results)
    return {"sessions": sessions, "ok": len(times), "errors": errors,
            "p50_s": round(statistics.median(times), 2) if times else None,
            "p95_s": round(times[min(len(times) - 1, int(0.95 * len(times)))], 2) if times else None}


# ------------------------------------------------------------------------------------------------ speed goals

MASKS_SHOWN = """([names, want]) => {
  let shown = 0;
  for (const element of document.querySelectorAll('[data-testid="stImage"]')) {
    const caption = element.querySelector('[data-testid="stImageCaption"]');
    const img = element.querySelector('img');
    if (caption && names.includes(caption.innerText.trim()) && img && img.complete && img.naturalWidth > 0) shown++;
  }
  return shown >= want;
}"""
MODEL_MS = re.compile(r"(\d+(?:\.\d+)?) ms model")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser_cpu_seconds() -> float:
    """User + system CPU time so far of every Chromium process (renderer, GPU, network...) on this machine."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, fields = stat.read_text().split(" (", 1)[1].rsplit(")", 1)
        except (OSError, IndexError, ValueError):
            continue                                # the process ended while we looked
        if name == "chromium":
            fields = fields.split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def scene_png(folder: Path, seed: int, size: tuple[int, int]) -> Path:
    """A distinct street scene per seed: the server caches predictions by content, so no upload is a cache hit."""
    path = folder / f"scene{seed}_{size[1]}x{size[0]}.png"
    write_png(path, render_scene(seed, size)[0])
    return path


async def open_side_by_side(browser, url: str):
    context = await browser.new_context(viewport={"width": 1400, "height": 2000})
    page = await context.new_page()
    await page.goto(f"{url}/side_by_side", timeout=TIMEOUT_S * 1000)
    await page.locator('[data-testid="stFileUploader"] input[type="file"]').first.wait_for(
        state="attached", timeout=TIMEOUT_S * 1000)
    await page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                 timeout=TIMEOUT_S * 1000)
    return context, page


async def upload_until_masks(page, image: Path, names: list[str], images_on_page: int) -> float:
    """Seconds from choosing `image` in the uploader to every model's mask of it loaded on screen."""
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]').first
    start = time.perf_counter()
    await uploader.set_input_files(str(image))
    await page.wait_for_function(MASKS_SHOWN, arg=[names, len(names) * (images_on_page + 1)],
                                 timeout=TIMEOUT_S * 1000, polling=20)
    elapsed = time.perf_counter() - start
    await page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                                 timeout=TIMEOUT_S * 1000)
    if await page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"exception on the page after uploading {image.name}")
    return elapsed


async def shown_model_ms(page) -> list[float]:
    return [float(ms) for ms in MODEL_MS.findall(await page.inner_text("body"))]


async def speed_in_browser(url: str, server_pid: int, names: list[str], folder: Path, repeats: int) -> dict:
    from playwright.async_api import async_playwright

    seeds = iter(range(100, 10_000))
    small = (360, 480)
    result = {"upload_480x360_s": [], "add_image_s": {2: [], 3: [], 4: []}, "upload_2048x1024_s": [],
              "shown_model_ms": [], "server_cpu_s": [], "browser_cpu_s": []}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                                   args=CHROMIUM_ARGS)
        context, page = await open_side_by_side(browser, url)     # cold: loads both models
        result["cold_upload_s"] = round(await upload_until_masks(page, scene_png(folder, next(seeds), small),
                                                                 names, 0), 2)
        await context.close()

        context, page = await open_side_by_side(browser, url)
        await page.wait_for_timeout(2000)
        before = cpu_seconds(server_pid)
        await asyncio.sleep(10)
        result["idle_cpu_s_per_10s"] = round(cpu_seconds(server_pid) - before, 2)
        await context.close()

        for _ in range(repeats):
            context, page = await open_side_by_side(browser, url)
            for shown in range(4):          # the 1st image on an empty page, then the 2nd..4th beside it
                frame = scene_png(folder, next(seeds), small)
                server_before, browser_before = cpu_seconds(server_pid), browser_cpu_seconds()
                elapsed = await upload_until_masks(page, frame, names, shown)
                result["server_cpu_s"].append(cpu_seconds(server_pid) - server_before)
                result["browser_cpu_s"].append(browser_cpu_seconds() - browser_before)
                (result["upload_480x360_s"] if shown == 0 else result["add_image_s"][shown + 1]).append(elapsed)
            result["shown_model_ms"] += await shown_model_ms(page)
            await context.close()
            context, page = await open_side_by_side(browser, url)
            result["upload_2048x1024_s"].append(
                await upload_until_masks(page, scene_png(folder, next(seeds), (1024, 2048)), names, 0))
            await context.close()
        await browser.close()
    return result


def bare_model_ms(models_dir: Path, names: list[str], folder: Path, keras_via_onnx: bool) -> dict[str, float]:
    """Median `Predictor.predict` model time per run in this process, over the 480x360 frames the page got:
    with the engine the app uses (Keras runs through their ONNX export) or with Keras itself."""
    from segcore.imageio import read_image
    from segcore.predict import Predictor

    images = [read_image(path) for path in sorted(folder.glob("scene*_480x360.png"))]
    medians = {}
    for name in names:
        predictor = Predictor(models_dir / name, keras_via_onnx=keras_via_onnx)
        medians[name] = round(statistics.median(predictor.predict(image).model_ms for image in images * 5), 1)
    return medians


def median(values) -> float | None:
    return round(statistics.median(values), 2) if values else None


def speed(out: str, repeats: int) -> None:
    sys.path.insert(0, str(ROOT))              # the app's own picker chooses the runs the page shows by default
    from app.pickers import default_runs, evaluated_scores
    from segcore.runs import discover_runs

    models_dir = Path(os.environ.get("SEGLAB_MODELS_DIR", ROOT / "models"))
    names = default_runs([run.name for run in discover_runs(models_dir) if run.ok and run.kind != "predictions"],
                         evaluated_scores(models_dir))
    folder = Path(tempfile.mkdtemp())
    port = free_port()
    server = start_server(port)
    try:
        measured = asyncio.run(speed_in_browser(f"http://127.0.0.1:{port}", server.pid, names, folder, repeats))
    finally:
        server.terminate()
        server.wait(timeout=30)
    # With the server stopped: the model's own pace, on the app's engine and on Keras.
    bare = bare_model_ms(models_dir, names, folder, keras_via_onnx=True)
    bare_keras = bare_model_ms(models_dir, names, folder, keras_via_onnx=False)
    shown = median(measured["shown_model_ms"])
    bare_mean = statistics.mean(bare.values())
    result = {
        "models": names, "repeats": repeats,
        "idle_cpu_s_per_10s": measured["idle_cpu_s_per_10s"],
        "cold_upload_s": measured["cold_upload_s"],
        "upload_480x360_s": median(measured["upload_480x360_s"]),
        **{f"add_image_{n}_s": median(times) for n, times in measured["add_image_s"].items()},
        "upload_2048x1024_s": median(measured["upload_2048x1024_s"]),
        # CPU seconds per 480x360 upload: what the browser uses on the same 2 cores while the server works.
        "server_cpu_s_per_upload": median(measured["server_cpu_s"]),
        "browser_cpu_s_per_upload": median(measured["browser_cpu_s"]),
        "shown_model_ms_median": shown, "bare_model_ms": bare, "bare_keras_model_ms": bare_keras,
        "shown_over_bare": round(shown / bare_mean, 2) if shown else None,
        "shown_over_bare_keras": round(shown / statistics.mean(bare_keras.values()), 2) if shown else None,
        "raw": measured,
    }
    for key, value in result.items():
        if key != "raw":
            print(f"{key:>22}: {value}")
    with open(out, "w") as handle:
        json.dump(result, handle, indent=1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8], help="concurrent sessions per level")
    parser.add_argument("--speed", action="store_true", help="measure issue 13's speed goals instead")
    parser.add_argument("--repeats", type=int, default=3, help="--speed: rounds of uploads (fresh session each)")
    parser.add_argument("--out", default=None, help="JSON results (default benchmarks/results/load.json or "
                                                     "speed.json)")
    args = parser.parse_args()
    if args.speed:
        speed(args.out or "benchmarks/results/speed.json", args.repeats)
        return
    args.out = args.out or "benchmarks/results/load.json"
    if max(args.sessions) > 16:
        raise SystemExit("at most 16 sessions: this is a bounded loopback test")
    image = Path(tempfile.mkdtemp()) / "street.png"
    write_png(image, render_scene(1, (1024, 2048))[0])
    port = free_port()
    server = start_server(port)
    rows = []
    try:
        # The first session after start-up pays for loading both models into the server's cache.
        cold = asyncio.run(run_level(f"http://127.0.0.1:{port}", image, 1))
        rows.append({**cold, "sessions": "1 (cold: models load)", "server_peak_rss_mb": peak_rss_mb(server.pid)})
        print(rows[-1], flush=True)
        for sessions in args.sessions:
            row = asyncio.run(run_level(f"http://127.0.0.1:{port}", image, sessions))
            row["server_peak_rss_mb"] = peak_rss_mb(server.pid)
            rows.append(row)
            print(row, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    with open(args.out, "w") as handle:
        json.dump({"image": "2048x1024 PNG", "rows": rows}, handle, indent=1)


if __name__ == "__main__":
    main()
