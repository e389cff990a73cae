"""Every page renders on a tiny synthetic run, and the interactions the pages exist for work."""

from __future__ import annotations

import json
import time

import pytest

from siamese.decisions.saved import read_threshold
from siamese.runs.files import read_metrics
from siamese.runs.folder import RunPaths
from siamese.runs.progress import read_progress
from siamese.runs.status import running_runs
from ui.page import page_file

PAGES = ["Data", "Train", "Embeddings", "Threshold", "Verify", "Runs"]


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_each_page_renders_without_exception(make_app, page):
    at = make_app(page)
    no_errors(at)
    assert at.title[0].value == page


def test_sidebar_shows_dataset_run_and_device(make_app):
    at = make_app()
    text = " ".join(m.value for m in at.sidebar.markdown)
    assert "Dataset:" in text and "Device:" in text
    assert at.sidebar.selectbox[0].value == "tiny"


def test_first_visit_opens_on_faces_under_data(make_app):
    at = make_app()
    assert at.session_state.data_source == "synthetic"


def test_moving_the_threshold_slider_changes_the_rates(make_app):
    at = make_app("Threshold")
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
    at = make_app("Threshold")
    eer_button = next(b for b in at.button if b.label.startswith("EER"))
    eer_button.click().run()
    value = at.slider[0].value
    next(b for b in at.button if b.label.startswith("Save")).click().run()
    no_errors(at)
    assert read_threshold(world["run"]) == pytest.approx(value)


def test_a_face_given_to_the_camera_produces_a_verify_result(make_app, face_photo):
    photo = face_photo
    at = make_app("Verify")
    at.text_input(key="enrol_name").set_value("alice")
    at.camera_input(key="enrol_camera").set_value(("shot.jpg", photo, "image/jpeg")).run()
    next(b for b in at.button if b.label == "Add this snapshot").click().run()
    next(b for b in at.button if b.label.startswith("Enrol alice")).click().run()
    no_errors(at)
    assert any("alice now has 1" in s.value for s in at.success)
    at.camera_input(key="verify_camera").set_value(("probe.jpg", photo, "image/jpeg")).run()
    no_errors(at)
    assert any("Identified as **alice**" in s.value for s in at.success)
    at.radio(key="verify_mode").set_value("1:1 verify a claim").run()
    assert any(s.value.startswith("ACCEPTED") for s in at.success)
    assert any(e.label == "Why? Where this face and alice's nearest image agree and where they differ"
               for e in at.expander)
    next(b for b in at.button if b.label.startswith("Remove alice")).click().run()
    no_errors(at)


def test_a_photo_without_a_face_gets_a_clear_message(make_app):
    import io

    from PIL import Image
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), (90, 90, 90)).save(buffer, format="JPEG")
    at = make_app("Verify")
    at.camera_input(key="verify_camera").set_value(("blank.jpg", buffer.getvalue(), "image/jpeg")).run()
    assert any("no face was found" in e.value for e in at.error)


def test_training_started_from_the_train_page_appears_in_the_runs_list(make_app, world):
    at = make_app("Train")
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
    at.switch_page(page_file("Runs")).run()
    no_errors(at)
    table = at.dataframe[0].value
    row = table[table["run"] == run_dir.name]
    assert len(row) == 1 and row["val_auc"].iloc[0] > 0


def test_saving_a_threshold_reloads_no_model_and_re_embeds_nothing(own_world, monkeypatch):
    """The threshold is run state, not model state: Save rewrites threshold.json, and the next decision
    reads it, while the loaded model and the scored validation pairs stay cached."""
    import streamlit as st

    import ui.cached

    calls = {"load": 0, "score": 0}
    real_load, real_scores = ui.cached.load_trained, ui.cached.validation_scores
    monkeypatch.setattr(ui.cached, "load_trained", lambda *a, **k: calls.__setitem__("load", calls["load"] + 1)
                        or real_load(*a, **k))
    monkeypatch.setattr(ui.cached, "validation_scores",
                        lambda *a, **k: calls.__setitem__("score", calls["score"] + 1) or real_scores(*a, **k))
    st.cache_resource.clear()
    st.cache_data.clear()
    at = own_world.open("Threshold")
    assert calls == {"load": 1, "score": 1}
    at.slider[0].set_value(at.slider[0].min).run()
    next(b for b in at.button if b.label.startswith("Save")).click().run()
    no_errors(at)
    saved = read_threshold(own_world.run)
    assert saved == pytest.approx(at.slider[0].min)
    at.switch_page(page_file("Verify")).run()
    no_errors(at)
    table = next(m.value for m in at.markdown if m.value.startswith("| decision |")).splitlines()[2:]
    assert [row.split(" | ")[1] for row in table] == [f"{saved:.4f}"] * 3  # nobody enrolled: the run's
    assert calls == {"load": 1, "score": 1}


def test_every_page_file_is_in_the_sidebar_in_pipeline_order():
    from pathlib import Path

    from ui.page import PAGES

    root = Path(__file__).resolve().parents[2]
    files = sorted(str(p.relative_to(root)) for p in (root / "pages").glob("*.py"))
    assert [path for path, _, _ in PAGES] == ["app.py", *files]
    assert page_file("Train") == "pages/2_train.py"


def test_the_threshold_page_draws_the_det_curve_and_the_tar_table(make_app):
    at = make_app("Threshold")
    no_errors(at)
    det = next(c for c in at.get("plotly_chart") if "DET" in c.proto.spec)
    assert '"type":"log"' in det.proto.spec.replace(" ", "")
    table = next(d.value for d in at.dataframe if "true accept rate" in d.value.columns)
    assert list(table["false accept rate"]) == [0.1, 0.01, 0.001]


def test_a_hardest_mistake_opens_to_its_maps(make_app):
    at = make_app("Threshold")
    at.slider[0].set_value(at.slider[0].max).run()  # accept everything: every impostor pair is a mistake
    no_errors(at)
    opened = at.selectbox(key="mistake_opened")
    assert opened.options[0].startswith("false accept: ")
    why = next(e for e in at.expander if e.label.startswith("Why? Where the two faces agree"))
    assert why.get("image") and "add up to" in " ".join(c.value for c in why.caption)
    opened.set_value(len(opened.options) - 1).run()
    no_errors(at)


def test_changing_what_the_threshold_is_studied_on_keeps_the_chosen_threshold(make_app, world):
    at = make_app("Threshold")
    low, high = at.slider[0].min, at.slider[0].max
    chosen = low + 0.6 * (high - low)
    at.slider[0].set_value(chosen).run()
    at.selectbox[0].set_value("every identity of another dataset").run()
    at.text_input[0].set_value(str(world["faces"])).run()
    no_errors(at)
    slider = at.slider[0]
    assert slider.value == pytest.approx(min(max(chosen, slider.min), slider.max), rel=1e-3)
    assert slider.value > slider.min


def test_the_overview_shows_the_runs_own_data_beside_the_run(own_world):
    at = own_world.open()
    subheaders = [s.value for s in at.subheader]
    config = json.loads((own_world.run / "config.json").read_text())
    assert f"Trained on `{config['data']}`" in subheaders
    split = json.loads((own_world.run / "split.json").read_text())
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Training identities"] == f"{len(split['train']):,}"
    assert metrics["Validation identities"] == f"{len(split['validation']):,}"
