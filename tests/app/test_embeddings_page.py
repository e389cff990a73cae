"""The Embeddings page: faces selected in the projection (a click, a box, a lasso, or nothing) with their
nearest neighbours, the face of each point for hover, PCA while UMAP compiles, and a training run followed
snapshot by snapshot.

AppTest has no plotly chart to click: `select` sends the chart's widget state as Streamlit's frontend does
(a JSON selection whose points carry their customdata), then reruns the page."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time

import numpy as np
import pytest

from siamese import projection
from siamese.runs.folder import RunPaths

NEIGHBOURS = 7


@pytest.fixture(autouse=True)
def umap_is_ready(monkeypatch):
    """UMAP's readiness is the test's choice, not the background warm-up's."""
    monkeypatch.setattr(projection, "is_warm", lambda: True)


def figure(at) -> dict:
    return json.loads(at.get("plotly_chart")[0].proto.spec)


def coordinates(values) -> list[float]:
    """A trace's x or y: plotly sends numpy arrays as {'dtype', 'bdata' (base64)}."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return values


def points(at, rows: list[int]) -> list[dict]:
    """The selection event's points of these dataset rows, as the browser reports them."""
    found = {}
    for curve, trace in enumerate(figure(at)["data"]):
        x, y = coordinates(trace["x"]), coordinates(trace["y"])
        for index, custom in enumerate(trace["customdata"]):
            if custom[0] in rows:
                found[custom[0]] = {"curve_number": curve, "point_number": index, "point_index": index,
                                    "x": x[index], "y": y[index], "customdata": custom,
                                    "legendgroup": trace["name"]}
    return [found[row] for row in rows]


def select(at, rows: list[int], box: bool = False, lasso: bool = False):
    chart = at.get("plotly_chart")[0].proto
    area = [{"xref": "x", "yref": "y", "x": [-1.0, 1.0], "y": [-1.0, 1.0]}]
    selected = points(at, rows)
    event = {"selection": {"points": selected, "point_indices": [p["point_index"] for p in selected],
                           "box": area if box else [], "lasso": area if lasso else []}}
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id, state.string_value = chart.id, json.dumps(event)
    return at._run(states)


def faces_shown(at) -> list[list[str]]:
    """The captions of the neighbour rows: [selected face, its neighbours...] each."""
    captions = [image.proto.imgs[0].caption for image in at.get("image")]
    return [captions[k:k + NEIGHBOURS + 1] for k in range(0, len(captions), NEIGHBOURS + 1)]


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def no_errors(at) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def identity_and_file(at, row: int) -> str:
    custom = next(c for trace in figure(at)["data"] for c in trace["customdata"] if c[0] == row)
    return f"{custom[1]} · {custom[2]}".replace("_", " ")  # captions write names with spaces, to wrap between words


def test_the_2d_projection_is_selectable_by_click_box_and_lasso(make_app):
    at = make_app("Embeddings")
    no_errors(at)
    chart = at.get("plotly_chart")[0].proto
    assert len(chart.selection_mode) == 3 and chart.id.endswith("projection_chart")
    assert "Click a point, or draw a box or a lasso" in texts(at.caption)
    assert "Image" in [s.label for s in at.selectbox] and len(faces_shown(at)) == 1  # no selection: pick one


def test_a_clicked_point_shows_that_face_with_its_nearest_neighbours(make_app):
    at = make_app("Embeddings")
    row = 5
    select(at, [row])
    no_errors(at)
    [shown] = faces_shown(at)
    assert shown[0] == identity_and_file(at, row)
    assert len(shown) == NEIGHBOURS + 1 and all(" d=" in caption for caption in shown[1:])
    distances = [float(caption.rsplit("d=", 1)[1]) for caption in shown[1:]]
    assert distances == sorted(distances)
    identity = shown[0].split(" · ")[0]
    assert all(caption.startswith("✓ ") == (caption.removeprefix("✓ ").split(" d=")[0] == identity)
               for caption in shown[1:])
    assert "1 selected" in texts(at.caption)
    assert "Image" not in [s.label for s in at.selectbox]


def test_a_box_or_lasso_shows_every_selected_face_in_selection_order(make_app):
    at = make_app("Embeddings")
    for kind in ("box", "lasso"):
        select(at, [9, 0, 14], **{kind: True})
        no_errors(at)
        assert [row[0] for row in faces_shown(at)] == [identity_and_file(at, r) for r in (9, 0, 14)]
        assert "3 selected" in texts(at.caption)


def test_a_selection_of_no_points_gives_a_hint(make_app):
    at = make_app("Embeddings")
    for kind in ("box", "lasso"):
        select(at, [], **{kind: True})
        no_errors(at)
        assert "No face inside that selection" in texts(at.info)
        assert len(faces_shown(at)) == 1  # the picked image's neighbours, as before any selection


def test_every_point_keeps_its_row_and_the_figure_its_face_for_hover(make_app):
    at = make_app("Embeddings")
    fig = figure(at)
    faces = fig["layout"]["meta"]["faces"]
    rows = sorted(c[0] for trace in fig["data"] for c in trace["customdata"])
    assert rows == list(range(len(faces))) and all(f.startswith("data:image/webp;base64,") for f in faces)
    assert {trace["hoverinfo"] for trace in fig["data"]} == {"none"}  # the face box replaces plotly's label
    script = at.get("html")[0].proto.body
    assert script.startswith("<script>") and 'const KEY = "projection";' in script


def test_the_3d_view_is_display_only_and_says_so(make_app):
    at = make_app("Embeddings")
    at.radio[1].set_value("3-D").run()
    no_errors(at)
    chart = at.get("plotly_chart")[0].proto
    assert len(chart.selection_mode) == 0
    assert figure(at)["data"][0]["type"] == "scatter3d"
    assert "The 3-D view is for looking only" in texts(at.caption)
    assert len(faces_shown(at)) == 1


def test_pca_is_shown_while_umap_compiles_then_umap_by_itself(make_app, monkeypatch):
    monkeypatch.setattr(projection, "is_warm", lambda: False)
    at = make_app("Embeddings")
    no_errors(at)
    assert at.radio[0].value == "UMAP"
    assert figure(at)["layout"]["title"]["text"].startswith("PCA of")
    assert "UMAP is compiling its code" in texts(at.caption) and "PCA is shown meanwhile" in texts(at.caption)
    monkeypatch.setattr(projection, "is_warm", lambda: True)
    at.run()
    no_errors(at)
    assert figure(at)["layout"]["title"]["text"].startswith("UMAP of")
    assert "UMAP is compiling" not in texts(at.caption)


def training(run, pid: int | None = None) -> None:
    """Make the run look as if this process were training it."""
    now = time.time()
    RunPaths(run).status.write_text(json.dumps({"status": "running", "message": "training",
                                                "pid": pid or os.getpid(), "started": now, "updated": now}))


def test_a_training_run_shows_its_newest_snapshot_and_the_next_one_when_written(own_world):
    snapshots = RunPaths(own_world.run).snapshots
    training(own_world.run)
    at = own_world.open("Embeddings")
    no_errors(at)
    slider = at.select_slider[0]
    assert slider.label.startswith("Snapshot") and slider.options == ["epoch 1", "epoch 2"]
    assert slider.value == "epoch 2" and "(epoch 2)" in figure(at)["layout"]["title"]["text"]
    shutil.copy(snapshots / "epoch-0002.pt", snapshots / "epoch-0004.pt")  # the trainer writes epoch 4
    at.run()
    assert at.select_slider[0].value == "epoch 4" and "(epoch 4)" in figure(at)["layout"]["title"]["text"]
    RunPaths(own_world.run).status.write_text(json.dumps({"status": "finished", "message": "done"}))
    at.run()
    no_errors(at)
    assert at.select_slider[0].value == "final" and at.select_slider[0].label.startswith("Checkpoint")


def test_a_training_run_without_a_snapshot_yet_says_when_it_appears(own_world):
    paths = RunPaths(own_world.run)
    shutil.rmtree(paths.snapshots)
    paths.checkpoint.unlink()
    training(own_world.run)
    at = own_world.open("Embeddings")
    no_errors(at)
    assert "is training: its embeddings appear here when it writes its first snapshot" in texts(at.info)
    assert not at.get("plotly_chart")


def test_a_training_run_with_a_snapshot_but_no_checkpoint_shows_the_snapshot(own_world):
    RunPaths(own_world.run).checkpoint.unlink()  # checkpoints come every 20 s, snapshots every epoch
    training(own_world.run)
    at = own_world.open("Embeddings")
    no_errors(at)
    assert at.select_slider[0].value == "epoch 2"
    select(at, [3])
    assert [row[0] for row in faces_shown(at)] == [identity_and_file(at, 3)]
