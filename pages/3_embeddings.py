"""Embeddings: UMAP / PCA / t-SNE of the embedding space, faces on hover, nearest neighbours, and how the
space evolved over the per-epoch snapshots."""

from pathlib import Path

import plotly.graph_objects as go
import streamlit as st
import streamlit.components.v1 as components

from siamese import projection
from siamese.errors import SiameseError
from siamese.runs.files import read_json
from siamese.runs.folder import RunPaths, list_snapshots
from ui import cached, page
from ui.draw import scatter_html, show_faces

METHODS = {"UMAP": "umap", "PCA": "pca", "t-SNE": "tsne"}

page.setup("Embeddings")
run = page.require_model("the embedding explorer")
controls = st.columns([2, 1, 2, 3])
method = METHODS[controls[0].radio("Projection", list(METHODS), horizontal=True)]
dims = 3 if controls[1].radio("Dimensions", ["2-D", "3-D"], horizontal=True) == "3-D" else 2
split = "all" if controls[2].checkbox("Include training identities") else "validation"
snapshots = list_snapshots(run)
stages = [f"epoch {epoch}" for epoch, _ in snapshots] + ["final"]
stage = controls[3].select_slider("Checkpoint (watch identities pull apart)", stages, value="final")
checkpoint = None if stage == "final" else dict(zip(stages, [p for _, p in snapshots]))[stage]
if method == "umap" and not projection.is_warm():
    st.caption("UMAP compiles on its first use (it was started in the background); this can take a while.")

try:
    embeddings, data = cached.embedded(run, checkpoint, split)
    coords = cached.projected(run, checkpoint, split, method, dims)
except SiameseError as exc:
    st.error(str(exc))
    st.stop()

training = set() if split == "validation" else set(read_json(RunPaths(run).split)["train"])
fig = go.Figure()
for trace in projection.identity_traces(coords, data, cached.thumbnails(run, split), training):
    common = dict(name=trace["name"], mode="markers", customdata=trace["customdata"],
                  hovertemplate="%{customdata[1]}<extra></extra>")
    if dims == 3:
        fig.add_trace(go.Scatter3d(x=trace["x"], y=trace["y"], z=trace["z"],
                                   marker=dict(size=3, symbol=trace["symbol"]), **common))
    else:
        fig.add_trace(go.Scatter(x=trace["x"], y=trace["y"], marker=dict(size=7, symbol=trace["symbol"]), **common))
fig.update_layout(template="plotly_white", height=620, margin=dict(l=0, r=0, t=30, b=0),
                  title=f"{method.upper()} of {len(data)} images, {len(data.identities)} identities ({stage}; "
                        "x = training identity)")
components.html(scatter_html(fig), height=640)

st.subheader("Nearest neighbours")
names = [data.identities[label] for label in data.labels.tolist()]
labels = [f"{i}: {names[i]} · {Path(data.paths[i]).name}" for i in range(len(data))]
chosen = st.selectbox("Image", range(len(data)), format_func=lambda i: labels[i])
neighbours = projection.nearest_neighbours(embeddings, chosen, cached.model(run, checkpoint).distance, k=7)
show_faces([data.images[chosen]] + [data.images[i] for i, _ in neighbours],
           [f"query: {names[chosen]}"] + [f"{names[i]} d={d:.3f}" for i, d in neighbours], columns=8, width=80)
