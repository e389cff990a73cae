"""The library's heavier calls, cached across reruns and sessions. A model is keyed by its checkpoint's
fingerprint, never by the threshold: saving a threshold reloads and re-embeds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from siamese import projection
from siamese.data.preview import preview
from siamese.evaluate.run import run_roc, validation_scores
from siamese.gallery import Gallery
from siamese.runs.files import file_fingerprint
from siamese.runs.folder import RunPaths
from siamese.runs.trained import TrainedModel, load_trained, run_dataset
from ui import workspace


def model_key(run: Path, checkpoint: Path | None = None) -> tuple[str, str]:
    """Changes exactly when the weights a page uses change."""
    return str(run), file_fingerprint(checkpoint or RunPaths(run).checkpoint)


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _model(run: str, checkpoint: str | None, key: tuple) -> TrainedModel:
    return load_trained(run, checkpoint, device="auto")


def model(run: Path, checkpoint: Path | None = None) -> TrainedModel:
    return _model(str(run), str(checkpoint) if checkpoint else None, model_key(run, checkpoint))


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset…")
def dataset(source: str, size: int = 64, colour: str = "grey"):
    """(images to show, count rows of the whole dataset): see `siamese.data.preview.preview`."""
    return preview(source, size, colour, workspace.DATA_DIR)


@st.cache_resource(max_entries=8, show_spinner="Embedding the validation pairs…")
def _validation(run: str, key: tuple):
    return validation_scores(model(Path(run)), workspace.DATA_DIR)


def validation(run: Path):
    """(PairScores of the run's validation identities, those images)."""
    return _validation(str(run), model_key(run))


@st.cache_data(max_entries=32, show_spinner="Computing the ROC curve…")
def _roc(run: str, key: tuple) -> dict:
    return run_roc(run, workspace.DATA_DIR)


def roc(run: Path) -> dict:
    return _roc(str(run), model_key(run))


@st.cache_resource(max_entries=4)
def _gallery(run: str, key: tuple, on_disk: str) -> Gallery:
    return Gallery(workspace.GALLERY_DIR, model(Path(run)))


def gallery(run: Path) -> Gallery:
    # Every enrolment or removal, from this app or the command line, renames a new embedding cache into
    # gallery/embeddings, which changes that folder's modification time: a changed gallery is reloaded.
    return _gallery(str(run), model_key(run), file_fingerprint(workspace.GALLERY_DIR / "embeddings"))


@st.cache_resource(max_entries=16, show_spinner="Embedding images…")
def _embedded(run: str, checkpoint: str | None, split: str, key: tuple):
    m = model(Path(run), Path(checkpoint) if checkpoint else None)
    data = run_dataset(run, split, data_dir=workspace.DATA_DIR, config=m.config)
    return m.embed(data.images), data


def embedded(run: Path, checkpoint: Path | None, split: str):
    """(embeddings (N, D), the dataset they are of) of a run's validation or all identities."""
    return _embedded(str(run), str(checkpoint) if checkpoint else None, split, model_key(run, checkpoint))


@st.cache_data(max_entries=32, show_spinner="Projecting the embeddings…")
def _projected(run: str, checkpoint: str | None, split: str, method: str, dims: int, key: tuple) -> np.ndarray:
    embeddings, _ = _embedded(run, checkpoint, split, key)
    return projection.project(embeddings, method, dims)


def projected(run: Path, checkpoint: Path | None, split: str, method: str, dims: int) -> np.ndarray:
    return _projected(str(run), str(checkpoint) if checkpoint else None, split, method, dims,
                      model_key(run, checkpoint))


@st.cache_data(max_entries=8, show_spinner="Making thumbnails…")
def _thumbnails(run: str, split: str, key: tuple, limit: int) -> list[str]:
    _, data = _embedded(run, None, split, key)
    return [projection.data_uri(image) for image in data.images[:limit]]


def thumbnails(run: Path, split: str, limit: int = 4000) -> list[str]:
    """Small PNG data URIs of the first `limit` images of a run's split, for hover labels."""
    return _thumbnails(str(run), split, model_key(run), limit)
