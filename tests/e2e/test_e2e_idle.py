"""The dashboard never watches its own data: started with the project's configuration from a folder whose
data/ holds tens of thousands of files, a page opened and closed, and then a face preparation writing
tens of thousands more, the server stays idle. (Streamlit's default watcher follows the app's folder
recursively: with LFW's face cache being written it overflowed inotify's queue and, on one machine, spun
a core for as long as the server ran.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS, FILES = 2000, 10


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_files(root: Path, prefix: str) -> None:
    for folder in range(FOLDERS):
        (root / f"{prefix}{folder:04d}").mkdir(parents=True)
        for index in range(FILES):
            (root / f"{prefix}{folder:04d}" / f"{index}.png").write_bytes(b"")


def test_the_server_stays_idle_while_its_data_folder_fills(tmp_path, launch_browser, ui):
    app = tmp_path / "app"
    app.mkdir()
    for name in ("app.py", ".streamlit"):
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, app / name)
    for name in ("pages", "ui"):
        shutil.copytree(ROOT / name, app / name, ignore=shutil.ignore_patterns("__pycache__"))
    write_files(app / "data" / "people", "person_")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SIAMESE_RUNS_DIR": str(tmp_path / "runs"),
           "SIAMESE_GALLERY_DIR": str(tmp_path / "gallery")}
    env.pop("SIAMESE_DATA_DIR", None)  # the app's own data/, inside the folder a watcher would follow
    log = open(tmp_path / "streamlit.log", "wb")
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                              cwd=app, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2):
                    break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "streamlit.log").read_text()
                time.sleep(0.2)
        context = launch_browser(None).new_context()
        page = context.new_page()
        page.goto(f"{base}/data")
        page.wait_for_selector("h1")
        ui.settle(page)
        deadline = time.monotonic() + 180  # UMAP compiles in the background once per server: let it finish
        while page.get_by_text("UMAP is warming up").count() and time.monotonic() < deadline:
            page.wait_for_timeout(1000)
            page.reload()
            page.wait_for_selector("h1")
            ui.settle(page)
        context.close()
        before = cpu_seconds(server.pid)
        write_files(app / "data" / ".faces" / "people-0123", "person_")  # what a preparation writes
        time.sleep(3)
        used = cpu_seconds(server.pid) - before
        assert used < 1.0, f"the server used {used:.1f} s of CPU while {FOLDERS * FILES:,} files were written " \
                           f"into its data folder and no page was open: {(tmp_path / 'streamlit.log').read_text()[-800:]}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
