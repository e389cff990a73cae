"""siamese/search/workers.py: two processes (one started from the command line, as a second machine would)
share one study, in SQLite and in a real PostgreSQL server; a worker killed mid-trial has its trial marked
failed and the study goes on; a search started from the dashboard is found by its study and stopped as a
whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from siamese.errors import SearchError
from siamese.runs.launch import PROJECT_ROOT
from siamese.runs.status import read_status
from siamese.search.objective import TRIAL_FILE
from siamese.search.space import parse_dimension
from siamese.search.study import Plan, open_study, storage_url
from siamese.search.workers import launch_search, run_search, search_live, shares, stop_search, worker_env

from .conftest import wait_until


def cli(*args: str, data_dir: Path) -> subprocess.Popen:
    """`python -m siamese search ...` in a process of its own, as another machine would run it."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "siamese", "--data-dir", str(data_dir), "search", *args],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def plan_of(config):
    return Plan(config, {"lr": parse_dimension("lr=log:0.001:0.01"), "margin": parse_dimension("margin=float:0.1:0.5")},
                pruner="none")


def shared_by_two_processes(url: str, tmp_path: Path, tiny) -> optuna.Study:
    """A study made here, joined by a command-line worker with --storage and --study alone; both run 2
    trials at the same time."""
    open_study("shared", url, plan_of(tiny()))
    other = cli("--storage", url, "--study", "shared", "--trials", "2", "--out", str(tmp_path / "other-runs"),
                data_dir=tmp_path / "data")
    study = run_search("shared", url, trials=2, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")
    out, err = other.communicate(timeout=300)
    assert other.returncode == 0, err
    lines = out.splitlines()
    assert len([line for line in lines if line.startswith("trial ")]) == 2 and lines[-2].startswith("best: trial")
    assert json.loads(lines[-1])["study"] == "shared"
    return study


def check_shared(study: optuna.Study) -> None:
    trials = study.get_trials()
    runs = [Path(t.user_attrs["run"]) for t in trials]
    assert sorted(t.number for t in trials) == [0, 1, 2, 3]
    assert all(t.state == optuna.trial.TrialState.COMPLETE and 0.5 < t.value <= 1 for t in trials)
    assert len({r.parent for r in runs}) == 2 and len(set(runs)) == 4  # each process's runs in its own folder
    assert [json.loads((r / TRIAL_FILE).read_text())["trial"] for r in runs] == [t.number for t in trials]


def test_two_processes_share_one_study_in_sqlite(tmp_path, tiny):
    check_shared(shared_by_two_processes(storage_url(None, tmp_path / "runs"), tmp_path, tiny))


def test_two_processes_share_one_study_in_a_real_postgresql_server(postgres_url, tmp_path, tiny):
    study = shared_by_two_processes(postgres_url, tmp_path, tiny)
    check_shared(study)
    optuna.delete_study(study_name="shared", storage=postgres_url)


def test_a_worker_killed_mid_trial_has_its_trial_failed_and_the_study_goes_on(tmp_path, tiny):
    url = storage_url(None, tmp_path / "runs")
    open_study("k", url, plan_of(tiny(epochs=100_000, max_seconds=8)))  # a trial ends on its time budget
    worker = cli("--storage", url, "--study", "k", "--trials", "1", "--out", str(tmp_path / "runs"),
                 data_dir=tmp_path / "data")
    study = optuna.load_study(study_name="k", storage=url)
    wait_until(lambda: study.get_trials() and "run" in study.get_trials()[0].user_attrs and
               read_status(Path(study.get_trials()[0].user_attrs["run"])).get("status") == "running",
               what="the worker's first trial running")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    run = Path(study.get_trials()[0].user_attrs["run"])
    assert read_status(run)["status"] == "interrupted"
    # The next worker marks it failed as it starts; the study goes on with trial 1.
    study = run_search("k", url, trials=1, runs_dir=tmp_path / "runs", data_dir=tmp_path / "data")
    assert [t.state for t in study.get_trials()] == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]


def test_a_search_started_from_the_dashboard_is_found_by_its_study_and_stopped_as_a_whole(tmp_path, tiny):
    url = storage_url(None, tmp_path / "runs")
    plan = plan_of(tiny(epochs=100_000))
    launch_search("dash", url, plan, 5, None, 1, tmp_path / "runs", tmp_path / "data")
    study = optuna.load_study(study_name="dash", storage=url)
    assert search_live(study)
    with pytest.raises(SearchError, match="study 'dash' is running already"):
        launch_search("dash", url, plan, 5, None, 1, tmp_path / "other", tmp_path / "data")
    wait_until(lambda: any(read_status(Path(t.user_attrs["run"])).get("status") == "running"
                           for t in study.get_trials() if "run" in t.user_attrs), what="a trial running")
    stop_search(study)
    wait_until(lambda: not search_live(study), what="the search's end")
    trials = study.get_trials()
    assert len(trials) == 1 and trials[0].state == optuna.trial.TrialState.PRUNED
    assert read_status(Path(trials[0].user_attrs["run"]))["status"] == "stopped"


def test_workers_share_the_trials_and_the_cores():
    assert shares(16, 3) == [6, 5, 5] and shares(None, 2) == [None, None]
    assert worker_env(0, 2, cores=2)["OMP_NUM_THREADS"] == "1" and worker_env(1, 2, cores=8)["OMP_NUM_THREADS"] == "4"
    assert worker_env(3, 4, cores=8, gpus=2)["CUDA_VISIBLE_DEVICES"] == "1"
