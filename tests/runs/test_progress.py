"""siamese/runs/progress.py: what a live view shows, read from the run folder alone."""

from __future__ import annotations

import os
import time

import pytest

from siamese.config import TrainConfig
from siamese.runs.files import append_metrics, write_json
from siamese.runs.folder import RunPaths
from siamese.runs.progress import clock, read_progress
from siamese.runs.status import running_runs


def fake_run(tmp_path, pid, status="running", steps=10, steps_total=40, max_seconds=None):
    run = tmp_path / "runs" / "fake"
    run.mkdir(parents=True)
    TrainConfig().save(RunPaths(run).config)
    write_json(RunPaths(run).status, {"status": status, "pid": pid, "epochs": 4, "max_seconds": max_seconds,
                                      "started": time.time(), "updated": time.time()})
    for step in range(1, steps + 1):
        append_metrics(RunPaths(run).metrics, {"kind": "step", "epoch": 1 + step // 10, "step": step, "loss": 1 / step,
                                               "images_per_second": 100.0, "elapsed": step * 0.5,
                                               "steps_total": steps_total})
    append_metrics(RunPaths(run).metrics, {"kind": "epoch", "epoch": 1, "step": 10, "val_auc": 0.9, "val_eer": 0.1,
                                           "elapsed": 5.0})
    return run


def test_progress_of_a_running_run(tmp_path):
    run = fake_run(tmp_path, pid=os.getpid())
    progress = read_progress(run)
    assert progress.status == "running" and progress.live
    assert progress.fraction == pytest.approx(0.25)
    assert progress.elapsed == pytest.approx(5.0)
    assert progress.remaining == pytest.approx(15.0)
    assert progress.images_per_second == pytest.approx(100.0)
    assert progress.losses[0] == 1.0 and len(progress.epochs) == 1
    assert running_runs(tmp_path / "runs") == [run]


def test_time_budget_drives_the_fraction(tmp_path):
    run = fake_run(tmp_path, pid=os.getpid(), max_seconds=10.0)
    assert read_progress(run).fraction == pytest.approx(0.5)


def test_a_run_whose_process_is_gone_is_not_running(tmp_path):
    run = fake_run(tmp_path, pid=2 ** 22 + 12345)
    assert read_progress(run).status == "interrupted"
    assert running_runs(tmp_path / "runs") == []


def test_long_loss_curves_are_thinned(tmp_path):
    run = fake_run(tmp_path, pid=None, status="finished", steps=500, steps_total=500)
    progress = read_progress(run, max_points=100)
    assert len(progress.losses) <= 100 and progress.fraction == 1.0


@pytest.mark.parametrize("seconds,shown", [(None, "--:--"), (float("nan"), "--:--"), (0, "00:00"), (75.9, "01:15"),
                                           (3725, "1:02:05")])
def test_clock(seconds, shown):
    assert clock(seconds) == shown
