"""The search on the Train page (ui/search.py): its form is filled from the dataset's default space and kept
in the link; a bad range is named and nothing starts; a running study shows its trials and can be stopped;
a finished one is browsed from the Runs page, with its best, its figures and "train the best for longer"."""

from __future__ import annotations

import os
import socket
import time

import optuna
import pytest

from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths
from siamese.search.space import default_space, space_from_text
from siamese.search.study import Plan, open_study, storage_url
from siamese.search.workers import run_search

from streamlit.testing.v1 import AppTest
from ui.page import page_file

from .conftest import ROOT, tiny_config


def button(at, start: str):
    return next(b for b in at.button if b.label.startswith(start))


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def search_mode(at):
    return at.radio(key="start_mode").set_value("A search of several fields").run()


def test_the_form_starts_from_the_default_space_and_the_link_keeps_the_search(own_world):
    at = search_mode(own_world.open("Train"))
    space, _ = default_space("face crops")
    assert at.multiselect(key="search_fields").value == list(space)
    assert at.text_input(key="search_range_lr").value == "log:0.0003:0.01"
    at.text_input(key="search_range_lr").set_value("log:0.001:0.1")
    at.selectbox(key="search_pruner").set_value("halving").run()
    assert "lr=log:0.001:0.1" in at.query_params["search"] and at.query_params["pruner"] == "halving"
    again = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)  # the link opened in a new tab
    again.run()
    again.query_params.update(dict(at.query_params))
    again.switch_page(page_file("Train")).run()
    assert again.radio(key="start_mode").value == "A search of several fields"
    assert again.text_input(key="search_range_lr").value == "log:0.001:0.1"


def test_a_bad_range_is_named_and_nothing_starts(own_world, monkeypatch):
    started = []
    monkeypatch.setattr("siamese.search.workers.subprocess.Popen", lambda *a, **k: started.append(a))
    at = search_mode(own_world.open("Train"))
    at.text_input(key="search_range_lr").set_value("log:0.01:0.0001").run()
    button(at, "Start search").click().run()
    assert "The search did not start: lr: the low end 0.01 is above the high end 0.0001" in texts(at.error)
    assert started == [] and not any(p.name.startswith("search-") for p in own_world.runs.iterdir())


@pytest.fixture
def finished_study(own_world):
    """A study of 4 complete trials over lr and margin, run in this process into the world's runs."""
    plan = Plan(tiny_config(own_world.faces, epochs=2), space_from_text("lr=log:0.001:0.01;margin=float:0.1:0.5"),
                pruner="none")
    run_search("found", storage_url(None, own_world.runs), plan, trials=4, runs_dir=own_world.runs,
               data_dir=own_world.data)
    return plan


def test_a_finished_study_is_browsed_from_the_runs_page_and_its_best_trained_longer(own_world, finished_study,
                                                                                    monkeypatch):
    launched = []
    monkeypatch.setattr("ui.search.launch", lambda config, *a: launched.append(config) or own_world.run)
    at = own_world.open("Runs")
    assert not at.exception
    assert "Study found: ended" in texts(at.subheader) and "Best so far: trial" in texts(at.success)
    trials = next(frame.value for frame in at.dataframe if "state" in frame.value.columns)
    assert list(trials["state"]) == ["complete"] * 4 and trials["val_auc"].between(0, 1).all()
    best = trials.loc[trials["val_auc"].idxmax()]
    button(at, "Train the best for longer").click().run()
    assert launched[0].epochs == 4 and launched[0].lr == pytest.approx(best["lr"])


def test_a_running_study_is_shown_on_the_train_page_and_can_be_stopped(own_world, finished_study):
    url = storage_url(None, own_world.runs)
    study, _ = open_study("found", url, finished_study)
    trial = study.ask()  # a trial running in this process: its run is live
    run = own_world.runs / "found-004"
    run.mkdir()
    write_json(RunPaths(run).status, {"status": "running", "pid": os.getpid(), "updated": time.time()})
    trial.set_user_attr("run", str(run))
    trial.set_user_attr("host", socket.gethostname())
    at = own_world.open("Train")
    assert "Study found: searching" in texts(at.subheader) and button(at, "Start training").disabled
    button(at, "Stop search found").click().run()
    assert RunPaths(run).stop.exists() and isinstance(study.user_attrs["stop"], float)
    assert optuna.load_study(study_name="found", storage=url).trials[-1].state == optuna.trial.TrialState.RUNNING
