"""siamese/runs/folder.py: fresh run folders named in one place, listing."""

from __future__ import annotations

import json
import os
import threading

import pytest

from siamese.config import TrainConfig
from siamese.errors import RunError
from siamese.runs import folder
from siamese.runs.folder import (
    RunPaths,
    create_run,
    list_runs,
    list_snapshots,
    new_run_dir,
    run_config,
)
from siamese.runs.status import read_status


def test_new_run_dir_never_reuses_a_folder(tmp_path):
    first = new_run_dir(tmp_path / "runs")
    second = new_run_dir(tmp_path / "runs")
    assert first != second
    assert first.is_dir() and second.is_dir()
    assert first.parent == second.parent == tmp_path / "runs"


def test_new_run_dir_with_an_existing_name_raises(tmp_path):
    made = new_run_dir(tmp_path, "orl")
    assert made == tmp_path / "orl"
    (made / "config.json").write_text("{}")
    with pytest.raises(RunError, match="already exists"):
        new_run_dir(tmp_path, "orl")
    assert (made / "config.json").read_text() == "{}"


@pytest.mark.parametrize("name", ["../escape", "a/b", ".hidden", "x" * 101, "with space"])
def test_new_run_dir_refuses_unsafe_names(tmp_path, name):
    with pytest.raises(RunError, match="run name"):
        new_run_dir(tmp_path / "runs", name)
    assert list((tmp_path / "runs").iterdir()) == []


def test_run_dir_that_cannot_be_created_gives_run_error(tmp_path):
    blocker = tmp_path / "runs"
    blocker.write_text("a file where the runs folder should be")
    with pytest.raises(RunError, match="cannot create"):
        new_run_dir(blocker)


def test_list_runs_newest_first(tmp_path):
    for name, mtime in (("old", 1_000_000), ("newest", 3_000_000), ("middle", 2_000_000)):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text("{}")
        os.utime(folder, (mtime, mtime))
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / "stray.txt").write_text("")
    assert [p.name for p in list_runs(tmp_path)] == ["newest", "middle", "old"]
    assert list_runs(tmp_path / "absent") == []


def test_run_config_of_a_folder_that_is_not_a_run(tmp_path):
    with pytest.raises(RunError, match="not a run folder"):
        folder.run_config(tmp_path)


def test_snapshots_listed_by_epoch(small_run):
    assert [epoch for epoch, _ in list_snapshots(small_run)] == [1, 2]


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


def test_trainings_started_at_the_same_moment_get_separate_run_folders(tmp_path):
    folders, barrier = [], threading.Barrier(8)

    def start():
        barrier.wait()
        folders.append(new_run_dir(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(folders)) == 8


def test_create_run_writes_the_configuration_the_trainer_reads(tmp_path):
    config = TrainConfig(loss="contrastive", margin=0.7, lr=0.01)
    run = create_run(config, tmp_path / "runs", "x")
    assert run_config(run) == config and read_status(run)["status"] == "new"


def test_training_identities_are_the_splits_training_side(tmp_path):
    (tmp_path / "split.json").write_text(json.dumps({"train": ["ann", "bob", "ann"], "validation": ["cy"]}))
    assert folder.training_identities(tmp_path) == {"ann", "bob"}
