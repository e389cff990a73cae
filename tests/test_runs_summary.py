"""The functions the dashboard added to runs.py and trained.py: runs table, snapshots, fingerprints,
deleting a run, and a run's ROC curve."""

from __future__ import annotations

import os
import time

import pytest

from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs import (delete_run, file_fingerprint, list_runs, list_snapshots, new_run_dir, runs_table,
                          write_json, RunPaths)
from siamese.train import train
from siamese.trained import run_roc


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    import importlib.util
    from pathlib import Path
    spec = importlib.util.spec_from_file_location("c", Path(__file__).parent / "conftest.py")
    shared = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shared)
    root = tmp_path_factory.mktemp("runs_summary")
    for identity in range(8):
        (root / "faces" / f"p{identity}").mkdir(parents=True)
        for index in range(4):
            shared.identity_image(identity, index, 32).save(root / "faces" / f"p{identity}" / f"{index}.png")
    config = TrainConfig(data=str(root / "faces"), input_size=32, embedding_dim=8, p=4, k=2, epochs=2,
                         augment=False, val_fraction=0.5, device="cpu")
    run = new_run_dir(root / "runs", "r1")
    train(config, run, data_dir=root / "data")
    return run


def test_runs_table_has_final_figures(trained_run):
    rows = runs_table(trained_run.parent)
    assert len(rows) == 1
    row = rows[0]
    assert row["run"] == "r1" and row["status"] == "finished" and row["epochs"] == 2
    assert 0 <= row["val_eer"] <= 1 and row["val_auc"] > 0.5 and row["seconds"] > 0


def test_snapshots_listed_by_epoch(trained_run):
    assert [epoch for epoch, _ in list_snapshots(trained_run)] == [1, 2]


def test_fingerprint_changes_when_the_file_changes(tmp_path):
    path = tmp_path / "f"
    assert file_fingerprint(path) == ""
    path.write_text("a")
    first = file_fingerprint(path)
    time.sleep(0.01)
    path.write_text("bb")
    assert file_fingerprint(path) != first


def test_run_roc(trained_run):
    curve = run_roc(trained_run, data_dir=trained_run.parent.parent / "data")
    assert curve["far"][0] == 0 and curve["far"][-1] == 1 and 0.5 < curve["auc"] <= 1
    assert len(curve["far"]) == len(curve["tar"]) <= 400


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


def test_projector_files_that_cannot_be_written_give_run_error(trained_run, tmp_path):
    from siamese.trained import embed_run, write_projector_files

    embeddings, data = embed_run(trained_run, data_dir=trained_run.parent.parent / "data")
    blocker = tmp_path / "projector"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RunError, match="cannot write the projector files"):
        write_projector_files(blocker, embeddings, data)


def test_list_runs_survives_a_run_deleted_while_listing(tmp_path, monkeypatch):
    import pathlib

    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        TrainConfig().save(RunPaths(tmp_path / name).config)
    real_stat = pathlib.Path.stat

    def vanished(self, *args, **kwargs):
        if self == tmp_path / "a":
            raise FileNotFoundError(2, "No such file or directory", str(self))
        return real_stat(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "stat", vanished)
    assert [p.name for p in list_runs(tmp_path)] == ["b", "a"]


def test_a_checkpoint_of_another_model_is_refused_with_run_error(trained_run, tmp_path):
    import shutil

    from siamese.models import build_model
    from siamese.runs import run_config, save_torch
    from siamese.trained import load_trained

    other = shutil.copytree(trained_run, tmp_path / "other")
    stranger = build_model(TrainConfig.from_dict({**run_config(other).to_dict(), "embedding_dim": 4}))
    save_torch(RunPaths(other).checkpoint, {"model": stranger.state_dict()})
    with pytest.raises(RunError, match="does not match the run's configuration"):
        load_trained(other, device="cpu")
