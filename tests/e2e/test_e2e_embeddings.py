"""Embeddings page in the browser: the UMAP scatter (Streamlit's own plotly chart) has one colour per
identity; hovering a point shows its face; a click on a point, or a box around several, shows their
nearest neighbours; a box around empty space gives a hint."""

from __future__ import annotations

import json
import re

CHART = ".st-key-projection .js-plotly-plot"
TRACES = """gd => gd._fullData.map(t => ({name: t.name, colour: t.marker && t.marker.color,
                                          points: t.x ? t.x.length : 0}))"""
# Every point where it is drawn, in the window's pixels, with its customdata [row, identity, file name]
# and, in `gap`, how far its nearest other point is.
POINTS = """gd => {
  const layout = gd._fullLayout, frame = gd.getBoundingClientRect(), found = [];
  gd._fullData.forEach(t => t.x.forEach((x, i) => found.push({
    x: frame.left + layout.xaxis._offset + layout.xaxis.d2p(x),
    y: frame.top + layout.yaxis._offset + layout.yaxis.d2p(t.y[i]), custom: t.customdata[i]})));
  found.forEach(p => p.gap = Math.min(...found.filter(q => q !== p).map(q => Math.hypot(p.x - q.x, p.y - q.y))));
  return {points: found, plot: {left: frame.left + layout.xaxis._offset, top: frame.top + layout.yaxis._offset,
                                width: layout.xaxis._length, height: layout.yaxis._length}};
}"""


def open_projection(open_page, orl_run, ui):
    """The Embeddings page on the ORL run, its UMAP drawn (PCA comes first while UMAP compiles)."""
    page = open_page("embeddings")
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.choose_run(page, orl_run.name)
    titles = page.locator(f"{CHART} .gtitle")
    ui.expect(titles.filter(has_text=re.compile("^UMAP of"))).to_be_visible(timeout=90_000)
    ui.expect(titles).to_have_count(1)  # the PCA chart drawn meanwhile can linger for a moment
    ui.settle(page, timeout=90)
    return page


def neighbour_captions(page) -> list[str]:
    column = page.locator("[data-testid='stColumn']").filter(has_text="Nearest neighbours").last
    return [c.strip() for c in column.locator("[data-testid='stImageCaption']").all_inner_texts()]


def test_umap_plot_has_one_colour_per_identity(open_page, orl_run, ui):
    page = open_projection(open_page, orl_run, ui)
    chart = page.locator(CHART)
    identities = json.loads((orl_run / "split.json").read_text())["validation"]
    traces = chart.evaluate(TRACES)
    ui.screenshot(page, "embeddings")
    assert sorted(t["name"] for t in traces) == sorted(identities)
    assert all(t["points"] > 0 for t in traces)
    assert chart.locator(".legend .traces").count() == len(identities)
    assert len({t["colour"] for t in traces}) == len(identities), traces


def test_hover_shows_the_face_and_a_click_shows_its_nearest_neighbours(open_page, orl_run, ui):
    page = open_projection(open_page, orl_run, ui)
    chart = page.locator(CHART)
    drawn = chart.evaluate(POINTS)
    point = max(drawn["points"], key=lambda p: p["gap"])  # the most isolated: nothing else under the pointer
    row, identity, file = point["custom"]
    page.mouse.move(point["x"], point["y"])
    box = page.locator(".face-hover")
    ui.expect(box).to_be_visible()
    ui.expect(box).to_contain_text(identity + file)
    face = box.locator("img")
    assert face.get_attribute("src") == chart.evaluate(f"gd => gd.layout.meta.faces[{row}]")
    assert face.evaluate("img => img.complete && img.naturalWidth") == 48
    page.screenshot(path=str(ui_screenshots() / "embeddings-hover.png"))

    page.mouse.click(point["x"], point["y"])
    ui.expect(page.get_by_text("1 selected.")).to_be_visible(timeout=30_000)
    ui.settle(page)
    captions = neighbour_captions(page)
    assert captions[0] == f"{identity} · {file}".replace("_", " ")
    assert len(captions) == 8 and all(" d=" in c for c in captions[1:]), captions
    distances = [float(c.rsplit("d=", 1)[1]) for c in captions[1:]]
    assert distances == sorted(distances)
    ui.screenshot(page, "embeddings-neighbours")


def test_a_box_shows_the_faces_inside_it_and_an_empty_box_a_hint(open_page, orl_run, ui):
    page = open_projection(open_page, orl_run, ui)
    chart = page.locator(CHART)
    drawn = chart.evaluate(POINTS)
    # A box around the identity whose points lie closest together.
    by_identity = {}
    for p in drawn["points"]:
        by_identity.setdefault(p["custom"][1], []).append(p)
    group = min(by_identity.values(), key=lambda ps: max(p["x"] for p in ps) - min(p["x"] for p in ps)
                + max(p["y"] for p in ps) - min(p["y"] for p in ps))
    left, right = min(p["x"] for p in group) - 8, max(p["x"] for p in group) + 8
    top, bottom = min(p["y"] for p in group) - 8, max(p["y"] for p in group) + 8
    inside = [p for p in drawn["points"] if left <= p["x"] <= right and top <= p["y"] <= bottom]
    chart.hover()
    chart.locator("[data-title='Box Select']").click()
    drag(page, (left, top), (right, bottom))
    ui.expect(page.get_by_text(f"{len(inside)} selected")).to_be_visible(timeout=30_000)
    ui.settle(page)
    # Each selected face (the first 12) heads its row of neighbours, captioned "identity · file"; wait until
    # every row is drawn, however slowly the machine draws them.
    column = page.locator("[data-testid='stColumn']").filter(has_text="Nearest neighbours").last
    shown = column.locator("[data-testid='stImageCaption']").filter(has_text=" · ")
    ui.expect(shown).to_have_count(min(len(inside), 12), timeout=30_000)
    selected = [c for c in neighbour_captions(page) if " · " in c]
    # Captions write names as people do (underscores as spaces), so that they wrap between words.
    inside_names = {f"{p['custom'][1]} · {p['custom'][2]}".replace("_", " ") for p in inside}
    assert len(set(selected)) == min(len(inside), 12) and set(selected) <= inside_names, (selected, inside_names)
    ui.screenshot(page, "embeddings-box")

    empty = empty_square(drawn, side=40)
    drag(page, (empty[0], empty[1]), (empty[0] + 40, empty[1] + 40))
    ui.expect(page.get_by_text("No face inside that selection")).to_be_visible(timeout=30_000)
    ui.settle(page)
    ui.expect(page.locator("[data-testid='stException']")).to_have_count(0)
    ui.screenshot(page, "embeddings-empty-box")


def drag(page, start, end) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=5)
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def empty_square(drawn, side: float) -> tuple[float, float]:
    """The top left corner of a square inside the plot, 20 px clear of every point."""
    plot = drawn["plot"]
    for y in range(int(plot["top"]) + 10, int(plot["top"] + plot["height"] - side), 10):
        for x in range(int(plot["left"]) + 10, int(plot["left"] + plot["width"] - side), 10):
            if all(not (x - 20 <= p["x"] <= x + side + 20 and y - 20 <= p["y"] <= y + side + 20)
                   for p in drawn["points"]):
                return x, y
    raise AssertionError("no empty space in the plot")


def ui_screenshots():
    from tests.e2e.conftest import SCREENSHOTS
    return SCREENSHOTS
