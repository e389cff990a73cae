"""Every page opened directly by its URL, in a new browser session, shows its content and the sidebar:
each page file sets itself up, without the landing page having run first."""

from __future__ import annotations

import pytest

PAGES = {"": "Siamese explorer", "data": "Data", "train": "Train", "embeddings": "Embeddings",
         "threshold": "Threshold", "verify": "Verify", "runs": "Runs"}
CONTENT = {"": "The pipeline", "data": "Sample faces", "train": "Start training", "embeddings": "Nearest neighbours",
           "threshold": "False accept rate", "verify": "Verify / identify", "runs": "Manage"}


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p or "overview")
def test_a_page_opened_by_its_url_in_a_new_session_works(open_page, orl_run, ui, path):
    page = open_page(path)
    ui.expect(page.locator("h1").first).to_have_text(PAGES[path])
    ui.expect(page.get_by_text("Page not found")).to_have_count(0)
    ui.expect(page.locator("[data-testid='stException']")).to_have_count(0)
    ui.expect(page.get_by_text(CONTENT[path]).first).to_be_visible()
    sidebar = page.locator("[data-testid='stSidebar']")
    ui.expect(sidebar.get_by_text("Dataset:")).to_be_visible()
    ui.expect(sidebar.get_by_role("combobox", name="Current run")).to_be_visible()
    for label in PAGES.values():
        if label != "Siamese explorer":
            ui.expect(sidebar.get_by_role("link", name=label, exact=True)).to_be_visible()
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.settle(page)
    ui.screenshot(page, f"page-{path or 'overview'}")
