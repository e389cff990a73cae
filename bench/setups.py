"""The setups the benchmark compares, each trained into a run folder the library reads like any other:
this project's defaults for the dataset, the classic PyTorch Siamese tutorial (its network and its own
loop: random pairs, contrastive loss), and Koch et al. 2015 (their network, BCE over weighted L1)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from siamese.config import TrainConfig
from siamese.distances import euclidean_paired
from siamese.evaluate.scores import evaluate_embeddings
from siamese.models import build_model, embed_images, to_input
from siamese.recipes import defaults_for
from siamese.runs.files import append_metrics, save_torch, write_json
from siamese.decisions import save_threshold
from siamese.runs.folder import RunPaths, create_run
from siamese.runs.status import write_status
from siamese.train.inputs import prepare_data
from siamese.train.loop import train

SETUPS = ("default", "tutorial", "koch")
OVERRIDES = {
    "default": {},
    "tutorial": {"model": "tutorial", "input_size": 100, "colour": "grey", "embedding_dim": 5, "normalize": False,
                 "flip_average": False, "loss": "contrastive", "margin": 2.0, "optimizer": "adam", "lr": 5e-4,
                 "weight_decay": 0.0, "augment": False, "lr_schedule": "constant", "sampler": "pk"},
    "koch": {"model": "koch", "input_size": 105, "colour": "grey", "embedding_dim": 4096, "normalize": False,
             "flip_average": False, "loss": "bce", "optimizer": "adam", "lr": 1e-4, "weight_decay": 0.0,
             "lr_schedule": "constant", "sampler": "pk", "p": 16, "k": 4, "augmentation": "koch"},
}


def setup_config(name: str, data: str, data_dir: Path, **fields) -> TrainConfig:
    """A setup's configuration on `data`: the dataset's defaults (`recipes.defaults_for`), the setup's
    network, loss and optimiser over them, then `fields` (budget, seed, device, excluded people)."""
    defaults, _ = defaults_for(data, data_dir)
    return TrainConfig.from_dict({**defaults, "data": data, **OVERRIDES[name], **fields})


def train_setup(name: str, config: TrainConfig, runs: Path, data_dir: Path) -> Path:
    """Train a setup into a new run folder and return it."""
    run = create_run(config, runs, f"{name}-{config.seed}")
    if name == "tutorial":
        train_tutorial(config, run, data_dir)
    else:
        train(config, run, data_dir=data_dir)
    return run


def train_tutorial(config: TrainConfig, run: Path, data_dir: Path, eval_every: float = 2.0) -> None:
    """The classic tutorial's loop as people copy it: random pairs, half genuine and half impostor, 64
    pairs a batch, contrastive loss on Euclidean distance, Adam, for config.max_seconds (its evaluations
    included, as in the project's own loop). Written as a run folder: epoch records of the validation
    AUC against seconds, snapshots at 1, 2, 4, 8, ... times `eval_every` seconds, and the final model."""
    train_set, val_set, split = prepare_data(config, data_dir)
    paths = RunPaths(run)
    write_json(paths.split, split)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    model = build_model(config)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    labels = train_set.labels.numpy()
    same_class = [np.flatnonzero(labels == c) for c in range(len(train_set.identities))]
    other_class = [np.flatnonzero(labels != c) for c in range(len(train_set.identities))]
    start, step, evaluation, next_snapshot = time.perf_counter(), 0, 0, eval_every
    paths.snapshots.mkdir(exist_ok=True)
    while time.perf_counter() - start < config.max_seconds:
        same = rng.random(64) < 0.5
        first = rng.integers(0, len(labels), 64)
        second = np.array([rng.choice((same_class if s else other_class)[labels[a]]) for a, s in zip(first, same)])
        model.train()
        d = F.pairwise_distance(model(to_input(train_set.images[first])), model(to_input(train_set.images[second])))
        y = torch.from_numpy(same).float()
        loss = (y * d.pow(2) + (1 - y) * F.relu(config.margin - d).pow(2)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        step += 1
        elapsed = time.perf_counter() - start
        if elapsed >= next_snapshot or elapsed >= config.max_seconds:
            evaluation += 1
            result = evaluate_embeddings(embed_images(model, val_set.images), val_set.labels.numpy(),
                                         euclidean_paired, trials=200, seed=config.seed)
            append_metrics(paths.metrics, {"kind": "epoch", "epoch": evaluation, "step": step, "val_auc": result.auc,
                                           "val_eer": result.eer, "threshold": result.threshold,
                                           "elapsed": time.perf_counter() - start})
            save_torch(paths.snapshots / f"epoch-{evaluation:04d}.pt", {"model": model.state_dict(),
                                                                         "epoch": evaluation, "step": step})
            next_snapshot *= 2
    save_torch(paths.checkpoint, {"model": model.state_dict(), "epoch": evaluation, "step": step})
    save_threshold(run, result.threshold, "eer")
    write_status(run, "finished", "time budget reached", epoch=evaluation, epochs=evaluation)


def split_sizes(config: TrainConfig, data_dir: Path) -> str:
    """'train / validation' identity counts of a configuration's split."""
    train_set, val_set, _ = prepare_data(config, data_dir)
    return f"{len(train_set.identities)} / {len(val_set.identities)}"
