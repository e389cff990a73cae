"""Drawing helpers the pages share: image grids, image pairs, line figures, and a scatter whose hover
shows the face of each point."""

from __future__ import annotations

import html
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


def scatter_html(fig: go.Figure) -> str:
    """The figure as a self-contained page (plotly.js inlined: works offline) whose hover shows the face
    kept in each point's customdata[0] (a data: URI), with its identity and image name."""
    body = fig.to_html(full_html=False, include_plotlyjs=True, post_script=HOVER_SCRIPT,
                       config={"displaylogo": False, "responsive": True})
    box = ('<div id="face-box" style="position:absolute;bottom:60px;left:70px;display:none;z-index:1000;'
           'background:#fff;border:1px solid #bbb;border-radius:6px;padding:6px;text-align:center;'
           'font:12px sans-serif;pointer-events:none;max-width:180px;word-break:break-all"></div>')
    return f'<div style="position:relative">{box}{body}</div>'


def pipeline_graph(steps: list[tuple[str, str]]) -> str:
    """The pipeline as a Graphviz DOT graph, left to right, each step with what it does below its name."""
    nodes = []
    for k, (step, detail) in enumerate(steps):
        label = f"<<b>{step}</b><br/><font point-size='10'>{_escape(detail)}</font>>" if detail else f"<<b>{step}</b>>"
        nodes.append(f'n{k} [label={label}];')
    edges = " -> ".join(f"n{k}" for k in range(len(steps)))
    return ("digraph { rankdir=LR; bgcolor=transparent; node [shape=box, style=\"rounded,filled\", "
            "fillcolor=\"#eef3fb\", color=\"#7a93c4\", fontname=\"sans-serif\"]; edge [color=\"#7a93c4\"]; "
            + " ".join(nodes) + f" {edges}; }}")


def _escape(text: str) -> str:
    """Text safe inside a Graphviz HTML label, wrapped at about 28 characters."""
    return "<br/>".join(html.escape(line) for line in textwrap.wrap(text, 28))
