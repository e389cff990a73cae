"""The library's heavier calls, cached across reruns and sessions. A model is keyed by its checkpoint's
fingerprint, never by the threshold: saving a threshold reloads and re-embeds nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from siamese import projection
from siamese.data.builtin import Download
from siamese.data.preview import identity_sizes, preview
from siamese.recipes import defaults_for
from siamese.faces.cache import Preparation
from siamese.runs.launch import training_threads
from siamese.evaluate.run import dataset_scores, open_set_report, pairs_file_scores, run_roc, validation_scores
from siamese.gallery import Gallery
from siamese.runs.files import file_fingerprint
from siamese.runs.folder import RunPaths
from siamese.runs.trained import TrainedModel, load_trained, run_embeddings
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
def dataset(source: str, size: int = 64, colour: str = "grey", cut: str = "whole"):
    """(images to show, count rows of the whole dataset): see `siamese.data.preview.preview`."""
    return preview(source, size, colour, workspace.DATA_DIR, cut=cut)


@st.cache_resource(max_entries=4, show_spinner="Counting the images of every identity…")
def sizes(source: str, cut: str, _counts: list[dict]) -> dict[str, int]:
    """The images of every identity of a dataset, single-image ones included (`identity_sizes`); `_counts`
    are `dataset(source, ..., cut)`'s rows."""
    return identity_sizes(source, _counts, workspace.DATA_DIR, cut)


@st.cache_data(ttl=60, show_spinner=False)
def defaults(data: str) -> tuple[dict, str]:
    """(field values, why): the Train form's defaults for a dataset (`recipes.defaults_for`)."""
    return defaults_for(data, workspace.DATA_DIR)


@st.cache_resource
def downloads() -> dict[str, Download]:
    """Built-in datasets being fetched, by name: one download each for the whole server."""
    return {}


def download(name: str, retry: bool = False) -> Download:
    """The download of a built-in: the one there is (running, done or failed), or a new one; with
    `retry`, a failed one is started again (a user asked)."""
    jobs = downloads()
    if name not in jobs or (retry and not jobs[name].running and jobs[name].error):
        jobs[name] = Download(name, workspace.DATA_DIR)
    return jobs[name]


@st.cache_resource
def preparations() -> dict[str, Preparation]:
    """Face preparations started from the Data page, by folder: one a folder, shared by every session,
    so a reload or a second tab shows the one already running."""
    return {}


def prepare(folder: Path) -> Preparation:
    """The preparation of a folder's faces: the one running, or a new one on one core fewer than the
    machine has (the other is the dashboard's)."""
    jobs = preparations()
    if str(folder) not in jobs or not (jobs[str(folder)].running or jobs[str(folder)].result):
        jobs[str(folder)] = Preparation(folder, workspace.DATA_DIR, training_threads())
    return jobs[str(folder)]


@st.cache_resource(max_entries=8, show_spinner="Embedding the pairs…")
def _scores(run: str, key: tuple, pairs: str, target: str):
    trained = model(Path(run))
    if pairs == "dataset":
        return dataset_scores(trained, target, workspace.DATA_DIR)
    if pairs == "file":
        return pairs_file_scores(trained, target, data_dir=workspace.DATA_DIR)
    return validation_scores(trained, workspace.DATA_DIR)


def scores(run: Path, pairs: str = "validation", target: str = ""):
    """(PairScores, the images they index): of the run's validation identities ('validation'), of every
    identity of another dataset ('dataset', `target` its name), or of a pairs file ('file', `target` its
    path)."""
    return _scores(str(run), model_key(run), pairs, target)


@st.cache_resource(max_entries=8, show_spinner="Searching the strangers and the people enrolled…")
def _open_set(run: str, key: tuple, kind: str, target: str, gallery_size: int, per_person: int, draws: int):
    return open_set_report(model(Path(run)), kind, target, workspace.DATA_DIR, gallery_size, per_person, draws)


def open_set(run: Path, kind: str, target: str, gallery_size: int, per_person: int, draws: int):
    """The open-set identification study of a run on what the Threshold page studies (see `scores`)."""
    return _open_set(str(run), model_key(run), kind, target, gallery_size, per_person, draws)


@st.cache_data(max_entries=32, show_spinner="Computing the ROC curve…")
def _roc(run: str, key: tuple) -> dict:
    return run_roc(model(Path(run)), workspace.DATA_DIR)


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
    return run_embeddings(model(Path(run), Path(checkpoint) if checkpoint else None), split, workspace.DATA_DIR)


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
def _thumbnails(run: str, checkpoint: str | None, split: str, key: tuple, limit: int) -> list[str]:
    _, data = _embedded(run, checkpoint, split, key)
    return [projection.data_uri(image) for image in data.images[:limit]]


def thumbnails(run: Path, split: str, checkpoint: Path | None = None, limit: int = 4000) -> list[str]:
    """Small PNG data URIs of the first `limit` images of a run's split, for hover labels; `checkpoint`
    (a snapshot) for a training run that has none of its own checkpoint yet."""
    return _thumbnails(str(run), str(checkpoint) if checkpoint else None, split, model_key(run, checkpoint), limit)
