"""Every page renders on a tiny synthetic run, and the interactions the pages exist for work."""

from __future__ import annotations

import time

import pytest

from siamese.launch import read_progress, running_runs
from siamese.runs import read_metrics, RunPaths

PAGES = ["data.py", "train.py", "embeddings.py", "threshold.py", "verify.py", "runs.py"]


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_without_exception(make_app, page):
    at = make_app(page)
    no_errors(at)
    assert at.title[0].value == page.removesuffix(".py").capitalize()


def test_sidebar_shows_dataset_run_and_device(make_app):
    at = make_app()
    text = " ".join(m.value for m in at.sidebar.markdown)
    assert "Dataset:" in text and "Device:" in text
    assert at.sidebar.selectbox[0].value == "tiny"


def test_first_visit_opens_on_faces_under_data(make_app):
    at = make_app()
    assert at.session_state.data_source == "synthetic"


def test_moving_the_threshold_slider_changes_the_rates(make_app):
    at = make_app("threshold.py")
    slider = at.slider[0]
    rates = lambda: {m.label: m.value for m in at.metric}  # noqa: E731
    slider.set_value(slider.min).run()
    low = rates()
    at.slider[0].set_value(at.slider[0].max).run()
    high = rates()
    no_errors(at)
    assert float(low["False accept rate"]) == 0.0 and float(high["False accept rate"]) == 1.0
    assert float(low["False reject rate"]) > float(high["False reject rate"])


def test_threshold_presets_and_save(make_app, world):
    at = make_app("threshold.py")
    eer_button = next(b for b in at.button if b.label.startswith("EER"))
    eer_button.click().run()
    value = at.slider[0].value
    next(b for b in at.button if b.label.startswith("Save")).click().run()
    no_errors(at)
    from siamese.runs import read_threshold
    assert read_threshold(world["run"]) == pytest.approx(value)


def test_a_face_given_to_the_camera_produces_a_verify_result(make_app, face_photo):
    photo = face_photo
    at = make_app("verify.py")
    at.text_input(key="enrol_name").set_value("alice")
    at.camera_input(key="enrol_camera").set_value(("shot.jpg", photo, "image/jpeg")).run()
    next(b for b in at.button if b.label == "Add this snapshot").click().run()
    next(b for b in at.button if b.label.startswith("Enrol alice")).click().run()
    no_errors(at)
    assert any("alice now has 1" in s.value for s in at.success)
    at.camera_input(key="verify_camera").set_value(("probe.jpg", photo, "image/jpeg")).run()
    no_errors(at)
    assert any("Identified as **alice**" in s.value for s in at.success)
    at.radio[0].set_value("1:1 verify a claim").run()
    assert any(s.value.startswith("ACCEPTED") for s in at.success)
    next(b for b in at.button if b.label.startswith("Remove alice")).click().run()
    no_errors(at)


def test_a_photo_without_a_face_gets_a_clear_message(make_app):
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buffer, format="JPEG")
    at = make_app("verify.py")
    at.camera_input(key="verify_camera").set_value(("blank.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert any("no face was found" in e.value for e in at.error)


def test_training_started_from_the_train_page_appears_in_the_runs_list(make_app, world):
    at = make_app("train.py")
    at.number_input(key="cfg_input_size").set_value(32)
    at.number_input(key="cfg_embedding_dim").set_value(8)
    at.number_input(key="cfg_p").set_value(4)
    at.number_input(key="cfg_k").set_value(2)
    at.number_input(key="cfg_epochs").set_value(1)
    at.checkbox(key="cfg_augment").set_value(False)
    at.run()
    assert at.query_params["epochs"] == ["1"] or at.query_params["epochs"] == "1"
    next(b for b in at.button if b.label == "Start training").click().run()
    no_errors(at)
    run_dir = world["runs"] / at.session_state.run
    deadline = time.time() + 90
    while time.time() < deadline and (running_runs(world["runs"]) or not RunPaths(run_dir).status.exists()):
        time.sleep(0.5)
    progress = read_progress(run_dir)
    assert progress.status == "finished", progress.message
    assert read_metrics(RunPaths(run_dir).metrics, "epoch")
    at.switch_page("app_pages/runs.py").run()
    no_errors(at)
    table = at.dataframe[0].value
    row = table[table["run"] == run_dir.name]
    assert len(row) == 1 and row["val_auc"].iloc[0] > 0
