"""A first start opens on faces: with no faces on disk, Olivetti's are fetched in the background and the
session moves to them when they arrive; offline, the digits stay with a note saying what to do."""

from __future__ import annotations


import ui.cached
import ui.page
from siamese.data import sources


class FakeDownload:
    def __init__(self, running: bool, error: str | None):
        self.running, self.error = running, error


def open_with(own_world, monkeypatch, download):
    monkeypatch.setenv("SIAMESE_FETCH_FACES", "1")
    empty = own_world.root / "empty-data"
    empty.mkdir()
    own_world.point(data=empty)
    ui.cached.downloads.clear()
    made = []
    monkeypatch.setattr(ui.cached, "Download", lambda name, data_dir: made.append(name) or download)
    at = own_world.open()
    assert made == ["olivetti"]  # fetched once for the server, however many pages and sessions ask
    return at


def test_while_olivetti_is_fetched_the_digits_say_so_then_the_faces_follow(own_world, monkeypatch):
    download = FakeDownload(running=True, error=None)
    at = open_with(own_world, monkeypatch, download)
    assert at.session_state.data_source == "digits"
    assert "Fetching Olivetti's faces" in at.session_state.data_note
    download.running = False  # arrived: the cache answers, and loading it needs no network
    monkeypatch.setattr(ui.page, "builtin_is_cached", lambda name, data_dir: name == "olivetti")
    real_load = sources.load_builtin
    monkeypatch.setattr(sources, "load_builtin", lambda name, *args: real_load("digits", *args))
    at.run()
    assert at.session_state.data_source == "olivetti" and at.session_state.data_note is None
    assert at.query_params["data"] == "olivetti"


def test_offline_the_digits_stay_with_what_to_do(own_world, monkeypatch):
    at = open_with(own_world, monkeypatch, FakeDownload(running=False, error="could not download"))
    at.run()
    assert at.session_state.data_source == "digits" and "while online" in at.session_state.data_note
    assert any("while online" in info.value for info in at.info)  # the first screen says it


def test_a_dataset_named_by_the_link_is_kept(own_world, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[2] / "app.py"), default_timeout=60)
    at.query_params["data"] = "synthetic"
    at.run()
    assert at.session_state.data_source == "synthetic" and at.session_state.data_note is None


class FakeLfw:
    name, total, error = "lfw", 243_000_000, None

    def __init__(self):
        self.running = True

    def bytes_done(self) -> int:
        return 60_000_000


def test_lfw_is_offered_as_a_download_with_its_size_and_progress(own_world, monkeypatch):
    job = FakeLfw()
    ui.cached.downloads.clear()
    monkeypatch.setattr(ui.cached, "Download", lambda name, data_dir: job)
    at = own_world.open("Data")
    at.selectbox[0].set_value("lfw").run()
    assert "downloaded once (about 243 MB)" in " ".join(i.value for i in at.info)
    next(b for b in at.button if b.label == "Download lfw").click().run()
    assert "Downloading lfw: 60 MB of about 243 MB" in at.get("progress")[0].proto.text
    datasets = at.dataframe[0].value
    assert list(datasets["dataset"]) == ["synthetic", "digits", "olivetti", "lfw"]
    assert datasets.loc[datasets["dataset"] == "lfw", "download"].item() == "about 243 MB"


def test_an_lfw_download_that_failed_says_what_to_do(own_world, monkeypatch):
    job = FakeLfw()
    job.running, job.error = False, "could not download the 'lfw' dataset (offline). Connect to the internet once"
    ui.cached.downloads.clear()
    monkeypatch.setitem(ui.cached.downloads(), "lfw", job)
    at = own_world.open("Data")
    at.selectbox[0].set_value("lfw").run()
    assert "Connect to the internet once" in " ".join(e.value for e in at.error)
