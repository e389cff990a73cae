"""Embeddings: UMAP / PCA / t-SNE of the embedding space with the face of each point on hover; faces selected
in the projection (a click, a box or a lasso) with their nearest neighbours; the per-epoch snapshots, and a
training run followed snapshot by snapshot."""

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from siamese import projection
from siamese.errors import SiameseError
from siamese.runs.folder import training_identities
from siamese.runs.status import is_live
from ui import cached, page
from ui.draw import faces_on_hover, show_faces

METHODS = {"UMAP": "umap", "PCA": "pca", "t-SNE": "tsne"}
SHOWN = 12  # selected faces shown with their neighbours: a lasso can take hundreds
NEIGHBOURS = 7
LEGEND_MAX = 20  # more names than this crowd the plot: the faces on hover name them instead

page.setup("Embeddings")
run = page.current_run()
live = run is not None and is_live(run)
stages = dict(projection.stages(run, live)) if run else {}
controls = st.columns([2, 1, 2, 3])
method = METHODS[controls[0].radio("Projection", list(METHODS), horizontal=True)]
dims = 3 if controls[1].radio("Dimensions", ["2-D", "3-D"], horizontal=True) == "3-D" else 2
split = "all" if controls[2].checkbox("Include training identities") else "validation"
# UMAP compiles for seconds on the first start: PCA is drawn meanwhile, never a blank page.
compiling = method == "umap" and not projection.is_warm()


@st.fragment(run_every=1.0)
def follow(known: list[str]) -> None:
    """Redraw the page when UMAP has compiled, or when the training run writes a snapshot or ends."""
    umap_ready = compiling and projection.is_warm()
    run_moved = live and (not is_live(run) or [name for name, _ in projection.stages(run, True)] != known)
    if umap_ready or run_moved:
        st.rerun()


if compiling or live:
    follow(list(stages))
if not stages:
    if live:
        st.info(f"Run {run.name} is training: its embeddings appear here when it writes its first snapshot, "
                "at the end of epoch 1.")
    else:
        page.require_model("the embedding explorer")  # says what is missing, and stops
    st.stop()
label = "Snapshot (the newest while the run trains)" if live else "Checkpoint (watch identities pull apart)"
stage = controls[3].select_slider(label, list(stages), value=list(stages)[-1])
checkpoint = stages[stage]
shown = "pca" if compiling else method
if compiling:
    st.caption(" ".join(filter(None, [
        "UMAP is compiling its code, which only the first start ever does (later starts load it from disk): "
        "PCA is shown meanwhile, and UMAP replaces it by itself when it is ready.",
        projection.compiled_code_problem()])))

try:
    embeddings, data = cached.embedded(run, checkpoint, split)
    coords = cached.projected(run, checkpoint, split, shown, dims)
    faces = cached.thumbnails(run, split, checkpoint)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()

training = set() if split == "validation" else training_identities(run)
fig = go.Figure()
for trace in projection.identity_traces(coords, data, training):
    # No hover label of plotly's: ui/hover.js shows the face, identity and file name instead.
    common = dict(name=trace["name"], mode="markers", customdata=trace["customdata"], hoverinfo="none")
    if dims == 3:
        fig.add_trace(go.Scatter3d(x=trace["x"], y=trace["y"], z=trace["z"],
                                   marker=dict(size=3, symbol=trace["symbol"]), **common))
    else:
        fig.add_trace(go.Scatter(x=trace["x"], y=trace["y"], marker=dict(size=8, symbol=trace["symbol"]), **common))
# The title sits just above the plot, below the toolbar that plotly shows over the figure's top right.
title = (f"{shown.upper()} of {len(data)} images, {len(data.identities)} identities ({stage}"
         + ("; x: a training identity)" if training else ")"))
fig.update_layout(height=600, margin=dict(l=0, r=0, t=64, b=0), meta={"faces": faces},
                  showlegend=len(data.identities) <= LEGEND_MAX,
                  title=dict(text=title, x=0, xref="paper", y=1, yref="paper", yanchor="bottom", pad=dict(b=12)))
# The neighbours beside the plot, so that a click shows them without scrolling.
plot_column, neighbours_column = st.columns([3, 2], gap="medium")
with plot_column, st.container(key="projection"):
    if dims == 3:
        st.plotly_chart(fig, width="stretch")
        selection = None
    else:
        selection = st.plotly_chart(fig, width="stretch", on_select="rerun", key="projection_chart",
                                    selection_mode=("points", "box", "lasso")).selection
    faces_on_hover("projection")
    if len(data.identities) > LEGEND_MAX:
        st.caption(f"{len(data.identities)} identities, one colour each: hover a point for its face and name.")

with neighbours_column:
    st.subheader("Nearest neighbours")
    # Names as people write them (LFW's underscores are spaces), so that a caption wraps between words.
    names = [data.identities[label].replace("_", " ") for label in data.labels.tolist()]
    rows = projection.selected_rows(selection.points, len(data)) if selection else []
    if dims == 3:
        st.caption("The 3-D view is for looking only (plotly cannot select points in 3-D): switch to 2-D to "
                   "select faces in the projection, or pick an image here.")
    elif selection and not rows and (selection.box or selection.lasso):
        st.info("No face inside that selection: draw the box or lasso around some points, or click one.")
    elif not rows:
        st.caption("Click a point, or draw a box or a lasso around several (the tools above the plot), to "
                   "see their nearest neighbours; double-click the plot to clear. Or pick an image here.")
    if rows:
        st.caption(f"{len(rows)} selected" + (f"; the first {SHOWN} are shown" if len(rows) > SHOWN else "")
                   + f". Each: the selected face first, then its {NEIGHBOURS} nearest images in the embedding "
                     "space with their distance (✓: the same identity).")
    else:
        labels = [f"{i}: {names[i]} · {Path(data.paths[i]).name}" for i in range(len(data))]
        rows = [st.selectbox("Image", range(len(data)), format_func=lambda i: labels[i])]
    distance = cached.model(run, checkpoint).distance
    for row, near in projection.neighbours_of(embeddings, rows[:SHOWN], distance, data.labels, NEIGHBOURS):
        show_faces([data.images[row]] + [data.images[n.row] for n in near],
                   [f"{names[row]} · {Path(data.paths[row]).name.replace('_', ' ')}"]
                   + [f"{'✓ ' if n.same else ''}{names[n.row]} d={n.distance:.3f}" for n in near],
                   columns=4, width=80)
