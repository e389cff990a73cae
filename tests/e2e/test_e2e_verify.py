"""Enrol and verify through Chromium's fake webcam: A is enrolled from snapshots of A, a snapshot of A is
accepted as A, one of B (another browser process, another video) is rejected and identified as unknown."""

from __future__ import annotations

CAPTURE_STATS = """img => {
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  const d = g.getImageData(0, 0, c.width, c.height).data;
  let spread = 0;
  for (let i = 0; i < d.length; i += 4 * 97) spread = Math.max(spread, Math.abs(d[i] - d[i+1]), Math.abs(d[i+1] - d[i+2]));
  const corner = g.getImageData(5, 5, 1, 1).data;
  return {width: c.width, height: c.height, spread: spread, corner: corner[0]};
}"""


def snapshot(page, panel, ui):
    """Take a photo with the webcam widget in `panel` and return what the captured image holds."""
    camera = panel.locator("[data-testid='stCameraInput']")
    camera.get_by_role("button", name="Take Photo").click()
    image = camera.locator("img")
    ui.expect(image).to_be_visible(timeout=15_000)
    ui.settle(page)
    return image.evaluate(CAPTURE_STATS)


def test_enrol_from_webcam_then_verify_and_identify(open_page, orl_run, ui):
    page = open_page("verify", person=ui.person_a)
    ui.choose_run(page, orl_run.name)
    page.get_by_role("tab", name="Enrol a person").click()
    enrol = page.get_by_role("tabpanel", name="Enrol a person")
    enrol.get_by_label("Name of the person to enrol").fill("alice")
    enrol.get_by_label("Name of the person to enrol").press("Enter")
    ui.settle(page)
    stats = snapshot(page, enrol, ui)
    # the fake webcam's grey 640x480 face arrived, not Chromium's green 4K test pattern
    assert (stats["width"], stats["height"]) == (640, 480) and stats["spread"] <= 12, stats
    enrol.get_by_role("button", name="Add this snapshot").click()
    ui.settle(page)
    enrol.get_by_role("button", name="Enrol alice from 1 image(s)").click()
    ui.expect(enrol.get_by_text("alice now has 1 enrolled image(s).")).to_be_visible(timeout=30_000)
    ui.screenshot(page, "enrol")

    page.get_by_role("tab", name="Verify / identify").click()
    check = page.get_by_role("tabpanel", name="Verify / identify")
    check.get_by_text("1:1 verify a claim").click()
    ui.settle(page)
    snapshot(page, check, ui)
    ui.expect(check.get_by_text("ACCEPTED: distance")).to_be_visible(timeout=30_000)
    ui.expect(check.get_by_text("detected face")).to_be_visible()
    ui.screenshot(page, "verify_accepted")

    other = open_page("verify", person=ui.person_b)
    ui.choose_run(other, orl_run.name)
    check = other.get_by_role("tabpanel", name="Verify / identify")
    check.get_by_text("1:1 verify a claim").click()
    ui.settle(other)
    snapshot(other, check, ui)
    ui.expect(check.get_by_text("REJECTED: distance")).to_be_visible(timeout=30_000)
    ui.screenshot(other, "verify_rejected")
    check.get_by_text("1:N identify").click()
    ui.expect(check.get_by_text("Unknown")).to_be_visible(timeout=30_000)
    ui.settle(other)
    ui.screenshot(other, "identify_unknown")
