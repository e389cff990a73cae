"""Embeddings page in the browser: the UMAP scatter (a plotly page in an iframe) has one colour per identity."""

from __future__ import annotations

import json

TRACES = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).flatMap(gd => gd._fullData.map(t => ({
  name: t.name, colour: t.marker && t.marker.color, points: t.x ? t.x.length : 0})))"""


def test_umap_plot_has_one_colour_per_identity(open_page, orl_run, ui):
    page = open_page("embeddings")
    ui.choose_run(page, orl_run.name)
    frame = page.frame_locator("iframe").first
    ui.expect(frame.locator(".legend .traces").first).to_be_visible(timeout=90_000)
    ui.settle(page, timeout=90)
    identities = json.loads((orl_run / "split.json").read_text())["validation"]
    traces = frame.locator("body").evaluate(TRACES)
    title = frame.locator(".gtitle").text_content()
    ui.screenshot(page, "embeddings")
    assert title.startswith("UMAP of")
    assert sorted(t["name"] for t in traces) == sorted(identities)
    assert all(t["points"] > 0 for t in traces)
    assert frame.locator(".legend .traces").count() == len(identities)
    assert len({t["colour"] for t in traces}) == len(identities), traces
