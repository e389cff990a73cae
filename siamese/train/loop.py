"""The training loop: one run folder, one config, read top to bottom.

`train(config, run_dir)` trains on the training identities with P x K batches, evaluates the held-out
identities after every epoch, and writes everything to the run folder (see `siamese.runs`). Progress goes
to an optional callback, never to the screen directly, so the command line, the dashboard and tests each
show it their own way. It stops cleanly on a STOP file, SIGINT or SIGTERM, the epoch limit or the time
budget. Under `torchrun` the same function runs in every process with DistributedDataParallel
(`distributed.py`).
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from ..augment import AUGMENTATIONS, Augmenter
from ..config import TrainConfig
from ..data.dataset import FaceDataset
from ..decisions.saved import save_validation_threshold
from ..device import uses_bf16
from ..errors import RunError
from ..evaluate.scores import evaluate_embeddings
from ..losses import build_loss, pair_distance_fn
from ..models import build_model, early_layers, embed_images, freeze_layers, to_input, to_unit
from ..optim import build_optimizer, set_learning_rate
from ..runs import embedded
from ..runs.files import append_metrics, load_torch, save_torch, write_json
from ..runs.folder import RunPaths, run_config
from ..runs.status import write_status
from ..sampling import PKSampler, UniformSampler, build_sampler
from .distributed import World, init_world
from .inputs import batch_source, prepare_data
from .parent import check_fit, imprint_centres, load_parent

Callback = Callable[[dict], None]
# Told each epoch's validation record; returns None to go on, or (status, message) to end the run after this
# epoch as a stopped run ends (checkpoint, threshold, curves): how a search's trial is pruned.
Report = Callable[[dict], "tuple[str, str] | None"]

# A checkpoint costs a full write of model and optimiser: at most one every this many seconds, plus one at
# the end. Snapshots for the embedding-evolution view are kept at epochs 1, 2, 4, 8, ... and the last.
CHECKPOINT_SECONDS = 20.0
SNAPSHOT_MAX_PARAMETERS = 5_000_000
ONESHOT_TRIALS_PER_EPOCH = 500
# Steps between the moments the ranks agree (one all-reduce, which waits for the device): every step on a
# CPU, where nothing runs ahead anyway; every 10 on a GPU, so the host queues work without waiting for it.
# A non-finite loss is then caught within 10 steps, still before any checkpoint is written.
SYNC_STEPS = {"cuda": 10}


@dataclass
class TrainResult:
    run_dir: Path
    status: str          # finished | stopped | diverged | what `report` ended it as (pruned)
    message: str
    epochs: int
    steps: int
    seconds: float
    final: dict | None   # the last epoch's validation record (rank 0 only under torchrun)
    model: torch.nn.Module | None = field(default=None, repr=False)  # the trained embedding network


class _StopFlag:
    """Set by SIGINT / SIGTERM (when training runs in the main thread) or by a STOP file in the run, which
    only rank 0 watches: the other ranks may run on machines that do not see the run folder."""

    def __init__(self, stop_file: Path, watch_file: bool = True):
        self.stop_file = stop_file
        self.watch_file = watch_file
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
        if self.watch_file and self.stop_file.exists():
            return "stopped on request"
        return None


class _Objective(torch.nn.Module):
    """The embedding network and the loss as one module, so DistributedDataParallel averages the gradients
    of both (the class centres of CosFace and ArcFace and the BCE head are parameters too). With `gather`
    (and several processes) the loss sees the embeddings of every process: see `World.gather`. With
    `bf16`, the network computes in bfloat16 (autocast); the loss always in float32."""

    def __init__(self, model: torch.nn.Module, loss_fn: torch.nn.Module, world: World, gather: bool,
                 bf16: bool = False):
        super().__init__()
        self.model, self.loss_fn, self.world = model, loss_fn, world
        self.gather = gather and world.distributed
        self.bf16 = bf16

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            embeddings = self.model(x)
        embeddings = embeddings.float()
        if self.gather:
            embeddings, labels = self.world.gather(embeddings, labels)
        return self.loss_fn(embeddings, labels)


@dataclass
class _State:
    """Everything a checkpoint holds, and where training is."""

    model: torch.nn.Module
    loss_fn: torch.nn.Module
    optimizer: torch.optim.Optimizer
    sampler: PKSampler | UniformSampler
    augment: Augmenter
    epoch: int = 0
    step: int = 0
    elapsed: float = 0.0  # seconds trained before this process began (a resumed run's clock carries on)


def train(config: TrainConfig, run_dir: str | Path, callback: Callback | None = None,
          data_dir: str | Path = "data", resume: bool = False, world: World | None = None,
          report: Report | None = None) -> TrainResult:
    """Train `config` into `run_dir` (created by the caller: `runs.folder.create_run`). With `resume`,
    carry on from the run's checkpoint with the config saved in the run. `report` (one process only) may
    end the run after any validated epoch, with a status of its own (`pruned`).

    Under torchrun every process calls this with the same arguments; only rank 0 writes `run_dir` and
    calls `callback`, and all ranks stop together (see `distributed.py`).
    """
    world = world or init_world(config.device)
    if report and world.distributed:  # rank 0 alone validates: the other ranks would never learn of the end
        raise RunError("a run reporting to a search trains in one process, not under torchrun")
    paths = RunPaths(Path(run_dir))
    notify = (callback or (lambda record: None)) if world.is_main else (lambda record: None)
    torch.manual_seed(config.seed)
    device = world.device
    train_set, val_set, split = prepare_data(config, data_dir, _FaceProgress(paths, notify, world))

    model = build_model(config).to(device)
    loss_fn = build_loss(config, len(train_set.identities)).to(device)
    objective = _Objective(model, loss_fn, world, config.gather_embeddings, uses_bf16(config.precision, device))
    state = _State(model, loss_fn, build_optimizer(config.optimizer, list(objective.parameters()), config.lr,
                                                   config.weight_decay),
                   build_sampler(config.sampler, train_set.labels, config.p, config.k, config.seed, world.rank,
                                 world.size),
                   Augmenter(config.augment_strength if config.augment else 0.0, seed=config.seed + 1 + world.rank,
                             ranges=AUGMENTATIONS[config.augmentation], grey_fraction=config.grey_fraction))
    if resume:
        _restore(paths, world, state)
    else:
        if config.init_from:
            _start_from_parent(config, model, split, world)
            imprint_centres(loss_fn, model, train_set, device)
        if world.is_main:
            config.save(paths.config)
            write_json(paths.split, {**split, "processes": world.size})
    if world.is_main and not embedded.images_file(paths.root, "validation").is_file():
        embedded.keep(lambda: embedded.save_images(paths.root, "validation", val_set), "the validation images")
    if world.is_main:
        paths.stop.unlink(missing_ok=True)
        _write_status(paths, "running", "training", config, state.epoch, world)
    if world.distributed:
        objective = DistributedDataParallel(objective, device_ids=[device] if device.type == "cuda" else None)

    batches = batch_source(train_set, state.sampler, config, device)
    steps_total = config.epochs * state.sampler.batches_per_epoch
    start = time.perf_counter() - state.elapsed
    last_checkpoint = time.perf_counter()
    elapsed = 0.0
    validation = _Validation(model, val_set, pair_distance_fn(config, loss_fn), device, config.seed)

    def validate(losses: list[float]) -> dict:
        """Validate, log and show the figures; the EER threshold becomes the run's (unless one was chosen)."""
        record = validation(state, losses, start)
        append_metrics(paths.metrics, record)
        save_validation_threshold(paths.root, record["threshold"])
        notify(record)
        return record

    final, ending = None, None  # ending: (status, message) once the run ends before the epoch limit
    sync = SYNC_STEPS.get(device.type, 1)
    if config.init_from and state.step == 0 and world.is_main:
        # Epoch 0: the parent's network on this run's validation people, before any step, so the curves
        # show what fine-tuning gained.
        final = validate([])
        if _snapshot_small(model):
            validation.keep(paths, _save_snapshot(paths, state), state)
    frozen = early_layers(model) if config.freeze_epochs else []
    with _StopFlag(paths.stop, watch_file=world.is_main) as stop:
        while state.epoch < config.epochs and ending is None:
            state.epoch += 1
            freeze_layers(frozen, state.epoch <= config.freeze_epochs)
            losses, pending = [], []  # pending: losses on the device since the ranks last agreed
            tick = time.perf_counter()  # a step's time includes waiting for its batch (sampling, decoding)
            for images, labels in batches():
                loss = objective(to_input(state.augment(to_unit(images)), device), labels)
                pending.append(loss.detach())
                if len(pending) == sync:
                    ending, elapsed, mean_loss = _agree(world, stop, torch.stack(pending).mean().item(), start,
                                                        config, state.step)
                    if ending:
                        break
                set_learning_rate(state.optimizer, config.lr_schedule, config.lr,
                                  _progress(config, state.step, steps_total, elapsed))
                state.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                state.optimizer.step()
                state.step += 1
                if len(pending) == sync:
                    losses.append(mean_loss)
                    if world.is_main:
                        _log_step(paths, notify, state, len(labels) * world.size * sync, tick, elapsed, mean_loss,
                                  config, steps_total)
                    pending, tick = [], time.perf_counter()
            if ending and not losses and not pending:
                state.epoch -= 1  # the run ended before this epoch's first update: it never began
            if (ending and ending[0] == "diverged") or not world.is_main:
                continue  # rank 0 alone validates and writes; a diverged epoch has nothing worth keeping
            if losses and (state.epoch % config.eval_every == 0 or state.epoch == config.epochs):
                final = validate(losses)
                ending = ending or (report(final) if report else None)
            if _snapshot_due(state.epoch, model) or ((ending or state.epoch == config.epochs)
                                                    and _snapshot_small(model)):
                validation.keep(paths, _save_snapshot(paths, state), state)
            if not ending and time.perf_counter() - last_checkpoint > CHECKPOINT_SECONDS:
                validation.keep(paths, _save_checkpoint(paths, state, time.perf_counter() - start), state)
                last_checkpoint = time.perf_counter()

    world.share_buffers(model)
    status, message = ending or ("finished", f"reached {config.epochs} epochs")
    if world.is_main:
        if status != "diverged":  # a diverged run keeps its last good checkpoint
            if final is None or final["epoch"] != state.epoch:
                final = validate(losses)
            validation.keep(paths, _save_checkpoint(paths, state, time.perf_counter() - start), state)
        end = {"kind": "end", "status": status, "message": message, "epoch": state.epoch, "step": state.step,
               "elapsed": time.perf_counter() - start, "processes": world.size}
        append_metrics(paths.metrics, end)
        _write_status(paths, status, message, config, state.epoch, world)
        notify(end)
    return TrainResult(paths.root, status, message, state.epoch, state.step, time.perf_counter() - start,
                       final, model)


def _start_from_parent(config: TrainConfig, model: torch.nn.Module, split: dict, world: World) -> None:
    """Load the parent's network weights into `model` (every rank reads them from rank 0), after checking
    they fit; a warning about the parent joins the split's problems."""
    if config.freeze_epochs and world.distributed:
        raise RunError("freeze_epochs is not supported under torchrun (every process must train the same "
                       "parameters); set it to 0")
    parent = load_parent(config.init_from) if world.is_main else None
    if world.is_main:
        split["problems"] = list(split.get("problems", [])) + check_fit(parent, config, split["faces"])
        split["parent"] = {"run": str(parent.run_dir), "weights": str(parent.weights),
                           "data": parent.config.data}
    state = world.broadcast(parent.state if world.is_main else None)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise RunError(f"init_from: {config.init_from}'s weights do not fit this network "
                       f"({str(exc).splitlines()[0]})") from None


class _FaceProgress:
    """Progress of finding and aligning a dataset's faces the first time: to the callback, and, at most
    once a second, into the run's status, so a dashboard watching the run can show it."""

    def __init__(self, paths: RunPaths, notify: Callback, world: World):
        self.paths, self.notify, self.world, self.written = paths, notify, world, 0.0

    def __call__(self, done: int, total: int) -> None:
        self.notify({"kind": "faces", "done": done, "total": total})
        if self.world.is_main and (time.monotonic() - self.written > 1.0 or done == total):
            self.written = time.monotonic()
            write_status(self.paths.root, "starting", f"finding and aligning the faces: {done:,} of {total:,} "
                         "photos (once for this folder)", pid=os.getpid(), faces_done=done, faces_total=total)


def _log_step(paths: RunPaths, notify: Callback, state: _State, images: int, tick: float, elapsed: float,
              loss: float, config: TrainConfig, steps_total: int) -> None:
    """One step record: the loss agreed on, and images a second since the last record."""
    record = {"kind": "step", "epoch": state.epoch, "step": state.step, "loss": loss, "images": images,
              "images_per_second": images / max(time.perf_counter() - tick, 1e-9), "elapsed": elapsed,
              "steps_total": steps_total}
    append_metrics(paths.metrics, record)
    notify(_with_eta(record, config, steps_total))


def _agree(world: World, stop: _StopFlag, loss: float, start: float, config: TrainConfig,
           step: int) -> tuple[tuple[str, str] | None, float, float]:
    """One all-reduce a step, before backward, so every rank takes the same decision: a non-finite loss
    anywhere skips this update everywhere; a stop request or the end of the time budget ends the run
    before this update, on every rank; and the clock is the ranks' mean, so the learning rate that follows
    it is the same on each. Returns (ending or None, elapsed seconds, loss averaged over the ranks)."""
    finite = math.isfinite(loss)
    stops, bad, elapsed, total = world.sum([float(stop.reason() is not None), float(not finite),
                                            time.perf_counter() - start, loss if finite else 0.0])
    elapsed /= world.size
    if bad:
        return ("diverged", f"the loss became {loss if not finite else 'non-finite'} at step {step + 1}: "
                f"training diverged. Lower the learning rate (now {config.lr:g}); the last good checkpoint "
                "is kept."), elapsed, math.nan
    if stops:
        return ("stopped", stop.reason() or "stopped on request"), elapsed, math.nan
    if config.max_seconds is not None and elapsed >= config.max_seconds:
        return ("finished", "time budget reached"), elapsed, math.nan
    return None, elapsed, total / world.size


def _progress(config: TrainConfig, step: int, steps_total: int, elapsed: float) -> float:
    """Fraction of the run done, in [0, 1]: by steps or by the time budget, whichever ends first."""
    fraction = step / steps_total
    if config.max_seconds:
        fraction = max(fraction, elapsed / config.max_seconds)
    return min(fraction, 1.0)


def _with_eta(record: dict, config: TrainConfig, steps_total: int) -> dict:
    """Add the fraction done and the seconds remaining."""
    fraction = _progress(config, record["step"], steps_total, record["elapsed"])
    remaining = record["elapsed"] * (1 - fraction) / fraction if fraction > 0 else math.nan
    return {**record, "fraction": fraction, "remaining": remaining}


class _Validation:
    """The held-out identities embedded and scored after an epoch; the embeddings of the latest weights
    are kept, for the snapshot or checkpoint saved next (`keep`) and the threshold, never computed twice."""

    def __init__(self, model, val_set: FaceDataset, distance, device, seed: int):
        self.model, self.val_set, self.distance, self.device, self.seed = model, val_set, distance, device, seed
        self.step, self.embeddings = -1, None

    def _embedded(self, state: _State) -> torch.Tensor:
        if self.step != state.step:
            self.embeddings, self.step = embed_images(self.model, self.val_set.images, self.device), state.step
        return self.embeddings

    def __call__(self, state: _State, losses: list[float], start: float) -> dict:
        result = evaluate_embeddings(self._embedded(state), self.val_set.labels.numpy(), self.distance, n_way=10,
                                     trials=ONESHOT_TRIALS_PER_EPOCH, seed=self.seed)
        return {"kind": "epoch", "epoch": state.epoch, "step": state.step,
                "train_loss": float(np.mean(losses)) if losses else None,
                "val_auc": result.auc, "val_eer": result.eer, "threshold": result.threshold,
                "val_accuracy": result.accuracy, "oneshot_accuracy": result.oneshot_accuracy,
                "n_way": result.n_way, "genuine_pairs": result.genuine_pairs,
                "impostor_pairs": result.impostor_pairs, "elapsed": time.perf_counter() - start}

    def keep(self, paths: RunPaths, saved: tuple[Path, str], state: _State) -> None:
        """Keep the validation embeddings by the weights file just saved ((path, fingerprint)) in the run,
        when they are of these weights (this step was validated), so no reader embeds them again."""
        if self.step == state.step:
            embedded.keep(lambda: embedded.save_embeddings(paths.root, "validation", *saved, self.embeddings),
                          f"the validation embeddings of {saved[0].name}")


def _snapshot_small(model: torch.nn.Module) -> bool:
    return sum(p.numel() for p in model.parameters()) <= SNAPSHOT_MAX_PARAMETERS


def _snapshot_due(epoch: int, model: torch.nn.Module) -> bool:
    return _snapshot_small(model) and epoch & (epoch - 1) == 0


def _save_snapshot(paths: RunPaths, state: _State) -> tuple[Path, str]:
    """Save the model as the epoch's snapshot: (its path, its fingerprint)."""
    paths.snapshots.mkdir(exist_ok=True)
    path = paths.snapshots / f"epoch-{state.epoch:04d}.pt"
    return path, save_torch(path, {"model": state.model.state_dict(), "epoch": state.epoch, "step": state.step})


def _save_checkpoint(paths: RunPaths, state: _State, elapsed: float) -> tuple[Path, str]:
    """Save everything training needs to go on: (the checkpoint's path, its fingerprint)."""
    return paths.checkpoint, save_torch(paths.checkpoint, {
        "model": state.model.state_dict(), "loss": state.loss_fn.state_dict(),
        "optimizer": state.optimizer.state_dict(), "epoch": state.epoch, "step": state.step, "elapsed": elapsed,
        "sampler": state.sampler.state(), "augment": state.augment.state(), "torch_rng": torch.get_rng_state(),
    })


def _restore(paths: RunPaths, world: World, state: _State) -> None:
    # Rank 0 reads the checkpoint and sends it: the other ranks may not see the run folder.
    saved = world.broadcast(load_torch(paths.checkpoint) if world.is_main else None)
    state.model.load_state_dict(saved["model"])
    state.loss_fn.load_state_dict(saved["loss"])
    state.optimizer.load_state_dict(saved["optimizer"])
    state.sampler.set_state(saved["sampler"])
    if world.is_main:  # the saved augmentation stream is rank 0's; the others keep their own seeds
        state.augment.set_state(saved["augment"])
    torch.set_rng_state(saved["torch_rng"])
    state.epoch, state.step = int(saved["epoch"]), int(saved["step"])
    state.elapsed = float(saved.get("elapsed", 0.0))  # checkpoints from before it was saved: from zero


def _write_status(paths: RunPaths, status: str, message: str, config: TrainConfig, epoch: int,
                  world: World) -> None:
    write_status(paths.root, status, message, pid=os.getpid(), processes=world.size, epoch=epoch,
                 epochs=config.epochs, max_seconds=config.max_seconds)


def resume(run_dir: str | Path, callback: Callback | None = None, data_dir: str | Path = "data",
           world: World | None = None, **overrides) -> TrainResult:
    """Carry on training a run from its checkpoint; `overrides` may raise epochs or set max_seconds."""
    world = world or init_world()
    paths = RunPaths(Path(run_dir))
    values = None
    if world.is_main:
        config = run_config(paths.root)
        config = TrainConfig.from_dict({**config.to_dict(), **{k: v for k, v in overrides.items() if v is not None}})
        saved = load_torch(paths.checkpoint)
        if saved["epoch"] >= config.epochs:
            raise RunError(f"{paths.root.name} has already trained {saved['epoch']} of {config.epochs} epochs; "
                           "raise --epochs to train it further")
        if config.max_seconds is not None and saved.get("elapsed", 0.0) >= config.max_seconds:
            raise RunError(f"{paths.root.name} has used its time budget of {config.max_seconds:g} s; raise "
                           "--max-seconds to train it further")
        config.save(paths.config)
        values = config.to_dict()
    config = TrainConfig.from_dict(world.broadcast(values))
    return train(config, run_dir, callback, data_dir, resume=True, world=world)
