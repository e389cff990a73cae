"""A trained run put to use: loaded for inference (config, model, distance, threshold), evaluated on its
validation identities, and its embeddings exported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .config import TrainConfig
from .data import FaceDataset, dataset_folder, decode_identities, load_builtin, load_dataset, scan_folder
from .errors import DatasetError, RunError
from .evaluate import PairDistance, embed_images, evaluate_embeddings
from .losses import build_loss, pair_distance_fn
from .models import build_model, pick_device
from .runs import RunPaths, load_torch_with_digest, read_json, read_metrics, read_threshold, run_config


@dataclass
class TrainedModel:
    config: TrainConfig
    model: torch.nn.Module
    distance: PairDistance     # paired: (N, D) x (N, D) -> (N,)
    threshold: float           # accept a pair when its distance is at most this
    fingerprint: str           # changes whenever the weights change
    device: torch.device
    run_dir: Path

    @torch.no_grad()
    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 images (N, C, H, W) at the config's size and colour -> (N, D) float32 on the CPU."""
        return embed_images(self.model, images, self.device)


def load_trained(run_dir: str | Path, checkpoint: str | Path | None = None, device: str = "auto") -> TrainedModel:
    """Load a run's model from its checkpoint (or a snapshot) with the saved threshold, or the last
    validation EER threshold when none was saved."""
    run_dir = Path(run_dir)
    paths = RunPaths(run_dir)
    config = run_config(run_dir)
    path = Path(checkpoint) if checkpoint else paths.checkpoint
    state, digest = load_torch_with_digest(path)  # the digest keys the gallery's cached embeddings
    model = build_model(TrainConfig.from_dict({**config.to_dict(), "pretrained": False}))
    loss = build_loss(config, len(read_json(paths.split)["train"]))
    try:
        model.load_state_dict(state["model"])
        if "loss" in state:
            loss.load_state_dict(state["loss"])
    except (KeyError, RuntimeError) as exc:
        raise RunError(f"{path} does not match the run's configuration ({str(exc).splitlines()[0]})") from None
    target = pick_device(device)
    model.to(target).eval()
    loss.to("cpu").eval()
    threshold = read_threshold(run_dir)
    if threshold is None:
        epochs = read_metrics(paths.metrics, "epoch")
        if not epochs:
            raise RunError(f"{run_dir} has no threshold yet: let training finish an epoch first")
        threshold = epochs[-1]["threshold"]
    distance = pair_distance_fn(config, loss)
    return TrainedModel(config, model, distance, threshold, digest, target, run_dir)


def run_dataset(run_dir: str | Path, split: str = "validation", data: str | None = None,
                data_dir: str | Path = "data", config: TrainConfig | None = None) -> FaceDataset:
    """The images a run was trained or validated on, prepared at its input size and colour: the
    'validation' or 'train' identities recorded in its split, or 'all'. With `data`, another dataset.
    Only the identities asked for are decoded, so a large streamed dataset is not read whole."""
    config = config or run_config(Path(run_dir))
    if data or split == "all":
        return load_dataset(data or config.data, config.input_size, config.colour, data_dir)
    recorded = read_json(RunPaths(Path(run_dir)).split)["validation" if split == "validation" else "train"]
    try:
        folder = dataset_folder(config.data, data_dir)
        if folder is None:
            return load_builtin(config.data, config.input_size, config.colour, data_dir).subset(recorded)
        scan = scan_folder(folder)
        missing = [name for name in recorded if name not in scan.identities]
        if missing:
            raise DatasetError(f"{folder} no longer holds identities the run used: {', '.join(missing[:5])}")
        return decode_identities({name: scan.identities[name] for name in recorded}, config.input_size,
                                 config.colour, folder.name, scan.problems)
    except DatasetError as exc:
        raise DatasetError(f"run {Path(run_dir).name} was trained on '{config.data}', which cannot be used now "
                           f"({exc}). Put that dataset back as it was, or train a new run.") from None


def evaluate_run(run_dir: str | Path, data_dir: str | Path = "data", n_way: int = 10, trials: int = 2000,
                 seed: int = 0, checkpoint: str | Path | None = None) -> dict:
    """Verification figures of a trained run on its validation identities (never seen in training)."""
    trained = load_trained(run_dir, checkpoint)
    dataset = run_dataset(run_dir, "validation", data_dir=data_dir, config=trained.config)
    embeddings = trained.embed(dataset.images)
    result = evaluate_embeddings(embeddings, dataset.labels.numpy(), trained.distance, n_way, trials, seed)
    return {"run": str(run_dir), **result.to_dict(), "saved_threshold": trained.threshold,
            "identities": len(dataset.identities), "images": len(dataset)}


def embed_run(run_dir: str | Path, data: str | None = None, data_dir: str | Path = "data",
              split: str = "validation") -> tuple[torch.Tensor, FaceDataset]:
    """Embeddings (N, D) of a run's validation, training or all identities, or of another dataset."""
    trained = load_trained(run_dir)
    dataset = run_dataset(run_dir, split, data, data_dir, trained.config)
    return trained.embed(dataset.images), dataset


def write_projector_files(folder: str | Path, embeddings: torch.Tensor, dataset: FaceDataset) -> None:
    """TensorBoard projector format: `vectors.tsv` (one embedding a line) and `metadata.tsv` (a header,
    then identity and image path a line)."""
    folder = Path(folder)
    rows = ["\t".join(f"{v:.6g}" for v in row) for row in embeddings.tolist()]
    meta = ["identity\timage"] + [f"{dataset.identities[label]}\t{path}".replace("\n", " ")
                                  for label, path in zip(dataset.labels.tolist(), dataset.paths)]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vectors.tsv").write_text("\n".join(rows) + "\n")
        (folder / "metadata.tsv").write_text("\n".join(meta) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RunError(f"cannot write the projector files into {folder}: {exc.strerror or exc}. Check that "
                       "the folder is writable and the disk is not full.") from None


def run_roc(run_dir: str | Path, data_dir: str | Path = "data", checkpoint: str | Path | None = None) -> dict:
    """ROC of a run on its validation identities, as plain lists: far, tar (thinned to a few hundred
    points for drawing), auc and eer."""
    import numpy as np

    from .evaluate import equal_error_rate, evaluation_pairs, pair_distances, roc

    trained = load_trained(run_dir, checkpoint)
    dataset = run_dataset(run_dir, "validation", data_dir=data_dir, config=trained.config)
    labels = dataset.labels.numpy()
    pairs = evaluation_pairs(labels)
    curve = roc(pair_distances(trained.embed(dataset.images), pairs, trained.distance), pairs[:, 2])
    keep = np.unique(np.linspace(0, len(curve.far) - 1, min(len(curve.far), 400)).round().astype(int))
    return {"far": curve.far[keep].tolist(), "tar": curve.tar[keep].tolist(), "auc": curve.auc,
            "eer": equal_error_rate(curve)[0]}
