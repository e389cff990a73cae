"""The Train page as a live instrument: presets fill the form and the link, a sweep is planned from the
page and refused with the field and the reason when a value is bad or a run is live, a stopped run can
be resumed from the page, and a new run can start from a trained one (its network fills the form)."""

from __future__ import annotations

import json
import os
import shutil
import time

import pytest

from siamese.runs import launch
from siamese.runs.files import write_json
from siamese.runs.folder import RunPaths
from siamese.train.parent import FINE_TUNE_LR_FACTOR, FINE_TUNE_WHY


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
    monkeypatch.setattr("siamese.search.workers.subprocess.Popen", lambda *a, **k: started.append(a))
    at = own_world.open("Train")
    at.radio(key="start_mode").set_value("A sweep of one field").run()
    at.selectbox(key="sweep_field").set_value("margin")
    at.text_input(key="sweep_values").set_value("0.1, -2, 0.5").run()
    button(at, "Start sweep").click().run()
    assert "The sweep did not start: sweep: margin: the choice -2.0 is refused: margin: must be zero or " \
           "positive" in texts(at.error)
    assert started == [] and not any(p.name.startswith("sweep-") for p in own_world.runs.iterdir())


def test_no_sweep_while_a_run_is_live(own_world):
    run = shutil.copytree(own_world.run, own_world.runs / "busy")
    write_json(RunPaths(run).status, {"status": "running", "pid": os.getpid(), "updated": time.time(), "epochs": 2})
    at = own_world.open("Train")
    assert button(at, "Start training").disabled
    at.radio(key="start_mode").set_value("A sweep of one field").run()
    at.text_input(key="sweep_values").set_value("0.1, 0.2").run()
    assert button(at, "Start sweep").disabled
    at.radio(key="start_mode").set_value("A search of several fields").run()
    assert button(at, "Start search").disabled
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


# --- Starting from a trained run ---------------------------------------------------------------------------


def start_from(at, run) -> None:
    at.selectbox(key="cfg_init_from").set_value(str(run)).run()
    assert not at.exception, [e.value for e in at.exception]


def test_choosing_a_run_to_start_from_fills_the_form_with_its_network_and_start_makes_a_new_run(own_world,
                                                                                                 monkeypatch):
    started = []
    monkeypatch.setattr(launch, "start_training", lambda run_dir, data_dir, how=None: started.append(how) or 1)
    write_json(RunPaths(own_world.run).status, {"status": "stopped", "message": "stopped on request"})
    at = own_world.open("Train")
    assert at.selectbox(key="cfg_init_from").value is None
    assert at.number_input(key="cfg_embedding_dim").value != 16  # the dataset's defaults, not the tiny run's
    start_from(at, own_world.run)
    # tiny's network (compact, 16-d, 32 px grey) and its recipe; the form's own data and budget stay
    assert (at.selectbox(key="cfg_model").value, at.number_input(key="cfg_embedding_dim").value) == ("compact", 16)
    assert (at.number_input(key="cfg_p").value, at.selectbox(key="cfg_lr_schedule").value) == (4, "constant")
    assert at.number_input(key="cfg_val_fraction").value == 0.25 and at.number_input(key="cfg_epochs").value != 2
    assert at.query_params["init_from"] == str(own_world.run) and at.query_params["embedding_dim"] == "16"
    assert not at.error
    # Resume carries tiny on; Start begins a new run from its weights: both are offered, and they differ.
    assert button(at, "Resume tiny") and not button(at, "Start training").disabled
    button(at, "Start training").click().run()
    new = next(p for p in own_world.runs.iterdir() if p.name != "tiny")
    config = json.loads(RunPaths(new).config.read_text())
    assert started == [None] and config["init_from"] == str(own_world.run) and config["embedding_dim"] == 16
    assert at.session_state.run == new.name


def test_a_network_that_differs_from_the_parents_is_named_and_start_waits(own_world):
    at = own_world.open("Train")
    start_from(at, own_world.run)
    at.number_input(key="cfg_input_size").set_value(64)
    at.number_input(key="cfg_lr").set_value(0.01).run()
    assert "The form's network differs from tiny's, so its weights cannot be loaded: input_size 32 (this run: 64)" \
        in texts(at.error)
    assert button(at, "Start training").disabled
    at.radio(key="start_mode").set_value("A search of several fields").run()
    assert button(at, "Start search").disabled
    at.radio(key="start_mode").set_value("A single run").run()
    button(at, "Take tiny's network").click().run()  # its network back; the rest as typed
    assert not at.error and not button(at, "Start training").disabled
    assert (at.number_input(key="cfg_input_size").value, at.number_input(key="cfg_lr").value) == (32, 0.01)
    at.number_input(key="cfg_input_size").set_value(64).run()
    at.selectbox(key="cfg_init_from").set_value(None).run()  # new weights: any network goes
    assert not at.error and not button(at, "Start training").disabled
    assert at.number_input(key="cfg_input_size").value == 64


def test_the_fine_tuning_preset_needs_a_run_and_takes_a_tenth_of_its_learning_rate(own_world):
    at = own_world.open("Train")
    at.selectbox(key="preset").set_value("Fine-tune a trained run").run()
    assert FINE_TUNE_WHY in texts(at.caption)
    button(at, "Fill the form").click().run()
    assert "Fine-tuning starts from a trained run: choose one in Start from, above, first." in texts(at.error)
    start_from(at, own_world.run)
    at.number_input(key="cfg_lr").set_value(0.1).run()
    button(at, "Fill the form").click().run()
    assert not at.error
    assert at.number_input(key="cfg_freeze_epochs").value == 2
    assert at.number_input(key="cfg_lr").value == pytest.approx(3e-3 * FINE_TUNE_LR_FACTOR)  # tiny's 3e-3, not the 0.1 typed
    assert at.query_params["freeze_epochs"] == "2" and at.query_params["init_from"] == str(own_world.run)


def test_a_parent_deleted_meanwhile_is_named_with_why(own_world):
    base = shutil.copytree(own_world.run, own_world.runs / "base")
    at = own_world.open("Train")
    start_from(at, base)
    shutil.rmtree(base)
    at.run()
    assert f"This run cannot start from base: init_from: {base} is not a run folder" in texts(at.error)
    assert button(at, "Start training").disabled


def test_the_new_data_fields_are_in_the_form_and_the_link(own_world):
    at = own_world.open("Train")
    data_column = next(c for c in at.columns if "**Data**" in texts(c.markdown))
    assert {w.key for w in [*data_column.text_input, *data_column.number_input, *data_column.selectbox]} >= {
        "cfg_more_data", "cfg_data_people", "cfg_validate_from", "cfg_singletons"}
    assert at.number_input(key="cfg_data_people").value is None  # all of them
    assert at.number_input(key="cfg_freeze_epochs").value == 0
    at.text_input(key="cfg_more_data").set_value(str(own_world.faces) + "@whole")
    at.number_input(key="cfg_data_people").set_value(6)
    at.selectbox(key="cfg_singletons").set_value("classes")
    at.selectbox(key="cfg_validate_from").set_value("data").run()
    assert not at.exception and not at.error
    assert {name: at.query_params[name] for name in ("more_data", "data_people", "singletons", "validate_from")} \
        == {"more_data": f"{own_world.faces}@whole", "data_people": "6", "singletons": "classes",
            "validate_from": "data"}


def test_a_curve_validated_by_time_says_how_often_it_was_validated(own_world):
    metrics = own_world.run / "metrics.jsonl"
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    metrics.write_text("".join(json.dumps({**r, "every": 3} if r["kind"] == "epoch" and r["epoch"] > 1 else r) + "\n"
                               for r in records))
    at = own_world.open("Train")
    assert "Validated every 3 epochs, so that validation takes at most a twentieth" in texts(at.caption)
