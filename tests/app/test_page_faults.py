"""Bad input and faults met through the dashboard: each gives a message that says what to do, and nothing
is written where it should not be, or lost. Every test works in a world of its own (`own_world`)."""

from __future__ import annotations

import errno
import io
import json
import os
import pathlib
import shutil
import struct
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.gallery import Gallery
from siamese.models import build_model
from siamese import files as safe_files  # the atomic writing every saved file goes through
from siamese.runs.files import load_torch, save_torch, write_json
from siamese.decisions.saved import read_threshold
from siamese.runs.folder import RunPaths, run_config
from siamese.runs.trained import load_trained
from ui.page import page_file


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def png(colour: int = 128, size: int = 24) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def photo(image: Image.Image, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def blank_photo() -> bytes:
    return photo(Image.new("RGB", (320, 240), (90, 90, 90)))


def zip_of(entries: dict, method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def identity_zip(names=("ann", "bob", "cyd"), images: int = 3) -> dict:
    return {f"faces/{name}/{i}.png": png(40 * k + 5 * i) for k, name in enumerate(names) for i in range(images)}


def newest(run: Path) -> Path:
    """Make `run` the newest run, the one pages pick when none is chosen (a copy keeps its source's time)."""
    os.utime(run)
    return run


def button(at, start: str):
    return next(b for b in at.button if b.label.startswith(start))


# --- Data page: uploads -------------------------------------------------------------------------------


def import_upload(own_world, name: str, data: bytes):
    at = own_world.open("Data")
    at.file_uploader[0].set_value((name, data, "application/zip")).run()
    button(at, "Import").click().run()
    no_exception(at)
    return at


def symlink_entry() -> zipfile.ZipInfo:
    info = zipfile.ZipInfo("faces/ann/link.png")
    info.external_attr = 0o120777 << 16
    return info


@pytest.mark.parametrize("bad, message", [("faces/../../../escape.png", "points outside the folder"),
                                          ("ABSOLUTE", "points outside the folder"),
                                          ("SYMLINK", "is a symbolic link")])
def test_an_upload_with_unsafe_entries_is_refused_and_writes_nothing(own_world, tmp_path, bad, message):
    name = {"ABSOLUTE": str(tmp_path / "absolute.png"), "SYMLINK": symlink_entry()}.get(bad, bad)
    before = files_under(tmp_path)
    at = import_upload(own_world, "faces.zip", zip_of({**identity_zip(), name: b"/etc/passwd"}))
    assert message in texts(at.error) and "refused" in texts(at.error)
    assert files_under(tmp_path) == before
    assert sorted(p.name for p in own_world.data.iterdir()) == ["synthetic"]


@pytest.mark.parametrize("bomb", ["ratio", "count"])
def test_a_zip_bomb_upload_is_refused_before_extraction(own_world, monkeypatch, bomb):
    if bomb == "count":
        monkeypatch.setattr("siamese.data.zips.MAX_ZIP_FILES", 5)
        archive, message = zip_of(identity_zip()), "the limit is 5"
    else:
        archive, message = zip_of({"faces/ann/0.png": bytes(30_000_000)}), "marks a zip bomb"
    before = files_under(own_world.root)
    at = import_upload(own_world, "bomb.zip", archive)
    assert message in texts(at.error)
    assert files_under(own_world.root) == before


def test_an_upload_that_is_not_a_zip_is_refused(own_world):
    at = import_upload(own_world, "holiday.zip", b"just some text that was renamed to .zip")
    assert "not a readable zip file" in texts(at.error) and "upload a .zip of identity folders" in texts(at.error)
    assert sorted(p.name for p in own_world.data.iterdir()) == ["synthetic"]


def test_an_upload_with_a_corrupt_member_leaves_nothing_behind(own_world):
    entries = identity_zip()
    archive = bytearray(zip_of(entries, zipfile.ZIP_STORED))
    last = entries["faces/cyd/2.png"]
    archive[archive.rindex(last) + len(last) // 2] ^= 0xFF  # the last member fails its CRC check
    before = files_under(own_world.root)
    at = import_upload(own_world, "faces.zip", bytes(archive))
    assert "cannot be extracted" in texts(at.error)
    assert files_under(own_world.root) == before
    assert sorted(p.name for p in own_world.data.iterdir()) == ["synthetic"]


def test_an_upload_named_with_a_path_lands_inside_the_data_folder(own_world, tmp_path):
    before = files_under(tmp_path)
    at = import_upload(own_world, "../../escape.zip", zip_of(identity_zip()))
    assert not at.error, texts(at.error)
    written = set(files_under(tmp_path)) - set(before)
    assert len(written) == 9
    assert all((tmp_path / p).resolve().is_relative_to((own_world.data / "escape").resolve()) for p in written)
    assert at.metric[0].value == "3"


def test_an_upload_never_overwrites_an_existing_dataset(own_world):
    before = files_under(own_world.faces)
    # Same folder name, same file names as data/synthetic, other pictures.
    entries = {f"synthetic/person_{i:02d}/{j:03d}.png": png(10 * i + j) for i in range(3) for j in range(3)}
    at = import_upload(own_world, "synthetic.zip", zip_of(entries))
    assert not at.error, texts(at.error)
    assert files_under(own_world.faces) == before
    imported = Path(at.session_state.data_source)
    assert imported.parent.parent == own_world.data and imported.parent.name != "synthetic"
    assert at.metric[0].value == "3"
    assert "Imported synthetic.zip" in texts(at.info)


def test_an_upload_with_broken_and_non_image_files_lists_what_was_skipped(own_world):
    entries = {**identity_zip(), "faces/ann/broken.png": png()[:40], "faces/bob/notes.txt": b"hello",
               "faces/dee/0.png": png(), "faces/eve/scan.jpg": b"\xff\xd8\xff\xe0 not really a jpeg"}
    at = import_upload(own_world, "mixed.zip", zip_of(entries))
    no_exception(at)
    warnings = texts(at.warning)
    assert "broken.png: not a readable image" in warnings
    assert "scan.jpg: not a readable image" in warnings
    assert "1 file(s) that are not images" in warnings
    assert "identity 'dee' has 1 readable image(s)" in warnings and "'eve' has 0" in warnings
    assert at.metric[0].value == "3"  # ann, bob, cyd: the three usable identities


def test_an_upload_with_names_in_any_script_and_spaces(own_world):
    names = ("Zoë Ångström", "李 雷", "محمد علي", "Ольга")
    at = import_upload(own_world, "wörld faces.zip", zip_of(identity_zip(names, images=2)))
    assert not at.error, texts(at.error)
    assert sorted(at.dataframe[0].value["identity"]) == sorted(names)


def test_an_upload_with_one_identity_says_what_is_needed(own_world):
    at = import_upload(own_world, "one.zip", zip_of(identity_zip(("ann",))))
    assert "has 1 usable identity; at least 2 identities with 2 or more images each are needed" in texts(at.error)


@pytest.mark.parametrize("folder, message", [
    ("EMPTY", "has 0 usable identities; at least 2 identities"),
    ("MISSING", "give a folder of identity folders, a .zip of them"),
    ("ONE_IMAGE_EACH", "has 0 usable identities"),
])
def test_a_folder_that_is_not_a_dataset_says_what_to_give(own_world, folder, message):
    root = own_world.root / "my faces"
    if folder == "EMPTY":
        root.mkdir()
    if folder == "ONE_IMAGE_EACH":
        for name in ("ann", "bob", "cyd"):
            (root / name).mkdir(parents=True)
            (root / name / "0.png").write_bytes(png())
    at = own_world.open("Data")
    at.text_input[0].set_value(str(root)).run()
    no_exception(at)
    assert message in texts(at.error)


def test_a_folder_too_big_to_decode_is_shown_on_a_sample_with_its_full_counts(own_world, monkeypatch):
    from siamese.data import preview as samples

    monkeypatch.setattr(samples, "PREVIEW_MAX_IMAGES", 20)
    at = own_world.open("Data")
    at.text_input[0].set_value(str(own_world.faces)).run()
    no_exception(at)
    # 12 identities x 6 images counted from the files; 4 identities (6 images each) decoded and shown.
    assert [m.value for m in at.metric[:2]] == ["12", "72"]
    assert "72 images: showing a sample of 4 identities" in texts(at.warning)


# --- Train and Runs pages -------------------------------------------------------------------------------


def test_a_diverged_run_shows_its_status_and_message(own_world, diverged_run):
    run = newest(shutil.copytree(diverged_run, own_world.runs / "wild"))
    checkpoint = RunPaths(run).checkpoint.read_bytes()
    at = own_world.open("Train")
    at.sidebar.selectbox[0].set_value("wild").run()
    no_exception(at)
    assert "Run wild: diverged" in texts(at.subheader)
    assert "training diverged. Lower the learning rate" in texts(at.error)
    at.switch_page(page_file("Runs")).run()
    no_exception(at)
    table = at.dataframe[0].value
    assert table.loc[table["run"] == "wild", "status"].item() == "diverged"
    assert "wild diverged: the loss became nan" in texts(at.error)
    at.switch_page(page_file("Verify")).run()  # the last good checkpoint still serves
    assert not at.error and not at.exception
    assert RunPaths(run).checkpoint.read_bytes() == checkpoint


def test_starting_with_a_file_where_the_runs_folder_should_be_explains(own_world, monkeypatch):
    blocker = own_world.root / "runs-file"
    blocker.write_text("not a folder")
    own_world.point(runs=blocker)
    at = own_world.open("Train")
    button(at, "Start training").click().run()
    no_exception(at)
    assert "Training did not start" in texts(at.error) and "runs-file" in texts(at.error)
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("code, reason", [(errno.EROFS, "Read-only file system"),
                                          (errno.ENOSPC, "No space left on device")])
def test_starting_with_a_read_only_or_full_runs_folder_explains(own_world, monkeypatch, code, reason):
    real_mkdir = pathlib.Path.mkdir

    def refusing_mkdir(self, *args, **kwargs):
        if Path(self).is_relative_to(own_world.runs):
            raise OSError(code, os.strerror(code), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", refusing_mkdir)
    at = own_world.open("Train")
    button(at, "Start training").click().run()
    no_exception(at)
    error = texts(at.error)
    assert "Training did not start" in error and reason in error
    assert "writable and the disk is not full" in error
    assert sorted(p.name for p in own_world.runs.iterdir()) == ["tiny"]
    assert at.session_state.run == "tiny"


def test_a_run_in_progress_elsewhere_disables_start_and_can_be_stopped(own_world):
    # A run started from the command line (or another tab): a live process, here this one, in status.json.
    run = shutil.copytree(own_world.run, own_world.runs / "from-cli")
    write_json(RunPaths(run).status, {"status": "running", "message": "training", "pid": os.getpid(),
                                      "epoch": 1, "epochs": 2, "started": 0})
    at = own_world.open("Train")
    no_exception(at)
    start = button(at, "Start training")
    assert start.disabled and "in progress" in start.help
    assert "Run from-cli: running" in texts(at.subheader)
    button(at, "Stop from-cli").click().run()
    assert RunPaths(run).stop.exists()
    assert RunPaths(own_world.run).stop.exists() is False


def test_stop_on_a_read_only_run_folder_explains(own_world, monkeypatch):
    run = shutil.copytree(own_world.run, own_world.runs / "from-cli")
    write_json(RunPaths(run).status, {"status": "running", "message": "training", "pid": os.getpid(),
                                      "epoch": 1, "epochs": 2, "started": 0})

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(pathlib.Path, "touch", read_only)
    at = own_world.open("Train")
    button(at, "Stop from-cli").click().run()
    no_exception(at)
    assert "Could not ask from-cli to stop: Read-only file system" in texts(at.error)


def test_a_second_tab_cannot_start_a_second_training(own_world, monkeypatch):
    from siamese.runs import launch

    started = []
    real_popen = launch.subprocess.Popen

    def still_loading(command, **kwargs):
        # Stands in for a training that is still loading its data: a live process that writes nothing.
        started.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"], **kwargs))
        return started[-1]

    monkeypatch.setattr(launch.subprocess, "Popen", still_loading)
    first, second = own_world.open("Train"), own_world.open("Train")
    try:
        button(first, "Start training").click().run()
        button(second, "Start training").click().run()  # rendered before the first tab started its run
        no_exception(second)
        assert len(started) == 1
        assert button(second, "Start training").disabled
        assert f"Run {first.session_state.run}: starting" in texts(second.subheader)
    finally:
        for process in started:
            process.kill()
            process.wait()


def test_half_written_and_unreadable_runs_do_not_break_the_runs_page(own_world):
    half = own_world.runs / "half"
    half.mkdir()
    shutil.copy(RunPaths(own_world.run).config, RunPaths(half).config)  # cut off before its status
    broken = own_world.runs / "broken"
    broken.mkdir()
    RunPaths(broken).config.write_text('{"data": "synth')
    with open(RunPaths(own_world.run).metrics, "a") as metrics:
        metrics.write('42\n[1, 2]\n{"kind": "epoch"}\n{"kind": "step", "loss": "NaN?"}\n'
                      '\x00\x00\x00\n{"kind": "st')
    at = own_world.open("Runs")
    no_exception(at)
    table = at.dataframe[0].value.set_index("run")
    assert table.loc["half", "status"] == "new"
    assert table.loc["broken", "status"].startswith("unreadable: cannot read the configuration")
    assert table.loc["tiny", "val_auc"] > 0
    at.switch_page(page_file("Train")).run()
    at.sidebar.selectbox[0].set_value("tiny").run()
    no_exception(at)
    assert "Run tiny: finished" in texts(at.subheader)


def test_a_checkpoint_of_another_model_is_reported(own_world):
    other = newest(shutil.copytree(own_world.run, own_world.runs / "other"))
    stranger = build_model(TrainConfig.from_dict({**run_config(other).to_dict(), "embedding_dim": 8}))
    save_torch(RunPaths(other).checkpoint, {"model": stranger.state_dict()})
    at = own_world.open("Runs")
    no_exception(at)
    assert "does not match the run's configuration" in texts(at.warning)
    at.switch_page(page_file("Verify")).run()
    at.sidebar.selectbox[0].set_value("other").run()
    no_exception(at)
    assert "does not match the run's configuration" in texts(at.error)


class RunsCode:
    """Unpickling this calls os.system: a checkpoint crafted to run code when loaded."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch '{self.marker}'",)


def test_a_crafted_checkpoint_is_refused_and_runs_nothing(own_world, tmp_path):
    marker = tmp_path / "code-ran"
    torch.save({"model": {}, "payload": RunsCode(marker)}, RunPaths(own_world.run).checkpoint)
    at = own_world.open("Verify")
    no_exception(at)
    assert "is not a checkpoint this tool can load safely" in texts(at.error)
    at.switch_page(page_file("Runs")).run()
    no_exception(at)
    assert "can load safely" in texts(at.warning)
    assert not marker.exists()


def test_saving_a_threshold_into_a_read_only_run_explains(own_world, monkeypatch):
    saved = read_threshold(own_world.run)
    at = own_world.open("Threshold")

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(safe_files.tempfile, "mkstemp", read_only)
    button(at, "Save this threshold").click().run()
    no_exception(at)
    assert "Read-only file system" in texts(at.error) and "Check that the folder is writable" in texts(at.error)
    assert read_threshold(own_world.run) == saved


def test_a_run_whose_dataset_is_gone_shows_what_it_kept_or_says_what_to_do(own_world):
    config = json.loads(RunPaths(own_world.run).config.read_text())
    RunPaths(own_world.run).config.write_text(json.dumps({**config, "data": str(own_world.root / "moved")}))
    for page in ("Threshold", "Embeddings"):  # the run keeps its validation images and their embeddings
        at = own_world.open(page)
        no_exception(at)
        assert not at.error
    shutil.rmtree(RunPaths(own_world.run).embeddings)  # a run from before they were kept, on a fresh server
    st.cache_resource.clear()
    for page in ("Threshold", "Embeddings"):
        at = own_world.open(page)
        no_exception(at)
        error = texts(at.error)
        assert "run tiny was trained on" in error and "moved" in error and "Put that dataset back" in error


def test_a_damaged_threshold_file_says_what_to_do(own_world):
    (own_world.run / "threshold.json").write_text('{"threshold": ')
    for page in ("Threshold", "Verify"):
        at = own_world.open(page)
        no_exception(at)
        # The Threshold page warns and goes on, so that a threshold can be chosen and saved there again.
        shown = texts(at.warning) if page == "Threshold" else texts(at.error)
        assert "delete that file, then save a threshold on the Threshold page" in shown


def test_a_run_deleted_elsewhere_is_not_shown_as_starting(own_world):
    shutil.copytree(own_world.run, own_world.runs / "second")
    at = own_world.open()
    at.sidebar.selectbox[0].set_value("tiny").run()
    shutil.rmtree(own_world.run)  # deleted from another tab or the command line
    at.run()
    no_exception(at)
    assert "starting" not in texts(at.sidebar.markdown)
    assert at.sidebar.selectbox[0].value == "second" and at.session_state.run == "second"


# --- Verify page ----------------------------------------------------------------------------------------


def enrol_directly(world, name: str, images: int = 2) -> Gallery:
    gallery = Gallery(world.gallery, load_trained(world.run, device="cpu"))
    faces = sorted((world.faces / "person_00").glob("*.png"))[:images]
    gallery.enroll(name, [Image.open(p).convert("RGB") for p in faces])
    return gallery


def test_a_photo_that_is_not_an_image_gets_a_clear_message(own_world):
    at = own_world.open("Verify")
    at.camera_input(key="verify_camera").set_value(("notes.jpg", b"dear diary", "image/jpeg")).run()
    no_exception(at)
    error = texts(at.error)
    assert "the photo is not a readable image" in error and "BytesIO" not in error


def png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IEND", b""))


def test_a_photo_claiming_enormous_dimensions_is_refused(own_world):
    at = own_world.open("Verify")
    at.file_uploader(key="verify_upload").set_value(("bomb.png", png_header(90_000, 90_000), "image/png")).run()
    no_exception(at)
    assert "too large to decode safely; resize it first" in texts(at.error)
    at.file_uploader(key="verify_upload").set_value(("big.png", png_header(8_000, 8_000), "image/png")).run()
    assert "8000x8000 pixels, too large; resize it first" in texts(at.error)


def phone_photo(face_photo: bytes, kind: str) -> tuple[str, bytes]:
    """The face photo as a phone or a scanner might save it: (file name, bytes)."""
    face = Image.open(io.BytesIO(face_photo))
    if kind == "EXIF":  # stored on its side, with the orientation tag that turns it upright
        exif = Image.Exif()
        exif[0x0112] = 6
        buffer = io.BytesIO()
        face.transpose(Image.Transpose.ROTATE_90).save(buffer, format="JPEG", exif=exif.tobytes())
        return "phone.jpg", buffer.getvalue()
    if kind == "I;16":
        grey = np.asarray(face.convert("L")).astype(np.uint16) * 257
        return "scan.png", photo(Image.fromarray(grey), "PNG")  # uint16 gives mode I;16
    if kind == "CMYK":
        return "print.jpg", photo(face.convert("CMYK"), "JPEG")
    return "photo.png", photo(face.convert(kind), "PNG")


@pytest.mark.parametrize("kind", ["EXIF", "CMYK", "I;16", "P", "RGBA", "LA"])
def test_phone_and_scanner_photos_are_read_upright(own_world, face_photo, kind):
    at = own_world.open("Verify")
    name, data = phone_photo(face_photo, kind)
    at.file_uploader(key="verify_upload").set_value((name, data, "image/png")).run()
    no_exception(at)
    assert not at.error, texts(at.error)
    assert "Nobody is enrolled yet" in texts(at.info)  # a face was found and cropped


def two_faces(face_photo: bytes) -> bytes:
    face = Image.open(io.BytesIO(face_photo)).crop((180, 70, 456, 406))
    scene = Image.new("RGB", (900, 480), (120, 140, 160))
    scene.paste(face, (40, 60))
    scene.paste(face.resize((138, 168)), (600, 150))
    return photo(scene)


def test_a_photo_with_several_faces_asks_for_one(own_world, face_photo):
    at = own_world.open("Verify")
    at.camera_input(key="verify_camera").set_value(("group.jpg", two_faces(face_photo), "image/jpeg")).run()
    no_exception(at)
    assert "2 faces were found in the photo; keep one person in view" in texts(at.error)
    next(c for c in at.checkbox if c.label.startswith("Use the largest")).check().run()
    assert not at.error and "Nobody is enrolled yet" in texts(at.info)


@pytest.mark.parametrize("shot, reason", [("blank", "no face was found"), ("group", "2 faces were found")])
def test_a_snapshot_without_exactly_one_face_is_not_added(own_world, face_photo, shot, reason):
    at = own_world.open("Verify")
    at.text_input(key="enrol_name").set_value("alice")
    data = blank_photo() if shot == "blank" else two_faces(face_photo)
    at.camera_input(key="enrol_camera").set_value(("shot.jpg", data, "image/jpeg")).run()
    button(at, "Add this snapshot").click().run()
    no_exception(at)
    assert reason in texts(at.error) and "snapshot was not added" in texts(at.error)
    assert at.session_state.enrol_shots == []
    assert files_under(own_world.gallery / "identities") == {}


def test_photos_without_a_face_enrol_nothing_and_are_named(own_world, face_photo):
    at = own_world.open("Verify")
    at.text_input(key="enrol_name").set_value("alice")
    at.file_uploader(key="enrol_files_0").set_value([("good.jpg", face_photo, "image/jpeg"),
                                                   ("wall.jpg", blank_photo(), "image/jpeg")]).run()
    button(at, "Enrol alice").click().run()
    no_exception(at)
    error = texts(at.error)
    assert "Nothing was enrolled" in error and "wall.jpg: no face was found" in error
    assert "good.jpg" not in error
    assert files_under(own_world.gallery / "identities") == {}


@pytest.mark.parametrize("name, reason", [("../evil", "path separator"), ("a/b", "path separator"),
                                          ("al\x07ice", "control characters"), (".hidden", "starts with '.'"),
                                          ("x" * 65, "at most 64")])
def test_an_unsafe_name_is_refused_and_the_gallery_is_unchanged(own_world, tmp_path, name, reason):
    before = files_under(tmp_path)
    at = own_world.open("Verify")
    next(c for c in at.checkbox if c.label.startswith("Detect the face")).uncheck()
    at.text_input(key="enrol_name").set_value(name)
    at.file_uploader(key="enrol_files_0").set_value(("a.png", png(), "image/png")).run()
    button(at, "Enrol").click().run()
    no_exception(at)
    assert reason in texts(at.error)
    gallery_files = {k for k in files_under(tmp_path) if k not in before}
    assert not any("identities" in k for k in gallery_files), gallery_files


@pytest.mark.parametrize("name", ["", "   "])
def test_the_enrol_button_waits_for_a_name(own_world, name):
    at = own_world.open("Verify")
    at.text_input(key="enrol_name").set_value(name)
    at.file_uploader(key="enrol_files_0").set_value(("a.png", png(), "image/png")).run()
    enrol = button(at, "Enrol")
    assert enrol.disabled and "Type the person's name" in enrol.help


def test_removing_a_person_deletes_their_images_and_embeddings(own_world):
    enrol_directly(own_world, "alice")
    enrol_directly(own_world, "bob")
    at = own_world.open("Verify")
    at.selectbox(key="remove_who").set_value("alice").run()
    button(at, "Remove alice").click().run()
    no_exception(at)
    assert not (own_world.gallery / "identities" / "alice").exists()
    assert (own_world.gallery / "identities" / "bob").is_dir()
    for cache in (own_world.gallery / "embeddings").glob("*.pt"):
        assert "alice" not in load_torch(cache)["names"]
    assert list(Gallery(own_world.gallery, load_trained(own_world.run, device="cpu")).identities()) == ["bob"]


def test_a_person_whose_images_are_unreadable_can_still_be_removed(own_world):
    gallery = enrol_directly(own_world, "alice")
    for image in (own_world.gallery / "identities" / "alice").iterdir():
        image.write_bytes(b"damaged")
    gallery.cache_path.unlink()
    at = own_world.open("Verify")
    assert "could not be embedded" in texts(at.warning)
    assert at.selectbox(key="remove_who").value == "alice"
    button(at, "Remove alice").click().run()
    no_exception(at)
    assert not (own_world.gallery / "identities" / "alice").exists()


def test_a_corrupt_gallery_file_is_reported_not_treated_as_empty(own_world):
    gallery = enrol_directly(own_world, "alice", images=3)
    gallery.cache_path.write_bytes(b"\x00" * 100)
    images = files_under(own_world.gallery / "identities")
    at = own_world.open("Verify")
    no_exception(at)
    assert "was corrupt" in texts(at.warning) and "recomputed from the enrolled images" in texts(at.warning)
    assert "1 people enrolled" in texts(at.caption)
    assert files_under(own_world.gallery / "identities") == images


def test_an_unusable_gallery_folder_is_explained(own_world, monkeypatch):
    blocker = own_world.root / "gallery-file"
    blocker.write_text("not a folder")
    own_world.point(gallery=blocker)
    at = own_world.open("Verify")
    no_exception(at)
    assert "cannot use" in texts(at.error) and "gallery-file" in texts(at.error)


def test_deleting_the_run_keeps_the_gallery_and_says_what_to_do(own_world):
    enrol_directly(own_world, "alice")
    images = files_under(own_world.gallery / "identities")
    at = own_world.open("Runs")
    next(c for c in at.checkbox if c.label.startswith("Yes, delete tiny")).check().run()
    button(at, "Delete run").click().run()
    no_exception(at)
    assert not own_world.run.exists()
    at.switch_page(page_file("Verify")).run()
    no_exception(at)
    assert "No trained run yet" in texts(at.info)
    assert files_under(own_world.gallery / "identities") == images
