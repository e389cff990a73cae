"""The Train page's tools in the browser: a preset fills the form and the link, a sweep of three margins is a
grid study the Runs page shows, a search shows its trials and figures and stops, a stopped run resumed
carries its curves on, and the Threshold page draws its DET curve."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, quote, urlparse

from playwright.sync_api import TimeoutError as PlaywrightTimeout

TINY = "data=synthetic&input_size=32&embedding_dim=16&p=4&k=2&val_fraction=0.34"


def query(page) -> dict:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def choose(page, label: str, option: str) -> None:
    """Pick `option` in the selectbox `label`; a rerun of the page (a live run's fragment, say) may close the
    list before the option is clicked: then the list is opened again."""
    for _ in range(3):
        page.get_by_role("combobox", name=label).click()
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=10_000)
            return
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    raise AssertionError(f"{option!r} could not be chosen in {label!r}")


def test_a_preset_fills_the_form_and_the_link(open_page, ui):
    page = open_page(f"train?{TINY}")
    choose(page, "Preset", "FaceNet (Schroff et al. 2015)")
    ui.settle(page)
    ui.expect(page.get_by_text("Schroff, Kalenichenko and Philbin")).to_be_visible()
    page.get_by_role("button", name="Fill the form").click()
    ui.settle(page)
    ui.expect(page.get_by_role("combobox", name="loss")).to_have_value("triplet")
    ui.expect(page.get_by_role("combobox", name="mining")).to_have_value("semi_hard")
    deadline = time.monotonic() + 10
    while query(page).get("loss") != "triplet" and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    link = query(page)
    assert (link["loss"], link["mining"], link["margin"], link["data"]) == ("triplet", "semi_hard", "0.2", "synthetic")
    ui.screenshot(page, "train_preset")


def study_trials(world, name: str) -> list:
    import optuna

    return optuna.load_study(study_name=name, storage=f"sqlite:///{world['runs'] / 'search.db'}").get_trials()


def test_a_sweep_of_three_margins_is_a_grid_study_the_runs_page_shows(open_page, ui, world):
    page = open_page(f"train?{TINY}&loss=contrastive&epochs=40")  # a few seconds a run: its progress shows
    page.get_by_text("A sweep of one field").click()
    ui.settle(page)
    ui.expect(page.get_by_role("combobox", name="Sweep a field")).to_have_value("margin")
    values = page.get_by_placeholder("0.1, 0.2, 0.5")
    values.fill("0.5, 1.0, 1.5")
    values.press("Enter")
    ui.settle(page)
    page.get_by_role("button", name="Start sweep").click()
    heading = page.get_by_role("heading").filter(has_text=re.compile(r"Study sweep-margin-.*: searching"))
    ui.expect(heading).to_be_visible(timeout=60_000)
    ui.screenshot(page, "train_sweep", top=heading)
    name = heading.first.inner_text().split()[1].rstrip(":")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and [t.state.name for t in study_trials(world, name)] != ["COMPLETE"] * 3:
        time.sleep(1)
    trials = study_trials(world, name)
    assert sorted(t.params["margin"] for t in trials) == [0.5, 1.0, 1.5] and all(0 < t.value <= 1 for t in trials)
    runs_page = open_page("runs")
    ui.expect(runs_page.get_by_role("heading", name="Searches and sweeps")).to_be_visible()
    ui.expect(runs_page.get_by_text("Best so far: trial")).to_be_visible(timeout=20_000)
    ui.screenshot(runs_page, "runs_sweep", top=runs_page.get_by_role("heading", name="Searches and sweeps"))


def test_a_search_runs_from_the_train_page_with_its_trials_and_figures_and_stops(open_page, ui, world):
    space = quote("lr=log:0.001:0.01;margin=float:0.1:0.5;embedding_dim=choice:8,16")
    page = open_page(f"train?{TINY}&epochs=30&search={space}&trials=12&pruner=median")
    ui.expect(page.get_by_role("button", name="Start search")).to_be_visible()
    page.get_by_role("button", name="Start search").click()
    heading = page.get_by_role("heading").filter(has_text=re.compile(r"Study search-.*: searching"))
    ui.expect(heading).to_be_visible(timeout=60_000)
    name = heading.first.inner_text().split()[1].rstrip(":")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and sum(t.state.name == "COMPLETE" for t in study_trials(world, name)) < 4:
        time.sleep(1)
    ui.expect(page.get_by_text("Best so far: trial")).to_be_visible(timeout=30_000)
    page.set_viewport_size({"width": 1400, "height": 900})
    ui.screenshot(page, "train_search", top=heading)
    page.get_by_role("button", name=f"Stop search {name}").click()
    ended = page.get_by_role("heading").filter(has_text=f"Study {name}: ended")
    ui.expect(ended.first).to_be_visible(timeout=120_000)
    states = {t.state.name for t in study_trials(world, name)}
    assert "RUNNING" not in states and "COMPLETE" in states


def test_a_stopped_run_resumed_carries_its_curve_on(open_page, ui):
    page = open_page(f"train?{TINY}&epochs=100000")
    page.get_by_role("button", name="Start training").click()
    ui.expect(page.get_by_role("heading").filter(has_text=": running")).to_be_visible(timeout=60_000)
    deadline = time.monotonic() + 120
    while len(page.locator("[data-testid='stPlotlyChart']").first.evaluate(ui.trace_values, "loss per step")) < 3 \
            and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    page.get_by_role("button", name="Stop").first.click()
    ui.expect(page.get_by_role("heading").filter(has_text=": stopped")).to_be_visible(timeout=60_000)
    ui.settle(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    stopped = chart.evaluate(ui.trace_values, "loss per step")
    stopped_steps = chart.evaluate(ui.trace_steps, "loss per step")
    before = len(stopped)
    assert before > 0
    page.get_by_role("button", name="Resume").click()
    ui.expect(page.get_by_role("heading").filter(has_text=": running")).to_be_visible(timeout=60_000)
    deadline = time.monotonic() + 120
    while len(page.locator("[data-testid='stPlotlyChart']").first.evaluate(ui.trace_values, "loss per step")) <= before + 5 \
            and time.monotonic() < deadline:
        page.wait_for_timeout(300)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    after, steps = chart.evaluate(ui.trace_values, "loss per step"), chart.evaluate(ui.trace_steps, "loss per step")
    assert len(after) > before + 5, (before, len(after))
    # Carried on: the stopped run's curve is kept as it was, and the new steps come after its last one (a
    # run started again would count its steps from 1 and draw its curve back over the old one).
    assert after[:before] == stopped and steps[:before] == stopped_steps
    assert all(a < b for a, b in zip(steps, steps[1:])), steps
    box = page.locator("[data-testid='stPlotlyChart']").first.bounding_box()
    page.set_viewport_size({"width": 1400, "height": 900})
    box = page.locator("[data-testid='stPlotlyChart']").first.bounding_box()
    assert box["y"] + box["height"] < 900, "the live curves are below the fold at 1400 x 900"
    ui.screenshot(page, "train_resumed")
    page.get_by_role("button", name="Stop").first.click()
    ui.expect(page.get_by_role("heading").filter(has_text=": stopped")).to_be_visible(timeout=60_000)


def test_the_threshold_page_draws_a_det_curve_on_log_axes(open_page, ui, orl_run):
    page = open_page("threshold")
    ui.choose_run(page, orl_run.name)
    # the first: the 1:N study further down draws a DET curve of its own
    det = page.locator("[data-testid='stPlotlyChart']").filter(has_text="DET").first
    ui.expect(det).to_be_visible(timeout=20_000)
    axes = det.evaluate("el => { const l = el.querySelector('.js-plotly-plot').layout; "
                        "return [l.xaxis.type, l.yaxis.type]; }")
    points = det.evaluate(ui.trace_values, "DET")
    assert axes == ["log", "log"] and len(points) > 10 and min(points) > 0
    ui.screenshot(page, "threshold_det", top=det)
