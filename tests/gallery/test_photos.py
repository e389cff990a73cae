"""Photos for the gallery (siamese/gallery/photos.py): enrolment from photos, two photos compared, bursts of
snapshots, the run's validation people enrolled, and each photo's face found alike for all of them."""

from __future__ import annotations

from dataclasses import replace

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from siamese.decisions import Rule, confidence_text
from siamese.errors import DatasetError, GalleryError
from siamese.evaluate.calibration import Calibration
from siamese.faces.align import ALIGNED_SIZE
from siamese.faces.prepare import faces_of
from siamese.gallery import (
    check_snapshots,
    compare_photos,
    enrol_photos,
    enrol_validation_people,
)

from .conftest import ALICE, BOB, fixed, picture, png_bytes, probe


def test_enrol_photos_is_all_or_nothing_and_checks_the_name_first(gallery):
    photos = [("a.png", png_bytes(picture(ALICE, 0))), ("b.png", png_bytes(picture(ALICE, 1)))]
    with pytest.raises(GalleryError, match="Nothing was enrolled: the identity name"):
        enrol_photos(gallery, "../alice", photos, detect=False)
    with pytest.raises(GalleryError, match="(?s)Nothing was enrolled. Remove or replace.*- broken.png: .*not a readable"):
        enrol_photos(gallery, "alice", photos + [("broken.png", b"not a picture")], detect=False)
    assert gallery.identities() == {}
    assert enrol_photos(gallery, "alice", photos, detect=False) == 2



ORL = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "orl_faces"


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


def test_compare_photos_decides_by_its_rule_and_says_how_sure(trained, threshold):
    fit = Calibration(5.0, -5.0 / threshold, 100)  # one half at the threshold
    confident = Rule("compare", threshold, "gallery", "test", 0.01, 10, confidence=fit)
    alike = compare_photos(trained, png_bytes(picture(ALICE, 3)), png_bytes(picture(ALICE, 3)), confident, detect=False)
    assert alike.problems == [] and alike.same and alike.distance == pytest.approx(0, abs=1e-5)
    assert alike.confidence == pytest.approx(fit.confidence(alike.distance)) and alike.confidence > 0.99
    apart = compare_photos(trained, png_bytes(picture(BOB, 0)), picture(ALICE, 3), confident, detect=False)
    by_hand = trained.distance(trained.embed(probe(BOB, 0)), trained.embed(probe(ALICE, 3)))
    assert apart.distance == pytest.approx(float(by_hand), abs=1e-5) and apart.distance > threshold == apart.threshold
    assert apart.same is False and apart.confidence < 0.5
    assert compare_photos(trained, picture(BOB, 0), picture(ALICE, 3), fixed(threshold, "compare"),
                          detect=False).confidence is None


def test_compare_photos_names_the_photo_without_a_face_and_keeps_the_other(trained, threshold):
    unreadable = compare_photos(trained, b"not a picture", picture(ALICE, 3), fixed(threshold, "compare"), detect=False)
    assert unreadable.problems[0].startswith("First photo: the photo is not a readable image")
    assert unreadable.faces[0] is None and unreadable.faces[1] is not None  # the other photo still shows
    waiting = compare_photos(trained, picture(ALICE, 3), None, fixed(threshold, "compare"), detect=False)
    assert waiting.problems == [] and waiting.distance is None and waiting.faces[0] is not None


def test_compare_photos_finds_each_face_the_runs_way(trained, threshold):
    # A run trained on whole face crops gets a box around each detected face; an aligned run, aligned faces.
    result = compare_photos(replace(trained, faces="whole"), png_bytes(orl_photo(1, 1)), png_bytes(orl_photo(1, 2)),
                            fixed(threshold, "compare"))
    assert result.problems == [] and result.distance is not None
    assert all(face.face is not None and face.crop.size != (360, 400) for face in result.faces)
    blank = compare_photos(replace(trained, faces="align"), png_bytes(orl_photo(1, 1)), blank_photo(),
                           fixed(threshold, "compare"))
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


@pytest.mark.parametrize("confidence, text", [(None, "no confidence: none can be fitted on this gallery yet"),
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
    faces, problems = faces_of([None, b"not an image", png_bytes(picture(ALICE, 0))], "whole")
    assert faces[0] is None and faces[1] is None and faces[2] is not None
    assert list(problems) == [1] and "not a readable image" in problems[1]  # a photo not given is no problem
