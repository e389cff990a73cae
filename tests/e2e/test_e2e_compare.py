"""Compare two photos and enrol from a burst, in Chromium with its fake webcam: a webcam photo of A against
an uploaded photo of A is the same person, against one of B different people; a burst of 5 snapshots of A
enrols A with 5 images, and a burst of Chromium's own test pattern (no face) adds nothing and says why."""

from __future__ import annotations

import pytest

BURST = 5


def compare_with_upload(page, ui, upload) -> object:
    """Take the first photo with the webcam and upload `upload` as the second; return the tab's panel."""
    page.get_by_role("tab", name="Compare two photos").click()
    panel = page.get_by_role("tabpanel", name="Compare two photos")
    camera = panel.locator("[data-testid='stCameraInput']")
    ui.take_photo(page, camera)
    ui.settle(page)
    panel.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files(str(upload))
    ui.settle(page)
    return panel


@pytest.mark.parametrize("other, verdict", [("same", "Same person"), ("other", "Different people")])
def test_compare_a_webcam_photo_with_an_uploaded_one(open_page, orl_run, ui, tmp_path, other, verdict):
    person, index = (ui.person_a, 2) if other == "same" else (ui.person_b, 1)
    upload = tmp_path / f"{person}-{index}.png"
    ui.webcam_frame(person, index).save(upload)  # another photo of A, or one of B, framed as the webcam's
    page = open_page("verify", person=ui.person_a)
    ui.choose_run(page, orl_run.name)
    panel = compare_with_upload(page, ui, upload)
    ui.expect(panel.get_by_text(f"{verdict}: distance")).to_be_visible(timeout=30_000)
    ui.expect(panel.get_by_text("Same person" if other == "other" else "Different people")).to_have_count(0)
    # Nobody enrolled: the run's threshold decides, and no confidence is made up for this camera's faces
    ui.expect(panel.get_by_text("no confidence: none can be fitted on this gallery yet")).to_be_visible()
    ui.expect(panel.get_by_text("first crop given to the model")).to_be_visible()
    ui.expect(panel.get_by_text("second crop given to the model")).to_be_visible()
    ui.expect(panel.locator("[data-testid='stAlertContentError']")).to_have_count(0)
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.screenshot(page, f"compare-{other}", top=panel.get_by_text("Are two photos of one person?"))


def take_burst(page, ui):
    """Open the Enrol tab and take a burst with the component's button; return the tab's panel."""
    page.get_by_role("tab", name="Enrol a person").click()
    enrol = page.get_by_role("tabpanel", name="Enrol a person")
    take = enrol.get_by_role("button", name=f"Take {BURST} snapshots")
    ui.expect(take).to_be_enabled(timeout=15_000)  # the camera starts when the tab is opened
    take.click()
    return enrol


def test_enrol_from_a_burst_of_webcam_snapshots(open_page, orl_run, world, ui):
    page = open_page("verify", person=ui.person_a)
    ui.choose_run(page, orl_run.name)
    enrol = ui.open_enrolment(page, "bea")
    take_burst(page, ui)
    ui.expect(enrol.get_by_text(f"All {BURST} snapshots were added.")).to_be_visible(timeout=30_000)
    ui.expect(enrol.get_by_text(f"{BURST} image(s) ready")).to_be_visible()
    ui.expect(enrol.get_by_role("img", name=f"snapshot {BURST}")).to_be_visible()  # the strip of the burst
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.settle(page)
    ui.screenshot(page, "enrol-burst", top=enrol.get_by_text("Name of the person to enrol"))
    enrol.get_by_role("button", name=f"Enrol bea from {BURST} image(s)").click()
    ui.expect(enrol.get_by_text(f"bea now has {BURST} enrolled image(s).")).to_be_visible(timeout=30_000)
    assert len(list((world["gallery"] / "identities" / "bea").glob("*.png"))) == BURST


def test_a_burst_without_a_face_adds_nothing_and_says_why(open_page, orl_run, ui):
    page = open_page("verify", person=None)  # Chromium's own test pattern: no face in it
    ui.choose_run(page, orl_run.name)
    enrol = take_burst(page, ui)
    ui.expect(enrol.get_by_text(f"None of the {BURST} snapshots was added:")).to_be_visible(timeout=30_000)
    ui.expect(enrol.get_by_text("snapshots 1, 2, 3, 4, 5: no face was found in the photo")).to_be_visible()
    ui.expect(enrol.get_by_text("0 image(s) ready")).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.settle(page)
    ui.screenshot(page, "enrol-burst-no-face", top=enrol.get_by_text("Name of the person to enrol"))
