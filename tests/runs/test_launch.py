"""siamese/runs/launch.py: a training process started from a run folder that holds its configuration; the
run is found while it starts and trains, a failed start says why, and Stop ends it cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs import folder, launch
from siamese.runs.files import tail
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.progress import read_progress
from siamese.runs.status import read_status, running_runs

TINY = dict(data="digits", input_size=16, embedding_dim=8, p=4, k=2, augment=False, device="cpu")


def wait_until(condition, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.2)


def test_the_process_is_given_the_run_folder_and_nothing_of_the_configuration(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(launch.subprocess, "Popen", lambda command, **k: seen.append(command) or FakeProcess())
    run = launch.launch(TrainConfig(**TINY, margin=0.5, lr=0.01), tmp_path / "runs", tmp_path / "data")
    assert seen[0][-2:] == ["--run", str(run)]
    assert not any(arg.startswith(("--margin", "--lr", "--input-size")) for arg in seen[0])
    assert json.loads(RunPaths(run).config.read_text())["margin"] == 0.5


def test_the_margin_reaches_the_loss_through_config_json(tmp_path, monkeypatch):
    """`train --run DIR`, what the dashboard starts, builds the loss from the run's config.json."""
    from siamese.cli import main
    from siamese.train import loop

    built = []
    real_build_loss = loop.build_loss
    monkeypatch.setattr(loop, "build_loss", lambda config, n=0: built.append(real_build_loss(config, n)) or built[-1])
    run = create_run(TrainConfig(**TINY, loss="contrastive", margin=0.7, epochs=1), tmp_path / "runs")
    assert main(["--data-dir", str(tmp_path / "data"), "train", "--quiet", "--run", str(run)]) == 0
    assert [loss.margin for loss in built] == [0.7]
    assert read_status(run)["status"] == "finished"


def test_start_find_and_stop_a_real_training(tmp_path):
    run = launch.launch(TrainConfig(**TINY, epochs=50), tmp_path / "runs", tmp_path / "data", name="live")
    assert running_runs(tmp_path / "runs") == [run]  # visible while it is still loading its data
    assert read_status(run)["status"] in ("starting", "running")
    with pytest.raises(RunError, match="already exists"):
        launch.launch(TrainConfig(**TINY), tmp_path / "runs", tmp_path / "data", name="live")
    wait_until(lambda: read_progress(run).steps)
    assert read_progress(run).status == "running", tail(RunPaths(run).log)
    launch.stop_training(run)
    wait_until(lambda: not running_runs(tmp_path / "runs"))
    progress = read_progress(run)
    assert progress.status == "stopped" and RunPaths(run).checkpoint.exists()
    assert json.loads(RunPaths(run).config.read_text())["epochs"] == 50


def test_a_launch_that_fails_reports_its_output(tmp_path):
    run = launch.launch(TrainConfig(data=str(tmp_path / "missing"), device="cpu"), tmp_path / "runs",
                        tmp_path / "data")
    wait_until(lambda: read_status(run)["status"] != "starting")
    state = read_status(run)
    assert state["status"] == "failed" and "missing" in state["message"]
    assert "missing" in tail(RunPaths(run).log)


SLOW_START = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from siamese.train import loop
    def slow(*args, **kwargs):
        Path(sys.argv[2]).touch()
        time.sleep(60)
    loop.prepare_data = slow
    from siamese.cli import main
    sys.exit(main(["train", "--quiet", "--run", sys.argv[1]]))
""")


def test_stop_while_the_data_loads_ends_the_process_with_a_status(tmp_path):
    run = create_run(TrainConfig(**TINY), tmp_path / "runs")
    loading = tmp_path / "loading"
    process = subprocess.Popen([sys.executable, "-c", SLOW_START, str(run), str(loading)])
    try:
        launch.write_status(run, "starting", "loading the dataset", pid=process.pid)
        wait_until(loading.exists)
        launch.stop_training(run)
        assert process.wait(timeout=30) != 0
    finally:
        process.kill()
    status = read_status(run)
    assert status["status"] == "stopped" and "before training began" in status["message"]


def test_runs_made_in_the_same_second_get_two_names(tmp_path, monkeypatch):
    """Two tabs pressing Start in the same second: the first name is claimed when its folder is made,
    before any process exists, so the second gets another."""
    monkeypatch.setattr(folder.time, "strftime", lambda fmt: "20261125-120000")
    first, second = create_run(TrainConfig(), tmp_path), create_run(TrainConfig(), tmp_path)
    assert (first.name, second.name) == ("20261125-120000", "20261125-120000-1")
    assert read_status(first)["status"] == "new" and RunPaths(first).config.is_file()
    with pytest.raises(RunError, match="already exists"):
        create_run(TrainConfig(), tmp_path, first.name)


def test_a_training_whose_launch_cannot_be_recorded_is_stopped(tmp_path, monkeypatch):
    started = []
    real_popen = launch.subprocess.Popen
    monkeypatch.setattr(launch.subprocess, "Popen", lambda *a, **k: started.append(real_popen(*a, **k)) or started[-1])
    real_write_status = launch.write_status

    def full_disk_once_started(run_dir, status, message, **fields):
        if "pid" in fields:
            raise RunError("cannot write status.json: No space left on device")
        real_write_status(run_dir, status, message, **fields)

    monkeypatch.setattr(launch, "write_status", full_disk_once_started)
    with pytest.raises(RunError, match="No space left on device.*it was stopped"):
        launch.launch(TrainConfig(**TINY, epochs=50), tmp_path / "runs")
    assert started[0].wait(timeout=10) != 0  # killed, not left training unseen


def test_a_runs_folder_that_cannot_be_made_says_what_to_check(tmp_path):
    (tmp_path / "runs").write_text("a file where the folder should be")
    with pytest.raises(RunError, match="cannot create .*runs.*writable and the disk is not full"):
        launch.launch(TrainConfig(), tmp_path / "runs")


def test_dashboard_training_leaves_one_core_to_the_dashboard(tmp_path, monkeypatch):
    assert [launch.training_threads(n) for n in (1, 2, 8)] == [1, 1, 7]
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    seen = {}
    monkeypatch.setattr(launch.subprocess, "Popen", lambda command, env, **k: seen.update(env) or FakeProcess())
    launch.launch(TrainConfig(), tmp_path / "runs")
    assert seen["OMP_NUM_THREADS"] == str(launch.training_threads())
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting wins
    launch.launch(TrainConfig(), tmp_path / "runs")
    assert seen["OMP_NUM_THREADS"] == "3"


class FakeProcess:
    pid = 2 ** 22 + 17  # above the usual pid_max, so no live process has it

    def wait(self) -> int:
        return 0

    def kill(self) -> None:
        pass


def test_a_starting_run_whose_process_died_is_failed_with_its_output(tmp_path):
    run = create_run(TrainConfig(), tmp_path / "runs")
    RunPaths(run).log.write_text("Traceback ...\nerror: no dataset 'nowhere'\n")
    launch.write_status(run, "starting", "loading the dataset", pid=FakeProcess.pid)
    status = read_status(run)
    assert status["status"] == "failed" and "no dataset 'nowhere'" in status["message"]


def test_a_starting_status_without_a_process_expires(tmp_path, monkeypatch):
    run = create_run(TrainConfig(), tmp_path / "runs")
    launch.write_status(run, "starting", "starting the training process")
    assert read_status(run)["status"] == "starting"
    monkeypatch.setattr("siamese.runs.status.time.time", lambda: os.path.getmtime(RunPaths(run).status) + 3600)
    assert read_status(run)["status"] == "failed"


def test_stop_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(RunError, match="not a run folder"):
        launch.stop_training(tmp_path / "nothing")


@pytest.mark.parametrize("status, checkpoint, expected", [
    ("stopped", True, True), ("interrupted", True, True), ("finished", True, True),
    ("stopped", False, False), ("running", True, False), ("queued", True, False), ("failed", True, False)])
def test_a_run_is_resumable_when_it_has_ended_and_has_a_checkpoint(tmp_path, monkeypatch, status, checkpoint,
                                                                    expected):
    run = create_run(TrainConfig(**TINY), tmp_path / "runs")
    monkeypatch.setattr(launch, "read_status", lambda run_dir: {"status": status})
    if checkpoint:
        RunPaths(run).checkpoint.write_bytes(b"")
    assert launch.resumable(run) is expected
