"""Training in a separate process: the command rebuilds the config, the run is found while it trains,
progress is read from metrics.jsonl, and Stop ends it cleanly."""

from __future__ import annotations

import json
import os
import time

import pytest

from siamese import launch
from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs import RunPaths, append_metrics, write_json


def test_config_arguments_round_trip_through_the_cli_parser():
    from siamese.cli import build_parser

    config = TrainConfig(data="digits", epochs=3, augment=False, max_seconds=5.0, loss="contrastive", lr=0.01)
    args = build_parser().parse_args(["train", *launch.config_arguments(config)])
    values = {k: v for k, v in vars(args).items() if k in config.to_dict() and v is not None}
    assert TrainConfig.from_dict(values) == config


def fake_run(tmp_path, pid, status="running", steps=10, steps_total=40, max_seconds=None):
    run = tmp_path / "runs" / "fake"
    run.mkdir(parents=True)
    TrainConfig().save(RunPaths(run).config)
    write_json(RunPaths(run).status, {"status": status, "pid": pid, "epochs": 4, "max_seconds": max_seconds,
                                      "started": time.time()})
    for step in range(1, steps + 1):
        append_metrics(RunPaths(run).metrics, {"kind": "step", "epoch": 1 + step // 10, "step": step, "loss": 1 / step,
                                               "images_per_second": 100.0, "elapsed": step * 0.5,
                                               "steps_total": steps_total})
    append_metrics(RunPaths(run).metrics, {"kind": "epoch", "epoch": 1, "step": 10, "val_auc": 0.9, "val_eer": 0.1,
                                           "elapsed": 5.0})
    return run


def test_progress_of_a_running_run(tmp_path):
    run = fake_run(tmp_path, pid=__import__("os").getpid())
    progress = launch.read_progress(run)
    assert progress.status == "running" and progress.live
    assert progress.fraction == pytest.approx(0.25)
    assert progress.elapsed == pytest.approx(5.0)
    assert progress.remaining == pytest.approx(15.0)
    assert progress.images_per_second == pytest.approx(100.0)
    assert progress.losses[0] == 1.0 and len(progress.epochs) == 1
    assert launch.running_runs(tmp_path / "runs") == [run]


def test_time_budget_drives_the_fraction(tmp_path):
    run = fake_run(tmp_path, pid=__import__("os").getpid(), max_seconds=10.0)
    assert launch.read_progress(run).fraction == pytest.approx(0.5)


def test_a_run_whose_process_is_gone_is_not_running(tmp_path):
    run = fake_run(tmp_path, pid=2 ** 22 + 12345)
    assert launch.read_progress(run).status == "interrupted"
    assert launch.running_runs(tmp_path / "runs") == []


def test_long_loss_curves_are_thinned(tmp_path):
    run = fake_run(tmp_path, pid=None, status="finished", steps=500, steps_total=500)
    progress = launch.read_progress(run, max_points=100)
    assert len(progress.losses) <= 100 and progress.fraction == 1.0


def test_start_find_and_stop_a_real_training(tmp_path):
    config = TrainConfig(data="digits", input_size=16, embedding_dim=8, p=4, k=2, epochs=50, augment=False,
                         device="cpu")
    run = launch.start_training(config, tmp_path / "runs", tmp_path / "data", name="live")
    assert launch.running_runs(tmp_path / "runs") == [run]  # visible before it has written anything
    with pytest.raises(Exception, match="already exists"):
        launch.start_training(config, tmp_path / "runs", tmp_path / "data", name="live")
    deadline = time.time() + 60
    while time.time() < deadline and not launch.read_progress(run).steps:
        time.sleep(0.2)
    assert launch.read_progress(run).status == "running", launch.launch_log(run)
    launch.stop_training(run)
    while time.time() < deadline and launch.running_runs(tmp_path / "runs"):
        time.sleep(0.2)
    progress = launch.read_progress(run)
    assert progress.status == "stopped" and RunPaths(run).checkpoint.exists()
    assert json.loads(RunPaths(run).config.read_text())["epochs"] == 50


def test_a_launch_that_fails_reports_its_output(tmp_path):
    config = TrainConfig(data=str(tmp_path / "missing"), device="cpu")
    run = launch.start_training(config, tmp_path / "runs", tmp_path / "data")
    deadline = time.time() + 60
    while time.time() < deadline and launch.run_state(run)["status"] == "starting":
        time.sleep(0.2)
    state = launch.run_state(run)
    assert state["status"] == "failed" and "missing" in state["message"]


def test_a_name_is_claimed_the_moment_it_is_chosen(tmp_path, monkeypatch):
    """Two tabs pressing Start in the same second: the first name is taken by its launch record at once,
    before any process or run folder exists, so the second gets another."""
    monkeypatch.setattr(launch.time, "strftime", lambda fmt: "20261125-120000")
    (tmp_path / launch.LAUNCHES).mkdir()
    first, second = launch._reserve_name(tmp_path, None), launch._reserve_name(tmp_path, None)
    assert (first, second) == ("20261125-120000", "20261125-120000-1")
    assert json.loads((tmp_path / launch.LAUNCHES / f"{first}.json").read_text())["pid"] == os.getpid()
    assert launch.run_state(tmp_path / first)["status"] == "starting"
    with pytest.raises(RunError, match="already exists"):
        launch._reserve_name(tmp_path, first)


def test_a_training_whose_launch_cannot_be_recorded_is_stopped(tmp_path, monkeypatch):
    started = []
    real_popen = launch.subprocess.Popen
    monkeypatch.setattr(launch.subprocess, "Popen", lambda *a, **k: started.append(real_popen(*a, **k)) or started[-1])

    def full_disk(path, value):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(launch, "write_json", full_disk)
    with pytest.raises(RunError, match="No space left on device.*it was stopped"):
        launch.start_training(TrainConfig(epochs=50), tmp_path / "runs")
    assert started[0].wait(timeout=10) != 0  # killed, not left training unseen


def test_a_runs_folder_that_cannot_be_made_says_what_to_check(tmp_path):
    (tmp_path / "runs").write_text("a file where the folder should be")
    with pytest.raises(RunError, match="cannot start training in .*runs.*writable and the disk is not full"):
        launch.start_training(TrainConfig(), tmp_path / "runs")


def test_dashboard_training_leaves_one_core_to_the_dashboard(tmp_path, monkeypatch):
    assert [launch.training_threads(n) for n in (1, 2, 8)] == [1, 1, 7]
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.setattr(launch, "_children", {})
    seen = {}
    monkeypatch.setattr(launch.subprocess, "Popen", lambda command, env, **k: seen.update(env) or FakeProcess())
    launch.start_training(TrainConfig(), tmp_path / "runs")
    assert seen["OMP_NUM_THREADS"] == str(launch.training_threads())
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a user's own setting wins
    launch.start_training(TrainConfig(), tmp_path / "runs")
    assert seen["OMP_NUM_THREADS"] == "3"


class FakeProcess:
    pid = 2 ** 22 + 17  # above the usual pid_max, so no live process has it

    def poll(self) -> int:
        return 0
