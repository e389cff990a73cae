"""Drawing helpers the pages share: image grids, image pairs, line figures, and the face of each point on
hover for plotly charts."""

from __future__ import annotations

import html
import json
import textwrap
from pathlib import Path

import plotly.graph_objects as go
import streamlit as st

from siamese.data.images import to_pil

HOVER_SCRIPT = (Path(__file__).with_name("hover.js")).read_text()


def show_faces(images, captions=None, columns: int = 8, width: int = 72) -> None:
    """A row-wrapped grid of (C, H, W) uint8 images."""
    images = list(images)
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for k, image in enumerate(images[start:start + columns]):
            cols[k].image(to_pil(image), width=width, caption=captions[start + k] if captions else None)


def show_pairs(dataset, pairs, label: str) -> None:
    """Image pairs (i, j[, distance]) side by side, four pairs a row."""
    st.markdown(f"**{label}**" + ("" if pairs else ": none"))
    cols = st.columns(4)
    for k, pair in enumerate(pairs):
        i, j = pair[0], pair[1]
        with cols[k % 4]:
            st.image([to_pil(dataset.images[i]), to_pil(dataset.images[j])], width=64)
            caption = f"{dataset.identities[dataset.labels[i]]} / {dataset.identities[dataset.labels[j]]}"
            st.caption(caption + (f" · d={pair[2]:.3f}" if len(pair) > 2 else ""))


def line_figure(title: str, x_title: str, y_title: str, height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=height,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


def det_figure(title: str, height: int = 380) -> go.Figure:
    """An empty DET plot: false-reject against false-accept rate, both on log axes, as biometrics reports
    draw them, so the low false-accept rates verification works at are not squeezed into a corner."""
    fig = line_figure(title, "false accept rate", "false reject rate", height)
    ticks = [1e-4, 1e-3, 1e-2, 1e-1, 1]
    fig.update_xaxes(type="log", tickvals=ticks, ticktext=["1e-4", "1e-3", "0.01", "0.1", "1"])
    fig.update_yaxes(type="log", tickvals=ticks, ticktext=["1e-4", "1e-3", "0.01", "0.1", "1"])
    return fig


def faces_on_hover(key: str) -> None:
    """Show the face of the point under the pointer for the plotly charts in the container with this key
    (ui/hover.js; each figure keeps its faces in layout.meta.faces, by the row first in each point's
    customdata). Drawn with st.html, which runs the script in the page, so it reaches Streamlit's own chart."""
    st.html(f"<script>{HOVER_SCRIPT.replace('__KEY__', json.dumps(key))}</script>", unsafe_allow_javascript=True)


def pipeline_graph(steps: list[tuple[str, str]]) -> str:
    """The pipeline as a Graphviz DOT graph, left to right, each step with what it does below its name."""
    nodes = []
    for k, (step, detail) in enumerate(steps):
        label = f"<<b>{step}</b><br/><font point-size='11'>{_escape(detail)}</font>>" if detail else f"<<b>{step}</b>>"
        nodes.append(f'n{k} [label={label}];')
    edges = " -> ".join(f"n{k}" for k in range(len(steps)))
    # Two rows of boxes rather than one: drawn the page's width, seven boxes in a row leave text too small to read.
    half = (len(steps) + 1) // 2
    rows = " ".join("{rank=same; " + " ".join(f"n{k}" for k in part) + "}"
                    for part in (range(half), range(half, len(steps))))
    return ("digraph { rankdir=TB; nodesep=0.4; ranksep=0.35; bgcolor=transparent; node [shape=box, "
            "style=\"rounded,filled\", fillcolor=\"#eef3fb\", color=\"#7a93c4\", fontname=\"sans-serif\"]; "
            "edge [color=\"#7a93c4\"]; " + " ".join(nodes) + f" {rows} {edges}; }}")


def _escape(text: str) -> str:
    """Text safe inside a Graphviz HTML label, wrapped at about 20 characters, never inside a word or a path."""
    return "<br/>".join(html.escape(line) for line in textwrap.wrap(text, 20, break_long_words=False,
                                                                     break_on_hyphens=False))
