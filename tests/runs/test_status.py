"""siamese/runs/status.py: the one status reader tells a live run from one whose process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from siamese.runs.files import (
    write_json,
)
from siamese.runs.status import read_status


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_read_status_reports_a_dead_running_process_as_interrupted(tmp_path):
    write_json(tmp_path / "status.json", {"status": "running", "message": "training", "pid": dead_pid()})
    status = read_status(tmp_path)
    assert status["status"] == "interrupted"
    assert "resume" in status["message"]

    write_json(tmp_path / "status.json", {"status": "running", "message": "training", "pid": os.getpid()})
    assert read_status(tmp_path)["status"] == "running"

    write_json(tmp_path / "status.json", {"status": "finished", "message": "done", "pid": dead_pid()})
    assert read_status(tmp_path)["status"] == "finished"


def test_a_running_status_whose_process_id_was_reused_is_interrupted(tmp_path):
    # After a reboot, the id in status.json may belong to some other, newer process.
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        write_json(tmp_path / "status.json", {"status": "running", "pid": newer.pid, "updated": time.time() - 600})
        assert read_status(tmp_path)["status"] == "interrupted"
        write_json(tmp_path / "status.json", {"status": "running", "pid": os.getpid(), "updated": time.time()})
        assert read_status(tmp_path)["status"] == "running"
    finally:
        newer.kill()
        newer.wait()


def test_read_status_of_a_new_or_corrupt_run(tmp_path):
    assert read_status(tmp_path) == {"status": "new"}
    (tmp_path / "status.json").write_text('{"status": "runn')
    status = read_status(tmp_path)
    assert status["status"] == "unknown" and "corrupt" in status["message"]
