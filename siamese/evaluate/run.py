"""A trained run evaluated on its held-out identities, for the command line, the Threshold page and the
Runs page; all of them through `scores.PairScores`."""

from __future__ import annotations

from pathlib import Path

from ..data.dataset import FaceDataset
from ..runs.folder import decision_threshold
from ..runs.trained import TrainedModel, load_trained, run_dataset
from .scores import PairScores, evaluate_embeddings, score_pairs


def validation_scores(trained: TrainedModel, data_dir: str | Path = "data") -> tuple[PairScores, FaceDataset]:
    """The pairs of a loaded run's validation identities scored by its model, and those images."""
    dataset = run_dataset(trained.run_dir, "validation", data_dir=data_dir, config=trained.config)
    scores = score_pairs(trained.embed(dataset.images), dataset.labels.numpy(), trained.distance,
                         protocol=f"validation identities of run {trained.run_dir.name}")
    return scores, dataset


def evaluate_run(run_dir: str | Path, data_dir: str | Path = "data", n_way: int = 10, trials: int = 2000,
                 seed: int = 0, checkpoint: str | Path | None = None) -> dict:
    """Verification figures of a trained run on its validation identities (never seen in training)."""
    trained = load_trained(run_dir, checkpoint)
    dataset = run_dataset(run_dir, "validation", data_dir=data_dir, config=trained.config)
    embeddings = trained.embed(dataset.images)
    result = evaluate_embeddings(embeddings, dataset.labels.numpy(), trained.distance, n_way, trials, seed)
    return {"run": str(run_dir), **result.to_dict(), "saved_threshold": decision_threshold(Path(run_dir)),
            "identities": len(dataset.identities), "images": len(dataset)}


def run_roc(run_dir: str | Path, data_dir: str | Path = "data") -> dict:
    """ROC of a run on its validation identities, as plain lists for drawing: far, tar (thinned to a few
    hundred points), auc and eer."""
    scores, _ = validation_scores(load_trained(run_dir), data_dir)
    return {**scores.roc_points(), "auc": scores.curve.auc, "eer": scores.eer}
