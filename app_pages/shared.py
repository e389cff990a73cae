"""What every page shares: where runs, data and the gallery live, the cached loaders (keyed by run and
checkpoint fingerprint), the current run, and small drawing helpers. Computation stays in `siamese/`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from siamese import projection, runs, samples, threshold, trained
from siamese.gallery import Gallery

ROOT = Path(__file__).resolve().parent.parent
RUNS_DIR = Path(os.environ.get("SIAMESE_RUNS_DIR", ROOT / "runs"))
DATA_DIR = Path(os.environ.get("SIAMESE_DATA_DIR", ROOT / "data"))
GALLERY_DIR = Path(os.environ.get("SIAMESE_GALLERY_DIR", ROOT / "gallery"))


def current_run() -> Path | None:
    name = st.session_state.get("run")
    return RUNS_DIR / name if name and (RUNS_DIR / name / "config.json").is_file() else None


def require_model(what: str = "this page") -> Path:
    """The current run if it has a checkpoint; otherwise explain and stop the page."""
    run = current_run()
    if run is None:
        st.info(f"No trained run yet: train one on the Train page (or `python -m siamese train`) to use {what}.")
        st.stop()
    if not runs.RunPaths(run).checkpoint.exists():
        st.info(f"Run {run.name} has no checkpoint yet; it appears here when training saves one.")
        st.stop()
    return run


def _model_key(run: Path, checkpoint: Path | None) -> tuple[str, str, str]:
    path = checkpoint or runs.RunPaths(run).checkpoint
    return str(run), runs.file_fingerprint(path), runs.file_fingerprint(runs.RunPaths(run).threshold)


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load(run: str, checkpoint: str | None, fingerprint: tuple) -> trained.TrainedModel:
    return trained.load_trained(run, checkpoint, device="auto")


def model(run: Path, checkpoint: Path | None = None) -> trained.TrainedModel:
    return _load(str(run), str(checkpoint) if checkpoint else None, _model_key(run, checkpoint))


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def dataset(source: str, size: int = 64, colour: str = "grey"):
    """(images to show, count rows of the whole dataset): see `samples.preview`."""
    return samples.preview(source, size, colour, DATA_DIR)


@st.cache_resource(max_entries=8, show_spinner="Embedding the validation pairs…")
def _study(run: str, key: tuple):
    return threshold.study_run(model(Path(run)), str(DATA_DIR))


def threshold_study(run: Path):
    return _study(str(run), _model_key(run, None))


@st.cache_resource(max_entries=4)
def _gallery(run: str, key: tuple, on_disk: str) -> Gallery:
    return Gallery(GALLERY_DIR, model(Path(run)))


def gallery(run: Path) -> Gallery:
    # Every enrolment or removal, from this app or the command line, renames a new embedding cache into
    # gallery/embeddings, which changes that folder's modification time: a changed gallery is reloaded.
    return _gallery(str(run), _model_key(run, None), runs.file_fingerprint(GALLERY_DIR / "embeddings"))


@st.cache_resource(max_entries=16, show_spinner="Embedding images…")
def _embedded(run: str, checkpoint: str | None, split: str, key: tuple):
    m = model(Path(run), Path(checkpoint) if checkpoint else None)
    data = trained.run_dataset(run, split, data_dir=DATA_DIR, config=m.config)
    return m.embed(data.images), data


def embedded(run: Path, checkpoint: Path | None, split: str):
    return _embedded(str(run), str(checkpoint) if checkpoint else None, split, _model_key(run, checkpoint))


@st.cache_data(max_entries=32, show_spinner="Projecting the embeddings…")
def projected(run: str, checkpoint: str | None, split: str, method: str, dims: int, key: tuple) -> np.ndarray:
    embeddings, _ = _embedded(run, checkpoint, split, key)
    return projection.project(embeddings, method, dims)


def show_faces(images, captions=None, columns: int = 8, width: int = 72) -> None:
    """A row-wrapped grid of (C, H, W) uint8 images."""
    images = list(images)
    for start in range(0, len(images), columns):
        cols = st.columns(columns)
        for k, image in enumerate(images[start:start + columns]):
            cols[k].image(projection.to_pil(image), width=width,
                          caption=captions[start + k] if captions else None)


def show_pairs(dataset, pairs, label: str) -> None:
    """Image pairs (i, j[, distance]) side by side, four pairs a row."""
    st.markdown(f"**{label}**" + ("" if pairs else ": none"))
    cols = st.columns(4)
    for k, pair in enumerate(pairs):
        i, j = pair[0], pair[1]
        with cols[k % 4]:
            st.image([projection.to_pil(dataset.images[i]), projection.to_pil(dataset.images[j])], width=64)
            caption = f"{dataset.identities[dataset.labels[i]]} / {dataset.identities[dataset.labels[j]]}"
            st.caption(caption + (f" · d={pair[2]:.3f}" if len(pair) > 2 else ""))


def line_figure(title: str, x_title: str, y_title: str, height: int = 300) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_title=x_title, yaxis_title=y_title, height=height,
                      margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig


HOVER_SCRIPT = """
var gd = document.getElementById('{plot_id}');
var box = document.getElementById('face-box');
gd.on('plotly_hover', function (e) {
  var p = e.points[0];
  if (!p.customdata) return;
  box.innerHTML = '<img src="' + p.customdata[0] + '" width="112" height="112" style="image-rendering:pixelated">'
                + '<br><b>' + p.customdata[1] + '</b><br><small>' + p.customdata[2] + '</small>';
  box.style.display = 'block';
});
gd.on('plotly_unhover', function () { box.style.display = 'none'; });
"""


def scatter_html(fig: go.Figure) -> str:
    """The figure as a self-contained page (plotly.js inlined: works offline) whose hover shows the face
    kept in each point's customdata[0] (a data: URI), with its identity and image name."""
    body = fig.to_html(full_html=False, include_plotlyjs=True, post_script=HOVER_SCRIPT,
                       config={"displaylogo": False, "responsive": True})
    box = ('<div id="face-box" style="position:absolute;bottom:60px;left:70px;display:none;z-index:1000;'
           'background:#fff;border:1px solid #bbb;border-radius:6px;padding:6px;text-align:center;'
           'font:12px sans-serif;pointer-events:none;max-width:180px;word-break:break-all"></div>')
    return f'<div style="position:relative">{box}{body}</div>'
