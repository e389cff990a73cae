"""The dashboard's pages timed as a user meets them: a freshly started `streamlit run app.py` over a run's
folder and its data, driven in Chromium (Playwright), each page's first visit, a switch back to it once
everything has been seen, and a switch while a run trains.

A page is ready when its own content is on screen and Streamlit has finished running its script: what a
user waits for. Times are wall-clock seconds from the click on the sidebar link (or the address typed)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# What shows that each page is drawn: (sidebar label, URL path, a text or selector of its content).
PAGES = [("Overview", "", "text=The pipeline"), ("Data", "data", "text=Sample faces"),
         ("Train", "train", "text=Start training"),
         ("Embeddings", "embeddings", "[data-testid='stPlotlyChart'] .js-plotly-plot"),
         ("Threshold", "threshold", "text=Hardest mistakes at this threshold"),
         ("Verify", "verify", "text=Verify / identify"), ("Runs", "runs", "text=Manage")]

TITLES = {"Overview": "Siamese explorer"}


def available() -> str | None:
    """None when pages can be timed here, else why not."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-test.txt)"
    return None if CHROMIUM.exists() else f"{CHROMIUM} is absent (apt-get install -y chromium)"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _settled(page, timeout: float = 120.0) -> None:
    """Wait until Streamlit has finished running the page's script (no running indicator for 0.3 s)."""
    deadline, quiet = time.monotonic() + timeout, 0
    while time.monotonic() < deadline:
        busy = page.locator("[data-testid='stStatusWidget']").count() + page.locator("[data-testid='stSpinner']").count()
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
        page.wait_for_timeout(100)
    raise TimeoutError(f"the page was still running after {timeout:.0f} s")


def _ready(page, title: str, marker: str) -> None:
    """Wait for the page titled `title` to show `marker` and finish its script."""
    page.locator("h1", has_text=title).first.wait_for(state="visible", timeout=180_000)
    _settled(page)  # the elements left from the page before are gone once its script has run
    page.locator(marker).first.wait_for(state="visible", timeout=180_000)
    _settled(page)


def page_timings(run: Path, data_dir: Path, train_command: list[str] | None = None) -> list[dict]:
    """Seconds until each page is ready on a freshly started dashboard whose only run is `run`: 'first'
    (its first visit), 'warm' (a switch back to it once every page has been seen) and, with
    `train_command` (a training started meanwhile, on one core), 'training'."""
    from playwright.sync_api import sync_playwright

    rows = {label: {"page": label} for label, _, _ in PAGES}
    with tempfile.TemporaryDirectory() as workdir:
        runs = Path(workdir) / "runs"
        runs.mkdir()
        (runs / run.name).symlink_to(run.resolve())
        port = _free_port()
        env = {**os.environ, "SIAMESE_RUNS_DIR": str(runs), "SIAMESE_DATA_DIR": str(data_dir),
               "SIAMESE_GALLERY_DIR": str(Path(workdir) / "gallery"), "SIAMESE_FETCH_FACES": "0"}
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        trainer = None
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for_health(base, server)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM),
                                            args=["--no-sandbox", "--disable-background-networking"])
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                for label, path, marker in PAGES:  # each page's first visit, in the sidebar's order
                    start = time.monotonic()
                    if label == "Overview":
                        page.goto(f"{base}/{path}")
                    else:
                        page.get_by_role("link", name=label, exact=True).click()
                    _ready(page, TITLES.get(label, label), marker)
                    rows[label]["first"] = time.monotonic() - start
                for phase in ("warm",) + (("training",) if train_command else ()):
                    if phase == "training":
                        trainer = _start_training(train_command, runs, env)
                    for label, _, marker in PAGES[1:] + PAGES[:1]:
                        start = time.monotonic()
                        page.get_by_role("link", name=label, exact=True).click()
                        _ready(page, TITLES.get(label, label), marker)
                        rows[label][phase] = time.monotonic() - start
                browser.close()
        finally:
            if trainer is not None:
                trainer.terminate()
                trainer.wait(timeout=30)
            server.terminate()
            server.wait(timeout=10)
    return list(rows.values())


def _wait_for_health(base: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the dashboard did not start")


def _start_training(command: list[str], runs: Path, env: dict) -> subprocess.Popen:
    """A training in the background on one core fewer than the machine has, as the Train page starts it,
    waited for until it has taken its first step."""
    out = runs / "bench-training"
    trainer = subprocess.Popen([sys.executable, "-m", "siamese", *command, "--out", str(out), "--quiet"], cwd=ROOT,
                               env={**env, "OMP_NUM_THREADS": str(max(1, (os.cpu_count() or 2) - 1))},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and trainer.poll() is None:
        metrics = out / "metrics.jsonl"
        if metrics.is_file() and metrics.stat().st_size > 0:
            return trainer
        time.sleep(0.5)
    raise RuntimeError("the training started for the page timings never took a step")


if __name__ == "__main__":  # python -m bench.pages RUN DATA_DIR: a quick look, without the whole benchmark
    import json

    print(json.dumps(page_timings(Path(sys.argv[1]), Path(sys.argv[2]),
                                  sys.argv[3:] or None), indent=1))
