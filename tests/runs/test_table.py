"""siamese/runs/table.py: the runs table, and deleting a run."""

from __future__ import annotations

import os
import shutil

import pytest

from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs.files import write_json
from siamese.decisions import save_threshold
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.table import delete_run, epoch_losses, next_step, run_problem, runs_table


def test_runs_table_has_final_figures(small_run):
    rows = runs_table(small_run.parent)
    assert len(rows) == 1
    row = rows[0]
    assert row["run"] == "r1" and row["status"] == "finished" and row["epochs"] == 2
    assert 0 <= row["val_eer"] <= 1 and row["val_auc"] > 0.5 and row["seconds"] > 0


def test_delete_refuses_a_training_run_and_non_runs(tmp_path):
    run = tmp_path / "runs" / "busy"
    run.mkdir(parents=True)
    TrainConfig().save(RunPaths(run).config)
    write_json(RunPaths(run).status, {"status": "running", "pid": os.getpid()})
    with pytest.raises(RunError, match="still training"):
        delete_run(run)
    with pytest.raises(RunError, match="not a run folder"):
        delete_run(tmp_path)
    write_json(RunPaths(run).status, {"status": "finished", "pid": os.getpid()})
    delete_run(run)
    assert not run.exists()


def test_a_run_that_cannot_be_deleted_gives_run_error(tmp_path, monkeypatch):
    run = tmp_path / "runs" / "kept"
    run.mkdir(parents=True)
    TrainConfig().save(RunPaths(run).config)

    def read_only(path, *args, **kwargs):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr("shutil.rmtree", read_only)
    with pytest.raises(RunError, match="cannot delete .*Read-only file system"):
        delete_run(run)
    assert RunPaths(run).config.is_file()


def test_run_problem_says_what_went_wrong_and_how_loudly(tmp_path):
    run = create_run(TrainConfig(), tmp_path / "runs")
    assert run_problem(run) is None
    write_json(RunPaths(run).status, {"status": "diverged", "message": "the loss became nan at step 3"})
    assert run_problem(run) == ("error", f"{run.name} diverged: the loss became nan at step 3")
    write_json(RunPaths(run).status, {"status": "running", "pid": 2 ** 22 + 5, "updated": 0})
    level, text = run_problem(run)
    assert level == "warning" and "interrupted" in text and "resume" in text


def test_epoch_losses_and_next_step_follow_the_run(small_run, tmp_path):
    epochs, losses = epoch_losses(small_run)
    assert epochs == [1, 2] and all(loss > 0 for loss in losses)
    assert next_step(None)[0] == "Train"
    fresh = create_run(TrainConfig(), tmp_path / "runs")
    assert next_step(fresh)[0] == "Train"
    copy = shutil.copytree(small_run, tmp_path / "copy")
    (copy / "threshold.json").unlink()
    assert next_step(copy)[0] == "Threshold"
    save_threshold(copy, 0.5, "test")
    assert next_step(copy)[0] == "Verify"
