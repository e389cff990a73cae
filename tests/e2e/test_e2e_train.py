"""Train page in the browser: a short run started from a link, its loss curve growing, the page answering
while it trains, and the run finishing with a validation AUC."""

from __future__ import annotations

import time

LINK = "train?data=synthetic&max_seconds=12&epochs=500&input_size=32&embedding_dim=16&p=4&k=2&val_fraction=0.34"


def curve(page, chart: int, trace: str, ui) -> list[float]:
    element = page.locator("[data-testid='stPlotlyChart']").nth(chart)
    return element.evaluate(ui.trace_values, trace) if element.count() else []


# The page's own clock, from the click (pointerdown) to the first animation frame in which the new page's
# title is laid out: what the user sees, without Playwright's round trips and polling intervals in between.
ARM_CLOCK = """() => { window.clickedAt = null;
  document.addEventListener('pointerdown', () => { window.clickedAt = performance.now(); },
                            {capture: true, once: true}); }"""
TITLE_SHOWN = """label => {
  const title = Array.from(document.querySelectorAll('h1')).find(h => h.textContent.trim() === label);
  return title && window.clickedAt !== null && title.getBoundingClientRect().height > 0
    ? {seconds: (performance.now() - window.clickedAt) / 1000} : null; }"""


def open_link(page, ui, label: str) -> float:
    """Seconds from clicking the sidebar link `label` until the page shows that page's title."""
    page.evaluate(ARM_CLOCK)
    page.get_by_role("link", name=label, exact=True).click()
    shown = page.wait_for_function(TITLE_SHOWN, arg=label, polling="raf", timeout=10_000)
    return shown.json_value()["seconds"]


def test_train_from_a_link_watch_it_and_see_the_auc(open_page, ui):
    page = open_page(LINK)
    ui.expect(page.get_by_role("spinbutton", name="max seconds")).to_have_value("12")
    page.get_by_role("button", name="Start training").click()
    ui.expect(page.get_by_role("heading").filter(has_text=": running")).to_be_visible(timeout=30_000)
    deadline = time.monotonic() + 20
    while len(first := curve(page, 0, "loss per step", ui)) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert len(first) >= 2, "no loss curve while training"
    page.wait_for_timeout(2_000)
    assert len(curve(page, 0, "loss per step", ui)) > len(first), "the loss curve did not grow"

    # Away and back twice, looking at each page (letting it finish drawing) before the next click. Training
    # uses both cores meanwhile; measured here, a switch takes 0.07-0.65 s, and a page that waits on the run
    # or on a slow read (try a one-second sleep in the sidebar) fails this.
    seconds = []
    for label in ("Data", "Train", "Data", "Train"):
        seconds.append(open_link(page, ui, label))
        ui.settle(page)
    running = page.get_by_role("heading").filter(has_text=": running")
    ui.expect(running).to_be_visible()
    ui.screenshot(page, "train_running", top=running)
    assert max(seconds) < 1.0, f"page switches while training took {seconds} s"
    ui.expect(page.get_by_role("heading").filter(has_text=": finished")).to_be_visible(timeout=45_000)
    ui.settle(page)
    deadline = time.monotonic() + 15
    while not (auc := curve(page, 1, "AUC", ui)) and time.monotonic() < deadline:
        page.wait_for_timeout(250)  # plotly may still be drawing the final figure
    ui.screenshot(page, "train_finished", top=page.get_by_role("heading").filter(has_text=": finished"))
    assert auc and 0.5 < auc[-1] <= 1.0, auc
