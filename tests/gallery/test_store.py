"""The gallery's store (siamese/gallery/store.py): enrol, verify (1:1), identify (1:N), remove, its embedding
cache, and one whole gallery seen by every decision while people are enrolled; with a tiny model trained
once for the session (tests/gallery/conftest.py)."""

from __future__ import annotations

import threading
import unicodedata

import pytest
import torch
from PIL import Image

from siamese.errors import GalleryError
from siamese.gallery import Gallery, check_identity_name
from siamese.decisions.saved import read_threshold
from siamese.runs.trained import load_trained

from .conftest import ALICE, BOB, CAROL, DAVE, ERIN, PROBE_IMAGES, enroll, fixed, identify, picture, probe, verify


def test_threshold_comes_from_the_run(run, threshold):
    assert 0 < threshold < 2 and threshold == read_threshold(run)


def test_enrol_then_verify_the_same_person(gallery, threshold):
    assert enroll(gallery, "alice", ALICE) == 3
    assert gallery.identities() == {"alice": 3}
    assert len(list((gallery.root / "identities" / "alice").glob("*.png"))) == 3
    for index in PROBE_IMAGES:
        result = verify(gallery, ALICE, index, "alice", threshold)
        assert result.accepted, result
        assert result.distance <= result.threshold == threshold
        assert result.nearest[0].distance == result.distance
        assert [m.distance for m in result.nearest] == sorted(m.distance for m in result.nearest)


def test_enrolling_more_images_adds_to_the_person(gallery):
    enroll(gallery, "alice", ALICE)
    assert gallery.enroll("alice", [picture(ALICE, 3)]) == 4
    assert gallery.now().embeddings.shape == (4, 16)


def test_an_impostor_claiming_an_enrolled_name_is_rejected(gallery, threshold):
    enroll(gallery, "alice", ALICE)
    for index in PROBE_IMAGES:
        result = verify(gallery, BOB, index, "alice", threshold)
        assert not result.accepted
        assert result.distance > result.threshold


def test_identify_an_unenrolled_person_as_unknown(gallery, threshold):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    for index in PROBE_IMAGES:
        result = identify(gallery, CAROL, index, threshold)
        assert result.identity is None
        assert result.distance > result.threshold
        assert {m.identity for m in result.candidates} == {"alice", "bob"}


def test_identify_picks_the_right_person_among_several(gallery, threshold):
    for name, identity in (("alice", ALICE), ("bob", BOB), ("dave", DAVE), ("erin", ERIN)):
        enroll(gallery, name, identity)
    for name, identity in (("alice", ALICE), ("bob", BOB), ("dave", DAVE), ("erin", ERIN)):
        result = identify(gallery, identity, 4, threshold)
        assert result.identity == name
        assert result.distance <= result.threshold
        distances = [m.distance for m in result.candidates]
        assert distances == sorted(distances)
        assert [m.identity for m in result.candidates][0] == name
        assert sorted(m.identity for m in result.candidates) == ["alice", "bob", "dave", "erin"]
        assert result.candidates[0].distance == result.distance
    assert len(identify(gallery, ALICE, 4, threshold, top_k=2).candidates) == 2


def test_identify_with_nobody_enrolled(gallery, threshold):
    with pytest.raises(GalleryError, match="nobody is enrolled"):
        identify(gallery, ALICE, 0, threshold)


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
    assert verify(gallery, ALICE, 3, unicodedata.normalize("NFD", "Zoë"), threshold).accepted
    assert verify(gallery, ALICE, 3, " Zoë ", threshold).accepted


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
    assert gallery.now().embeddings.shape == (3, 16)
    assert identify(gallery, ALICE, 4, threshold).identity is None

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

    monkeypatch.setattr("siamese.gallery.store.shutil.rmtree", read_only)
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
    assert torch.equal(reopened.now().embeddings, gallery.now().embeddings)
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
    assert not torch.allclose(reopened.now().embeddings, gallery.now().embeddings)
    assert sorted(p.name for p in (gallery.root / "embeddings").iterdir()) == sorted(
        [f"{earlier.fingerprint}.pt", f"{gallery.model.fingerprint}.pt"])


def test_corrupt_embedding_cache_is_reported_and_recomputed(gallery, trained):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    expected = gallery.now().embeddings.clone()
    gallery.cache_path.write_bytes(b"\x00garbage, not a torch file")
    reopened = Gallery(gallery.root, trained)
    assert len(reopened.problems) == 1 and "corrupt" in reopened.problems[0]
    assert reopened.identities() == {"alice": 3, "bob": 3}
    assert torch.allclose(reopened.now().embeddings, expected, atol=1e-6)
    assert Gallery(gallery.root, trained).problems == []  # the rewritten cache is good


def test_cache_with_missing_embedding_rows_is_recomputed(gallery, trained):
    enroll(gallery, "alice", ALICE)
    cached = torch.load(gallery.cache_path, weights_only=True)
    torch.save({**cached, "embeddings": cached["embeddings"][:1]}, gallery.cache_path)
    reopened = Gallery(gallery.root, trained)
    assert reopened.now().embeddings.shape == (3, 16)
    assert reopened.problems


def test_verify_a_name_that_is_not_enrolled(gallery, threshold):
    with pytest.raises(GalleryError, match="nobody"):
        verify(gallery, ALICE, 3, "alice", threshold)
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    with pytest.raises(GalleryError) as info:
        verify(gallery, ALICE, 3, "carol", threshold)
    assert "'carol' is not enrolled" in str(info.value)
    assert "alice, bob" in str(info.value)


def test_a_decision_drawn_while_people_are_enrolled_sees_one_whole_gallery(gallery):
    """Enrolment in one thread (another tab) while decisions are drawn in another: every decision sees a
    gallery whose names, files, embeddings and calibration agree, before or after each enrolment."""
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    query = gallery.model.embed(probe(ALICE, 4))
    seen, problems, done = [], [], threading.Event()

    def decide() -> None:
        while not done.is_set():
            now = gallery.now()
            try:
                assert len(now.names) == len(now.files) == len(now.embeddings)
                assert now.calibration.images == len(now.names)
                result = now.identify(query, fixed(10.0, "identify"))
                assert {m.identity for m in result.candidates} == set(now.identities())
                seen.append(len(now.names))
            except AssertionError as exc:
                problems.append(exc)

    watcher = threading.Thread(target=decide)
    watcher.start()
    for k, identity in enumerate((CAROL, DAVE, ERIN)):
        gallery.enroll(f"person {k}", [picture(identity, i) for i in range(3)])
    gallery.remove("bob")
    done.set()
    watcher.join()
    assert problems == [] and set(seen) <= {6, 9, 12, 15} and seen
    assert gallery.identities() == {"alice": 3, "person 0": 3, "person 1": 3, "person 2": 3}


def test_a_gallery_enrolled_under_another_runs_model_is_embedded_and_calibrated_again(gallery, run):
    enroll(gallery, "alice", ALICE)
    enroll(gallery, "bob", BOB)
    before = gallery.now().calibration
    earlier = load_trained(run, checkpoint=run / "snapshots" / "epoch-0001.pt", device="cpu")
    other = Gallery(gallery.root, earlier)
    assert other.notes and "embedded again with run tiny's model" in other.notes[0]
    after = other.now().calibration
    assert after.people == before.people == 2 and not torch.allclose(other.now().embeddings, gallery.now().embeddings)
    assert list(after.claims.impostor) != list(before.claims.impostor)  # this model's distances, not the other's
    assert Gallery(gallery.root, earlier).notes == []  # its embeddings are kept from now on
