"""siamese/search/sweep.py: a field tried at a few values is a grid study over that field, every run to its
end, stoppable as a whole, compared by its final figures; values the configuration refuses are named. Old
sweep records (siamese/runs/sweep.py) still list their runs."""

from __future__ import annotations

import os
import time
from pathlib import Path

import optuna
import pytest

from siamese.config import TrainConfig
from siamese.errors import ConfigError, RunError
from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.status import read_status
from siamese.runs.sweep import UNSUPPORTED, list_sweeps, sweep_table
from siamese.search.results import trial_rows
from siamese.search.study import storage_url
from siamese.search.sweep import plan_sweep
from siamese.search.workers import launch_search, run_search, search_live, stop_search

from .conftest import TINY, wait_until


def test_a_plan_is_a_grid_over_one_field_at_its_values():
    plan = plan_sweep(TrainConfig(**TINY), "margin", ["0.1", " 0.2", "0.5", ""])
    assert (plan.sampler, plan.pruner) == ("grid", "none") and plan.space["margin"].choices == (0.1, 0.2, 0.5)
    assert plan.base.lr == TrainConfig().lr


@pytest.mark.parametrize("field, values, message", [
    ("margin", ["0.1", "-1"], "the choice -1.0 is refused: margin: must be zero or positive"),
    ("lr", ["fast", "0.1"], "the choice 'fast' is refused: lr: 'fast' is not a valid float"),
    ("model", ["compact", "vgg"], "the choice 'vgg' is refused"),
    ("margin", ["0.1"], "give between 2 and 12 values of margin, not 1"),
    ("margin", ["0.1", "0.10"], "the choices repeat"),
    ("data", ["a", "b"], "data cannot be searched"),
])
def test_values_the_configuration_refuses_are_named_with_the_reason(field, values, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_sweep(TrainConfig(**TINY), field, values)


def test_values_typed_as_text_are_split_on_commas_and_semicolons():
    assert plan_sweep(TrainConfig(**TINY), "margin", "0.1, 0.2; 0.5 ,").space["margin"].choices == (0.1, 0.2, 0.5)


def test_a_sweep_trains_a_run_per_value_to_its_end_and_compares_them(tmp_path, tiny):
    plan = plan_sweep(tiny(loss="contrastive", epochs=2), "margin", ["0.5", "1.0", "1.5"])
    url = storage_url(None, tmp_path / "runs")
    study = run_search("sweep-margin", url, plan, trials=3, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")
    rows = sorted(trial_rows(study, plan), key=lambda row: row["margin"])
    assert [row["margin"] for row in rows] == [0.5, 1.0, 1.5]  # each value once: a grid
    assert all(row["state"] == "complete" and 0 <= row["val_auc"] <= 1 and row["epochs"] == 2 for row in rows)
    assert all(read_status(tmp_path / "runs" / row["run"])["status"] == "finished" for row in rows)


def test_a_sweep_stopped_as_a_whole_starts_nothing_more(tmp_path, tiny):
    plan = plan_sweep(tiny(epochs=100_000), "lr", ["0.001", "0.002", "0.003"])
    url = storage_url(None, tmp_path / "runs")
    launch_search("sweep-lr", url, plan, 3, None, 1, tmp_path / "runs", tmp_path / "data")
    study = optuna.load_study(study_name="sweep-lr", storage=url)
    wait_until(lambda: any(read_status(Path(t.user_attrs["run"])).get("status") == "running"
                           for t in study.get_trials() if "run" in t.user_attrs), what="the first run training")
    with pytest.raises(RunError, match="a run is in progress"):
        launch_search("sweep-lr2", url, plan, 3, None, 1, tmp_path / "runs", tmp_path / "data")
    stop_search(study)
    wait_until(lambda: not search_live(study), 60, what="the sweep's end")
    first, = study.get_trials()
    assert read_status(Path(first.user_attrs["run"]))["status"] == "stopped"
    assert RunPaths(Path(first.user_attrs["run"])).checkpoint.exists()


def test_an_old_sweep_record_still_lists_its_runs_and_says_it_is_no_longer_run(tmp_path):
    runs = [create_run(TrainConfig(**TINY, margin=m), tmp_path / "runs", f"old-{k}") for k, m in enumerate((0.1, 0.2))]
    write_json(tmp_path / "runs" / "old.sweep.json", {"field": "margin", "values": [0.1, 0.2],
                                                       "runs": [r.name for r in runs], "pid": 1})
    old, = list_sweeps(tmp_path / "runs")
    assert [row["margin"] for row in sweep_table(old)] == [0.1, 0.2] and "no longer run" in UNSUPPORTED


def test_a_queued_run_whose_sweep_died_reads_as_cancelled(tmp_path):
    run = create_run(TrainConfig(**TINY), tmp_path / "runs")
    write_json(RunPaths(run).status, {"status": "queued", "pid": 2 ** 22 + 99, "updated": time.time()})
    assert read_status(run)["status"] == "cancelled"
    write_json(RunPaths(run).status, {"status": "queued", "pid": os.getpid(), "updated": time.time()})
    assert read_status(run)["status"] == "queued"
