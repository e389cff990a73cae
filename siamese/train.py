"""The training loop: one run folder, one config, read top to bottom.

`train(config, run_dir)` trains on the training identities with P x K batches, evaluates the held-out
identities after every epoch, and writes everything to the run folder (see `runs.py`). Progress goes to an
optional callback, never to the screen directly, so the command line, the dashboard and tests each show it
their own way. It stops cleanly on a STOP file, SIGINT or SIGTERM, the epoch limit or the time budget.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .augment import Augmenter
from .config import TrainConfig
from .data import FaceDataset, load_dataset, split_identities
from .evaluate import embed_images, evaluate_embeddings
from .losses import build_loss, pair_distance_fn
from .models import build_model, pick_device
from .errors import RunError
from .runs import (RunPaths, append_metrics, load_torch, read_json, run_config, save_threshold, save_torch,
                   write_json)
from .sampling import PKSampler

Callback = Callable[[dict], None]

# A checkpoint costs a full write of model and optimiser: at most one every this many seconds, plus one at
# the end. Snapshots for the embedding-evolution view are kept at epochs 1, 2, 4, 8, ... and the last.
CHECKPOINT_SECONDS = 20.0
SNAPSHOT_MAX_PARAMETERS = 5_000_000
ONESHOT_TRIALS_PER_EPOCH = 500


@dataclass
class TrainResult:
    run_dir: Path
    status: str          # finished | stopped | diverged
    message: str
    epochs: int
    steps: int
    seconds: float
    final: dict | None   # the last epoch's validation record


class _StopFlag:
    """Set by SIGINT / SIGTERM (when training runs in the main thread) or by a STOP file in the run."""

    def __init__(self, stop_file: Path):
        self.stop_file = stop_file
        self.signalled: str | None = None
        self._previous: dict = {}

    def __enter__(self) -> "_StopFlag":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.signalled = signal.Signals(signum).name

    def reason(self) -> str | None:
        if self.signalled:
            return f"stopped by {self.signalled}"
        if self.stop_file.exists():
            return "stopped on request"
        return None


def prepare_data(config: TrainConfig, data_dir: str | Path = "data") -> tuple[FaceDataset, FaceDataset, dict]:
    """Load the dataset and split it by identity: (train, validation, split record)."""
    dataset = load_dataset(config.data, config.input_size, config.colour, data_dir)
    train_ids, val_ids = split_identities(dataset.identities, config.val_fraction, config.seed)
    split = {"dataset": dataset.name, "train": train_ids, "validation": val_ids,
             "problems": dataset.problems}
    return dataset.subset(train_ids), dataset.subset(val_ids), split


def train(config: TrainConfig, run_dir: str | Path, callback: Callback | None = None,
          data_dir: str | Path = "data", resume: bool = False) -> TrainResult:
    """Train `config` into `run_dir` (created by the caller; see `runs.new_run_dir`). With `resume`, carry
    on from the run's checkpoint with the config saved in the run."""
    paths = RunPaths(Path(run_dir))
    notify = callback or (lambda record: None)
    torch.manual_seed(config.seed)
    device = pick_device(config.device)
    train_set, val_set, split = prepare_data(config, data_dir)

    model = build_model(config).to(device)
    loss_fn = build_loss(config, len(train_set.identities)).to(device)
    optimizer = _build_optimizer(config, list(model.parameters()) + list(loss_fn.parameters()))
    sampler = PKSampler(train_set.labels, config.p, config.k, seed=config.seed)
    augment = Augmenter(config.augment_strength if config.augment else 0.0, seed=config.seed + 1)
    steps_total = config.epochs * sampler.batches_per_epoch
    epoch, step = 0, 0
    if resume:
        epoch, step = _restore(paths, model, loss_fn, optimizer, sampler, augment)
    else:
        config.save(paths.config)
        write_json(paths.split, split)
    paths.stop.unlink(missing_ok=True)
    _write_status(paths, "running", "training", config, epoch)

    images = train_set.images.to(device)
    labels = train_set.labels.to(device)
    distance = pair_distance_fn(config, loss_fn)
    start = time.perf_counter()
    last_checkpoint = start
    final, status, message = None, "finished", f"reached {config.epochs} epochs"
    losses: list[float] = []

    with _StopFlag(paths.stop) as stop:
        while epoch < config.epochs:
            epoch += 1
            losses = []
            for batch in sampler.epoch():
                tick = time.perf_counter()
                index = torch.from_numpy(batch).to(device)
                x = augment(images[index].float().div_(255.0)).mul_(2.0).sub_(1.0)
                loss = loss_fn(model(x), labels[index])
                if not torch.isfinite(loss):
                    status, message = "diverged", (
                        f"the loss became {loss.item()} at step {step + 1}: training diverged. Lower the "
                        f"learning rate (now {config.lr:g}); the last good checkpoint is kept.")
                    break
                _set_lr(optimizer, config, _progress(config, step, steps_total, time.perf_counter() - start))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                step += 1
                losses.append(loss.item())
                now = time.perf_counter()
                record = {"kind": "step", "epoch": epoch, "step": step, "loss": losses[-1], "images": len(batch),
                          "images_per_second": len(batch) / max(now - tick, 1e-9),
                          "elapsed": now - start, "steps_total": steps_total}
                append_metrics(paths.metrics, record)
                notify(_with_eta(record, config, steps_total))
                if stop.reason() or _out_of_time(config, start):
                    break
            if status == "diverged":
                break
            if losses and (epoch % config.eval_every == 0 or epoch == config.epochs):
                final = _validate(model, val_set, distance, device, epoch, step, losses, start, config.seed)
                append_metrics(paths.metrics, final)
                notify(final)
            reason = stop.reason()
            ending = bool(reason) or _out_of_time(config, start) or epoch == config.epochs
            if _snapshot_due(epoch, model) or (ending and _snapshot_small(model)):
                paths.snapshots.mkdir(exist_ok=True)
                save_torch(paths.snapshots / f"epoch-{epoch:04d}.pt", {"model": model.state_dict(),
                                                                      "epoch": epoch, "step": step})
            if reason or _out_of_time(config, start):
                status, message = ("stopped", reason) if reason else ("finished", "time budget reached")
                break
            if time.perf_counter() - last_checkpoint > CHECKPOINT_SECONDS:
                _save_checkpoint(paths, model, loss_fn, optimizer, sampler, augment, epoch, step)
                last_checkpoint = time.perf_counter()

    if status != "diverged":
        if final is None or final["epoch"] != epoch:
            final = _validate(model, val_set, distance, device, epoch, step, losses, start, config.seed)
            append_metrics(paths.metrics, final)
            notify(final)
        _save_checkpoint(paths, model, loss_fn, optimizer, sampler, augment, epoch, step)
        save_threshold(paths.root, final["threshold"], "eer")
    seconds = time.perf_counter() - start
    end = {"kind": "end", "status": status, "message": message, "epoch": epoch, "step": step,
           "elapsed": seconds}
    append_metrics(paths.metrics, end)
    _write_status(paths, status, message, config, epoch)
    notify(end)
    return TrainResult(paths.root, status, message, epoch, step, seconds, final)


def _build_optimizer(config: TrainConfig, params: list) -> torch.optim.Optimizer:
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    optimizer = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer(params, lr=config.lr, weight_decay=config.weight_decay)


def _out_of_time(config: TrainConfig, start: float) -> bool:
    return config.max_seconds is not None and time.perf_counter() - start >= config.max_seconds


def _progress(config: TrainConfig, step: int, steps_total: int, elapsed: float) -> float:
    """Fraction of the run done, in [0, 1]: by steps or by the time budget, whichever ends first."""
    fraction = step / steps_total
    if config.max_seconds:
        fraction = max(fraction, elapsed / config.max_seconds)
    return min(fraction, 1.0)


def _set_lr(optimizer: torch.optim.Optimizer, config: TrainConfig, progress: float) -> None:
    """Cosine decay to 1 % of the learning rate over the run. It follows the time budget when there is
    one, so a 60-second run ends on a low learning rate instead of being cut off at its peak."""
    factor = 1.0
    if config.lr_schedule == "cosine":
        factor = 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))
    for group in optimizer.param_groups:
        group["lr"] = config.lr * factor


def _with_eta(record: dict, config: TrainConfig, steps_total: int) -> dict:
    """Add the fraction done and the seconds remaining."""
    fraction = _progress(config, record["step"], steps_total, record["elapsed"])
    remaining = record["elapsed"] * (1 - fraction) / fraction if fraction > 0 else math.nan
    return {**record, "fraction": fraction, "remaining": remaining}


def _validate(model, val_set: FaceDataset, distance, device, epoch: int, step: int, losses: list[float],
              start: float, seed: int) -> dict:
    embeddings = embed_images(model, val_set.images, device)
    result = evaluate_embeddings(embeddings, val_set.labels.numpy(), distance, n_way=10,
                                 trials=ONESHOT_TRIALS_PER_EPOCH, seed=seed)
    return {"kind": "epoch", "epoch": epoch, "step": step, "train_loss": float(np.mean(losses)) if losses else None,
            "val_auc": result.auc, "val_eer": result.eer, "threshold": result.threshold,
            "val_accuracy": result.accuracy, "oneshot_accuracy": result.oneshot_accuracy,
            "n_way": result.n_way, "elapsed": time.perf_counter() - start}


def _snapshot_small(model: torch.nn.Module) -> bool:
    return sum(p.numel() for p in model.parameters()) <= SNAPSHOT_MAX_PARAMETERS


def _snapshot_due(epoch: int, model: torch.nn.Module) -> bool:
    return _snapshot_small(model) and epoch & (epoch - 1) == 0


def _save_checkpoint(paths: RunPaths, model, loss_fn, optimizer, sampler, augment, epoch: int, step: int) -> None:
    save_torch(paths.checkpoint, {
        "model": model.state_dict(), "loss": loss_fn.state_dict(), "optimizer": optimizer.state_dict(),
        "epoch": epoch, "step": step, "sampler": sampler.state(), "augment": augment.state(),
        "torch_rng": torch.get_rng_state(),
    })


def _restore(paths: RunPaths, model, loss_fn, optimizer, sampler, augment) -> tuple[int, int]:
    state = load_torch(paths.checkpoint)
    model.load_state_dict(state["model"])
    loss_fn.load_state_dict(state["loss"])
    optimizer.load_state_dict(state["optimizer"])
    sampler.set_state(state["sampler"])
    augment.set_state(state["augment"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"]), int(state["step"])


def _write_status(paths: RunPaths, status: str, message: str, config: TrainConfig, epoch: int) -> None:
    previous = read_json(paths.status) if paths.status.exists() else {}
    write_json(paths.status, {
        "status": status, "message": message, "pid": os.getpid(), "epoch": epoch,
        "epochs": config.epochs, "max_seconds": config.max_seconds,
        "started": previous.get("started", time.time()),
        "updated": time.time(),
    })


def resume(run_dir: str | Path, callback: Callback | None = None, data_dir: str | Path = "data",
           **overrides) -> TrainResult:
    """Carry on training a run from its checkpoint; `overrides` may raise epochs or set max_seconds."""
    config = run_config(Path(run_dir))
    config = TrainConfig.from_dict({**config.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})
    done = load_torch(RunPaths(Path(run_dir)).checkpoint)["epoch"]
    if done >= config.epochs:
        raise RunError(f"{Path(run_dir).name} has already trained {done} of {config.epochs} epochs; "
                       "raise --epochs to train it further")
    config.save(RunPaths(Path(run_dir)).config)
    return train(config, run_dir, callback, data_dir, resume=True)
