"""Concurrent users on Side by Side: N browser sessions (one Playwright context each) open the page at once
and each uploads an image; every session must get both models' results and no error text. Records p50/p95
upload-to-result and the server's peak memory (VmHWM). Loopback only; bounded in count and time.

    .venv/bin/python benchmarks/load_test.py --sessions 1 4 8 [--out benchmarks/results/load.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
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
         "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none"],
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--out", default="benchmarks/results/load.json")
    args = parser.parse_args()
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
