"""A run's images embedded by one of its weights (its checkpoint or a per-epoch snapshot), kept in the run
folder so that the dashboard's pages, the command line and the benchmark read them instead of listing,
decoding and embedding the dataset again.

`embeddings/<split>-images.pt` holds the split's images, decoded once at the run's input size and colour,
with their labels, identities and paths: the set the run's figures are computed on, fixed when it is
first written (a dataset folder that grows afterwards does not change it). `embeddings/<split>-<weights>.pt`
holds their embeddings by one weights file, with that file's fingerprint: the trainer writes the
validation images' at every snapshot and with its final checkpoint; any other is written by its first
reader. A file that cannot be written (a read-only run folder) is computed again by the next reader.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from ..data.dataset import FaceDataset
from ..errors import RunError
from .files import load_torch, save_torch
from .folder import RunPaths

log = logging.getLogger(__name__)

SPLITS = ("validation", "train", "all")


def images_file(run_dir: Path, split: str) -> Path:
    return RunPaths(Path(run_dir)).embeddings / f"{split}-images.pt"


def embeddings_file(run_dir: Path, split: str, weights: Path) -> Path:
    return RunPaths(Path(run_dir)).embeddings / f"{split}-{Path(weights).stem}.pt"


def save_images(run_dir: Path, split: str, dataset: FaceDataset) -> None:
    """Keep a split's decoded images in the run (RunError when the folder cannot be written)."""
    _folder(run_dir)
    save_torch(images_file(run_dir, split), {
        "images": dataset.images, "labels": dataset.labels, "identities": dataset.identities,
        "paths": dataset.paths, "name": dataset.name})


def save_embeddings(run_dir: Path, split: str, weights: Path, fingerprint: str, embeddings: torch.Tensor) -> None:
    """Keep the embeddings (N, D) of a split's kept images by the weights file `weights`, whose
    fingerprint (`files.load_torch_with_digest`) they are valid for."""
    _folder(run_dir)
    save_torch(embeddings_file(run_dir, split, weights), {"fingerprint": fingerprint, "embeddings": embeddings})


def _folder(run_dir: Path) -> None:
    folder = RunPaths(Path(run_dir)).embeddings
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {folder}: {exc.strerror or exc}") from None


def kept_images(run_dir: Path, split: str) -> FaceDataset | None:
    """The split's kept images, or None when the run has none kept (or the file is damaged)."""
    path = images_file(run_dir, split)
    if not path.is_file():
        return None
    try:
        saved = load_torch(path)
        return FaceDataset(saved["images"], saved["labels"], list(saved["identities"]), list(saved["paths"]),
                           saved.get("name", ""))
    except (RunError, KeyError, TypeError) as exc:
        log.warning("%s is damaged (%s); the images are read from the dataset again", path, exc)
        return None


def kept_embeddings(run_dir: Path, split: str, weights: Path, fingerprint: str) -> torch.Tensor | None:
    """The kept embeddings by `weights` when they are of the weights as they are now, else None."""
    path = embeddings_file(run_dir, split, weights)
    if not path.is_file():
        return None
    try:
        saved = load_torch(path)
        return saved["embeddings"] if saved["fingerprint"] == fingerprint else None
    except (RunError, KeyError, TypeError):
        return None


def keep(write, what: str) -> None:
    """Run `write`, which keeps something in the run; a run folder that cannot be written only costs the
    next reader the work again, so that is logged, not raised."""
    try:
        write()
    except RunError as exc:
        log.warning("%s were not kept in the run: %s", what, exc)
