"""The Train page as a live instrument: presets fill the form and the link, a sweep is planned from the
page and refused with the field and the reason when a value is bad or a run is live, and a stopped run can
be resumed from the page."""

from __future__ import annotations

import os
import shutil
import time

from siamese.runs import launch
from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths


def button(at, start: str):
    return next(b for b in at.button if b.label.startswith(start))


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_a_preset_fills_the_form_and_the_link(own_world):
    at = own_world.open("Train")
    at.selectbox(key="preset").set_value("FaceNet (Schroff et al. 2015)").run()
    assert "Schroff, Kalenichenko and Philbin" in texts(at.caption)
    button(at, "Fill the form").click().run()
    assert not at.exception
    assert (at.selectbox(key="cfg_loss").value, at.selectbox(key="cfg_mining").value) == ("triplet", "semi_hard")
    assert at.number_input(key="cfg_margin").value == 0.2
    assert at.query_params["loss"] == "triplet" and at.query_params["mining"] == "semi_hard"
    assert at.query_params["data"] == "synthetic"


def test_a_sweep_value_the_configuration_refuses_is_named_with_the_reason(own_world, monkeypatch):
    started = []
    monkeypatch.setattr("siamese.runs.sweep.subprocess.Popen", lambda *a, **k: started.append(a))
    at = own_world.open("Train")
    at.selectbox(key="sweep_field").set_value("margin")
    at.text_input(key="sweep_values").set_value("0.1, -2, 0.5").run()
    button(at, "Start sweep").click().run()
    assert "The sweep did not start: sweep: the value '-2' of margin is refused: margin: must be zero or " \
           "positive" in texts(at.error)
    assert started == [] and not any(p.name.startswith("sweep-") for p in own_world.runs.iterdir())


def test_no_sweep_while_a_run_is_live(own_world):
    run = shutil.copytree(own_world.run, own_world.runs / "busy")
    write_json(RunPaths(run).status, {"status": "running", "pid": os.getpid(), "updated": time.time(), "epochs": 2})
    at = own_world.open("Train")
    at.text_input(key="sweep_values").set_value("0.1, 0.2").run()
    assert button(at, "Start sweep").disabled and button(at, "Start training").disabled
    assert "Run busy: running" in texts(at.subheader)


def test_a_stopped_run_is_resumed_from_the_page(own_world, monkeypatch):
    resumed = []
    monkeypatch.setattr(launch, "start_training", lambda run_dir, data_dir, how=None: resumed.append(how) or 1)
    write_json(RunPaths(own_world.run).status, {"status": "stopped", "message": "stopped on request"})
    at = own_world.open("Train")
    at.number_input(key="resume_epochs").set_value(5)
    button(at, "Resume tiny").click().run()
    assert not at.exception and not at.error
    assert resumed == [["--resume", str(own_world.run), "--epochs", "5"]]


def test_a_run_that_has_trained_all_its_epochs_says_to_raise_them(own_world):
    write_json(RunPaths(own_world.run).status, {"status": "finished", "message": "reached 2 epochs"})
    at = own_world.open("Train")
    button(at, "Resume tiny").click().run()
    assert "Not resumed: tiny has trained 2 of its 2 epochs; raise the epochs to train it further" in texts(at.error)
