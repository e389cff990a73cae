"""Threshold page in the browser: moving the slider with the keyboard changes the false-accept rate shown."""

from __future__ import annotations


def far_text(page) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text="False accept rate")
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def thumb_value(page) -> str:
    return page.locator("[data-testid='stSliderThumbValue']").inner_text()


def test_moving_the_slider_changes_the_false_accept_rate(open_page, orl_run, ui):
    page = open_page("threshold")
    ui.choose_run(page, orl_run.name)
    slider = page.get_by_role("slider")
    before_value, before_far = thumb_value(page), far_text(page)
    slider.focus()
    for _ in range(150):  # a step is 1/1000 of the range: 15 % of it to the left
        page.keyboard.press("ArrowLeft")
    assert float(thumb_value(page)) < float(before_value)
    far = page.locator("[data-testid='stMetric']").filter(has_text="False accept rate")
    ui.expect(far.locator("[data-testid='stMetricValue']")).not_to_have_text(before_far, timeout=15_000)
    ui.settle(page)
    ui.screenshot(page, "threshold")
    assert float(far_text(page)) < float(before_far)
