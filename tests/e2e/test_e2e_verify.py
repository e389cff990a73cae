"""Enrol and verify through Chromium's fake webcam: A is enrolled from three snapshots of A (taken, cleared
and retaken with the camera widget), a snapshot of A is accepted as A, one of B (another browser process,
another video) is rejected and identified as unknown."""

from __future__ import annotations

import numpy as np

# The captured photo's size, its largest colour spread (0 for grey) and a 32x24 grey thumbnail of it.
CAPTURE_STATS = """img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let spread = 0;
  for (let i = 0; i < d.length; i += 4 * 97) spread = Math.max(spread, Math.abs(d[i] - d[i+1]), Math.abs(d[i+1] - d[i+2]));
  const t = document.createElement('canvas'); t.width = 32; t.height = 24;
  const tg = t.getContext('2d'); tg.drawImage(img, 0, 0, 32, 24);
  const thumb = Array.from(tg.getImageData(0, 0, 32, 24).data).filter((_, i) => i % 4 === 0);
  return {width: c.width, height: c.height, spread: spread, thumb: thumb};
}"""


SHOTS = 3


def snapshot(page, panel, ui):
    """Take a photo with the webcam widget in `panel` and return what the captured image holds."""
    camera = panel.locator("[data-testid='stCameraInput']")
    ui.take_photo(page, camera)
    ui.settle(page)
    return camera.locator("img").evaluate(CAPTURE_STATS)


def assert_face_arrived(stats, ui, person) -> None:
    """The photo is the fake webcam's grey 4:3 frame of `person`, not Chromium's green 16:9 test pattern.
    (The widget captures at the size it is drawn, so the size alone does not tell.)"""
    expected = np.asarray(ui.webcam_frame(person).resize((32, 24)), dtype=float).ravel()
    correlation = np.corrcoef(expected, np.asarray(stats["thumb"], dtype=float))[0, 1]
    assert abs(stats["width"] / stats["height"] - 4 / 3) < 0.02 and stats["spread"] <= 12 and correlation > 0.9, \
        {**stats, "thumb": "...", "correlation": correlation}


def retake(page, panel, ui):
    """Clear the photo in `panel`'s webcam widget, so that it shows the live camera again."""
    camera = panel.locator("[data-testid='stCameraInput']")
    camera.get_by_role("button", name="Clear photo").click()
    ui.expect(camera.locator("img")).to_have_count(0)
    ui.expect(camera.get_by_role("button", name="Take Photo")).to_be_enabled(timeout=15_000)
    ui.settle(page)


def test_enrol_from_webcam_then_verify_and_identify(open_page, orl_run, world, ui):
    page = open_page("verify", person=ui.person_a)
    ui.choose_run(page, orl_run.name)
    enrol = ui.open_enrolment(page, "alice")
    for shot in range(1, SHOTS + 1):
        if shot > 1:
            retake(page, enrol, ui)
        assert_face_arrived(snapshot(page, enrol, ui), ui, ui.person_a)
        enrol.get_by_role("button", name="Add this snapshot").click()
        ui.expect(enrol.get_by_text(f"{shot} image(s) ready")).to_be_visible()
        ui.settle(page)
    enrol.get_by_role("button", name=f"Enrol alice from {SHOTS} image(s)").click()
    ui.expect(enrol.get_by_text(f"alice now has {SHOTS} enrolled image(s).")).to_be_visible(timeout=30_000)
    ui.screenshot(page, "enrol")
    assert len(list((world["gallery"] / "identities" / "alice").glob("*.png"))) == SHOTS

    page.get_by_role("tab", name="Verify / identify").click()
    check = page.get_by_role("tabpanel", name="Verify / identify")
    check.get_by_text("1:1 verify a claim").click()
    ui.settle(page)
    assert_face_arrived(snapshot(page, check, ui), ui, ui.person_a)
    ui.expect(check.get_by_text("ACCEPTED: distance")).to_be_visible(timeout=30_000)
    ui.expect(check.get_by_text("detected face")).to_be_visible()
    # Verify shows the claimed person's nearest enrolled images (up to three): the three snapshots of A
    ui.expect(check.get_by_text("alice · d=")).to_have_count(SHOTS)
    ui.screenshot(page, "verify_accepted", top=check.get_by_text("Mode", exact=True))

    other = open_page("verify", person=ui.person_b)
    ui.choose_run(other, orl_run.name)
    other.get_by_role("tab", name="Verify / identify").click()  # the page opens on Compare two photos
    check = other.get_by_role("tabpanel", name="Verify / identify")
    check.get_by_text("1:1 verify a claim").click()
    ui.settle(other)
    assert_face_arrived(snapshot(other, check, ui), ui, ui.person_b)
    ui.expect(check.get_by_text("REJECTED: distance")).to_be_visible(timeout=30_000)
    ui.screenshot(other, "verify_rejected", top=check.get_by_text("Mode", exact=True))
    check.get_by_text("1:N identify").click()
    ui.expect(check.get_by_text("Unknown")).to_be_visible(timeout=30_000)
    ui.settle(other)
    ui.screenshot(other, "identify_unknown", top=check.get_by_text("Mode", exact=True))


def test_three_people_enrolled_from_uploads_calibrate_the_decisions(open_page, orl_run, ui, tmp_path):
    """The gallery's own people set the thresholds: three enrolled from uploaded photos, two photos of
    different people compared at the gallery's threshold, and a stranger at the webcam answered "unknown"."""
    page = open_page("verify", person=ui.person_b)  # the webcam shows someone nobody enrolls
    ui.choose_run(page, orl_run.name)
    for person in ("s3", "s4", "s5"):
        enrol = ui.open_enrolment(page, person)
        files = [ui.orl / person / f"{k}.pgm" for k in (1, 2, 3)]
        enrol.locator("[data-testid='stFileUploader'] input[type='file']").set_input_files([str(f) for f in files])
        ui.settle(page)
        enrol.get_by_role("button", name=f"Enrol {person} from 3 image(s)").click()
        ui.expect(enrol.get_by_text(f"{person} now has 3 enrolled image(s).")).to_be_visible(timeout=60_000)
        ui.settle(page)
    thresholds = page.get_by_text("Decision thresholds")
    table = page.locator("table").filter(has_text="on new photos, with 95% confidence").first
    ui.expect(table).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.screenshot(page, "verify-thresholds", top=thresholds)

    page.get_by_role("tab", name="Compare two photos").click()
    panel = page.get_by_role("tabpanel", name="Compare two photos")
    panel.get_by_text("Upload", exact=True).first.click()
    ui.settle(page)
    uploads = panel.locator("[data-testid='stFileUploader'] input[type='file']")
    ui.expect(uploads).to_have_count(2)
    uploads.nth(0).set_input_files(str(ui.orl / "s3" / "9.pgm"))
    ui.settle(page)
    uploads.nth(1).set_input_files(str(ui.orl / "s4" / "9.pgm"))
    ui.settle(page)
    ui.expect(panel.get_by_text("Different people: distance")).to_be_visible(timeout=30_000)
    ui.expect(panel.get_by_text("(gallery)")).to_be_visible()
    ui.screenshot(page, "compare-calibrated", top=panel.get_by_text("Are two photos of one person?"))

    page.get_by_role("tab", name="Verify / identify").click()
    check = page.get_by_role("tabpanel", name="Verify / identify")
    assert_face_arrived(snapshot(page, check, ui), ui, ui.person_b)
    ui.expect(check.get_by_text("Unknown")).to_be_visible(timeout=30_000)
    ui.expect(check.get_by_text("gallery;")).to_be_visible()
    ui.screenshot(page, "identify-stranger-calibrated", top=check.get_by_text("Mode", exact=True))
