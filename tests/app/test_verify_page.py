"""The Verify page's decision thresholds (calibrated on the gallery, or the run's), the comparison of two
photos, the confidence of every decision (fitted on the gallery, or none), a burst of webcam snapshots, and
the run's validation people enrolled in one click (Streamlit's AppTest)."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from siamese.gallery import Gallery
from siamese.decisions import save_threshold
from siamese.runs.trained import load_trained
from ui import burst


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def button(at, start: str):
    return next(b for b in at.button if b.label.startswith(start))


def photo(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def blank_photo() -> bytes:
    return photo(Image.new("RGB", (320, 240), (90, 90, 90)), "JPEG")


def synthetic(own_world, person: int, index: int = 0) -> bytes:
    return (own_world.faces / f"person_{person:02d}" / f"{index:03d}.png").read_bytes()


def compare(at, first: bytes, second: bytes) -> None:
    """Give the Compare tab its two photos: the first as a webcam snapshot, the second as an upload."""
    at.camera_input(key="compare_first_camera").set_value(("first.jpg", first, "image/jpeg"))
    at.file_uploader(key="compare_second_upload").set_value(("second.jpg", second, "image/jpeg")).run()
    no_exception(at)


def compare_tab(at):
    return next(tab for tab in at.tabs if tab.label == "Compare two photos")


def test_the_compare_tab_comes_first_and_waits_for_two_photos(own_world):
    at = own_world.open("Verify")
    no_exception(at)
    assert [tab.label for tab in at.tabs][:2] == ["Compare two photos", "Verify / identify"]
    assert "Take or upload both photos to compare them." in texts(compare_tab(at).info)
    assert not at.error


def rules(at) -> dict[str, dict]:
    """The decision thresholds table, by decision."""
    table = next(m.value for m in at.markdown if m.value.startswith("| decision |")).splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in table]
    return {row[0]: dict(zip(cells[0], row)) for row in cells[2:]}


def enrol_people(own_world, people: dict[str, int], images: int = 3) -> Gallery:
    """Enrol synthetic people (name -> person number) from their first `images` images, as the page does."""
    gallery = Gallery(own_world.gallery, load_trained(own_world.run, device="cpu"))
    for name, person in people.items():
        gallery.enroll(name, [Image.open(io.BytesIO(synthetic(own_world, person, i))).convert("RGB")
                              for i in range(images)])
    return gallery


def test_an_empty_gallery_decides_at_the_runs_threshold_without_a_percentage(own_world, face_photo):
    at = own_world.open("Verify")
    compare(at, face_photo, face_photo)
    warnings = texts(at.warning)
    assert "The gallery has nobody enrolled" in warnings and "enrol at least 2 people" in warnings
    assert "the run's threshold is used" in warnings
    table = rules(at)
    assert table["two photos"]["from"].startswith("the run's threshold, chosen on")
    assert table["1:1 verify"]["confidence"] == "none"
    verdict = texts(compare_tab(at).success)
    assert verdict.startswith("**Same person**: distance 0.0000 ≤ threshold") and "(run)" in verdict
    assert verdict.endswith("no confidence: none can be fitted on this gallery yet")  # never another dataset's fit
    assert len(compare_tab(at).get("image")) == 3  # both face crops, side by side, and why (both, with maps)
    why = next(e for e in compare_tab(at).expander if e.label.startswith("Why? Where the two faces agree"))
    assert "both add up to 1.000" in texts(why.caption)  # the same photo twice: a similarity of 1


def test_two_photos_of_different_people_are_different_people(own_world):
    save_threshold(own_world.run, 1e-6, "test")
    at = own_world.open("Verify")
    next(c for c in at.checkbox if c.label.startswith("Detect the face")).uncheck()
    compare(at, synthetic(own_world, 0), synthetic(own_world, 5))
    verdict = texts(compare_tab(at).warning)
    assert verdict.startswith("**Different people**: distance") and "> threshold 0.0000" in verdict


def test_a_gallery_of_several_people_calibrates_every_decision_and_its_confidence(own_world):
    enrol_people(own_world, {"ann": 0, "bob": 1, "cy": 2, "dee": 3})
    at = own_world.open("Verify")
    no_exception(at)
    table = rules(at)
    assert table["1:1 verify"]["from"] == "the gallery: 36 impostor claims among 4 people, FAR 0.01"
    assert table["1:N identify"]["from"] == "the gallery: 12 strangers' searches among 4 people, FPIR 0.01 at 4 people"
    assert table["two photos"]["confidence"].startswith("fitted on ")
    # 36 claims cannot measure 1 in 100: the page says how many are needed
    assert "FAR 0.01 needs at least 100 impostor claims to be measured; the gallery gives 36" in texts(at.warning)
    next(c for c in at.checkbox if c.label.startswith("Detect the face")).uncheck()
    compare(at, synthetic(own_world, 0, 4), synthetic(own_world, 0, 5))
    assert texts(compare_tab(at).success).endswith("% likely the same person")
    at.select_slider(key="target_far").set_value(0.1).run()
    assert rules(at)["1:1 verify"]["from"].endswith("FAR 0.1")


def test_the_runs_threshold_stays_a_choice_and_the_page_says_when_the_gallery_disagrees(own_world):
    enrol_people(own_world, {"ann": 0, "bob": 1, "cy": 2})
    save_threshold(own_world.run, 50.0, "the validation pairs of another camera")
    at = own_world.open("Verify")
    at.radio(key="threshold_source").set_value("the run: the threshold saved with it").run()
    no_exception(at)
    assert rules(at)["1:1 verify"]["threshold"] == "50.0000"
    assert "The gallery's faces disagree with the run's threshold: at 50.0000, 100% of the gallery's" in texts(at.warning)


@pytest.mark.parametrize("which", ["first", "second"])
def test_a_photo_without_a_face_is_named_and_the_other_still_shows(own_world, face_photo, which):
    at = own_world.open("Verify")
    compare(at, blank_photo() if which == "first" else face_photo, face_photo if which == "first" else blank_photo())
    tab = compare_tab(at)
    assert texts(tab.error) == (f"{which.capitalize()} photo: no face was found in the photo: face the camera in "
                                "good light, closer, or untick 'detect the face' if the image is already a face crop")
    assert len(tab.get("image")) == 1 and not tab.success and not tab.warning and not tab.expander


def test_a_photo_with_several_faces_is_named_until_the_largest_may_be_used(own_world, face_photo):
    face = Image.open(io.BytesIO(face_photo)).crop((180, 70, 456, 406))
    group = Image.new("RGB", (900, 480), (120, 140, 160))
    group.paste(face, (40, 60))
    group.paste(face.resize((138, 168)), (600, 150))
    at = own_world.open("Verify")
    compare(at, face_photo, photo(group, "JPEG"))
    assert texts(compare_tab(at).error).startswith("Second photo: 2 faces were found in the photo; keep one "
                                                   "person in view, or tick 'use the largest face'")
    next(c for c in at.checkbox if c.label.startswith("Use the largest")).check().run()
    assert not at.error and texts(compare_tab(at).success).startswith("**Same person**")


def test_verify_and_identify_say_how_sure_they_are(own_world):
    enrol_people(own_world, {"alice": 0, "bob": 1, "cy": 2}, images=2)
    at = own_world.open("Verify")
    next(c for c in at.checkbox if c.label.startswith("Detect the face")).uncheck()
    probe = photo(Image.open(io.BytesIO(synthetic(own_world, 0))), "JPEG")  # a camera sends JPEG
    at.camera_input(key="verify_camera").set_value(("probe.jpg", probe, "image/jpeg")).run()
    no_exception(at)
    identified = next(s.value for s in at.success if s.value.startswith("Identified as **alice**"))
    assert identified.endswith("% likely the same person") and "gallery" in identified
    # 1:N answers why, as 1:1 and a comparison do: the face against the answer's nearest image.
    assert any(e.label == "Why? Where this face and alice's nearest image agree and where they differ"
               for e in at.expander)
    at.radio(key="verify_mode").set_value("1:1 verify a claim").run()
    accepted = next(s.value for s in at.success if s.value.startswith("ACCEPTED"))
    assert "to alice (threshold" in accepted and accepted.endswith("% likely the same person")


def validation_people(own_world) -> list[str]:
    return json.loads((own_world.run / "split.json").read_text())["validation"]


def test_the_runs_validation_people_are_enrolled_in_one_click(own_world):
    people = validation_people(own_world)
    at = own_world.open("Verify")
    assert at.number_input(key="validation_each").value == 3
    button(at, "Add the run's validation people, 3 images each").click().run()
    no_exception(at)
    assert texts(at.success).startswith(f"Enrolled {len(people)} validation people: {people[0]}")
    assert f"{len(people)} people enrolled" in texts(at.caption)  # the page above shows them at once
    assert rules(at)["1:1 verify"]["from"].startswith("the gallery: ")  # and decides by them
    assert {p.name: len(list(p.iterdir())) for p in (own_world.gallery / "identities").iterdir()} == \
           {name: 3 for name in people}
    button(at, "Add the run's validation people").click().run()
    assert f"{len(people)} were enrolled already and were left as they were" in texts(at.success)


def test_validation_people_of_a_run_whose_dataset_is_gone_say_what_to_do(own_world):
    config = json.loads((own_world.run / "config.json").read_text())
    (own_world.run / "config.json").write_text(json.dumps({**config, "data": str(own_world.root / "moved")}))
    at = own_world.open("Verify")
    button(at, "Add the run's validation people").click().run()
    no_exception(at)
    error = texts(at.error)
    assert "run tiny was trained on" in error and "which cannot be used now (no dataset" in error
    assert error.endswith("Put that dataset back as it was, or train a new run.")
    assert not (own_world.gallery / "identities").exists() or not any((own_world.gallery / "identities").iterdir())


def burst_of(monkeypatch, frames: list[bytes]) -> None:
    """The burst component sends `frames` once, as the browser does after 'Take 5 snapshots'."""
    sent = iter([frames])
    monkeypatch.setattr(burst, "burst_camera", lambda *args, **kwargs: next(sent, None))


def test_a_burst_adds_the_snapshots_with_a_face_and_counts_the_others(own_world, face_photo, monkeypatch):
    at = own_world.open("Verify")
    at.text_input(key="enrol_name").set_value("alice")
    burst_of(monkeypatch, [face_photo, blank_photo(), face_photo, face_photo, blank_photo()])
    at.run()
    no_exception(at)
    assert any(w.value.startswith("3 of 5 snapshots were added; 2 had no usable face and were skipped:\n"
                                  "- snapshots 2, 5: no face was found in the photo") for w in at.warning)
    assert at.session_state.enrol_shots == [face_photo] * 3
    assert "3 image(s) ready" in texts(at.caption)
    button(at, "Enrol alice from 3 image(s)").click().run()
    assert "alice now has 3 enrolled image(s)." in texts(at.success)


def test_a_burst_without_any_face_adds_nothing(own_world, monkeypatch):
    at = own_world.open("Verify")
    burst_of(monkeypatch, [blank_photo(), b"", blank_photo()])
    at.run()
    no_exception(at)
    error = texts(at.error)
    assert error.startswith("None of the 3 snapshots was added:")
    assert "- snapshots 1, 3: no face was found" in error and "- snapshot 2: the photo is not a readable image" in error
    assert at.session_state.enrol_shots == []


def test_burst_frames_are_decoded_and_anything_else_is_unreadable():
    jpeg = photo(Image.new("RGB", (8, 6), (10, 20, 30)), "JPEG")
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    assert burst.decode_frames([url, "data:text/html;base64,PGI+", "data:image/jpeg;base64,@@", 7, None]) == \
           [jpeg, b"", b"", b"", b""]
    assert burst.decode_frames("not a list") == [] and burst.decode_frames(None) == []
    assert len(burst.decode_frames([url] * 50)) == burst.MAX_FRAMES


def test_an_enrolment_is_confirmed_beside_its_button_and_the_name_field_empties(own_world, face_photo,
                                                                                 monkeypatch):
    at = own_world.open("Verify")
    at.text_input(key="enrol_name").set_value("alice")
    burst_of(monkeypatch, [face_photo] * 3)
    at.run()
    button(at, "Enrol alice from 3 image(s)").click().run()
    no_exception(at)
    assert at.text_input(key="enrol_name").value == ""
    order = [(type(e).__name__, getattr(e, "value", None)) for e in at.tabs[2]]  # "Enrol a person", in order
    confirmed = order.index(("Success", "alice now has 3 enrolled image(s)."))
    divider = next(i for i, (kind, _) in enumerate(order) if kind == "Divider")
    assert confirmed < divider  # beside the enrol button, above the validation people's section
