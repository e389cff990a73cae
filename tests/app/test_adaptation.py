"""Starting from what was learned, seen on the pages: the Verify page adapts the model to the people
enrolled (refused, with why, for fewer than two; started in the background, followed, then made the
page's model, the gallery embedded by it), an adapted model says so on Verify and Threshold, the Runs page
shows each run's lineage, and the Data page says who trains and how (Streamlit's AppTest)."""

from __future__ import annotations

import dataclasses
import io
import os
import time

import pytest
from PIL import Image

from siamese.gallery import Gallery
from siamese.gallery.adapt import ADAPTED_NOTE, create_adaptation
from siamese.runs import launch
from siamese.runs.files import append_metrics, write_json
from siamese.runs.folder import RunPaths, new_run_dir, run_config
from siamese.runs.status import write_status
from siamese.runs.trained import load_trained
from siamese.train.loop import train


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at, start: str):
    return next((b for b in at.button if b.label.startswith(start)), None)


def started_here(calls: list):
    """A stand-in for `launch.start_training` that records the run and writes the status its process
    would, as the real one does before it returns."""
    def start(run_dir, data_dir, how=None):
        calls.append(run_dir)
        write_status(run_dir, "starting", "loading the dataset", pid=os.getpid())
        return os.getpid()
    return start


def adapt_box(at):
    return next(e for e in at.expander if e.label == "Adapt the model to these people")


def enrol(own_world, people: dict[str, int], images: int = 3) -> None:
    """Enrol synthetic people (name -> person number) from their first `images` images, as the page does."""
    gallery = Gallery(own_world.gallery, load_trained(own_world.run, device="cpu"))
    for name, person in people.items():
        folder = own_world.faces / f"person_{person:02d}"
        gallery.enroll(name, [Image.open(io.BytesIO((folder / f"{i:03d}.png").read_bytes())).convert("RGB")
                              for i in range(images)])


def train_briefly(run_dir) -> None:
    """Train an adaptation as its background process would, for 2 epochs (a test's budget, not a minute's)."""
    config = dataclasses.replace(run_config(run_dir), epochs=2, max_seconds=None)
    assert train(config, run_dir, data_dir=run_dir.parent.parent / "data").status == "finished"


@pytest.fixture
def adapted(own_world):
    """An adaptation of the tiny run to three enrolled people, trained."""
    enrol(own_world, {"ann": 0, "bob": 1, "cy": 2})
    run = create_adaptation(own_world.run, own_world.gallery, own_world.runs, max_seconds=5)
    train_briefly(run)
    return run


@pytest.mark.parametrize("people, why", [({}, "nobody is enrolled"), ({"ann": 0}, "one person is enrolled")])
def test_with_fewer_than_two_people_enrolled_the_adapt_control_says_why(own_world, people, why):
    enrol(own_world, people)
    at = own_world.open("Verify")
    no_exception(at)
    said = texts(adapt_box(at).info)
    assert said.startswith(f"Cannot adapt yet: {why}") and "it needs two people or more" in said
    assert button(at, "Adapt") is None and not any(p.name.endswith("adapted") for p in own_world.runs.iterdir())


def test_adapting_trains_in_the_background_shows_its_progress_and_becomes_the_model(own_world, monkeypatch):
    started = []
    monkeypatch.setattr(launch, "start_training", started_here(started))
    enrol(own_world, {"ann": 0, "bob": 1, "cy": 2})
    at = own_world.open("Verify")
    assert at.number_input(key="adapt_seconds").value == 60
    at.number_input(key="adapt_seconds").set_value(30)
    button(at, "Adapt tiny to these 3 people").click().run()
    no_exception(at)
    run = own_world.runs / "tiny-adapted"
    assert started == [run] and run_config(run).max_seconds == 30 and run_config(run).init_from == str(own_world.run)
    assert sorted(p.name for p in (run / "people").iterdir()) == ["ann", "bob", "cy"]

    # While it trains (its process writes the status and the metrics): the epoch, and the figures before.
    write_json(RunPaths(run).status, {"status": "running", "message": "training", "pid": os.getpid(),
                                      "updated": time.time(), "epochs": 1000, "max_seconds": 30})
    append_metrics(RunPaths(run).metrics, {"kind": "epoch", "epoch": 0, "step": 0, "val_auc": 0.81,
                                           "val_eer": 0.2, "elapsed": 0.1})
    append_metrics(RunPaths(run).metrics, {"kind": "step", "epoch": 1, "step": 3, "loss": 1.0, "images": 8,
                                           "images_per_second": 100.0, "elapsed": 3.0, "steps_total": 10})
    at.run()
    no_exception(at)
    assert "Adapting: tiny-adapted running · epoch 1" in adapt_box(at).get("progress")[0].proto.text
    assert "0.810 now" in texts(adapt_box(at).caption)
    assert button(at, "Adapt tiny").disabled and button(at, "Use the adapted model") is None

    # Done: the outcome, and the switch; the gallery is embedded by the adapted model.
    RunPaths(run).metrics.unlink()
    train_briefly(run)
    at.run()
    no_exception(at)
    assert "Adaptation tiny-adapted finished after 2 epochs" in texts(adapt_box(at).success)
    assert "before" in texts(adapt_box(at).success)  # its epoch 0: the tiny run's network
    button(at, "Use the adapted model (tiny-adapted)").click().run()
    no_exception(at)
    assert at.session_state.run == "tiny-adapted" and at.sidebar.selectbox[0].value == "tiny-adapted"
    assert "Model: run tiny-adapted · 3 people enrolled" in texts(at.caption)
    assert "were embedded again with run tiny-adapted's model" in texts(at.info)
    assert (own_world.gallery / "embeddings" / f"{load_trained(run, device='cpu').fingerprint}.pt").is_file()
    assert ADAPTED_NOTE[1:] in texts(at.warning)
    button(at, "Back to tiny").click().run()
    assert at.session_state.run == "tiny" and ADAPTED_NOTE[1:] not in texts(at.warning)


def test_a_second_adaptation_of_a_run_gets_its_own_folder(own_world, adapted, monkeypatch):
    started = []
    monkeypatch.setattr(launch, "start_training", started_here(started))
    at = own_world.open("Verify")
    at.sidebar.selectbox[0].set_value("tiny").run()
    assert "Adaptation tiny-adapted finished" in texts(adapt_box(at).success)
    button(at, "Adapt tiny to these 3 people").click().run()
    no_exception(at)
    assert not at.error and started == [own_world.runs / "tiny-adapted-1"]
    assert "Adapting: tiny-adapted-1 starting" in adapt_box(at).get("progress")[0].proto.text


@pytest.mark.parametrize("page", ["Verify", "Threshold"])
def test_an_adapted_model_says_so_plainly(own_world, adapted, page):
    at = own_world.open(page)
    at.sidebar.selectbox[0].set_value(adapted.name).run()
    no_exception(at)
    assert f"**Adapted to ann, bob, cy.** {ADAPTED_NOTE[0].upper()}{ADAPTED_NOTE[1:]}." in texts(at.warning)
    at.sidebar.selectbox[0].set_value("tiny").run()
    assert ADAPTED_NOTE[1:] not in texts(at.warning)


def test_the_runs_page_shows_where_each_run_started(own_world, adapted):
    child = new_run_dir(own_world.runs, "child")
    train(dataclasses.replace(run_config(own_world.run), init_from=str(own_world.run), epochs=1), child,
          data_dir=own_world.data)
    os.utime(adapted)  # the newest: the one the page shows when no row is selected
    at = own_world.open("Runs")
    no_exception(at)
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["child", "started_from"] == "tiny" and table.loc["tiny", "started_from"] == "new weights"
    assert table.loc[adapted.name, "started_from"] == "tiny, adapted to 3 enrolled people"
    assert {"val_auc", "val_eer", "oneshot", "status", "epochs", "data", "model", "loss"} <= set(table.columns)
    assert table.loc["child", "epochs"] == 1  # its epoch 0, the parent's figures, comes first
    assert f"**{adapted.name}** (ann, bob, cy): {ADAPTED_NOTE}." in texts(at.info)


def test_the_data_page_says_who_trains_and_how(own_world):
    (own_world.faces / "solo").mkdir()
    (own_world.faces / "person_00" / "000.png").replace(own_world.faces / "solo" / "000.png")
    at = own_world.open("Data")
    no_exception(at)
    said = texts(at.markdown)
    assert "12 people with two images or more (71 images) train and validate" in said
    assert "1 person with one image is left out (singletons = leave_out)" in said
    at.switch_page("pages/2_train.py").run()
    at.selectbox(key="cfg_singletons").set_value("classes").run()
    at.switch_page("pages/1_data.py").run()
    assert "1 person with one image trains as classes of their own" in texts(at.markdown)


def test_the_data_page_shows_the_datasets_trained_beside_it(own_world, tmp_path):
    other = own_world.root / "webcam people"
    for name in ("ann", "bob"):
        (other / name).mkdir(parents=True)
        for i in range(2):
            Image.new("L", (40, 40), 30 * i).save(other / name / f"{i}.png")
    at = own_world.open("Train")
    at.text_input(key="cfg_more_data").set_value(str(other)).run()
    at.switch_page("pages/1_data.py").run()
    no_exception(at)
    assert "webcam people: 2 people, 4 images, its people named webcam people/…, faces whole" in texts(at.markdown)
    at.switch_page("pages/2_train.py").run()
    at.text_input(key="cfg_more_data").set_value(str(own_world.root / "nowhere")).run()
    at.switch_page("pages/1_data.py").run()
    assert "The Train form's more data cannot be used: dataset 2 of 2" in texts(at.warning)
