"""siamese/faces/cache.py: a folder's faces are detected and aligned once, cached by the folder's content,
prepared again when it changes or the cache is damaged, resumed when interrupted, and photos without a
face are listed and left out."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from PIL import Image

from siamese.errors import DatasetError
from siamese.faces import cache
from siamese.faces.align import ALIGNED_SIZE
from siamese.faces.cache import FACES_DIR, prepare_faces, resolve_cut


@pytest.fixture
def photos(tmp_path, face, scene):
    """Two people, three photos each (the face moved about), and one photo with nobody in it."""
    root = tmp_path / "photos"
    for person, shade in (("ann", 1.0), ("bob", 0.8)):
        (root / person).mkdir(parents=True)
        tinted = face.point(lambda v: int(v * shade))
        for k in range(3):
            scene(tinted, offsets=((120 + 60 * k, 60 + 10 * k),)).save(root / person / f"{k}.jpg", quality=92)
    Image.new("RGB", (640, 480), (90, 110, 130)).save(root / "bob" / "wall.jpg")
    return root


def crops(prepared) -> list[str]:
    return sorted(str(p.relative_to(prepared.root)) for p in prepared.root.rglob("*.png"))


def test_faces_are_aligned_once_and_a_photo_without_one_is_listed(photos, tmp_path, monkeypatch):
    seen = []
    prepared = prepare_faces(photos, tmp_path / "data", progress=lambda done, total: seen.append((done, total)))
    assert crops(prepared) == ["ann/0.png", "ann/1.png", "ann/2.png", "bob/0.png", "bob/1.png", "bob/2.png"]
    assert prepared.no_face == ["bob/wall.jpg"] and "no face was found in bob/wall.jpg" in prepared.problems[0]
    assert seen[-1] == (7, 7) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    with Image.open(prepared.root / "ann" / "0.png") as crop:
        assert crop.size == (ALIGNED_SIZE, ALIGNED_SIZE)
    assert prepared.root.parent == tmp_path / "data" / FACES_DIR

    monkeypatch.setattr(cache, "prepare_one", lambda item: pytest.fail("detected again"))
    again = prepare_faces(photos, tmp_path / "data")
    assert again.root == prepared.root and again.no_face == ["bob/wall.jpg"] and again.seconds == 0.0


def test_a_changed_folder_is_prepared_again_and_the_old_crops_removed(photos, tmp_path):
    first = prepare_faces(photos, tmp_path / "data")
    (photos / "ann" / "2.jpg").unlink()
    second = prepare_faces(photos, tmp_path / "data")
    assert second.root != first.root and not first.root.exists()
    assert "ann/2.png" not in crops(second)


def test_a_damaged_cache_is_reported_and_rebuilt(photos, tmp_path):
    first = prepare_faces(photos, tmp_path / "data")
    (first.root / "ann" / "1.png").unlink()
    rebuilt = prepare_faces(photos, tmp_path / "data")
    assert "damaged" in rebuilt.problems[0] and "holds 5 crops where its manifest says 6" in rebuilt.problems[0]
    assert "ann/1.png" in crops(rebuilt)
    (rebuilt.root / cache.MANIFEST).write_text("{not json")
    assert "cannot be read" in prepare_faces(photos, tmp_path / "data").problems[0]


def test_an_interrupted_preparation_goes_on_where_it_stopped(photos, tmp_path, monkeypatch):
    real = cache.prepare_one
    calls = []

    def crash_on_the_fourth(item):
        calls.append(item[0])
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(item)

    monkeypatch.setattr(cache, "prepare_one", crash_on_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        prepare_faces(photos, tmp_path / "data", workers=1)
    calls.clear()
    monkeypatch.setattr(cache, "prepare_one", lambda item: calls.append(item[0]) or real(item))
    prepared = prepare_faces(photos, tmp_path / "data", workers=1)
    assert len(calls) == 7 - 3 and len(crops(prepared)) == 6


def test_a_folder_with_no_face_at_all_says_what_to_do(tmp_path):
    for person in ("a", "b"):
        (tmp_path / "blank" / person).mkdir(parents=True)
        for k in range(2):
            Image.new("RGB", (300, 300), (40 * k, 90, 90)).save(tmp_path / "blank" / person / f"{k}.png")
    with pytest.raises(DatasetError, match="no face was found in any of the 4 photos.*set faces to 'whole'"):
        prepare_faces(tmp_path / "blank", tmp_path / "data")


def test_a_cache_that_cannot_be_written_says_what_to_check(photos, tmp_path):
    (tmp_path / "data").write_text("a file where the data folder should be")
    with pytest.raises(DatasetError, match="cannot write the face cache.*writable"):
        prepare_faces(photos, tmp_path / "data")


def test_auto_aligns_photographs_and_takes_small_crops_whole(photos, make_identity_folders):
    assert resolve_cut("auto", photos)[0] == "align" and "640 px" in resolve_cut("auto", photos)[1]
    crops_folder = make_identity_folders(n_identities=2, n_images=2, size=92)
    assert resolve_cut("auto", crops_folder)[0] == "whole"
    assert resolve_cut("auto", None, "olivetti")[0] == "whole"
    assert resolve_cut("align", crops_folder) == ("align", "chosen in the configuration")


def test_two_worker_processes_prepare_what_one_does(photos, tmp_path, monkeypatch):
    one = prepare_faces(photos, tmp_path / "one", workers=1)
    items = [(str(p), str(tmp_path / "two-out" / p.relative_to(photos).with_suffix(".png")))
             for p in sorted(photos.rglob("*.jpg"))]
    pools, real_context = [], cache.multiprocessing.get_context

    class Spy:
        def __init__(self, method):
            self.context = real_context(method)

        def Pool(self, processes, **kwargs):
            pools.append(processes)
            return self.context.Pool(processes, **kwargs)

    monkeypatch.setattr(cache.multiprocessing, "get_context", Spy)
    statuses = dict(cache._run(items * 15, photos, workers=2))  # enough photos (50 a process) for two
    assert pools == [2]
    assert statuses == {str(Path(src).relative_to(photos)): ("no face" if "wall" in src else "ok") for src, _ in items}
    assert json.loads((one.root / cache.MANIFEST).read_text())["crops"] == 6
    assert os.path.getsize(tmp_path / "two-out" / "ann" / "0.png") > 0


def test_a_folder_that_grew_has_only_its_new_photos_detected(photos, tmp_path, monkeypatch, face, scene):
    first = prepare_faces(photos, tmp_path / "data")
    before = crops(first)
    (photos / "cy").mkdir()
    for k in range(2):
        scene(face, offsets=((100 + 80 * k, 90),)).save(photos / "cy" / f"{k}.jpg", quality=92)
    real, detected = cache.prepare_one, []
    monkeypatch.setattr(cache, "prepare_one", lambda item: detected.append(item[0]) or real(item))
    grown = prepare_faces(photos, tmp_path / "data", workers=1)
    assert sorted(detected) == [str(photos.resolve() / "cy" / f"{k}.jpg") for k in range(2)]
    assert crops(grown) == before + ["cy/0.png", "cy/1.png"]
    assert grown.no_face == ["bob/wall.jpg"] and not first.root.exists()
    with Image.open(grown.root / "ann" / "1.png") as kept, Image.open(grown.root / "cy" / "1.png") as new:
        assert kept.size == new.size == (ALIGNED_SIZE, ALIGNED_SIZE)


def test_a_whole_cache_is_read_where_nothing_can_be_written(photos, tmp_path, monkeypatch):
    prepared = prepare_faces(photos, tmp_path / "data")

    def read_only(path):
        raise DatasetError(f"cannot write the face cache into {path.parent}: Read-only file system; check "
                           "that the data folder is writable and the disk is not full")

    monkeypatch.setattr(cache, "_locked", read_only)
    assert prepare_faces(photos, tmp_path / "data").root == prepared.root
    (photos / "ann" / "0.jpg").unlink()  # now the faces must be prepared again, which cannot be done here
    with pytest.raises(DatasetError, match="Read-only file system; check that the data folder is writable"):
        prepare_faces(photos, tmp_path / "data")


def test_crops_of_another_pipeline_are_never_reused(photos, tmp_path, monkeypatch):
    prepare_faces(photos, tmp_path / "data")
    monkeypatch.setattr(cache, "PIPELINE", cache.PIPELINE + " another template")
    real, detected = cache.prepare_one, []
    monkeypatch.setattr(cache, "prepare_one", lambda item: detected.append(item[0]) or real(item))
    prepare_faces(photos, tmp_path / "data", workers=1)
    assert len(detected) == 7  # every photo detected and aligned again


def test_a_preparation_estimates_the_time_left_from_the_pace_it_measured(photos, tmp_path):
    ticks = iter(range(1000))
    job = cache.Preparation(photos, tmp_path / "data", workers=1, clock=lambda: float(next(ticks)))
    job.thread.join()
    assert job.result is not None and job.remaining_seconds is None  # 7 photos: too few to time
    job._first, clock = None, iter([100.0, 110.0, 150.0])
    job.clock = lambda: next(clock)
    job._progress(5, 1000)   # the first photo reported starts the clock: process start-up is not counted
    assert job.remaining_seconds is None
    job._progress(15, 1000)  # 10 photos in 10 s: still under PACE_PHOTOS timed
    assert job.remaining_seconds is None
    job._progress(45, 1000)  # 40 photos in 50 s
    assert job.remaining_seconds == pytest.approx(955 * 50 / 40)
