"""A trained run evaluated on its held-out identities, for the command line, the Threshold page and the
Runs page; all of them through `scores.PairScores`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..augment import luminance
from ..data.dataset import FaceDataset
from ..data.images import load_image
from ..data.protocol_files import PairsFile, read_pairs
from ..errors import DatasetError, ImageError
from ..faces.cache import prepare_faces
from ..decisions.saved import run_threshold
from ..runs.folder import training_identities
from ..runs.trained import TrainedModel, load_trained, run_dataset, run_embeddings
from .identification import OpenSetStudy, open_set_study
from .metrics import single_set_folds, ten_fold_accuracy
from .pairs import pair_distances
from .scores import PairScores, evaluate_embeddings, score_pairs


def validation_scores(trained: TrainedModel, data_dir: str | Path = "data") -> tuple[PairScores, FaceDataset]:
    """The pairs of a loaded run's validation identities scored by its model, and those images."""
    embeddings, dataset = run_embeddings(trained, "validation", data_dir)
    # The pairs the training validated on (its seed draws the impostors), so that the EER and its threshold
    # here are the ones the run recorded and saved, not a second estimate beside them.
    scores = score_pairs(embeddings, dataset.labels.numpy(), trained.distance,
                         protocol=f"validation identities of run {trained.run_dir.name}", seed=trained.config.seed)
    return scores, dataset


def dataset_scores(trained: TrainedModel, data: str, data_dir: str | Path = "data"
                   ) -> tuple[PairScores, FaceDataset]:
    """Every identity of another dataset (`data`), its faces cut as the run's were, scored by the run's
    model on balanced pairs: how well it transfers to people it never saw."""
    dataset = run_dataset(trained.run_dir, "all", data=data, data_dir=data_dir, config=trained.config)
    scores = score_pairs(trained.embed(dataset.images), dataset.labels.numpy(), trained.distance,
                         protocol=f"every identity of {data}")
    return scores, dataset


def pairs_file_images(trained: TrainedModel, path: str | Path, images: str | Path | None = None,
                      data_dir: str | Path = "data", greyscale: bool = False) -> tuple[PairsFile, FaceDataset, list[str]]:
    """An LFW-format pairs file read, the images of its pairs (found next to the file, or in `images`)
    decoded with their faces cut as the run's were (in `greyscale` when asked: a camera without colour),
    labelled by person, and the photos where no face was found (decoded whole, so that every pair of the
    protocol is scored)."""
    pairs = read_pairs(path, images)
    files = sorted(set(pairs.left + pairs.right))
    sources, no_face = _face_files(files, pairs.images, trained.faces, data_dir)
    config = trained.config
    try:
        decoded = torch.stack([load_image(source, config.input_size, config.colour) for source in sources])
    except ImageError as exc:
        raise ImageError(f"{Path(path).name}: {exc}") from None
    names = sorted({file.parent.name for file in files})
    labels = torch.tensor([names.index(file.parent.name) for file in files])
    dataset = FaceDataset(as_greyscale(decoded) if greyscale else decoded, labels, names, [str(f) for f in files],
                          pairs.images.name)
    return pairs, dataset, no_face


def pairs_file_scores(trained: TrainedModel, path: str | Path, images: str | Path | None = None,
                      data_dir: str | Path = "data", greyscale: bool = False) -> tuple[PairScores, FaceDataset]:
    """The pairs of an LFW-format pairs file scored by the run's model (`pairs_file_images`).
    `scores.extra` holds the folds, the photos where no face was found and the people of the pairs the run
    was trained on."""
    pairs, dataset, no_face = pairs_file_images(trained, path, images, data_dir, greyscale)
    index = {file: k for k, file in enumerate(dataset.paths)}
    rows = np.array([[index[str(a)], index[str(b)]] for a, b in zip(pairs.left, pairs.right)], np.int64)
    distances = pair_distances(trained.embed(dataset.images), np.c_[rows, pairs.same], trained.distance)
    view = "View 2, 10 folds" if pairs.folds > 1 else "View 1, one set in 10 folds"
    trained_on = training_identities(trained.run_dir)
    extra = {"fold": pairs.fold if pairs.folds > 1 else single_set_folds(pairs.same),
             "folds": pairs.folds, "no_face": no_face, "people_seen_in_training": sorted(pairs.people & trained_on)}
    protocol = f"{Path(path).name} ({view}{', in greyscale' if greyscale else ''})"
    return PairScores(distances, pairs.same, rows, protocol, extra), dataset


def as_greyscale(images: torch.Tensor) -> torch.Tensor:
    """uint8 colour images (N, 3, H, W) as a camera without colour gives them: each pixel's luminance
    (ITU-R 601 weights) in all three channels; grey images (N, 1, H, W) as they are."""
    if images.shape[1] != 3:
        return images
    grey = luminance(images.float()).round().clamp(0, 255).to(torch.uint8)
    return grey.expand(-1, 3, -1, -1).contiguous()


def studied(trained: TrainedModel, kind: str = "validation", target: str = "", data_dir: str | Path = "data",
            images: str | Path | None = None, greyscale: bool = False) -> tuple[torch.Tensor, FaceDataset, str]:
    """(embeddings, images, protocol) of what a run is studied on: its validation identities ('validation'),
    every identity of another dataset ('dataset', `target` its name), or the images of an LFW-format pairs
    file ('file', `target` its path, its images next to it or in `images`); in `greyscale` when asked."""
    grey = ", in greyscale" if greyscale else ""
    if kind == "file":
        _, dataset, _ = pairs_file_images(trained, target, images, data_dir, greyscale)
        return trained.embed(dataset.images), dataset, f"the people of {Path(target).name}{grey}"
    if kind == "dataset":
        dataset = run_dataset(trained.run_dir, "all", data=target, data_dir=data_dir, config=trained.config)
        protocol = f"every identity of {target}"
    elif greyscale:
        dataset = run_dataset(trained.run_dir, "validation", data_dir=data_dir, config=trained.config)
        protocol = f"validation identities of run {trained.run_dir.name}"
    else:
        embeddings, dataset = run_embeddings(trained, "validation", data_dir)
        return embeddings, dataset, f"validation identities of run {trained.run_dir.name}"
    if greyscale:
        dataset = FaceDataset(as_greyscale(dataset.images), dataset.labels, dataset.identities, dataset.paths,
                              dataset.name, dataset.problems)
    return trained.embed(dataset.images), dataset, protocol + grey


def open_set_report(trained: TrainedModel, kind: str = "validation", target: str = "", data_dir: str | Path = "data",
                    gallery_size: int | None = None, enrolled_per_person: int = 1, draws: int = 5,
                    seed: int = 0, images: str | Path | None = None, greyscale: bool = False) -> OpenSetStudy:
    """Open-set identification on what the run is studied on (`studied`): see
    `identification.open_set_study`."""
    embeddings, dataset, protocol = studied(trained, kind, target, data_dir, images, greyscale)
    try:
        return open_set_study(embeddings, dataset.labels.numpy(), trained.distance, gallery_size,
                              enrolled_per_person, draws, seed, protocol)
    except ValueError as exc:
        raise DatasetError(f"{protocol}: {exc}") from None


def _face_files(files: list[Path], folder: Path, faces: str, data_dir: str | Path) -> tuple[list[Path], list[str]]:
    """The file each image is decoded from: its aligned crop for a run whose faces are aligned (the whole
    photo where no face was found, listed), else the image itself."""
    if faces != "align":
        return files, []
    prepared = prepare_faces(folder, data_dir)
    sources, missing = [], []
    for file in files:
        crop = prepared.root / file.relative_to(folder).with_suffix(".png")
        if crop.is_file():
            sources.append(crop)
        else:
            sources.append(file)
            missing.append(str(file))
    return sources, missing


def protocol_report(scores: PairScores) -> dict:
    """The field's figures of a pairs file: AUC, EER, the 10-fold accuracy (each fold's threshold chosen
    on the other nine), true-accept rates at false-accept rates of 1e-2 and 1e-3, and the pair counts."""
    folds = ten_fold_accuracy(scores.distances, scores.same, scores.extra["fold"])
    return {"protocol": scores.protocol, "auc": scores.curve.auc, "eer": scores.eer, **folds,
            "tar_at_far": scores.tar_at_far(),
            "genuine_pairs": scores.genuine_pairs, "impostor_pairs": scores.impostor_pairs,
            "pairs_without_face": len(scores.extra["no_face"]),
            "people_seen_in_training": len(scores.extra["people_seen_in_training"])}


def evaluate_run(run_dir: str | Path, data_dir: str | Path = "data", n_way: int = 10, trials: int = 2000,
                 seed: int = 0, checkpoint: str | Path | None = None, pairs: str | Path | None = None,
                 data: str | None = None, greyscale: bool = False, open_set: dict | None = None) -> dict:
    """Verification figures of a trained run: on its validation identities (never seen in training), on
    a pairs file (`pairs`, its images in `data` or next to it), or on every identity of another dataset
    (`data`); in `greyscale` when asked. With `open_set` (`open_set_report`'s options: gallery_size,
    enrolled_per_person, draws), open-set identification of the same people instead."""
    trained = load_trained(run_dir, checkpoint)
    head = {"run": str(run_dir), "faces": trained.faces, "saved_threshold": run_threshold(Path(run_dir))}
    if open_set is not None:
        kind, target = ("file", str(pairs)) if pairs else ("dataset", data) if data else ("validation", "")
        study = open_set_report(trained, kind, target, data_dir, seed=seed, images=data if pairs else None,
                                greyscale=greyscale, **open_set)
        return {**head, **study.summary()}
    if pairs is not None:
        scores, dataset = pairs_file_scores(trained, pairs, data, data_dir, greyscale)
        return {**head, **protocol_report(scores), "images": len(dataset)}
    kind, target = ("dataset", data) if data else ("validation", "")
    embeddings, dataset, protocol = studied(trained, kind, target, data_dir, greyscale=greyscale)
    result = evaluate_embeddings(embeddings, dataset.labels.numpy(), trained.distance, n_way, trials, seed)
    return {**head, "protocol": protocol, **result.to_dict(), "identities": len(dataset.identities),
            "images": len(dataset)}


def run_roc(trained: TrainedModel, data_dir: str | Path = "data") -> dict:
    """ROC and DET of a trained run on its validation identities, as plain lists for drawing: far, tar,
    frr (thinned to a few hundred points, rates of 0 on the DET at half the smallest rate), auc and eer.
    Takes the loaded model, so a page that holds it loads nothing again."""
    scores, _ = validation_scores(trained, data_dir)
    det = scores.det_points()
    return {**scores.roc_points(), "det_far": det["far"], "det_frr": det["frr"], "auc": scores.curve.auc,
            "eer": scores.eer}
