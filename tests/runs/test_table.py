"""siamese/runs/table.py: the runs table, and deleting a run."""

from __future__ import annotations

import os
import shutil

import pytest

from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths, create_run, save_threshold
from siamese.runs.table import (
    adaptations_of,
    adapted_to,
    delete_run,
    epoch_losses,
    lineage_text,
    next_step,
    run_lineage,
    run_problem,
    runs_table,
)


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
    RunPaths(copy).threshold.unlink()
    assert next_step(copy)[0] == "Threshold"
    save_threshold(copy, 0.5, "test")
    assert next_step(copy)[0] == "Verify"


def test_the_lineage_names_the_parent_its_weights_and_an_adaptation(small_run, tmp_path, make_identity_folders):
    from siamese.gallery.adapt import create_adaptation

    runs = tmp_path / "runs"
    own = create_run(TrainConfig(), runs, "scratch")
    child = create_run(TrainConfig(init_from=str(small_run)), runs, "child")
    snapshot = create_run(TrainConfig(init_from=str(small_run / "snapshots" / "epoch-0001.pt")), runs, "early")
    make_identity_folders(tmp_path / "gallery" / "identities", n_identities=2, n_images=2, names=["ann", "bob"])
    adapted = create_adaptation(small_run, tmp_path / "gallery", runs, max_seconds=5)
    assert run_lineage(own) is None and lineage_text(None) == "new weights"
    assert run_lineage(child) == {"parent": "r1", "parent_dir": small_run, "weights": "checkpoint", "exists": True,
                                  "adapted_to": []}
    assert lineage_text(run_lineage(snapshot)) == "r1 (epoch-0001.pt)"
    assert lineage_text(run_lineage(adapted)) == "r1, adapted to 2 enrolled people"
    rows = {row["run"]: row for row in runs_table(runs)}
    assert rows["child"]["started_from"] == "r1" and rows["scratch"]["started_from"] == "new weights"
    assert rows[adapted.name]["started_from"] == "r1, adapted to 2 enrolled people"
    assert rows["child"]["model"] == "compact" and "val_auc" in rows["child"]  # the other columns stay
    assert adaptations_of(small_run, runs) == [adapted] and adaptations_of(child, runs) == []
    assert adapted_to(adapted) == ["ann", "bob"] and adapted_to(child) == []
    RunPaths(adapted).config.write_text("{")  # unreadable: no adaptation to speak of, and no crash
    assert adapted_to(adapted) == [] and adaptations_of(small_run, runs) == []


def test_a_deleted_parent_is_named_as_deleted(tmp_path):
    gone = tmp_path / "runs" / "gone"
    child = create_run(TrainConfig(init_from=str(gone)), tmp_path / "runs", "child")
    assert lineage_text(run_lineage(child)) == "gone (deleted)"
