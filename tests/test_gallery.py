"""The gallery (siamese/gallery.py): enrol, verify (1:1), identify (1:N), remove, and its embedding cache,
with a tiny model trained once for the whole module."""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.data.images import load_image
from siamese.errors import DatasetError, GalleryError
from siamese.evaluate.calibration import Calibration
from siamese.faces.align import ALIGNED_SIZE
from siamese.gallery import (
    Gallery,
    check_identity_name,
    check_snapshots,
    compare_photos,
    confidence_text,
    enrol_photos,
    enrol_validation_people,
)
from siamese.runs.folder import decision_threshold, read_threshold, save_threshold
from siamese.runs.trained import load_trained
from siamese.train.loop import train

# tests/conftest.py by path: a bare `import conftest` may find tests/app/conftest.py instead.
_spec = importlib.util.spec_from_file_location("shared_conftest", Path(__file__).with_name("conftest.py"))
_shared = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_shared)
identity_image = _shared.identity_image

TRAIN_IDENTITIES = range(12)
# People the model never saw in training: the gallery enrols and probes them.
ALICE, BOB, CAROL, DAVE, ERIN = 20, 23, 26, 29, 21
ENROLLED_IMAGES = range(0, 3)
PROBE_IMAGES = range(3, 6)


def picture(identity: int, index: int) -> Image.Image:
    return identity_image(identity, index, size=32)


def probe(identity: int, index: int) -> torch.Tensor:
    """A (1, 1, 32, 32) uint8 image as verify() and identify() take it."""
    buffer = io.BytesIO()
    picture(identity, index).save(buffer, format="PNG")
    return load_image(buffer.getvalue(), 32, "grey")[None]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run trained for 6 epochs on 12 synthetic identities, with its threshold set between the genuine and
    impostor distances of the people used below, so that every decision in this module is deterministic."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("faces")
    for identity, index in itertools.product(TRAIN_IDENTITIES, range(6)):
        (root / f"person_{identity:02d}").mkdir(exist_ok=True)
        picture(identity, index).save(root / f"person_{identity:02d}" / f"{index:03d}.png")
    run_dir = tmp_path_factory.mktemp("runs") / "tiny"
    run_dir.mkdir()
    config = TrainConfig(data=str(root), input_size=32, model="compact", embedding_dim=16, p=4, k=3, epochs=6,
                         augment=False, device="cpu", seed=0)
    assert train(config, run_dir, data_dir=tmp_path_factory.mktemp("data")).status == "finished"

    trained = load_trained(run_dir, device="cpu")
    people = (ALICE, BOB, CAROL, DAVE, ERIN)
    enrolled = {p: trained.embed(torch.cat([probe(p, i) for i in ENROLLED_IMAGES])) for p in people}
    genuine, impostor = [], []
    for p, q in itertools.product(people, people):
        queries = trained.embed(torch.cat([probe(q, i) for i in PROBE_IMAGES]))
        nearest = [float(trained.distance(x[None].expand(len(enrolled[p]), -1), enrolled[p]).min())
                   for x in queries]
        (genuine if p == q else impostor).extend(nearest)
    assert max(genuine) < min(impostor), (
        f"the tiny model does not separate the gallery's people: genuine up to {max(genuine):.3f}, "
        f"impostors from {min(impostor):.3f}")
    save_threshold(run_dir, (max(genuine) + min(impostor)) / 2, "test")
    yield run_dir
    torch.set_num_threads(threads)


@pytest.fixture
def trained(run):
    return load_trained(run, device="cpu")


@pytest.fixture
def gallery(tmp_path, trained):
    return Gallery(tmp_path / "gallery", trained)


def enroll(gallery: Gallery, name: str, identity: int) -> int:
    return gallery.enroll(name, [picture(identity, i) for i in ENROLLED_IMAGES])


@pytest.fixture
def threshold(run):
    return decision_threshold(run)


def test_threshold_comes_from_the_run(run, threshold):
    assert 0 < threshold < 2 and threshold == read_threshold(run)


def test_enrol_then_verify_the_same_person(gallery, threshold):
    assert enroll(gallery, "alice", ALICE) == 3
    assert gallery.identities() == {"alice": 3}
    assert len(list((gallery.root / "identities" / "alice").glob("*.png"))) == 3
    for index in PROBE_IMAGES:
        result = gallery.verify(probe(ALICE, index), "alice", threshold)
        assert result.accepted, result
        assert result.distance <= result.threshold == threshold
        assert result.nearest[0].distance == result.distance
        assert [m.distance for m in result.nearest] == sorted(m.distance for m in result.nearest)


def test_enrolling_more_images_adds_to_the_person(gallery):
    enroll(gallery, "alice", ALICE)
    assert gallery.enroll("alice", [picture(ALICE, 3)]) == 4
    assert gallery.embeddings.shape == (4, 16)


def test_an_impostor_claiming_an_enrolled_name_is_rejected(gallery, threshold):
    enroll(gallery, "alice", ALICE)
    for index in PROBE_IMAGES:
        result = gallery.verify(probe(BOB, index), "alice", threshold)
        assert not result.accepted
        assert result.distance > result.threshold


def test_identify_an_unenrolled_person_as_unknown(gallery, threshold):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    for index in PROBE_IMAGES:
        result = gallery.identify(probe(CAROL, index), threshold)
        assert result.identity is None
        assert result.distance > result.threshold
        assert {m.identity for m in result.candidates} == {"alice", "bob"}


def test_identify_picks_the_right_person_among_several(gallery, threshold):
    for name, identity in (("alice", ALICE), ("bob", BOB), ("dave", DAVE), ("erin", ERIN)):
        enroll(gallery, name, identity)
    for name, identity in (("alice", ALICE), ("bob", BOB), ("dave", DAVE), ("erin", ERIN)):
        result = gallery.identify(probe(identity, 4), threshold)
        assert result.identity == name
        assert result.distance <= result.threshold
        distances = [m.distance for m in result.candidates]
        assert distances == sorted(distances)
        assert [m.identity for m in result.candidates][0] == name
        assert sorted(m.identity for m in result.candidates) == ["alice", "bob", "dave", "erin"]
        assert result.candidates[0].distance == result.distance
    assert len(gallery.identify(probe(ALICE, 4), threshold, top_k=2).candidates) == 2


def test_identify_with_nobody_enrolled(gallery, threshold):
    with pytest.raises(GalleryError, match="nobody is enrolled"):
        gallery.identify(probe(ALICE, 0), threshold)


@pytest.mark.parametrize("name", ["", "   ", "../x", "a/b", "a\\b", ".hidden", "..", "x" * 65, "a\x00b",
                                  "a\nb", "a\u200bb"])
def test_check_identity_name_refuses_unsafe_names(name):
    with pytest.raises(GalleryError):
        check_identity_name(name)


@pytest.mark.parametrize("name", ["Zoë Ångström", "李小龍", "Mary Ann", "x" * 64, "o'brien-smith_2"])
def test_check_identity_name_accepts_real_names(name):
    assert check_identity_name(name) == name
    assert check_identity_name(f"  {name} ") == name


def test_check_identity_name_normalises_unicode():
    decomposed = unicodedata.normalize("NFD", "Zoë")
    assert check_identity_name(decomposed) == "Zoë"


def test_unusual_names_enrol_as_folders(gallery):
    for name in ("Zoë Ångström", "李小龍", "Mary Ann"):
        enroll(gallery, name, ALICE)
        assert (gallery.root / "identities" / name).is_dir()
    assert set(gallery.identities()) == {"Zoë Ångström", "李小龍", "Mary Ann"}


def test_a_name_too_long_for_a_folder_is_refused_with_gallery_error(gallery):
    name = "😀" * 64
    try:
        enroll(gallery, name, ALICE)
    except GalleryError:
        return
    assert gallery.identities() == {name: 3}


def test_verify_normalises_the_claimed_name_like_enroll(gallery, threshold):
    enroll(gallery, "Zoë", ALICE)
    assert gallery.verify(probe(ALICE, 3), unicodedata.normalize("NFD", "Zoë"), threshold).accepted
    assert gallery.verify(probe(ALICE, 3), " Zoë ", threshold).accepted


def test_enrol_refuses_an_empty_list_and_a_bad_name(gallery):
    with pytest.raises(GalleryError, match="no images"):
        gallery.enroll("alice", [])
    with pytest.raises(GalleryError):
        gallery.enroll("../alice", [picture(ALICE, 0)])
    assert list((gallery.root / "identities").iterdir()) == []


def test_remove_deletes_the_folder_and_the_embeddings(gallery, trained, threshold):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    gallery.remove("alice")
    assert not (gallery.root / "identities" / "alice").exists()
    assert gallery.identities() == {"bob": 3}
    assert gallery.embeddings.shape == (3, 16)
    assert gallery.identify(probe(ALICE, 4), threshold).identity is None

    reopened = Gallery(gallery.root, trained)
    assert reopened.identities() == {"bob": 3}
    cached = torch.load(reopened.cache_path, weights_only=True)
    assert "alice" not in cached["names"] and len(cached["embeddings"]) == 3
    with pytest.raises(GalleryError, match="not enrolled"):
        reopened.remove("alice")


def test_an_enrolment_that_fails_half_way_stores_nothing(gallery, monkeypatch):
    enroll(gallery, "alice", ALICE)
    before = sorted(p.relative_to(gallery.root) for p in gallery.root.rglob("*"))
    saved = []
    real_save = Image.Image.save

    def full_disk(image, path, *args, **kwargs):
        if len(saved) == 2:
            raise OSError(28, "No space left on device")
        saved.append(path)
        return real_save(image, path, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", full_disk)
    for name in ("alice", "bob"):
        saved.clear()
        with pytest.raises(GalleryError, match="No space left on device; nothing was enrolled"):
            enroll(gallery, name, ALICE if name == "alice" else BOB)
    assert sorted(p.relative_to(gallery.root) for p in gallery.root.rglob("*")) == before
    assert gallery.identities() == {"alice": 3}


def test_a_removal_that_cannot_delete_says_so(gallery, monkeypatch):
    enroll(gallery, "alice", ALICE)

    def read_only(path, *args, **kwargs):
        raise OSError(30, "Read-only file system", str(path))

    monkeypatch.setattr("siamese.gallery.shutil.rmtree", read_only)
    with pytest.raises(GalleryError, match="cannot delete 'alice'.*Read-only file system"):
        gallery.remove("alice")
    assert gallery.identities() == {"alice": 3}


def test_remove_the_last_person_leaves_an_empty_gallery(gallery, trained):
    enroll(gallery, "alice", ALICE)
    gallery.remove("alice")
    assert Gallery(gallery.root, trained).identities() == {}


def count_embed_calls(monkeypatch, model) -> list[int]:
    calls = []
    real_embed = model.embed

    def embed(images):
        calls.append(len(images))
        return real_embed(images)

    monkeypatch.setattr(model, "embed", embed)
    return calls


def test_embedding_cache_is_reused_when_the_model_is_unchanged(gallery, run, monkeypatch):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    again = load_trained(run, device="cpu")
    assert again.fingerprint == gallery.model.fingerprint
    calls = count_embed_calls(monkeypatch, again)
    reopened = Gallery(gallery.root, again)
    assert calls == []
    assert reopened.identities() == {"alice": 3, "bob": 3}
    assert torch.equal(reopened.embeddings, gallery.embeddings)
    assert reopened.problems == []


def test_embedding_cache_is_recomputed_for_another_checkpoint(gallery, run, monkeypatch):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    earlier = load_trained(run, checkpoint=run / "snapshots" / "epoch-0001.pt", device="cpu")
    assert earlier.fingerprint != gallery.model.fingerprint
    calls = count_embed_calls(monkeypatch, earlier)
    reopened = Gallery(gallery.root, earlier)
    assert sum(calls) == 6
    assert reopened.identities() == {"alice": 3, "bob": 3}
    assert not torch.allclose(reopened.embeddings, gallery.embeddings)
    assert sorted(p.name for p in (gallery.root / "embeddings").iterdir()) == sorted(
        [f"{earlier.fingerprint}.pt", f"{gallery.model.fingerprint}.pt"])


def test_corrupt_embedding_cache_is_reported_and_recomputed(gallery, trained):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    expected = gallery.embeddings.clone()
    gallery.cache_path.write_bytes(b"\x00garbage, not a torch file")
    reopened = Gallery(gallery.root, trained)
    assert len(reopened.problems) == 1 and "corrupt" in reopened.problems[0]
    assert reopened.identities() == {"alice": 3, "bob": 3}
    assert torch.allclose(reopened.embeddings, expected, atol=1e-6)
    assert Gallery(gallery.root, trained).problems == []  # the rewritten cache is good


def test_cache_with_missing_embedding_rows_is_recomputed(gallery, trained):
    enroll(gallery, "alice", ALICE)
    cached = torch.load(gallery.cache_path, weights_only=True)
    torch.save({**cached, "embeddings": cached["embeddings"][:1]}, gallery.cache_path)
    reopened = Gallery(gallery.root, trained)
    assert reopened.embeddings.shape == (3, 16)
    assert reopened.problems


def test_verify_a_name_that_is_not_enrolled(gallery, threshold):
    with pytest.raises(GalleryError, match="nobody"):
        gallery.verify(probe(ALICE, 3), "alice", threshold)
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    with pytest.raises(GalleryError) as info:
        gallery.verify(probe(ALICE, 3), "carol", threshold)
    assert "'carol' is not enrolled" in str(info.value)
    assert "alice, bob" in str(info.value)


def test_enrol_photos_is_all_or_nothing_and_checks_the_name_first(gallery):
    def png_bytes(identity, index):
        buffer = io.BytesIO()
        picture(identity, index).save(buffer, format="PNG")
        return buffer.getvalue()

    photos = [("a.png", png_bytes(ALICE, 0)), ("b.png", png_bytes(ALICE, 1))]
    with pytest.raises(GalleryError, match="Nothing was enrolled: the identity name"):
        enrol_photos(gallery, "../alice", photos, detect=False)
    with pytest.raises(GalleryError, match="(?s)Nothing was enrolled. Remove or replace.*- broken.png: .*not a readable"):
        enrol_photos(gallery, "alice", photos + [("broken.png", b"not a picture")], detect=False)
    assert gallery.identities() == {}
    assert enrol_photos(gallery, "alice", photos, detect=False) == 2


def test_decisions_say_how_sure_they_are_with_the_runs_calibration(gallery, threshold):
    enroll(gallery, "alice", ALICE)
    calibration = Calibration(10 * threshold, -10.0, 100)  # one half at the threshold
    same = gallery.verify(probe(ALICE, 3), "alice", threshold, calibration=calibration)
    other = gallery.verify(probe(BOB, 3), "alice", threshold, calibration=calibration)
    assert same.confidence == pytest.approx(calibration.confidence(same.distance))
    assert same.confidence > other.confidence
    assert gallery.identify(probe(ALICE, 4), threshold, calibration=calibration).confidence > 0.5
    assert gallery.verify(probe(ALICE, 3), "alice", threshold).confidence is None


# --- Two photos compared, bursts of snapshots, the run's validation people ---------------------------------

ORL = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "orl_faces"


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def blank_photo() -> bytes:
    return png_bytes(Image.new("RGB", (320, 240), (90, 90, 90)))


def orl_photo(person: int, index: int, size: tuple[int, int] = (360, 400)) -> Image.Image:
    """ORL face `person`/`index`, upscaled, on a plain background: a photo a face is found in."""
    path = ORL / f"s{person}" / f"{index}.pgm"
    if not path.exists():
        pytest.skip(f"{ORL} is absent: face-detection tests need real faces")
    face = Image.open(path).convert("RGB").resize((184, 224))
    photo = Image.new("RGB", size, (120, 140, 160))
    photo.paste(face, ((size[0] - 184) // 2, (size[1] - 224) // 2))
    return photo


def test_compare_photos_decides_at_the_threshold_and_says_how_sure(trained, threshold):
    calibration = Calibration(5.0, -5.0 / threshold, 100)  # one half at the threshold
    alike = compare_photos(trained, png_bytes(picture(ALICE, 3)), png_bytes(picture(ALICE, 3)), threshold,
                           calibration, cut="whole")
    assert alike.problems == [] and alike.same and alike.distance == pytest.approx(0, abs=1e-5)
    assert alike.confidence == pytest.approx(calibration.confidence(alike.distance)) and alike.confidence > 0.99
    apart = compare_photos(trained, png_bytes(picture(BOB, 0)), picture(ALICE, 3), threshold, calibration,
                           cut="whole")
    by_hand = trained.distance(trained.embed(probe(BOB, 0)), trained.embed(probe(ALICE, 3)))
    assert apart.distance == pytest.approx(float(by_hand), abs=1e-5) and apart.distance > threshold
    assert apart.same is False and apart.confidence < 0.5
    assert compare_photos(trained, picture(BOB, 0), picture(ALICE, 3), threshold, cut="whole").confidence is None


def test_compare_photos_names_the_photo_without_a_face_and_keeps_the_other(trained, threshold):
    unreadable = compare_photos(trained, b"not a picture", picture(ALICE, 3), threshold, cut="whole")
    assert unreadable.problems[0].startswith("First photo: the photo is not a readable image")
    assert unreadable.faces[0] is None and unreadable.faces[1] is not None  # the other photo still shows
    waiting = compare_photos(trained, picture(ALICE, 3), None, threshold, cut="whole")
    assert waiting.problems == [] and waiting.distance is None and waiting.faces[0] is not None


def test_compare_photos_finds_each_face_the_runs_way(trained, threshold):
    result = compare_photos(trained, png_bytes(orl_photo(1, 1)), png_bytes(orl_photo(1, 2)), threshold, cut="box")
    assert result.problems == [] and result.distance is not None
    assert all(face.face is not None and face.crop.size != (360, 400) for face in result.faces)
    blank = compare_photos(trained, png_bytes(orl_photo(1, 1)), blank_photo(), threshold, cut="align")
    assert blank.distance is None and blank.same is None and blank.faces[1] is None
    assert blank.faces[0].crop.size == (ALIGNED_SIZE, ALIGNED_SIZE)
    assert blank.problems == ["Second photo: no face was found in the photo: face the camera in good light, "
                              "closer, or untick 'detect the face' if the image is already a face crop"]


def test_check_snapshots_keeps_frames_with_a_face_and_counts_the_others():
    frames = [png_bytes(picture(ALICE, i)) for i in range(3)]
    burst = check_snapshots([frames[0], b"", frames[1], b"junk", frames[2]], cut="whole")
    assert burst.kept == frames and sorted(burst.skipped) == [2, 4] and burst.total == 5
    assert burst.message.startswith("3 of 5 snapshots were added; 2 had no usable face and were skipped:")
    assert "- snapshots 2, 4: the photo is not a readable image" in burst.message
    assert check_snapshots(frames, cut="whole").message == "All 3 snapshots were added."
    assert check_snapshots([], cut="whole").message == "The burst held no snapshots; take it again."


def test_a_burst_without_faces_adds_nothing_and_says_why():
    burst = check_snapshots([blank_photo(), blank_photo()], cut="box")
    assert burst.kept == []
    assert burst.message.startswith("None of the 2 snapshots was added:\n- snapshots 1, 2: no face was found")


def test_a_burst_with_some_faces_keeps_those():
    face = png_bytes(orl_photo(1, 1))
    burst = check_snapshots([face, blank_photo(), face], cut="align")
    assert burst.kept == [face, face] and list(burst.skipped) == [2]
    assert "- snapshot 2: no face was found in the photo" in burst.message


@pytest.mark.parametrize("confidence, text", [(None, "no calibration saved with this run"),
                                              (0.934, "93% likely the same person"),
                                              (0.9991, "over 99% likely the same person"),
                                              (0.0004, "under 1% likely the same person")])
def test_confidence_text(confidence, text):
    assert confidence_text(confidence) == text


def copy_run(run: Path, where: Path, **config_changes) -> Path:
    """A copy of the run whose config.json (and split.json's `faces`, given as faces=) is changed."""
    copy = shutil.copytree(run, where / run.name)
    faces = config_changes.pop("faces", None)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, **config_changes}))
    if faces:
        split = json.loads((copy / "split.json").read_text())
        (copy / "split.json").write_text(json.dumps({**split, "faces": faces}))
    return copy


def test_enrol_validation_people_takes_the_runs_own_images_once(gallery, run, tmp_path):
    validation = json.loads((run / "split.json").read_text())["validation"]
    data = Path(json.loads((run / "config.json").read_text())["data"])
    done = enrol_validation_people(gallery, run, tmp_path / "data", per_person=2)
    assert done.enrolled == {name: 2 for name in validation} and done.already == [] and done.problems == []
    assert gallery.identities() == {name: 2 for name in validation}
    for name in validation:  # a 'whole' run: the dataset's images as they are, the first two
        stored = sorted((gallery.root / "identities" / name).glob("*.png"))
        originals = sorted((data / name).iterdir())[:2]
        assert [np.asarray(Image.open(p).convert("L")).tolist() for p in stored] == \
               [np.asarray(Image.open(p).convert("L")).tolist() for p in originals]
    again = enrol_validation_people(gallery, run, tmp_path / "data", per_person=2)
    assert again.enrolled == {} and again.already == validation
    assert again.message == f"{len(validation)} were enrolled already and were left as they were: " \
                            f"{', '.join(validation)}."
    assert done.message.startswith(f"Enrolled {len(validation)} validation people: {validation[0]}")


def test_enrol_validation_people_of_an_align_run_uses_its_aligned_crops(gallery, run, tmp_path):
    validation = json.loads((run / "split.json").read_text())["validation"]
    photos = tmp_path / "photos"
    for k, name in enumerate(validation):
        (photos / name).mkdir(parents=True)
        for index in (1, 2, 3):
            orl_photo(k + 1, index).save(photos / name / f"{index}.jpg")
    aligned = copy_run(run, tmp_path / "runs", data=str(photos), faces="align")
    done = enrol_validation_people(gallery, aligned, tmp_path / "data", per_person=2)
    assert done.enrolled == {name: 2 for name in validation}
    assert (tmp_path / "data" / ".faces").is_dir()  # prepared into the data folder's face cache
    for path in (gallery.root / "identities").rglob("*.png"):
        assert Image.open(path).size == (ALIGNED_SIZE, ALIGNED_SIZE)  # crops, not the 360 x 400 photos


def test_enrol_validation_people_of_a_builtin_run(gallery, run, tmp_path):
    digits = copy_run(run, tmp_path / "runs", data="digits")
    split = json.loads((digits / "split.json").read_text())
    (digits / "split.json").write_text(json.dumps({**split, "validation": ["digit-3", "digit-7"]}))
    done = enrol_validation_people(gallery, digits, tmp_path / "data")
    assert done.enrolled == {"digit-3": 3, "digit-7": 3}


def test_enrol_validation_people_of_a_run_whose_dataset_is_gone(gallery, run, tmp_path):
    gone = copy_run(run, tmp_path / "runs", data=str(tmp_path / "moved away"))
    with pytest.raises(DatasetError) as info:
        enrol_validation_people(gallery, gone, tmp_path / "data")
    assert str(info.value).startswith(f"run {run.name} was trained on '{tmp_path / 'moved away'}', which cannot "
                                      "be used now (no dataset")
    assert str(info.value).endswith("Put that dataset back as it was, or train a new run.")
    validation = json.loads((run / "split.json").read_text())["validation"]
    partial = shutil.copytree(Path(json.loads((run / "config.json").read_text())["data"]), tmp_path / "partial")
    shutil.rmtree(partial / validation[0])
    with pytest.raises(DatasetError, match=f"no longer holds identities the run used: {validation[0]}"):
        enrol_validation_people(gallery, copy_run(run, tmp_path / "other", data=str(partial)), tmp_path / "data")
    assert gallery.folders() == []


def test_enrol_validation_people_on_a_full_disk_says_who_was_enrolled(gallery, run, tmp_path, monkeypatch):
    validation = json.loads((run / "split.json").read_text())["validation"]
    real_save = Image.Image.save
    saved = []

    def full_disk(image, path, *args, **kwargs):
        if len(saved) == 3:  # the first person's three images fit, the next do not
            raise OSError(28, "No space left on device")
        saved.append(path)
        return real_save(image, path, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", full_disk)
    with pytest.raises(GalleryError) as info:
        enrol_validation_people(gallery, run, tmp_path / "data")
    assert str(info.value).startswith(f"cannot store images of '{validation[1]}'")
    assert str(info.value).endswith("No space left on device; nothing was enrolled for them; the 1 validation "
                                    "person before them was enrolled")
    assert gallery.folders() == [validation[0]]


def test_faces_of_gives_each_photos_face_and_why_the_others_have_none():
    from siamese.gallery import faces_of

    faces, problems = faces_of([None, b"not an image", png_bytes(picture(ALICE, 0))], "whole")
    assert faces[0] is None and faces[1] is None and faces[2] is not None
    assert list(problems) == [1] and "not a readable image" in problems[1]  # a photo not given is no problem
