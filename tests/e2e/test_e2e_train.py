"""Train page in the browser: a run started from a link, its loss curve growing, the page answering while
it trains, and the run stopped with a validation AUC. How fast pages switch while a run trains is
measured by the benchmark (bench/pages.py), not here."""

from __future__ import annotations

import time

# Epochs enough to outlast the test on any machine: it is stopped once its curves have been watched.
LINK = "train?data=synthetic&epochs=100000&input_size=32&embedding_dim=16&p=4&k=2&val_fraction=0.34"


def curve(page, chart: int, trace: str, ui) -> list[float]:
    element = page.locator("[data-testid='stPlotlyChart']").nth(chart)
    return element.evaluate(ui.trace_values, trace) if element.count() else []


# From the click (pointerdown) to the first animation frame in which the new page's title is laid out.
ARM_CLOCK = """() => { window.clickedAt = null;
  document.addEventListener('pointerdown', () => { window.clickedAt = performance.now(); },
                            {capture: true, once: true}); }"""
TITLE_SHOWN = """label => {
  const title = Array.from(document.querySelectorAll('h1')).find(h => h.textContent.trim() === label);
  return title && window.clickedAt !== null && title.getBoundingClientRect().height > 0
    ? {seconds: (performance.now() - window.clickedAt) / 1000} : null; }"""


def open_link(page, label: str) -> None:
    """Click the sidebar link `label` and wait for that page's title: the page answers while a run trains."""
    page.evaluate(ARM_CLOCK)
    page.get_by_role("link", name=label, exact=True).click()
    page.wait_for_function(TITLE_SHOWN, arg=label, polling="raf", timeout=60_000)


def test_train_from_a_link_watch_it_and_see_the_auc(open_page, ui):
    page = open_page(LINK)
    ui.expect(page.get_by_role("spinbutton", name="epochs", exact=True)).to_have_value("100000")
    page.get_by_role("button", name="Start training").click()
    ui.expect(page.get_by_role("heading").filter(has_text=": running")).to_be_visible(timeout=60_000)
    deadline = time.monotonic() + 120
    while len(first := curve(page, 0, "loss per step", ui)) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert len(first) >= 2, "no loss curve while training"
    while len(curve(page, 0, "loss per step", ui)) <= len(first) and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert len(curve(page, 0, "loss per step", ui)) > len(first), "the loss curve did not grow"

    # Away and back twice, each page drawn before the next click, while training uses the other core.
    for label in ("Data", "Train", "Data", "Train"):
        open_link(page, label)
        ui.settle(page)
    running = page.get_by_role("heading").filter(has_text=": running")
    ui.expect(running).to_be_visible()
    ui.screenshot(page, "train_running", top=running)
    page.get_by_role("button", name="Stop").first.click()
    ui.expect(page.get_by_role("heading").filter(has_text=": stopped")).to_be_visible(timeout=60_000)
    ui.settle(page)
    deadline = time.monotonic() + 30
    while not (auc := curve(page, 1, "AUC", ui)) and time.monotonic() < deadline:
        page.wait_for_timeout(250)  # plotly may still be drawing the final figure
    ui.screenshot(page, "train_finished", top=page.get_by_role("heading").filter(has_text=": stopped"))
    assert auc and 0.5 < auc[-1] <= 1.0, auc
