"""The gallery (siamese/gallery.py): enrol, verify (1:1), identify (1:N), remove, and its embedding cache,
with a tiny model trained once for the whole module."""

from __future__ import annotations

import importlib.util
import io
import itertools
import unicodedata
from pathlib import Path

import pytest
import torch
from PIL import Image

from siamese.config import TrainConfig
from siamese.data.images import load_image
from siamese.errors import GalleryError
from siamese.evaluate.calibration import Calibration
from siamese.gallery import Gallery, check_identity_name, enrol_photos
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
